"""MQTT 5 properties on the wire (spec section 2.2.2): one table says each property's type, the packets that
may carry it and the values it may take; the encoder and the decoder both read that table.

Decoding rules, each with its reason code:

* a property identifier not defined, or not allowed in this packet: MALFORMED_PACKET;
* a property given twice (except User Property, and Subscription Identifier in PUBLISH): PROTOCOL_ERROR;
* a value outside what the spec allows (Receive Maximum 0, Maximum Packet Size 0, a 0/1 flag that is
  neither, Subscription Identifier 0): PROTOCOL_ERROR; Topic Alias 0: TOPIC_ALIAS_INVALID;
* a property running past the property length, or the property length past the packet: MALFORMED_PACKET.

An empty property block decodes to ``None``: most packets carry none, and not allocating a ``Properties`` for
them keeps the hot path lean. Callers whose packet field is not optional substitute ``Properties()``.
"""

from __future__ import annotations

from operator import attrgetter
from typing import Any, Final

from corral.mqtt.errors import MQTTProtocolError, ReasonCode
from corral.mqtt.properties import Properties
from corral.mqtt.wire import (
    MAX_VARINT,
    decode_bin,
    decode_str,
    decode_u16,
    decode_u32,
    decode_varint,
    encode_bin,
    encode_str,
    encode_varint,
    malformed,
)

# Which packets may carry a property: one bit per kind of property block.
CONNECT: Final = 1 << 0
CONNACK: Final = 1 << 1
PUBLISH: Final = 1 << 2
WILL: Final = 1 << 3
PUBACK: Final = 1 << 4  # PUBACK, PUBREC, PUBREL and PUBCOMP share one set
SUBSCRIBE: Final = 1 << 5
SUBACK: Final = 1 << 6
UNSUBSCRIBE: Final = 1 << 7
UNSUBACK: Final = 1 << 8
DISCONNECT: Final = 1 << 9
AUTH: Final = 1 << 10
_ALL: Final = (1 << 11) - 1

KIND_NAMES: Final = {
    CONNECT: "CONNECT",
    CONNACK: "CONNACK",
    PUBLISH: "PUBLISH",
    WILL: "Will properties",
    PUBACK: "PUBACK/PUBREC/PUBREL/PUBCOMP",
    SUBSCRIBE: "SUBSCRIBE",
    SUBACK: "SUBACK",
    UNSUBSCRIBE: "UNSUBSCRIBE",
    UNSUBACK: "UNSUBACK",
    DISCONNECT: "DISCONNECT",
    AUTH: "AUTH",
}

# Wire types of property values.
BYTE: Final = 0
U16: Final = 1
U32: Final = 2
VARINT: Final = 3
STRING: Final = 4
BINARY: Final = 5
STRING_PAIR: Final = 6

_U32_MAX: Final = 0xFFFFFFFF

# (identifier, Properties field, wire type, packets allowed, smallest value, largest value)
# The bounds apply to integers only; a value outside them is a PROTOCOL_ERROR.
PROPERTY_TABLE: Final[tuple[tuple[int, str, int, int, int, int], ...]] = (
    (0x01, "payload_format_indicator", BYTE, PUBLISH | WILL, 0, 1),
    (0x02, "message_expiry_interval", U32, PUBLISH | WILL, 0, _U32_MAX),
    (0x03, "content_type", STRING, PUBLISH | WILL, 0, 0),
    (0x08, "response_topic", STRING, PUBLISH | WILL, 0, 0),
    (0x09, "correlation_data", BINARY, PUBLISH | WILL, 0, 0),
    (0x0B, "subscription_identifiers", VARINT, PUBLISH | SUBSCRIBE, 1, MAX_VARINT),
    (0x11, "session_expiry_interval", U32, CONNECT | CONNACK | DISCONNECT, 0, _U32_MAX),
    (0x12, "assigned_client_identifier", STRING, CONNACK, 0, 0),
    (0x13, "server_keep_alive", U16, CONNACK, 0, 0xFFFF),
    (0x15, "authentication_method", STRING, CONNECT | CONNACK | AUTH, 0, 0),
    (0x16, "authentication_data", BINARY, CONNECT | CONNACK | AUTH, 0, 0),
    (0x17, "request_problem_information", BYTE, CONNECT, 0, 1),
    (0x18, "will_delay_interval", U32, WILL, 0, _U32_MAX),
    (0x19, "request_response_information", BYTE, CONNECT, 0, 1),
    (0x1A, "response_information", STRING, CONNACK, 0, 0),
    (0x1C, "server_reference", STRING, CONNACK | DISCONNECT, 0, 0),
    (
        0x1F,
        "reason_string",
        STRING,
        CONNACK | PUBACK | SUBACK | UNSUBACK | DISCONNECT | AUTH,
        0,
        0,
    ),
    (0x21, "receive_maximum", U16, CONNECT | CONNACK, 1, 0xFFFF),
    (0x22, "topic_alias_maximum", U16, CONNECT | CONNACK, 0, 0xFFFF),
    (0x23, "topic_alias", U16, PUBLISH, 1, 0xFFFF),
    (0x24, "maximum_qos", BYTE, CONNACK, 0, 1),
    (0x25, "retain_available", BYTE, CONNACK, 0, 1),
    (0x26, "user_properties", STRING_PAIR, _ALL, 0, 0),
    (0x27, "maximum_packet_size", U32, CONNECT | CONNACK, 1, _U32_MAX),
    (0x28, "wildcard_subscription_available", BYTE, CONNACK, 0, 1),
    (0x29, "subscription_identifier_available", BYTE, CONNACK, 0, 1),
    (0x2A, "shared_subscription_available", BYTE, CONNACK, 0, 1),
)

