"""MQTT over WebSocket at wss://HOST:HTTPS_PORT/mqtt (subprotocol ``mqtt``), authenticated by a client
certificate: paho's websockets transport, and a raw ``websockets`` client sending hand-encoded MQTT."""

from __future__ import annotations

import gc
import warnings

import pytest
from paho.mqtt.client import WebsocketConnectionError
from websockets.exceptions import InvalidStatus

from tests.broker.clients import (
    PUBACK,
    PUBLISH,
    SUBACK,
    V5,
    V311,
    ClientPool,
    PahoClient,
    WebSocketMQTT,
    Will,
    on_topic,
    parse_publish,
    puback_packet,
    publish_packet,
    subscribe_packet,
    uid,
)
from tests.harness import RunningServer

BOTH = pytest.mark.parametrize("version", [V311, V5], ids=["mqtt311", "mqtt5"])


@BOTH
def test_paho_over_wss_publish_and_subscribe(
    shared_server: RunningServer, pool: ClientPool, version: int
) -> None:
    sub = pool.connected(shared_server, uid("wss-sub"), version=version, transport="wss")
    pub = pool.connected(shared_server, uid("wss-pub"), version=version, transport="wss")
    topic = f"{uid('wss')}/t"
    assert sub.subscribe(topic, qos=1) == [1]
    payload = bytes(range(256)) * 64  # spans several frames' worth of bytes

    assert pub.publish(topic, payload, qos=1) == 0
    pub.publish(topic, b"qos0", qos=0)

    got = sub.collect_until(lambda m: m.payload == b"qos0")
    assert [(m.payload, m.qos) for m in got] == [(payload, 1), (b"qos0", 0)]


@BOTH
def test_cross_transport_tls_and_wss(shared_server: RunningServer, pool: ClientPool, version: int) -> None:
    tls = pool.connected(shared_server, uid("tls"), version=version, transport="mqtts")
    wss = pool.connected(shared_server, uid("wss"), version=version, transport="wss")
    base = uid("cross")
    assert tls.subscribe(f"{base}/from-wss") == [1]
    assert wss.subscribe(f"{base}/from-tls") == [1]

    tls.publish(f"{base}/from-tls", b"tls to wss", qos=1)
    wss.publish(f"{base}/from-wss", b"wss to tls", qos=1)

    assert wss.next_message().payload == b"tls to wss"
    assert tls.next_message().payload == b"wss to tls"


@BOTH
def test_raw_websocket_client(shared_server: RunningServer, pool: ClientPool, version: int) -> None:
    topic_in, topic_out = f"{uid('raw-ws')}/in", f"{uid('raw-ws')}/out"
    tls = pool.connected(shared_server, uid("tls"), version=version)
    assert tls.subscribe(topic_out) == [1]
    ws = pool.raw(WebSocketMQTT.open(shared_server, version=version))
    assert ws.ws.subprotocol == "mqtt"
    ws.connect(uid("raw-ws"))
    ws.send(subscribe_packet(1, [(topic_in, 1)], version=version))
    assert ws.expect(SUBACK).body[-1] == 1

    tls.publish(topic_in, b"to the websocket", qos=1)
    message = parse_publish(ws.expect(PUBLISH), version)
    assert (message.topic, message.payload, message.qos) == (topic_in, b"to the websocket", 1)
    assert message.packet_id is not None
    ws.send(puback_packet(message.packet_id))

    # Two packets in one frame, and one packet split over two frames, are both fine.
    first = publish_packet(topic_out, b"one", qos=1, packet_id=11, version=version)
    second = publish_packet(topic_out, b"two", qos=1, packet_id=12, version=version)
    third = publish_packet(topic_out, b"three", qos=1, packet_id=13, version=version)
    ws.send(first + second)
    ws.send(third[:5])
    ws.send(third[5:])
    assert [ws.expect(PUBACK).body[:2] for _ in range(3)] == [b"\x00\x0b", b"\x00\x0c", b"\x00\x0d"]
    got = tls.collect_until(lambda m: m.payload == b"three")
    assert [m.payload for m in got] == [b"one", b"two", b"three"]


def test_websocket_without_client_certificate_is_refused(shared_server: RunningServer) -> None:
    with pytest.raises(InvalidStatus) as refused:
        WebSocketMQTT.open(shared_server, client_certificate=False)
    assert refused.value.response.status_code == 403


def test_paho_over_wss_without_client_certificate_is_refused(shared_server: RunningServer) -> None:
    client = PahoClient(shared_server, uid("no-cert"), transport="wss", client_certificate=False)
    # paho drops the socket of a refused WebSocket handshake without closing it.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        with pytest.raises(WebsocketConnectionError):
            client.start()
        gc.collect()
    client.close()


def test_websocket_close_frame_is_a_clean_disconnect(shared_server: RunningServer, pool: ClientPool) -> None:
    """AWS: a WebSocket Close frame is a client-initiated disconnect: no will, CLIENT_INITIATED_DISCONNECT."""
    client_id = uid("ws-close")
    will_topic = f"{uid('will')}/ws"
    watcher = pool.watcher(shared_server, will_topic, f"$aws/events/presence/disconnected/{client_id}")
    ws = pool.raw(WebSocketMQTT.open(shared_server))
    ws.connect(client_id, will=Will(will_topic, b"ws gone", qos=1))

    ws.close()

    event = watcher.wait_event("disconnected", client_id)
    assert (event["disconnectReason"], event["clientInitiatedDisconnect"]) == (
        "CLIENT_INITIATED_DISCONNECT",
        True,
    )
    pool.connected(shared_server, uid("marker")).publish(will_topic, b"marker", qos=1)
    got = watcher.collect_until(lambda m: m.payload == b"marker")
    assert [m.payload for m in got if m.topic == will_topic] == [b"marker"]


def test_websocket_dropped_connection_sends_will(shared_server: RunningServer, pool: ClientPool) -> None:
    client_id = uid("ws-drop")
    will_topic = f"{uid('will')}/ws"
    watcher = pool.watcher(shared_server, will_topic, f"$aws/events/presence/disconnected/{client_id}")
    ws = pool.raw(WebSocketMQTT.open(shared_server))
    ws.connect(client_id, will=Will(will_topic, b"ws lost", qos=1))

    ws.abort()

    assert watcher.wait_for(on_topic(will_topic)).payload == b"ws lost"
    event = watcher.wait_event("disconnected", client_id)
    assert (event["disconnectReason"], event["clientInitiatedDisconnect"]) == ("CONNECTION_LOST", False)


def test_wss_lifecycle_event_principal_is_the_certificate(
    shared_server: RunningServer, pool: ClientPool
) -> None:
    device = shared_server.issue_certificate(uid("ws-device"))
    client_id = uid("ws-principal")
    watcher = pool.watcher(shared_server, f"$aws/events/presence/connected/{client_id}")
    pool.connected(shared_server, client_id, transport="wss", device=device)
    event = watcher.wait_event("connected", client_id)
    assert event["principalIdentifier"] == device.certificate_id
    assert event["ipAddress"] == "127.0.0.1"
