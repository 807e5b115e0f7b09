"""Message encodings: what a subscriber parses back, the per-(version, QoS, retain) cache, raw reuse."""

from __future__ import annotations

import pytest

from corral.broker.message import Message, forwarded_properties
from corral.mqtt.codec import decode, encode, encode_publish
from corral.mqtt.packets import Connack, Publish
from corral.mqtt.parser import MQTTParser
from corral.mqtt.properties import Properties

VERSIONS = [4, 5]
PAYLOADS = [b"", b"hello", bytes(range(256)) * 2, b"x" * 20_000]  # 1-, 2- and 3-byte remaining lengths


def received(data: bytes, version: int) -> Publish:
    """What a client of ``version`` parses from ``data`` after its CONNACK."""
    parser = MQTTParser(server_side=False, protocol_version=version)
    assert len(parser.feed(encode(Connack(), version))) == 1
    packets = parser.feed(data)
    assert len(packets) == 1
    packet = packets[0]
    assert isinstance(packet, Publish)
    return packet


def full_properties() -> Properties:
    return Properties(
        payload_format_indicator=1,
        content_type="application/json",
        response_topic="replies/1",
        correlation_data=b"\x00\x01corr\xff",
        user_properties=[("k", "v"), ("k", "v2"), ("ünï", "cødé")],
    )


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("qos", [0, 1])
@pytest.mark.parametrize("retain", [False, True])
@pytest.mark.parametrize("payload", PAYLOADS, ids=lambda p: f"{len(p)}B")
def test_encode_parses_back(version: int, qos: int, retain: bool, payload: bytes) -> None:
    message = Message("dev/ünï/telemetry", payload, qos=1, retain=True)
    packet_id = 0x1234 if qos else None
    packet = received(message.encode(version, qos, retain, packet_id), version)
    assert packet.topic == "dev/ünï/telemetry"
    assert packet.payload == payload
    assert packet.qos == qos
    assert packet.retain is retain
    assert packet.packet_id == packet_id
    assert packet.dup is False
    assert packet.properties is None


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("retain", [False, True])
@pytest.mark.parametrize("payload", PAYLOADS, ids=lambda p: f"{len(p)}B")
def test_cached_qos1_encodings_differ_only_in_the_packet_id(
    version: int, retain: bool, payload: bytes
) -> None:
    message = Message("a/b", payload, qos=1, properties=full_properties())
    first = message.encode(version, 1, retain, 0x0102)
    second = message.encode(version, 1, retain, 0xA1B2)
    assert len(first) == len(second)
    diff = [i for i in range(len(first)) if first[i] != second[i]]
    assert len(diff) == 2 and diff[1] == diff[0] + 1
    at = diff[0]
    assert first[at : at + 2] == b"\x01\x02"
    assert second[at : at + 2] == b"\xa1\xb2"
    assert received(first, version).packet_id == 0x0102
    assert received(second, version).packet_id == 0xA1B2
    # And both equal what the codec encodes from scratch.
    props = full_properties() if version == 5 else None
    assert first == encode_publish("a/b", payload, 1, retain, False, 0x0102, version, props)


@pytest.mark.parametrize("version", VERSIONS)
def test_packet_id_extremes(version: int) -> None:
    message = Message("t", b"p", qos=1)
    for packet_id in (1, 0xFF, 0x100, 0xFFFF):
        assert received(message.encode(version, 1, False, packet_id), version).packet_id == packet_id


@pytest.mark.parametrize("version", VERSIONS)
def test_encodings_are_cached_per_version_qos_and_retain(version: int) -> None:
    message = Message("a/b", b"payload", qos=1)
    seen = {(q, r): message.encode(version, q, r, 7 if q else None) for q in (0, 1) for r in (False, True)}
    assert len(set(seen.values())) == 4
    for (q, r), data in seen.items():
        assert message.encode(version, q, r, 7 if q else None) == data
    other = 5 if version == 4 else 4
    assert message.encode(other, 0, False, None) != seen[(0, False)]


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("retain", [False, True])
def test_dup_sets_the_dup_bit(version: int, retain: bool) -> None:
    message = Message("a/b", b"again", qos=1)
    plain = message.encode(version, 1, retain, 9)
    dup = message.encode(version, 1, retain, 9, dup=True)
    assert dup[0] == plain[0] | 0x08
    assert dup[1:] == plain[1:]
    packet = received(dup, version)
    assert packet.dup is True
    assert (packet.topic, packet.payload, packet.qos, packet.retain, packet.packet_id) == (
        "a/b",
        b"again",
        1,
        retain,
        9,
    )
    # A DUP encoding does not leak into the cache.
    assert message.encode(version, 1, retain, 9) == plain
    assert received(message.encode(version, 1, retain, 10), version).dup is False