_BY_ID: Final = {row[0]: row for row in PROPERTY_TABLE}
_GET_ALL: Final = attrgetter(*(row[1] for row in PROPERTY_TABLE))
_EMPTY_VALUES: Final = _GET_ALL(Properties())
_SUBSCRIPTION_IDENTIFIER: Final = 0x0B
_TOPIC_ALIAS: Final = 0x23
_USER_PROPERTY: Final = 0x26


def encode_properties(props: Properties | None, kind: int) -> bytes:
    """The property block (length included) of ``props`` for a packet of ``kind``; ``b"\\x00"`` if empty.

    A property the packet may not carry, or a value out of range, is a bug of the caller: ``ValueError``.
    """
    if props is None:
        return b"\x00"
    values: tuple[Any, ...] = _GET_ALL(props)
    if values == _EMPTY_VALUES:
        return b"\x00"
    out = bytearray()
    for (ident, name, wire_type, kinds, low, high), value in zip(PROPERTY_TABLE, values, strict=True):
        if value is None or (isinstance(value, list) and not value):
            continue
        if not kinds & kind:
            raise ValueError(f"property {name} is not allowed in {KIND_NAMES[kind]}")
        if ident == _USER_PROPERTY:
            for key, item in value:
                out.append(ident)
                out += encode_str(key)
                out += encode_str(item)
        elif ident == _SUBSCRIPTION_IDENTIFIER:
            if len(value) > 1 and kind != PUBLISH:
                raise ValueError(f"only PUBLISH may carry several subscription identifiers, not {kind}")
            for item in value:
                if not low <= item <= high:
                    raise ValueError(f"subscription identifier {item} out of range")
                out.append(ident)
                out += encode_varint(item)
        else:
            out.append(ident)
            out += _encode_value(name, wire_type, value, low, high)
    return encode_varint(len(out)) + out


def _encode_value(name: str, wire_type: int, value: Any, low: int, high: int) -> bytes:
    if wire_type == STRING:
        return encode_str(value)
    if wire_type == BINARY:
        return encode_bin(value)
    if not low <= value <= high:
        raise ValueError(f"property {name}={value} out of range {low}..{high}")
    if wire_type == BYTE:
        return bytes((value,))
    if wire_type == U16:
        return int(value).to_bytes(2, "big")
    if wire_type == U32:
        return int(value).to_bytes(4, "big")
    return encode_varint(value)


def decode_properties(data: bytes, pos: int, end: int, kind: int) -> tuple[Properties | None, int]:
    """Decode the property block at ``pos``; ``None`` when it is empty. Returns the position after it."""
    length, pos = decode_varint(data, pos, end)
    if length == 0:
        return None, pos
    stop = pos + length
    if stop > end:
        raise malformed("property length runs past the end of the packet")
    props = Properties()
    seen = 0
    while pos < stop:
        ident, pos = decode_varint(data, pos, stop)
        row = _BY_ID.get(ident)
        if row is None:
            raise malformed(f"unknown property identifier 0x{ident:02X}")
        _, name, wire_type, kinds, low, high = row
        if not kinds & kind:
            raise malformed(f"property {name} is not allowed in {KIND_NAMES[kind]}")
        bit = 1 << ident
        if seen & bit and ident != _USER_PROPERTY and (ident != _SUBSCRIPTION_IDENTIFIER or kind != PUBLISH):
            raise MQTTProtocolError(ReasonCode.PROTOCOL_ERROR, f"property {name} given more than once")
        seen |= bit
        value: Any
        if wire_type == BYTE:
            if pos >= stop:
                raise malformed(f"property {name} runs past the property length")
            value = data[pos]
            pos += 1
        elif wire_type == U16:
            value, pos = decode_u16(data, pos, stop)
        elif wire_type == U32:
            value, pos = decode_u32(data, pos, stop)
        elif wire_type == VARINT:
            value, pos = decode_varint(data, pos, stop)
        elif wire_type == STRING:
            value, pos = decode_str(data, pos, stop)
        elif wire_type == BINARY:
            value, pos = decode_bin(data, pos, stop)
        else:
            key, pos = decode_str(data, pos, stop)
            item, pos = decode_str(data, pos, stop)
            props.user_properties.append((key, item))
            continue
        if wire_type != STRING and wire_type != BINARY and not low <= value <= high:
            # The specification names its own reason for a Topic Alias of 0.
            reason = ReasonCode.TOPIC_ALIAS_INVALID if ident == _TOPIC_ALIAS else ReasonCode.PROTOCOL_ERROR
            raise MQTTProtocolError(reason, f"property {name} has invalid value {value}")
        if ident == _SUBSCRIPTION_IDENTIFIER:
            props.subscription_identifiers.append(value)
        else:
            setattr(props, name, value)
    return props, pos
