"""Decoding of one MQTT 3.1.1 / 5.0 control packet whose bytes are all present.

Each decoder reads the packet in place: ``data[pos:end]`` is the variable header and payload (the fixed
header is already parsed), and the decoder must consume exactly that range, no more (MALFORMED_PACKET for a
field running past ``end``) and no less (MALFORMED_PACKET for bytes left over). The stream parser
(``parser.py``) finds packet boundaries and enforces which packet may come when; this module only checks
what one packet says about itself.

Reason codes chosen where the spec leaves room (the broker maps them to CONNACK/DISCONNECT):

* reserved fixed-header flags, QoS 3, DUP on QoS 0, reserved bits in CONNECT flags or subscription options,
  inconsistent Will flags, ill-formed UTF-8 or U+0000: MALFORMED_PACKET;
* packet identifier 0, no topic filter in SUBSCRIBE/UNSUBSCRIBE, no reason code in SUBACK/UNSUBACK, a
  reason code the packet may not carry, an empty topic name without a Topic Alias, Retain Handling 3 or
  subscription QoS 3 in 5.0 (the 5.0 spec calls those a Protocol Error): PROTOCOL_ERROR;
* ``+`` or ``#`` in a PUBLISH or Will topic name: TOPIC_NAME_INVALID;
* CONNECT naming "MQTT" with a level other than 4 or 5, or "MQIsdp" (MQTT 3.1) at any level:
  UNSUPPORTED_PROTOCOL_VERSION, so the broker can answer with a 3.1.1 CONNACK 0x01 that any client
  understands; any other protocol name: PROTOCOL_ERROR (the peer is not speaking MQTT).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from corral.mqtt import property_codec as pk
from corral.mqtt import reason_codes as rc
from corral.mqtt.errors import MQTTProtocolError, ReasonCode
from corral.mqtt.packets import (
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
    Subscription,
    Unsuback,
    Unsubscribe,
    Will,
)
from corral.mqtt.properties import Properties
from corral.mqtt.property_codec import decode_properties
from corral.mqtt.wire import decode_bin, decode_str, malformed, protocol_error

Decoder = Callable[[bytes, int, int, int], Packet]
"""``(data, pos, end, protocol_version) -> packet``, for the packet types other than PUBLISH."""

REQUIRED_FLAGS: Final = (-1, 0, 0, -1, 0, 0, 2, 0, 2, 0, 2, 0, 0, 0, 0, 0)
"""The fixed flags (low nibble of byte 1) of each packet type; -1 where they vary (PUBLISH) or no type (0)."""


def _end(pos: int, end: int, what: str) -> None:
    if pos != end:
        raise malformed(f"{end - pos} bytes left over at the end of {what}")


def _packet_id(data: bytes, pos: int, end: int) -> tuple[int, int]:
    if pos + 2 > end:
        raise malformed("packet identifier runs past the end of the packet")
    packet_id = (data[pos] << 8) | data[pos + 1]
    if packet_id == 0:
        raise protocol_error("packet identifier 0")
    return packet_id, pos + 2


def _check_topic_name(topic: str, what: str) -> None:
    if "+" in topic or "#" in topic:
        raise MQTTProtocolError(ReasonCode.TOPIC_NAME_INVALID, f"wildcard in {what} topic name {topic!r}")


def decode_publish(raw: bytes, first_byte: int, pos: int, protocol_version: int) -> Publish:
    """Decode a PUBLISH; ``raw`` is exactly the whole packet and ``pos`` the length of its fixed header.

    The hot path of the broker: everything is inline, and ``properties`` stays ``None`` when a 5.0 packet
    has an empty property block.
    """
    qos = (first_byte >> 1) & 3
    if qos == 3:
        raise malformed("PUBLISH with QoS 3")
    dup = first_byte & 8
    if dup and not qos:
        raise malformed("PUBLISH with DUP set on QoS 0")
    end = len(raw)
    start = pos + 2
    if start > end:
        raise malformed("PUBLISH topic length runs past the end of the packet")
    pos = start + ((raw[pos] << 8) | raw[pos + 1])
    if pos > end:
        raise malformed("PUBLISH topic runs past the end of the packet")
    try:
        topic = raw[start:pos].decode("utf-8")
    except UnicodeDecodeError:
        raise malformed("PUBLISH topic is not well-formed UTF-8") from None
    if "\x00" in topic:
        raise malformed("PUBLISH topic contains U+0000")
    if "+" in topic or "#" in topic:
        raise MQTTProtocolError(ReasonCode.TOPIC_NAME_INVALID, f"wildcard in PUBLISH topic name {topic!r}")
    packet_id: int | None = None
    if qos:
        packet_id, pos = _packet_id(raw, pos, end)
    props: Properties | None = None
    if protocol_version == MQTT_5:
        if pos < end and raw[pos] == 0:
            pos += 1
        else:
            props, pos = decode_properties(raw, pos, end, pk.PUBLISH)
    if not topic and (props is None or props.topic_alias is None):
        raise protocol_error("PUBLISH with an empty topic name and no Topic Alias")
    return Publish(topic, raw[pos:], qos, bool(first_byte & 1), bool(dup), packet_id, props, raw)


def decode_connect(data: bytes, pos: int, end: int, protocol_version: int) -> Connect:
    """Decode a CONNECT; ``protocol_version`` is ignored, the packet says which version it speaks."""
    name, pos = decode_str(data, pos, end)
    if pos >= end:
        raise malformed("CONNECT ends after the protocol name")
    level = data[pos]
    if name == "MQIsdp":
        raise MQTTProtocolError(ReasonCode.UNSUPPORTED_PROTOCOL_VERSION, f"MQTT 3.1 (MQIsdp level {level})")
    if name != "MQTT":
        raise protocol_error(f"protocol name {name!r} is not MQTT")
    if level != 4 and level != 5:
        raise MQTTProtocolError(ReasonCode.UNSUPPORTED_PROTOCOL_VERSION, f"protocol level {level}")
    if pos + 4 > end:
        raise malformed("CONNECT variable header runs past the end of the packet")
    flags = data[pos + 1]
    keep_alive = (data[pos + 2] << 8) | data[pos + 3]
    pos += 4
    if flags & 0x01:
        raise malformed("CONNECT reserved flag is set")
    will_flag = flags & 0x04
    will_qos = (flags >> 3) & 3
    will_retain = bool(flags & 0x20)
    if will_flag:
        if will_qos == 3:
            raise malformed("CONNECT with Will QoS 3")
    elif will_qos or will_retain:
        raise malformed("CONNECT with Will QoS or Will Retain but no Will Flag")
    has_password = flags & 0x40
    has_username = flags & 0x80
    if has_password and not has_username and level == 4:
        raise malformed("CONNECT with a password but no user name (MQTT 3.1.1)")
    props: Properties | None = None
    if level == MQTT_5:
        props, pos = decode_properties(data, pos, end, pk.CONNECT)
    client_id, pos = decode_str(data, pos, end)
    will: Will | None = None
    if will_flag:
        will_props: Properties | None = None
        if level == MQTT_5:
            will_props, pos = decode_properties(data, pos, end, pk.WILL)
        will_topic, pos = decode_str(data, pos, end)
        if not will_topic:
            raise protocol_error("empty Will topic")
        _check_topic_name(will_topic, "Will")
        will_payload, pos = decode_bin(data, pos, end)
        will = Will(will_topic, will_payload, will_qos, will_retain, will_props or Properties())
    username: str | None = None
    password: bytes | None = None
    if has_username:
        username, pos = decode_str(data, pos, end)
    if has_password:
        password, pos = decode_bin(data, pos, end)
    _end(pos, end, "CONNECT")
    return Connect(
        client_id,
        level,
        bool(flags & 0x02),
        keep_alive,
        will,
        username,
        password,
        props or Properties(),
        name,
    )


def _decode_connack(data: bytes, pos: int, end: int, protocol_version: int) -> Connack:
    if pos + 2 > end:
        raise malformed("CONNACK shorter than two bytes")
    ack_flags = data[pos]
    code = data[pos + 1]
    pos += 2
    if ack_flags & 0xFE:
        raise malformed("CONNACK reserved acknowledge flags are set")
    if code not in (rc.CONNACK_5 if protocol_version == MQTT_5 else rc.CONNACK_311):
        raise protocol_error(f"CONNACK reason code 0x{code:02X}")
    if ack_flags and code:
        raise protocol_error("CONNACK with Session Present and a failure code")
    props: Properties | None = None
    if protocol_version == MQTT_5:
        props, pos = decode_properties(data, pos, end, pk.CONNACK)
    _end(pos, end, "CONNACK")
    return Connack(code, bool(ack_flags), props or Properties())


def _ack_decoder(
    cls: type[Puback] | type[Pubrec] | type[Pubrel] | type[Pubcomp], codes: frozenset[int]
) -> Decoder:
    what = cls.__name__.upper()

    def decode(data: bytes, pos: int, end: int, protocol_version: int) -> Packet:
        packet_id, pos = _packet_id(data, pos, end)
        if pos == end:
            return cls(packet_id)
        if protocol_version != MQTT_5:
            raise malformed(f"{what} longer than two bytes")
        code = data[pos]
        if code not in codes:
            raise protocol_error(f"{what} reason code 0x{code:02X}")
        props: Properties | None = None
        if pos + 1 < end:
            props, pos = decode_properties(data, pos + 1, end, pk.PUBACK)
            _end(pos, end, what)
        return cls(packet_id, code, props)

    return decode


def _decode_subscribe(data: bytes, pos: int, end: int, protocol_version: int) -> Subscribe:
    packet_id, pos = _packet_id(data, pos, end)
    props: Properties | None = None
    v5 = protocol_version == MQTT_5
    if v5:
        props, pos = decode_properties(data, pos, end, pk.SUBSCRIBE)
    subscriptions: list[Subscription] = []
    while pos < end:
        topic_filter, pos = decode_str(data, pos, end)
        if pos >= end:
            raise malformed("SUBSCRIBE topic filter without options")
        options = data[pos]
        pos += 1
        qos = options & 3
        if v5:
            if options & 0xC0:
                raise malformed("SUBSCRIBE options reserved bits are set")
            retain_handling = (options >> 4) & 3
            if qos == 3 or retain_handling == 3:
                raise protocol_error("SUBSCRIBE options with QoS 3 or Retain Handling 3")
            subscriptions.append(
                Subscription(topic_filter, qos, bool(options & 4), bool(options & 8), retain_handling)
            )
        else:
            if options & 0xFC or qos == 3:
                raise malformed("SUBSCRIBE requested QoS byte is not 0, 1 or 2")
            subscriptions.append(Subscription(topic_filter, qos))
    if not subscriptions:
        raise protocol_error("SUBSCRIBE without topic filters")
    return Subscribe(packet_id, subscriptions, props or Properties())


def _decode_suback(data: bytes, pos: int, end: int, protocol_version: int) -> Suback:
    packet_id, pos = _packet_id(data, pos, end)
    props: Properties | None = None
    allowed = rc.SUBACK_311
    if protocol_version == MQTT_5:
        props, pos = decode_properties(data, pos, end, pk.SUBACK)
        allowed = rc.SUBACK_5
    codes = list(data[pos:end])
    if not codes:
        raise protocol_error("SUBACK without reason codes")
    for code in codes:
        if code not in allowed:
            raise protocol_error(f"SUBACK reason code 0x{code:02X}")
    return Suback(packet_id, codes, props or Properties())


def _decode_unsubscribe(data: bytes, pos: int, end: int, protocol_version: int) -> Unsubscribe:
    packet_id, pos = _packet_id(data, pos, end)
    props: Properties | None = None
    if protocol_version == MQTT_5:
        props, pos = decode_properties(data, pos, end, pk.UNSUBSCRIBE)
    topic_filters: list[str] = []
    while pos < end:
        topic_filter, pos = decode_str(data, pos, end)
        topic_filters.append(topic_filter)
    if not topic_filters:
        raise protocol_error("UNSUBSCRIBE without topic filters")
    return Unsubscribe(packet_id, topic_filters, props or Properties())


def _decode_unsuback(data: bytes, pos: int, end: int, protocol_version: int) -> Unsuback:
    packet_id, pos = _packet_id(data, pos, end)
    if protocol_version != MQTT_5:
        _end(pos, end, "UNSUBACK")
        return Unsuback(packet_id)
    props, pos = decode_properties(data, pos, end, pk.UNSUBACK)
    codes = list(data[pos:end])
    if not codes:
        raise protocol_error("UNSUBACK without reason codes")
    for code in codes:
        if code not in rc.UNSUBACK_5:
            raise protocol_error(f"UNSUBACK reason code 0x{code:02X}")
    return Unsuback(packet_id, codes, props or Properties())


def _decode_pingreq(data: bytes, pos: int, end: int, protocol_version: int) -> Pingreq:
    _end(pos, end, "PINGREQ")
    return Pingreq()


def _decode_pingresp(data: bytes, pos: int, end: int, protocol_version: int) -> Pingresp:
    _end(pos, end, "PINGRESP")
    return Pingresp()


def _reason_and_properties(
    data: bytes, pos: int, end: int, codes: frozenset[int], kind: int, what: str
) -> tuple[int, Properties]:
    """The optional reason code and properties ending DISCONNECT and AUTH in 5.0."""
    if pos == end:
        return 0, Properties()
    code = data[pos]
    if code not in codes:
        raise protocol_error(f"{what} reason code 0x{code:02X}")
    props: Properties | None = None
    if pos + 1 < end:
        props, pos = decode_properties(data, pos + 1, end, kind)
        _end(pos, end, what)
    return code, props or Properties()


def _decode_disconnect(data: bytes, pos: int, end: int, protocol_version: int) -> Disconnect:
    if protocol_version != MQTT_5:
        _end(pos, end, "DISCONNECT")
        return Disconnect()
    code, props = _reason_and_properties(data, pos, end, rc.DISCONNECT_5, pk.DISCONNECT, "DISCONNECT")
    return Disconnect(code, props)


def _decode_auth(data: bytes, pos: int, end: int, protocol_version: int) -> Auth:
    if protocol_version != MQTT_5:
        raise protocol_error("AUTH does not exist in MQTT 3.1.1")
    code, props = _reason_and_properties(data, pos, end, rc.AUTH_5, pk.AUTH, "AUTH")
    return Auth(code, props)


DECODERS: Final[dict[int, Decoder]] = {
    1: decode_connect,
    2: _decode_connack,
    4: _ack_decoder(Puback, rc.PUBACK_5),
    5: _ack_decoder(Pubrec, rc.PUBACK_5),
    6: _ack_decoder(Pubrel, rc.PUBREL_5),
    7: _ack_decoder(Pubcomp, rc.PUBREL_5),
    8: _decode_subscribe,
    9: _decode_suback,
    10: _decode_unsubscribe,
    11: _decode_unsuback,
    12: _decode_pingreq,
    13: _decode_pingresp,
    14: _decode_disconnect,
    15: _decode_auth,
}
"""The decoder of each packet type but PUBLISH (which has its own signature, see ``decode_publish``)."""


def decode_body(data: bytes, first_byte: int, pos: int, end: int, protocol_version: int) -> Packet:
    """Decode a packet other than PUBLISH from ``data[pos:end]``, after checking its fixed-header flags."""
    packet_type = first_byte >> 4
    decoder = DECODERS.get(packet_type)
    if decoder is None:
        raise malformed(f"packet type {packet_type} is reserved")
    if first_byte & 0x0F != REQUIRED_FLAGS[packet_type]:
        raise malformed(f"packet type {packet_type} with fixed-header flags 0x{first_byte & 0x0F:X}")
    return decoder(data, pos, end, protocol_version)
