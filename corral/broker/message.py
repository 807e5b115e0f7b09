"""An application message as the broker routes it, with its encodings cached per protocol version.

A message fanned out to many subscribers is encoded once per (version, QoS, retain) rather than once per
subscriber; for QoS 1 only the two packet-id bytes differ, so the bytes around them are cached.
"""

from __future__ import annotations

import time

from corral.mqtt.codec import encode_publish
from corral.mqtt.packets import Publish
from corral.mqtt.properties import Properties

# Properties that travel with an application message to its subscribers (MQTT 5).
_FORWARDED = (
    "payload_format_indicator",
    "content_type",
    "response_topic",
    "correlation_data",
)


def forwarded_properties(props: Properties | None) -> Properties | None:
    """The properties of an incoming PUBLISH a subscriber receives (no alias, no subscription ids)."""
    if props is None:
        return None
    out = Properties()
    keep = False
    for name in _FORWARDED:
        value = getattr(props, name)
        if value is not None:
            setattr(out, name, value)
            keep = True
    if props.user_properties:
        out.user_properties = list(props.user_properties)
        keep = True
    if props.message_expiry_interval is not None:
        out.message_expiry_interval = props.message_expiry_interval
        keep = True
    return out if keep else None


class Message:
    __slots__ = (
        "_cache",
        "created",
        "hops",
        "payload",
        "principal",
        "properties",
        "qos",
        "retain",
        "sender",
        "source_ip",
        "topic",
    )

    def __init__(
        self,
        topic: str,
        payload: bytes,
        qos: int,
        retain: bool = False,
        properties: Properties | None = None,
        sender: str | None = None,
        principal: str | None = None,
        source_ip: str | None = None,
    ) -> None:
        self.topic = topic
        self.payload = payload
        self.qos = qos
        self.retain = retain
        self.properties = properties
        self.sender = sender
        # The publisher's principal id (certificate id, access key id), for the rules engine's principal().
        self.principal = principal
        # The publisher's IP address (the MQTT connection's or the HTTP client's), for sourceip().
        self.source_ip = source_ip
        # How many rule republishes led to this message: the rules engine cuts loops past its limit.
        self.hops = 0
        # Only a message with an MQTT 5 expiry needs its age; the clock is not read for the others.
        self.created = (
            time.monotonic() if properties is not None and properties.message_expiry_interval else 0.0
        )
        self._cache: dict[tuple[int, int, bool], tuple[bytes, bytes]] = {}

    @classmethod
    def from_publish(
        cls,
        packet: Publish,
        version: int,
        sender: str | None,
        topic: str,
        principal: str | None = None,
        source_ip: str | None = None,
    ) -> Message:
        props = forwarded_properties(packet.properties)
        msg = cls(topic, packet.payload, packet.qos, packet.retain, props, sender, principal, source_ip)
        raw = packet.raw
        if raw is not None and packet.qos == 0 and not packet.retain and packet.properties is None:
            # The bytes as received are exactly what a subscriber of the same version gets.
            msg._cache[(version, 0, False)] = (raw, b"")
        return msg

    def expired(self, now: float) -> bool:
        props = self.properties
        if props is None or props.message_expiry_interval is None:
            return False
        return now - self.created >= props.message_expiry_interval

    def encode(
        self,
        version: int,
        qos: int,
        retain: bool,
        packet_id: int | None,
        dup: bool = False,
    ) -> bytes:
        if dup or (self.properties is not None and self.properties.message_expiry_interval):
            return encode_publish(
                self.topic,
                self.payload,
                qos,
                retain,
                dup,
                packet_id,
                version,
                self._delivery_properties(),
            )
        key = (version, qos, retain)
        parts = self._cache.get(key)
        if parts is None:
            encoded = encode_publish(
                self.topic,
                self.payload,
                qos,
                retain,
                False,
                1 if qos else None,
                version,
                self.properties,
            )
            if qos:
                # The packet id is the two bytes right after the topic name.
                header = 2
                while encoded[header - 1] & 0x80:  # skip the remaining-length bytes
                    header += 1
                at = header + 2 + int.from_bytes(encoded[header : header + 2], "big")
                parts = (encoded[:at], encoded[at + 2 :])
            else:
                parts = (encoded, b"")
            self._cache[key] = parts
        if qos:
            assert packet_id is not None
            return parts[0] + packet_id.to_bytes(2, "big") + parts[1]
        return parts[0]

    def _delivery_properties(self) -> Properties | None:
        """The properties with the message expiry counted down to what remains, as MQTT 5 requires."""
        props = self.properties
        if props is None or props.message_expiry_interval is None:
            return props
        out = Properties()
        for name in (*_FORWARDED, "user_properties"):
            setattr(out, name, getattr(props, name))
        remaining = props.message_expiry_interval - int(time.monotonic() - self.created)
        out.message_expiry_interval = max(remaining, 1)
        return out
