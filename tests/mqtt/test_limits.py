"""Spec limits as a checklist, one test each, with the reason code the broker will act on."""

from __future__ import annotations

import pytest

from corral.mqtt.codec import decode
from corral.mqtt.errors import MQTTProtocolError, ReasonCode
from corral.mqtt.packets import Connect, Publish, Subscribe
from corral.mqtt.parser import MQTTParser
from tests.mqtt.fixtures import ALL_FIXTURES, MQTT, Fixture, fixture_id, h
from tests.mqtt.helpers import CONNECT_BYTES, client_parser, parser_for, server_parser

MALFORMED = ReasonCode.MALFORMED_PACKET
PROTOCOL = ReasonCode.PROTOCOL_ERROR


def packet(first_byte: int, body: bytes) -> bytes:
    """A packet with a one-byte remaining length (bodies here are short)."""
    assert len(body) < 128
    return bytes((first_byte, len(body))) + body


def decode_error(data: bytes, version: int) -> int:
    with pytest.raises(MQTTProtocolError) as info:
        decode(data, version)
    return info.value.reason_code


def feed_error(parser: MQTTParser, data: bytes) -> int:
    with pytest.raises(MQTTProtocolError) as info:
        parser.feed(data)
    assert parser.dead
    return info.value.reason_code


def publish5(props: bytes, topic: bytes = b"t") -> bytes:
    """A 5.0 QoS 0 PUBLISH with the given property bytes (shorter than 128) and payload "p"."""
    return packet(0x30, len(topic).to_bytes(2, "big") + topic + bytes((len(props),)) + props + b"p")


def connect5(props: bytes) -> bytes:
    return packet(0x10, MQTT + h("05 02 00 3C") + bytes((len(props),)) + props + h("00 01") + b"c")


# --- variable byte integer --------------------------------------------------------------------------------


def test_five_byte_remaining_length_is_malformed() -> None:
    assert feed_error(server_parser(4), h("30 FF FF FF FF 01")) == MALFORMED


def test_four_continuation_bytes_fail_without_waiting_for_a_fifth() -> None:
    assert feed_error(server_parser(4), h("30 FF FF FF FF")) == MALFORMED


def test_four_byte_remaining_length_is_fine() -> None:
    parser = server_parser(4)
    assert parser.feed(h("30 FF FF FF 7F")) == []  # 268,435,455 bytes announced: need more data


def test_five_byte_varint_in_properties_is_malformed() -> None:
    # Subscription identifier written with five bytes.
    assert decode_error(publish5(h("0B 81 81 81 81 01")), 5) == MALFORMED


def test_non_minimal_varint_is_accepted() -> None:
    publish = decode(publish5(h("0B 81 00")), 5)
    assert isinstance(publish, Publish) and publish.properties is not None
    assert publish.properties.subscription_identifiers == [1]


# --- maximum packet size ----------------------------------------------------------------------------------


def test_packet_too_large_is_refused_on_its_fixed_header() -> None:
    parser = server_parser(4, max_packet_size=100)
    assert feed_error(parser, h("30 63")) == ReasonCode.PACKET_TOO_LARGE  # 2 + 99 = 101 bytes


def test_packet_of_exactly_the_maximum_size_is_accepted() -> None:
    parser = server_parser(4, max_packet_size=100)
    data = h("30 62 00 01") + b"t" + bytes(95)  # 2 + 98 = 100 bytes
    [publish] = parser.feed(data)
    assert isinstance(publish, Publish) and len(publish.payload) == 95


def test_maximum_packet_size_counts_a_multi_byte_header() -> None:
    parser = server_parser(4, max_packet_size=200)
    assert feed_error(parser, h("30 C6 01")) == ReasonCode.PACKET_TOO_LARGE  # 3 + 198 = 201 bytes


def test_connect_too_large() -> None:
    assert feed_error(MQTTParser(max_packet_size=64), h("10 80 01")) == ReasonCode.PACKET_TOO_LARGE


# --- fixed header flags -----------------------------------------------------------------------------------

_NOT_PUBLISH = [f for f in ALL_FIXTURES if not isinstance(f.packet, Publish)]


@pytest.mark.parametrize("fixture", _NOT_PUBLISH, ids=fixture_id)
@pytest.mark.parametrize("bit", [1, 2, 4, 8])
def test_reserved_flag_bits(fixture: Fixture, bit: int) -> None:
    data = bytes((fixture.data[0] ^ bit,)) + fixture.data[1:]
    assert decode_error(data, fixture.version) == MALFORMED
    assert feed_error(parser_for(fixture), data) == MALFORMED


