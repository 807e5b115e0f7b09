"""Encoding and decoding of MQTT 3.1.1 (protocol version 4) and 5.0 (version 5) control packets, sans I/O.

The codec is ours rather than a library's because it is the broker's hot path (every PUBLISH in, every
delivery out) and because the broker needs strict validation that names the MQTT 5 reason code of each
violation, so it can answer a bad peer with the right CONNACK or DISCONNECT. Decoding lives in
``decoder.py`` (one complete packet) and ``parser.py`` (a byte stream); this module encodes, and offers
``decode`` for a buffer holding exactly one packet.

Encoding trusts the caller, which is our own code: a value the wire cannot carry (a property not allowed in
the packet, QoS 0 with a packet identifier, an integer out of range) raises ``ValueError``. For 3.1.1 the
MQTT 5-only fields (properties, reason codes of acknowledgements, DISCONNECT reason) are left out. For 5.0
the short forms are used: an acknowledgement with reason 0 and no properties is just its packet identifier,
and DISCONNECT or AUTH with reason 0 and no properties has remaining length 0.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from corral.mqtt import property_codec as pk
from corral.mqtt.decoder import decode_body, decode_publish
from corral.mqtt.packets import (
    MQTT_3_1_1,
    MQTT_5,
    Auth,
    Connack,
    Connect,
    Disconnect,
    Packet,
    Pingreq,
    Pingresp,
    Puback,
    Pubcomp,
    Publish,
    Pubrec,
    Pubrel,
    Suback,
    Subscribe,
    Unsuback,
    Unsubscribe,
)
from corral.mqtt.properties import Properties
from corral.mqtt.property_codec import encode_properties
from corral.mqtt.wire import decode_varint, encode_bin, encode_str, encode_varint, malformed

__all__ = ["decode", "encode", "encode_publish"]

_EMPTY_PROPERTIES: Final = b"\x00"
_PUBLISH_FIRST_BYTES: Final = tuple(bytes((0x30 | flags,)) for flags in range(16))


def _packet(first_byte: int, body: bytes) -> bytes:
    return bytes((first_byte,)) + encode_varint(len(body)) + body


def _packet_id(packet_id: int) -> bytes:
    if not 0 < packet_id <= 0xFFFF:
        raise ValueError(f"packet identifier {packet_id} is not in 1..65535")
    return packet_id.to_bytes(2, "big")


def encode_publish(
    topic: str,
    payload: bytes,
    qos: int,
    retain: bool,
    dup: bool,
    packet_id: int | None,
    protocol_version: int,
    properties: Properties | None = None,
) -> bytes:
    """Encode a PUBLISH without building a ``Publish`` first (the broker's delivery path)."""
    name = topic.encode("utf-8")
    if len(name) > 0xFFFF:
        raise ValueError("topic name longer than 65,535 bytes")
    header = len(name).to_bytes(2, "big") + name
    if qos:
        if not 0 < qos < 3:
            raise ValueError(f"QoS {qos}")
        if packet_id is None or not 0 < packet_id <= 0xFFFF:
            raise ValueError(f"PUBLISH with QoS {qos} needs a packet identifier in 1..65535, not {packet_id}")
        header += packet_id.to_bytes(2, "big")
    elif packet_id is not None or dup:
        raise ValueError("PUBLISH with QoS 0 takes neither a packet identifier nor DUP")
    if protocol_version == MQTT_5:
        header += _EMPTY_PROPERTIES if properties is None else encode_properties(properties, pk.PUBLISH)
    elif protocol_version != MQTT_3_1_1:
        raise ValueError(f"protocol version {protocol_version}")
    first = _PUBLISH_FIRST_BYTES[(qos << 1) | (8 if dup else 0) | (1 if retain else 0)]
    return b"".join((first, encode_varint(len(header) + len(payload)), header, payload))


def _encode_publish(packet: Publish, version: int) -> bytes:
    return encode_publish(
        packet.topic,
        packet.payload,
        packet.qos,
        packet.retain,
        packet.dup,
        packet.packet_id,
        version,
        packet.properties,
    )


def _encode_connect(packet: Connect, version: int) -> bytes:
    if packet.protocol_version != version:
        raise ValueError(f"CONNECT of version {packet.protocol_version} encoded as version {version}")
    v5 = version == MQTT_5
    flags = 0x02 if packet.clean_start else 0
    will = packet.will
    if will is not None:
        if not 0 <= will.qos <= 2:
            raise ValueError(f"Will QoS {will.qos}")
        flags |= 0x04 | (will.qos << 3) | (0x20 if will.retain else 0)
    if packet.password is not None:
        if packet.username is None and not v5:
            raise ValueError("MQTT 3.1.1 CONNECT cannot carry a password without a user name")
        flags |= 0x40
    if packet.username is not None:
        flags |= 0x80
    parts = [encode_str(packet.protocol_name), bytes((version, flags)), packet.keep_alive.to_bytes(2, "big")]
    if v5:
        parts.append(encode_properties(packet.properties, pk.CONNECT))
    parts.append(encode_str(packet.client_id))
    if will is not None:
        if v5:
            parts.append(encode_properties(will.properties, pk.WILL))
        parts.append(encode_str(will.topic))
        parts.append(encode_bin(will.payload))
    if packet.username is not None:
        parts.append(encode_str(packet.username))
    if packet.password is not None:
        parts.append(encode_bin(packet.password))
    return _packet(0x10, b"".join(parts))


def _encode_connack(packet: Connack, version: int) -> bytes:
    body = bytes((1 if packet.session_present else 0, packet.reason_code))
    if version == MQTT_5:
        body += encode_properties(packet.properties, pk.CONNACK)
    return _packet(0x20, body)


def _encode_ack(packet: Puback | Pubrec | Pubrel | Pubcomp, version: int) -> bytes:
    first = _ACK_FIRST_BYTES[type(packet)]
    packet_id = _packet_id(packet.packet_id)
    if version != MQTT_5:
        return bytes((first, 2)) + packet_id
    props = encode_properties(packet.properties, pk.PUBACK)
    if props == _EMPTY_PROPERTIES:
        if packet.reason_code == 0:
            return bytes((first, 2)) + packet_id
        return bytes((first, 3)) + packet_id + bytes((packet.reason_code,))
    return _packet(first, packet_id + bytes((packet.reason_code,)) + props)


_ACK_FIRST_BYTES: Final[dict[type, int]] = {Puback: 0x40, Pubrec: 0x50, Pubrel: 0x62, Pubcomp: 0x70}


def _encode_subscribe(packet: Subscribe, version: int) -> bytes:
    if not packet.subscriptions:
        raise ValueError("SUBSCRIBE needs at least one topic filter")
    parts = [_packet_id(packet.packet_id)]
    v5 = version == MQTT_5
    if v5:
        parts.append(encode_properties(packet.properties, pk.SUBSCRIBE))
    for sub in packet.subscriptions:
        if not 0 <= sub.qos <= 2 or not 0 <= sub.retain_handling <= 2:
            raise ValueError(f"subscription options {sub}")
        options = sub.qos
        if v5:
            options |= sub.retain_handling << 4
            options |= (4 if sub.no_local else 0) | (8 if sub.retain_as_published else 0)
        parts.append(encode_str(sub.topic_filter))
        parts.append(bytes((options,)))
    return _packet(0x82, b"".join(parts))


def _encode_suback(packet: Suback, version: int) -> bytes:
    if not packet.reason_codes:
        raise ValueError("SUBACK needs at least one reason code")
    body = _packet_id(packet.packet_id)
    if version == MQTT_5:
        body += encode_properties(packet.properties, pk.SUBACK)
    return _packet(0x90, body + bytes(packet.reason_codes))


def _encode_unsubscribe(packet: Unsubscribe, version: int) -> bytes:
    if not packet.topic_filters:
        raise ValueError("UNSUBSCRIBE needs at least one topic filter")
    parts = [_packet_id(packet.packet_id)]
    if version == MQTT_5:
        parts.append(encode_properties(packet.properties, pk.UNSUBSCRIBE))
    parts.extend(encode_str(topic_filter) for topic_filter in packet.topic_filters)
    return _packet(0xA2, b"".join(parts))


def _encode_unsuback(packet: Unsuback, version: int) -> bytes:
    body = _packet_id(packet.packet_id)
    if version == MQTT_5:
        if not packet.reason_codes:
            raise ValueError("an MQTT 5 UNSUBACK needs at least one reason code")
        body += encode_properties(packet.properties, pk.UNSUBACK) + bytes(packet.reason_codes)
    return _packet(0xB0, body)


def _encode_pingreq(packet: Pingreq, version: int) -> bytes:
    return b"\xc0\x00"


def _encode_pingresp(packet: Pingresp, version: int) -> bytes:
    return b"\xd0\x00"


def _encode_disconnect(packet: Disconnect, version: int) -> bytes:
    if version != MQTT_5:
        return b"\xe0\x00"
    props = encode_properties(packet.properties, pk.DISCONNECT)
    if props == _EMPTY_PROPERTIES:
        return b"\xe0\x00" if packet.reason_code == 0 else bytes((0xE0, 1, packet.reason_code))
    return _packet(0xE0, bytes((packet.reason_code,)) + props)


def _encode_auth(packet: Auth, version: int) -> bytes:
    if version != MQTT_5:
        raise ValueError("AUTH does not exist in MQTT 3.1.1")
    props = encode_properties(packet.properties, pk.AUTH)
    if props == _EMPTY_PROPERTIES and packet.reason_code == 0:
        return b"\xf0\x00"
    return _packet(0xF0, bytes((packet.reason_code,)) + props)


_ENCODERS: Final[dict[type, Callable[[Any, int], bytes]]] = {
    Connect: _encode_connect,
    Connack: _encode_connack,
    Publish: _encode_publish,
    Puback: _encode_ack,
    Pubrec: _encode_ack,
    Pubrel: _encode_ack,
    Pubcomp: _encode_ack,
    Subscribe: _encode_subscribe,
    Suback: _encode_suback,
    Unsubscribe: _encode_unsubscribe,
    Unsuback: _encode_unsuback,
    Pingreq: _encode_pingreq,
    Pingresp: _encode_pingresp,
    Disconnect: _encode_disconnect,
    Auth: _encode_auth,
}


def encode(packet: Packet, protocol_version: int) -> bytes:
    """The bytes of ``packet`` as MQTT 3.1.1 (``protocol_version`` 4) or 5.0 (5)."""
    if protocol_version != MQTT_5 and protocol_version != MQTT_3_1_1:
        raise ValueError(f"protocol version {protocol_version}")
    return _ENCODERS[type(packet)](packet, protocol_version)


def decode(data: bytes, protocol_version: int) -> Packet:
    """Decode ``data``, which must hold exactly one complete packet (MALFORMED_PACKET otherwise).

    A CONNECT is decoded as the version it names, whatever ``protocol_version`` says. No check is made of
    which side may send the packet: that is ``MQTTParser``'s job. A PUBLISH gets ``raw=data``.
    """
    data = bytes(data)
    if len(data) < 2:
        raise malformed("shorter than a fixed header")
    first_byte = data[0]
    remaining, pos = decode_varint(data, 1, len(data))
    if pos + remaining != len(data):
        raise malformed(f"remaining length {remaining} but {len(data) - pos} bytes follow the fixed header")
    if first_byte >> 4 == 3:
        return decode_publish(data, first_byte, pos, protocol_version)
    return decode_body(data, first_byte, pos, len(data), protocol_version)
