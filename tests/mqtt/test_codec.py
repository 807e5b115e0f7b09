"""Every packet type of 3.1.1 and 5.0 against hand-written bytes, both directions, and round trips."""

from __future__ import annotations

from dataclasses import replace

import pytest

from corral.mqtt.codec import decode, encode, encode_publish
from corral.mqtt.errors import MQTTProtocolError, ReasonCode
from corral.mqtt.packets import (
    Auth,
    Connack,
    Connect,
    Disconnect,
    PacketType,
    Puback,
    Publish,
    Suback,
    Subscribe,
    Subscription,
    Unsuback,
    Unsubscribe,
    Will,
)
from corral.mqtt.properties import Properties
from tests.mqtt.fixtures import ALL_FIXTURES, FIXTURES_5, FIXTURES_311, Fixture, fixture_id, h
from tests.mqtt.helpers import expected

CANONICAL = [f for f in ALL_FIXTURES if f.canonical]


def test_fixtures_cover_every_packet_type_in_both_versions() -> None:
    types_311 = {type(f.packet).__name__.upper() for f in FIXTURES_311}
    types_5 = {type(f.packet).__name__.upper() for f in FIXTURES_5}
    assert types_311 == {t.name for t in PacketType} - {"AUTH"}
    assert types_5 == {t.name for t in PacketType}


@pytest.mark.parametrize("fixture", ALL_FIXTURES, ids=fixture_id)
def test_decode_fixture(fixture: Fixture) -> None:
    assert decode(fixture.data, fixture.version) == expected(fixture)


@pytest.mark.parametrize("fixture", CANONICAL, ids=fixture_id)
def test_encode_fixture(fixture: Fixture) -> None:
    assert encode(fixture.packet, fixture.version) == fixture.data


@pytest.mark.parametrize("fixture", ALL_FIXTURES, ids=fixture_id)
def test_round_trip(fixture: Fixture) -> None:
    decoded = decode(fixture.data, fixture.version)
    again = encode(decoded, fixture.version)
    redecoded = decode(again, fixture.version)
    if isinstance(decoded, Publish):
        decoded = replace(decoded, raw=again)
    assert redecoded == decoded


def test_decoded_publish_keeps_raw_bytes_and_no_empty_properties() -> None:
    data = h("30 08 00 03") + b"a/b" + h("00") + b"hi"
    packet = decode(data, 5)
    assert isinstance(packet, Publish)
    assert packet.raw == data and type(packet.raw) is bytes
    assert type(packet.payload) is bytes
    assert packet.properties is None


def test_mqtt5_only_fields_are_left_out_for_311() -> None:
    props = Properties(reason_string="x", user_properties=[("a", "b")])
    assert encode(Puback(7, 0x80, props), 4) == h("40 02 00 07")
    assert encode(Disconnect(0x04, props), 4) == h("E0 00")
    assert encode(Publish("a", b"", properties=Properties(topic_alias=2)), 4) == h("30 03 00 01") + b"a"
    will = Will("w", b"", properties=Properties(will_delay_interval=3))
    # VH 10; payload: "c" 3 + "w" 3 + empty payload 2 = 8 -> 18.
    assert encode(Connect("c", will=will, properties=props), 4) == (
        h("10 12 00 04") + b"MQTT" + h("04 06 00 3C 00 01") + b"c" + h("00 01") + b"w" + h("00 00")
    )


def test_empty_properties_object_encodes_like_none() -> None:
    assert encode(Puback(7, 0, Properties()), 5) == h("40 02 00 07")
    assert encode(Disconnect(0, Properties()), 5) == h("E0 00")
    assert encode(Auth(0, Properties()), 5) == h("F0 00")
    assert encode_publish("a", b"", 0, False, False, None, 5, Properties()) == h("30 04 00 01") + b"a" + h(
        "00"
    )


def test_auth_with_reason_keeps_its_property_length() -> None:
    assert encode(Auth(0x19), 5) == h("F0 02 19 00")


def test_encode_publish_matches_encode() -> None:
    packet = Publish("t/x", b"payload", 1, True, True, 513, Properties(content_type="c"))
    for version in (4, 5):
        assert encode_publish("t/x", b"payload", 1, True, True, 513, version, packet.properties) == encode(
            packet, version
        )


def test_encode_publish_three_byte_remaining_length() -> None:
    payload = bytes(20_000)
    data = encode_publish("a", payload, 0, False, False, None, 4)
    # topic 3 + 20000 = 20003 = 0x4E23 -> A3 9C 01.
    assert data[:4] == h("30 A3 9C 01")
    assert decode(data, 4) == Publish("a", payload, raw=data)


@pytest.mark.parametrize(
    "call",
    [
        lambda: encode_publish("a", b"", 1, False, False, None, 4),
        lambda: encode_publish("a", b"", 0, False, False, 5, 4),
        lambda: encode_publish("a", b"", 0, False, True, None, 4),
        lambda: encode_publish("a", b"", 3, False, False, 1, 4),
        lambda: encode_publish("a", b"", 1, False, False, 0, 5),
        lambda: encode_publish("a", b"", 0, False, False, None, 3),
        lambda: encode(Publish("a", properties=Properties(session_expiry_interval=1)), 5),
        lambda: encode(Subscribe(1, [], Properties()), 5),
        lambda: encode(Subscribe(1, [Subscription("a", 3)]), 5),
        lambda: encode(Subscribe(1, [Subscription("a")], Properties(subscription_identifiers=[1, 2])), 5),
        lambda: encode(Unsubscribe(1, []), 4),
        lambda: encode(Connect("c", 4, password=b"pw"), 4),
        lambda: encode(Connect("c", 5), 4),
        lambda: encode(Auth(), 4),
        lambda: encode(Puback(0), 5),
        lambda: encode(Subscribe(0, [Subscription("a")]), 4),
        lambda: encode(Unsubscribe(65536, ["a"]), 4),
        lambda: encode(Suback(1, []), 4),
        lambda: encode(Unsuback(1, []), 5),
        lambda: encode(Connack(0, properties=Properties(receive_maximum=0)), 5),
        lambda: encode(Connack(0, properties=Properties(content_type="a\x00b")), 5),
    ],
)
def test_encode_rejects_what_the_wire_cannot_carry(call: object) -> None:
    with pytest.raises(ValueError):
        call()  # type: ignore[operator]


def test_decode_requires_exactly_one_packet() -> None:
    with pytest.raises(MQTTProtocolError) as info:
        decode(h("C0 00 C0 00"), 4)
    assert info.value.reason_code == ReasonCode.MALFORMED_PACKET
    with pytest.raises(MQTTProtocolError) as info:
        decode(h("C0"), 4)
    assert info.value.reason_code == ReasonCode.MALFORMED_PACKET


def test_connect_version_comes_from_the_packet() -> None:
    fixture = FIXTURES_5[0]
    assert decode(fixture.data, 4) == fixture.packet