def test_publish_qos_3_is_malformed() -> None:
    assert feed_error(server_parser(4), h("36 06 00 01") + b"t" + h("00 01") + b"p") == MALFORMED


def test_publish_dup_with_qos_0_is_malformed() -> None:
    assert feed_error(server_parser(4), h("38 04 00 01") + b"tp") == MALFORMED


def test_packet_type_0_is_malformed_on_its_first_byte() -> None:
    assert feed_error(server_parser(4), h("00")) == MALFORMED
    assert feed_error(MQTTParser(), h("00")) == MALFORMED


# --- UTF-8 ------------------------------------------------------------------------------------------------

_BAD_UTF8 = {
    "invalid-byte": b"\xff",
    "overlong": b"\xc0\xaf",
    "truncated-sequence": b"a\xe2\x82",
    "surrogate": b"\xed\xa0\x80",
    "nul": b"a\x00b",
}


@pytest.mark.parametrize("text", _BAD_UTF8.values(), ids=_BAD_UTF8.keys())
def test_bad_utf8_in_topic_name(text: bytes) -> None:
    assert feed_error(server_parser(4), packet(0x30, len(text).to_bytes(2, "big") + text)) == MALFORMED


@pytest.mark.parametrize("text", _BAD_UTF8.values(), ids=_BAD_UTF8.keys())
def test_bad_utf8_in_client_id(text: bytes) -> None:
    data = packet(0x10, MQTT + h("04 02 00 3C") + len(text).to_bytes(2, "big") + text)
    assert feed_error(MQTTParser(), data) == MALFORMED


@pytest.mark.parametrize("text", _BAD_UTF8.values(), ids=_BAD_UTF8.keys())
def test_bad_utf8_in_user_property(text: bytes) -> None:
    prop = h("26") + len(text).to_bytes(2, "big") + text + h("00 01") + b"v"
    assert decode_error(publish5(prop), 5) == MALFORMED


@pytest.mark.parametrize("text", _BAD_UTF8.values(), ids=_BAD_UTF8.keys())
def test_bad_utf8_in_topic_filter(text: bytes) -> None:
    data = packet(0x82, h("00 01") + len(text).to_bytes(2, "big") + text + h("00"))
    assert feed_error(server_parser(4), data) == MALFORMED


def test_control_characters_and_bom_are_allowed() -> None:
    text = "a\x01\x1f\x7f\x85\ufeffz"
    raw = text.encode()
    packet_ = decode(packet(0x30, len(raw).to_bytes(2, "big") + raw), 4)
    assert isinstance(packet_, Publish) and packet_.topic == text


# --- topic names ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("topic", [b"a/+", b"a/#", b"+", b"#", b"a+b"])
def test_wildcard_in_publish_topic_name(topic: bytes) -> None:
    data = packet(0x30, len(topic).to_bytes(2, "big") + topic)
    assert feed_error(server_parser(4), data) == ReasonCode.TOPIC_NAME_INVALID


def test_wildcard_in_will_topic() -> None:
    data = packet(0x10, MQTT + h("04 06 00 3C 00 01") + b"c" + h("00 03") + b"a/#" + h("00 00"))
    assert feed_error(MQTTParser(), data) == ReasonCode.TOPIC_NAME_INVALID


@pytest.mark.parametrize("version", [4, 5])
def test_empty_topic_name_without_alias(version: int) -> None:
    body = h("00 00") + (h("00") if version == 5 else b"") + b"p"
    assert feed_error(server_parser(version), packet(0x30, body)) == PROTOCOL


def test_empty_topic_name_with_other_properties_but_no_alias() -> None:
    assert decode_error(publish5(h("01 01"), topic=b""), 5) == PROTOCOL


# --- properties -------------------------------------------------------------------------------------------


def test_duplicate_property() -> None:
    assert decode_error(publish5(h("02 00 00 00 01 02 00 00 00 02")), 5) == PROTOCOL
    assert feed_error(MQTTParser(), connect5(h("21 00 01 21 00 02"))) == PROTOCOL


def test_repeated_user_property_is_allowed() -> None:
    props = h("26 00 01 61 00 01 62 26 00 01 61 00 01 62")
    publish = decode(publish5(props), 5)
    assert isinstance(publish, Publish) and publish.properties is not None
    assert publish.properties.user_properties == [("a", "b"), ("a", "b")]


