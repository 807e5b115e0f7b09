"""Parsers put in the state where a fixture's packet may arrive, and small assertion helpers."""

from __future__ import annotations

from dataclasses import replace

from corral.mqtt.packets import (
    Connack,
    Connect,
    Packet,
    Pingreq,
    Pingresp,
    Publish,
    Suback,
    Subscribe,
    Unsuback,
    Unsubscribe,
)
from corral.mqtt.parser import DEFAULT_MAX_PACKET_SIZE, MQTTParser
from tests.mqtt.fixtures import MQTT, Fixture, h

CONNECT_BYTES = {
    4: h("10 0D") + MQTT + h("04 02 00 3C 00 01") + b"c",
    5: h("10 0E") + MQTT + h("05 02 00 3C 00 00 01") + b"c",
}
CONNACK_BYTES = {4: h("20 02 00 00"), 5: h("20 03 00 00 00")}

_ONLY_CLIENTS_SEND = (Connect, Subscribe, Unsubscribe, Pingreq)
_ONLY_SERVERS_SEND = (Connack, Suback, Unsuback, Pingresp)


def server_parser(version: int, max_packet_size: int = DEFAULT_MAX_PACKET_SIZE) -> MQTTParser:
    """A server-side parser that has accepted a CONNECT of ``version``."""
    parser = MQTTParser(max_packet_size=max_packet_size)
    assert len(parser.feed(CONNECT_BYTES[version])) == 1
    return parser


def client_parser(version: int) -> MQTTParser:
    """A client-side parser that has received a CONNACK."""
    parser = MQTTParser(server_side=False, protocol_version=version)
    assert len(parser.feed(CONNACK_BYTES[version])) == 1
    return parser


def parser_for(fixture: Fixture) -> MQTTParser:
    """A parser in the state where the fixture's packet may arrive next."""
    packet = fixture.packet
    if isinstance(packet, Connect):
        return MQTTParser()
    if isinstance(packet, Connack):
        return MQTTParser(server_side=False, protocol_version=fixture.version)
    if isinstance(packet, _ONLY_SERVERS_SEND):
        return client_parser(fixture.version)
    return server_parser(fixture.version)


def expected(fixture: Fixture) -> Packet:
    """The packet the decoder yields for the fixture (a PUBLISH carries its raw bytes)."""
    if isinstance(fixture.packet, Publish):
        return replace(fixture.packet, raw=fixture.data)
    return fixture.packet


__all__ = ["CONNACK_BYTES", "CONNECT_BYTES", "client_parser", "expected", "parser_for", "server_parser"]