@pytest.mark.parametrize("qos", [0, 1])
def test_mqtt5_properties_survive(qos: int) -> None:
    message = Message("a/b", b"{}", qos=1, properties=full_properties())
    packet = received(message.encode(5, qos, False, 3 if qos else None), 5)
    assert packet.properties == full_properties()


def test_mqtt311_subscribers_get_no_properties() -> None:
    message = Message("a/b", b"{}", qos=1, properties=full_properties())
    packet = received(message.encode(4, 1, False, 3), 4)
    assert packet.properties is None
    assert packet.payload == b"{}"


def test_message_expiry_is_counted_down() -> None:
    message = Message("a/b", b"x", qos=1, properties=Properties(message_expiry_interval=60, content_type="t"))
    packet = received(message.encode(5, 1, False, 1), 5)
    assert packet.properties is not None
    assert packet.properties.message_expiry_interval in (59, 60)
    assert packet.properties.content_type == "t"
    message.created -= 45.5  # as if stored 45.5 s ago
    packet = received(message.encode(5, 1, False, 2), 5)
    assert packet.properties is not None
    assert packet.properties.message_expiry_interval == 15
    assert message.properties is not None
    assert message.properties.message_expiry_interval == 60  # the stored value is unchanged


def test_expired() -> None:
    message = Message("a/b", b"x", qos=1, properties=Properties(message_expiry_interval=60))
    assert not message.expired(message.created)
    assert not message.expired(message.created + 59.9)
    assert message.expired(message.created + 60)
    forever = Message("a/b", b"x", qos=1, properties=Properties(content_type="t"))
    assert not forever.expired(forever.created + 10**9)
    assert not Message("a/b", b"x", qos=1).expired(10**12)


# ------------------------------------------------------------------------------------------ from_publish


@pytest.mark.parametrize("version", VERSIONS)
def test_from_publish_reuses_raw_bytes_for_the_same_version(version: int) -> None:
    data = encode_publish("a/b", b"payload", 0, False, False, None, version)
    packet = decode(data, version)
    assert isinstance(packet, Publish) and packet.raw is not None
    message = Message.from_publish(packet, version, "sender", packet.topic)
    assert message.encode(version, 0, False, None) is packet.raw
    assert message.sender == "sender"
    # Another version gets its own encoding.
    other = 5 if version == 4 else 4
    out = message.encode(other, 0, False, None)
    assert out is not packet.raw
    assert out == encode_publish("a/b", b"payload", 0, False, False, None, other)


@pytest.mark.parametrize("version", VERSIONS)
def test_from_publish_qos1_gets_the_subscribers_packet_id(version: int) -> None:
    data = encode_publish("a/b", b"payload", 1, False, False, 77, version)
    packet = decode(data, version)
    assert isinstance(packet, Publish)
    message = Message.from_publish(packet, version, "sender", packet.topic)
    assert received(message.encode(version, 1, False, 5), version).packet_id == 5
    assert received(message.encode(version, 0, False, None), version).packet_id is None


@pytest.mark.parametrize("version", VERSIONS)
def test_from_publish_does_not_reuse_a_retained_publish(version: int) -> None:
    data = encode_publish("a/b", b"payload", 0, True, False, None, version)
    packet = decode(data, version)
    assert isinstance(packet, Publish)
    message = Message.from_publish(packet, version, None, packet.topic)
    assert message.retain is True
    live = received(message.encode(version, 0, False, None), version)
    assert live.retain is False


def test_from_publish_uses_the_resolved_topic_and_drops_the_alias() -> None:
    props = Properties(topic_alias=3, content_type="text/plain", user_properties=[("a", "b")])
    data = encode_publish("", b"payload", 0, False, False, None, 5, props)
    packet = decode(data, 5)
    assert isinstance(packet, Publish)
    message = Message.from_publish(packet, 5, "c1", "aliased/topic")
    out = received(message.encode(5, 0, False, None), 5)
    assert out.topic == "aliased/topic"
    assert out.properties == Properties(content_type="text/plain", user_properties=[("a", "b")])


def test_forwarded_properties() -> None:
    assert forwarded_properties(None) is None
    assert forwarded_properties(Properties(topic_alias=1, subscription_identifiers=[4])) is None
    incoming = full_properties()
    incoming.topic_alias = 2
    incoming.message_expiry_interval = 30
    out = forwarded_properties(incoming)
    expected = full_properties()
    expected.message_expiry_interval = 30
    assert out == expected
    assert out is not None and out.user_properties is not incoming.user_properties