def test_repeated_subscription_identifier_allowed_in_publish_only() -> None:
    publish = decode(publish5(h("0B 01 0B 02")), 5)
    assert isinstance(publish, Publish) and publish.properties is not None
    assert publish.properties.subscription_identifiers == [1, 2]
    subscribe = packet(0x82, h("00 01 04 0B 01 0B 02 00 01") + b"t" + h("00"))
    assert decode_error(subscribe, 5) == PROTOCOL


@pytest.mark.parametrize(
    ("data", "what"),
    [
        (connect5(h("23 00 01")), "topic alias in CONNECT"),
        (connect5(h("18 00 00 00 01")), "will delay in CONNECT properties"),
        (publish5(h("11 00 00 00 01")), "session expiry in PUBLISH"),
        (publish5(h("1F 00 01") + b"r"), "reason string in PUBLISH"),
        (publish5(h("05 00")), "undefined identifier 0x05"),
        (publish5(h("7F 00")), "undefined identifier 0x7F"),
        (h("40 06 00 01 00 02 23 00"), "topic alias in PUBACK"),
        (h("E0 07 00 05 12 00 02 61 62"), "assigned client id in DISCONNECT"),
        (h("F0 05 18 03 21 00 01"), "receive maximum in AUTH"),
    ],
)
def test_property_not_allowed_in_packet(data: bytes, what: str) -> None:
    assert decode_error(data, 5) == MALFORMED, what


def test_property_not_allowed_in_will_properties() -> None:
    # Will properties carrying a topic alias.
    body = MQTT + h("05 06 00 3C 00 00 01") + b"c" + h("03 23 00 01 00 01") + b"w" + h("00 00")
    assert feed_error(MQTTParser(), packet(0x10, body)) == MALFORMED


@pytest.mark.parametrize(
    ("data", "what"),
    [
        (connect5(h("21 00 00")), "receive maximum 0"),
        (connect5(h("27 00 00 00 00")), "maximum packet size 0"),
        (connect5(h("17 02")), "request problem information 2"),
        (connect5(h("19 02")), "request response information 2"),
        (publish5(h("01 02")), "payload format indicator 2"),
        (publish5(h("0B 00")), "subscription identifier 0"),
        (h("20 05 00 00 02 24 02"), "maximum QoS 2"),
        (h("20 05 00 00 02 25 02"), "retain available 2"),
        (h("20 05 00 00 02 28 02"), "wildcard subscription available 2"),
        (h("20 05 00 00 02 29 02"), "subscription identifiers available 2"),
        (h("20 05 00 00 02 2A 02"), "shared subscription available 2"),
    ],
)
def test_property_value_out_of_range(data: bytes, what: str) -> None:
    assert decode_error(data, 5) == PROTOCOL, what


def test_topic_alias_0_is_topic_alias_invalid() -> None:
    assert decode_error(publish5(h("23 00 00")), 5) == ReasonCode.TOPIC_ALIAS_INVALID


def test_property_length_past_the_packet() -> None:
    assert decode_error(h("40 05 00 01 00 05 1F"), 5) == MALFORMED


def test_property_value_past_the_property_length() -> None:
    # Property length 3 but the reason string inside claims 5 bytes.
    assert decode_error(h("40 09 00 01 00 03 1F 00 05 61 62"), 5) == MALFORMED
    # A four-byte integer cut by the property length.
    assert decode_error(publish5(h("02 00 00")), 5) == MALFORMED


# --- remaining length must match the content --------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "version"),
    [
        (h("40 03 00 0A 00"), 4),
        (h("E0 01 00"), 4),
        (h("C0 01 00"), 4),
        (h("B0 03 00 02 00"), 4),
        (h("20 03 00 00 00"), 4),
        (packet(0x10, CONNECT_BYTES[4][2:] + b"x"), 4),
        (packet(0x82, h("00 01 00 01") + b"t" + h("00 00")), 4),
        (h("40 07 00 0A 00 00 26 00 00"), 5),
        (h("E0 03 00 00 00"), 5),
    ],
)
def test_extra_bytes_after_the_last_field(data: bytes, version: int) -> None:
    assert decode_error(data, version) == MALFORMED


