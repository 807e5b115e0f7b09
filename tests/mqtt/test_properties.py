"""Every MQTT 5 property: its wire form, and which packets may carry it, against a table copied here from
the spec (section 2.2.2.2) independently of the codec's own table."""

from __future__ import annotations

from typing import Any

import pytest

from corral.mqtt import property_codec as pk
from corral.mqtt.errors import MQTTProtocolError, ReasonCode
from corral.mqtt.properties import Properties
from corral.mqtt.property_codec import decode_properties, encode_properties
from tests.mqtt.fixtures import h

_CARRIERS = {
    "CONNECT": pk.CONNECT,
    "CONNACK": pk.CONNACK,
    "PUBLISH": pk.PUBLISH,
    "WILL": pk.WILL,
    "PUBACK": pk.PUBACK,
    "SUBSCRIBE": pk.SUBSCRIBE,
    "SUBACK": pk.SUBACK,
    "UNSUBSCRIBE": pk.UNSUBSCRIBE,
    "UNSUBACK": pk.UNSUBACK,
    "DISCONNECT": pk.DISCONNECT,
    "AUTH": pk.AUTH,
}
_ACKS = "CONNACK PUBACK SUBACK UNSUBACK DISCONNECT AUTH"

# field, value, its wire form (identifier first), the packets that may carry it.
SPEC: list[tuple[str, Any, bytes, str]] = [
    ("payload_format_indicator", 1, h("01 01"), "PUBLISH WILL"),
    ("message_expiry_interval", 0x01020304, h("02 01 02 03 04"), "PUBLISH WILL"),
    ("content_type", "text", h("03 00 04") + b"text", "PUBLISH WILL"),
    ("response_topic", "r/t", h("08 00 03") + b"r/t", "PUBLISH WILL"),
    ("correlation_data", b"\x00\xff", h("09 00 02 00 FF"), "PUBLISH WILL"),
    ("subscription_identifiers", [268_435_455], h("0B FF FF FF 7F"), "PUBLISH SUBSCRIBE"),
    ("session_expiry_interval", 0xFFFFFFFF, h("11 FF FF FF FF"), "CONNECT CONNACK DISCONNECT"),
    ("assigned_client_identifier", "id", h("12 00 02") + b"id", "CONNACK"),
    ("server_keep_alive", 0x1234, h("13 12 34"), "CONNACK"),
    ("authentication_method", "m", h("15 00 01") + b"m", "CONNECT CONNACK AUTH"),
    ("authentication_data", b"d", h("16 00 01") + b"d", "CONNECT CONNACK AUTH"),
    ("request_problem_information", 0, h("17 00"), "CONNECT"),
    ("will_delay_interval", 7, h("18 00 00 00 07"), "WILL"),
    ("request_response_information", 1, h("19 01"), "CONNECT"),
    ("response_information", "ri", h("1A 00 02") + b"ri", "CONNACK"),
    ("server_reference", "s", h("1C 00 01") + b"s", "CONNACK DISCONNECT"),
    ("reason_string", "why", h("1F 00 03") + b"why", _ACKS),
    ("receive_maximum", 65535, h("21 FF FF"), "CONNECT CONNACK"),
    ("topic_alias_maximum", 0, h("22 00 00"), "CONNECT CONNACK"),
    ("topic_alias", 65535, h("23 FF FF"), "PUBLISH"),
    ("maximum_qos", 0, h("24 00"), "CONNACK"),
    ("retain_available", 1, h("25 01"), "CONNACK"),
    ("user_properties", [("k", "v")], h("26 00 01") + b"k" + h("00 01") + b"v", " ".join(_CARRIERS)),
    ("maximum_packet_size", 1, h("27 00 00 00 01"), "CONNECT CONNACK"),
    ("wildcard_subscription_available", 0, h("28 00"), "CONNACK"),
    ("subscription_identifier_available", 1, h("29 01"), "CONNACK"),
    ("shared_subscription_available", 0, h("2A 00"), "CONNACK"),
]

_ALLOWED = [(name, value, wire, kind) for name, value, wire, kinds in SPEC for kind in kinds.split()]
_FORBIDDEN = [
    (name, value, wire, kind) for name, value, wire, kinds in SPEC for kind in _CARRIERS if kind not in kinds
]


def _ids(case: tuple[str, Any, bytes, str]) -> str:
    return f"{case[0]}-in-{case[3]}"


def test_every_property_of_properties_py_is_covered() -> None:
    assert {row[0] for row in SPEC} == set(Properties.__dataclass_fields__)


@pytest.mark.parametrize("case", _ALLOWED, ids=_ids)
def test_property_encodes_and_decodes(case: tuple[str, Any, bytes, str]) -> None:
    name, value, wire, kind = case
    props = Properties(**{name: value})
    block = bytes((len(wire),)) + wire
    assert encode_properties(props, _CARRIERS[kind]) == block
    assert decode_properties(block, 0, len(block), _CARRIERS[kind]) == (props, len(block))


@pytest.mark.parametrize("case", _FORBIDDEN, ids=_ids)
def test_property_refused_where_not_allowed(case: tuple[str, Any, bytes, str]) -> None:
    name, value, wire, kind = case
    with pytest.raises(ValueError):
        encode_properties(Properties(**{name: value}), _CARRIERS[kind])
    block = bytes((len(wire),)) + wire
    with pytest.raises(MQTTProtocolError) as info:
        decode_properties(block, 0, len(block), _CARRIERS[kind])
    assert info.value.reason_code == ReasonCode.MALFORMED_PACKET


@pytest.mark.parametrize("case", [c for c in SPEC if c[0] != "user_properties"], ids=lambda c: c[0])
def test_property_given_twice(case: tuple[str, Any, bytes, str]) -> None:
    name, _, wire, kinds = case
    kind = _CARRIERS[kinds.split()[0]]
    block = bytes((2 * len(wire),)) + wire + wire
    if name == "subscription_identifiers" and kind == pk.PUBLISH:
        props, _ = decode_properties(block, 0, len(block), kind)
        assert props is not None and props.subscription_identifiers == [268_435_455] * 2
        kind = pk.SUBSCRIBE
    with pytest.raises(MQTTProtocolError) as info:
        decode_properties(block, 0, len(block), kind)
    assert info.value.reason_code == ReasonCode.PROTOCOL_ERROR


def test_empty_block_decodes_to_none() -> None:
    assert decode_properties(h("00"), 0, 1, pk.PUBLISH) == (None, 1)
    assert encode_properties(None, pk.PUBLISH) == h("00")
    assert encode_properties(Properties(), pk.CONNECT) == h("00")


def test_several_subscription_identifiers_encode_in_publish_only() -> None:
    props = Properties(subscription_identifiers=[1, 128])
    assert encode_properties(props, pk.PUBLISH) == h("05 0B 01 0B 80 01")
    with pytest.raises(ValueError):
        encode_properties(props, pk.SUBSCRIBE)


def test_property_block_longer_than_127_bytes() -> None:
    props = Properties(reason_string="x" * 200)
    block = encode_properties(props, pk.PUBACK)
    # identifier 1 + length 2 + 200 = 203 = 0xCB -> property length CB 01.
    assert block[:5] == h("CB 01 1F 00 C8")
    assert decode_properties(block, 0, len(block), pk.PUBACK) == (props, len(block))
