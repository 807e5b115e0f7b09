"""The stream parser: truncated prefixes, byte-at-a-time feeding, several packets per chunk, and the
rules of which packet may arrive when."""

from __future__ import annotations

import pytest

from corral.mqtt.codec import encode, encode_publish
from corral.mqtt.errors import MQTTProtocolError, ReasonCode
from corral.mqtt.packets import Connack, Connect, Disconnect, Pingreq, Puback, Publish
from corral.mqtt.parser import MQTTParser
from tests.mqtt.fixtures import ALL_FIXTURES, FIXTURES_5, FIXTURES_311, Fixture, fixture_id, h
from tests.mqtt.helpers import (
    CONNACK_BYTES,
    CONNECT_BYTES,
    client_parser,
    expected,
    parser_for,
    server_parser,
)


@pytest.mark.parametrize("fixture", ALL_FIXTURES, ids=fixture_id)
def test_every_truncated_prefix_is_need_more_data(fixture: Fixture) -> None:
    for cut in range(len(fixture.data)):
        parser = parser_for(fixture)
        assert parser.feed(fixture.data[:cut]) == []
        assert parser.feed(fixture.data[cut:]) == [expected(fixture)]


@pytest.mark.parametrize("fixture", ALL_FIXTURES, ids=fixture_id)
def test_one_byte_at_a_time(fixture: Fixture) -> None:
    parser = parser_for(fixture)
    data = fixture.data
    for i in range(len(data) - 1):
        assert parser.feed(data[i : i + 1]) == []
    assert parser.feed(data[-1:]) == [expected(fixture)]


@pytest.mark.parametrize("fixtures", [FIXTURES_311, FIXTURES_5], ids=["v4", "v5"])
def test_several_packets_in_one_feed(fixtures: list[Fixture]) -> None:
    # Everything a client may send after its CONNECT, back to back.
    sent = [f for f in fixtures if parser_for(f).server_side and not isinstance(f.packet, Connect)]
    stream = b"".join(f.data for f in sent)
    parser = server_parser(fixtures[0].version)
    packets = parser.feed(stream)
    assert packets == [expected(f) for f in sent]
    # The same stream cut into chunks of 7 bytes gives the same packets.
    parser = server_parser(fixtures[0].version)
    chunked = []
    for i in range(0, len(stream), 7):
        chunked.extend(parser.feed(stream[i : i + 7]))
    assert chunked == packets


def test_connect_and_following_packets_in_one_chunk() -> None:
    parser = MQTTParser()
    publish = encode_publish("a/b", b"x", 1, False, False, 1, 5)
    packets = parser.feed(CONNECT_BYTES[5] + publish + h("C0 00"))
    assert [type(p) for p in packets] == [Connect, Publish, Pingreq]
    assert parser.protocol_version == 5
    assert isinstance(packets[1], Publish) and packets[1].raw == publish


def test_client_side_stream() -> None:
    parser = MQTTParser(server_side=False, protocol_version=5)
    assert parser.protocol_version == 5
    packets = parser.feed(CONNACK_BYTES[5] + h("40 02 00 01 E0 01 8B"))
    assert packets == [Connack(), Puback(1), Disconnect(0x8B)]


def test_client_side_needs_a_version() -> None:
    with pytest.raises(ValueError):
        MQTTParser(server_side=False)


def test_protocol_version_is_none_until_connect() -> None:
    parser = MQTTParser()
    assert parser.protocol_version is None
    parser.feed(CONNECT_BYTES[4][:5])
    assert parser.protocol_version is None
    parser.feed(CONNECT_BYTES[4][5:])
    assert parser.protocol_version == 4


def test_version_known_when_a_connect_is_malformed() -> None:
    parser = MQTTParser()
    # A 5.0 CONNECT whose client id length runs past the end.
    with pytest.raises(MQTTProtocolError) as info:
        parser.feed(h("10 0E") + CONNECT_BYTES[5][2:-3] + h("00 05") + b"c")
    assert info.value.reason_code == ReasonCode.MALFORMED_PACKET
    assert parser.protocol_version == 5


def test_parser_is_dead_after_an_error() -> None:
    parser = server_parser(4)
    with pytest.raises(MQTTProtocolError):
        parser.feed(h("00 00"))
    assert parser.dead
    with pytest.raises(MQTTProtocolError) as info:
        parser.feed(h("C0 00"))
    assert info.value.reason_code == ReasonCode.MALFORMED_PACKET
    with pytest.raises(MQTTProtocolError):
        parser.feed(b"")


def test_packets_before_an_error_in_the_same_chunk_are_lost_with_it() -> None:
    # feed() either returns packets or raises; the connection is closed either way.
    parser = server_parser(4)
    with pytest.raises(MQTTProtocolError):
        parser.feed(h("C0 00 C1 00"))


def test_memoryview_and_bytearray_input() -> None:
    parser = server_parser(4)
    assert parser.feed(memoryview(h("C0 00"))) == [Pingreq()]  # type: ignore[arg-type]
    assert parser.feed(bytearray(h("C0"))) == []  # type: ignore[arg-type]
    assert parser.feed(bytearray(h("00"))) == [Pingreq()]  # type: ignore[arg-type]


def test_large_publish_in_small_chunks() -> None:
    parser = server_parser(5)
    data = encode_publish("big", bytes(range(256)) * 1000, 1, False, False, 9, 5)
    out = []
    for i in range(0, len(data), 1000):
        out.extend(parser.feed(data[i : i + 1000]))
    assert len(out) == 1 and isinstance(out[0], Publish)
    assert out[0].payload == bytes(range(256)) * 1000 and out[0].raw == data


def test_empty_feed() -> None:
    assert MQTTParser().feed(b"") == []


@pytest.mark.parametrize("version", [4, 5])
def test_publish_properties_none_when_empty(version: int) -> None:
    parser = server_parser(version)
    [packet] = parser.feed(encode(Publish("t", b"p", 1, packet_id=3), version))
    assert isinstance(packet, Publish) and packet.properties is None


def test_client_parser_after_connack_accepts_server_packets() -> None:
    parser = client_parser(4)
    assert parser.feed(h("D0 00 90 03 00 01 00")) != []