@pytest.mark.parametrize(
    ("data", "version"),
    [
        (h("30 03 00 05 61"), 4),  # topic length 5, 1 byte present
        (h("32 04 00 01 61 00"), 4),  # packet id cut in half
        (h("40 01 00"), 4),
        (h("20 01 00"), 4),
        (packet(0x10, CONNECT_BYTES[4][2:-1]), 4),  # client id cut short
        (packet(0x10, MQTT + h("04 02 00")), 4),  # keep alive cut short
        (packet(0x10, MQTT + h("04 C2 00 3C 00 01") + b"c" + h("00 01") + b"u"), 4),  # password missing
        (packet(0x82, h("00 01 00 01") + b"t"), 4),  # options missing
        (h("30 04 00 01 74 05"), 5),  # property length 5, nothing follows
    ],
)
def test_field_running_past_the_remaining_length(data: bytes, version: int) -> None:
    assert decode_error(data, version) == MALFORMED


def test_parser_checks_the_remaining_length_against_content_too() -> None:
    parser = server_parser(4)
    assert feed_error(parser, h("40 03 00 0A 00")) == MALFORMED


# --- connection state -------------------------------------------------------------------------------------


@pytest.mark.parametrize("first", ["30", "C0", "82", "E0", "40", "F0", "20"])
def test_first_packet_not_connect(first: str) -> None:
    # Refused on the first byte, before the rest arrives.
    assert feed_error(MQTTParser(), h(first)) == PROTOCOL


@pytest.mark.parametrize("version", [4, 5])
def test_second_connect(version: int) -> None:
    assert feed_error(server_parser(version), CONNECT_BYTES[version]) == PROTOCOL


@pytest.mark.parametrize("data", ["20 02 00 00", "90 03 00 01 00", "B0 02 00 01", "D0 00"])
def test_server_packets_sent_to_a_server(data: str) -> None:
    assert feed_error(server_parser(4), h(data)) == PROTOCOL


def test_auth_only_in_mqtt5() -> None:
    assert feed_error(server_parser(4), h("F0 00")) == PROTOCOL
    assert server_parser(5).feed(h("F0 00")) != []


@pytest.mark.parametrize("data", ["10 00", "82 00", "A2 00", "C0 00", "20 02 00 00"])
def test_client_packets_sent_to_a_client(data: str) -> None:
    assert feed_error(client_parser(5), h(data)) == PROTOCOL


def test_client_side_first_packet_must_be_connack() -> None:
    assert feed_error(MQTTParser(server_side=False, protocol_version=4), h("D0 00")) == PROTOCOL
    parser = MQTTParser(server_side=False, protocol_version=5)
    assert parser.feed(h("F0 00")) != []  # AUTH may precede CONNACK in 5.0


def test_disconnect_from_a_311_server() -> None:
    assert feed_error(client_parser(4), h("E0 00")) == PROTOCOL


# --- CONNECT ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "level"),
    [(b"MQTT", 3), (b"MQTT", 6), (b"MQTT", 0), (b"MQIsdp", 3), (b"MQIsdp", 4)],
)
def test_unsupported_protocol_version(name: bytes, level: int) -> None:
    data = packet(0x10, len(name).to_bytes(2, "big") + name + bytes((level,)) + h("02 00 3C 00 01") + b"c")
    parser = MQTTParser()
    assert feed_error(parser, data) == ReasonCode.UNSUPPORTED_PROTOCOL_VERSION
    assert parser.protocol_version is None


@pytest.mark.parametrize("name", [b"MQTX", b"mqtt", b"", b"HTTP/1.1"])
def test_wrong_protocol_name(name: bytes) -> None:
    data = packet(0x10, len(name).to_bytes(2, "big") + name + h("04 02 00 3C 00 01") + b"c")
    assert feed_error(MQTTParser(), data) == PROTOCOL


@pytest.mark.parametrize(
    ("flags", "what"),
    [
        ("03", "reserved bit 0"),
        ("0A", "will QoS without will flag"),
        ("22", "will retain without will flag"),
        ("1E", "will QoS 3"),
    ],
)
@pytest.mark.parametrize("version", [4, 5])
def test_connect_flags(flags: str, what: str, version: int) -> None:
    props = h("00") if version == 5 else b""
    body = MQTT + bytes((version,)) + h(flags) + h("00 3C") + props + h("00 01") + b"c"
    body += (props + h("00 01") + b"w" + h("00 00")) if int(flags, 16) & 4 else b""
    assert feed_error(MQTTParser(), packet(0x10, body)) == MALFORMED, what


def test_password_without_user_name_in_311() -> None:
    data = packet(0x10, MQTT + h("04 42 00 3C 00 01") + b"c" + h("00 02") + b"pw")
    assert feed_error(MQTTParser(), data) == MALFORMED


def test_empty_client_id_is_allowed() -> None:
    [connect] = MQTTParser().feed(packet(0x10, MQTT + h("05 00 00 00 00 00 00")))
    assert isinstance(connect, Connect) and connect.client_id == "" and not connect.clean_start


# --- SUBSCRIBE / UNSUBSCRIBE ------------------------------------------------------------------------------


@pytest.mark.parametrize(("version", "data"), [(4, "82 02 00 01"), (5, "82 03 00 01 00")])
def test_subscribe_without_topic_filters(version: int, data: str) -> None:
    assert feed_error(server_parser(version), h(data)) == PROTOCOL


@pytest.mark.parametrize(("version", "data"), [(4, "A2 02 00 01"), (5, "A2 03 00 01 00")])
def test_unsubscribe_without_topic_filters(version: int, data: str) -> None:
    assert feed_error(server_parser(version), h(data)) == PROTOCOL


@pytest.mark.parametrize(("version", "options"), [(4, 0x04), (4, 0x80), (5, 0x40), (5, 0x80), (5, 0xC1)])
def test_subscription_options_reserved_bits(version: int, options: int) -> None:
    props = h("00") if version == 5 else b""
    data = packet(0x82, h("00 01") + props + h("00 01") + b"t" + bytes((options,)))
    assert feed_error(server_parser(version), data) == MALFORMED


@pytest.mark.parametrize(("version", "code"), [(4, MALFORMED), (5, PROTOCOL)])
def test_subscription_qos_3(version: int, code: int) -> None:
    props = h("00") if version == 5 else b""
    data = packet(0x82, h("00 01") + props + h("00 01") + b"t" + h("03"))
    assert feed_error(server_parser(version), data) == code


def test_retain_handling_3() -> None:
    data = packet(0x82, h("00 01 00 00 01") + b"t" + h("30"))
    assert feed_error(server_parser(5), data) == PROTOCOL


def test_subscription_options_decode() -> None:
    data = packet(0x82, h("00 01 00 00 01") + b"t" + h("2E"))
    [subscribe] = server_parser(5).feed(data)
    assert isinstance(subscribe, Subscribe)
    option = subscribe.subscriptions[0]
    assert (option.qos, option.no_local, option.retain_as_published, option.retain_handling) == (
        2,
        True,
        True,
        2,
    )


# --- packet identifiers -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "version"),
    [
        (h("32 05 00 01 74 00 00"), 4),
        (h("34 06 00 01 74 00 00 00"), 5),
        (h("40 02 00 00"), 4),
        (h("50 02 00 00"), 5),
        (h("62 02 00 00"), 4),
        (h("70 02 00 00"), 5),
        (packet(0x82, h("00 00 00 01") + b"t" + h("00")), 4),
        (packet(0xA2, h("00 00 00 01") + b"t"), 4),
    ],
)
def test_packet_id_0(data: bytes, version: int) -> None:
    assert feed_error(server_parser(version), data) == PROTOCOL


@pytest.mark.parametrize("data", ["90 03 00 00 00", "B0 02 00 00"])
def test_packet_id_0_from_server(data: str) -> None:
    assert feed_error(client_parser(4), h(data)) == PROTOCOL


# --- reason codes -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "version"),
    [
        (h("40 03 00 01 05"), 5),
        (h("62 03 00 01 10"), 5),
        (h("E0 01 01"), 5),
        (h("F0 02 01 00"), 5),
        (h("20 02 00 06"), 4),
        (h("20 03 00 05 00"), 5),
        (h("20 02 01 05"), 4),  # session present with a failure code
        (h("90 03 00 01 03"), 4),
        (h("90 04 00 01 00 8D"), 5),
        (h("B0 04 00 01 00 01"), 5),
        (h("90 02 00 01"), 4),  # SUBACK without reason codes
        (h("B0 03 00 01 00"), 5),  # UNSUBACK without reason codes
    ],
)
def test_reason_code_not_allowed(data: bytes, version: int) -> None:
    assert decode_error(data, version) == PROTOCOL


def test_connack_reserved_flags() -> None:
    assert decode_error(h("20 02 02 00"), 4) == MALFORMED
