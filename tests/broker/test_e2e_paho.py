"""End to end with paho-mqtt (MQTT 3.1.1 and 5.0) over TLS with client certificates, plus a raw socket client
for what paho will not send. Each test asserts what AWS IoT Core does (docs/broker.md)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.broker.clients import (
    CONNACK,
    DISCONNECT_TYPE,
    PINGREQ,
    PINGRESP,
    PUBACK,
    PUBLISH,
    SUBACK,
    V5,
    V311,
    ClientPool,
    PahoClient,
    RawMQTT,
    Will,
    event_body,
    is_event,
    on_topic,
    parse_publish,
    puback_packet,
    publish_packet,
    subscribe_packet,
    uid,
)
from tests.harness import RunningServer, make_server, serving

MAX_PAYLOAD = 128 * 1024
# The server sees the close at once, so its will and lifecycle event follow within moments, not at a timeout.
PROMPTLY = 5.0
BOTH = pytest.mark.parametrize("version", [V311, V5], ids=["mqtt311", "mqtt5"])

# MQTT 5 reason codes
SESSION_TAKEN_OVER = 0x8E
KEEP_ALIVE_TIMEOUT = 0x8D
PACKET_TOO_LARGE = 0x95
NOT_AUTHORIZED = 0x87
QOS_NOT_SUPPORTED = 0x9B
DISCONNECT_WITH_WILL = 0x04


@pytest.fixture(scope="module")
def keepalive_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """A server whose keep-alive floor is 1 s, so that a timeout is quick to provoke."""
    base: Path = tmp_path_factory.mktemp("keepalive")
    yield from serving(make_server(base, config_toml="[limits]\nkeep_alive_min = 1\n"))


# -- publish and subscribe -------------------------------------------------------------------------------


@BOTH
def test_publish_and_receive_qos0_and_qos1(
    shared_server: RunningServer, pool: ClientPool, version: int
) -> None:
    sub = pool.connected(shared_server, uid("sub"), version=version)
    pub = pool.connected(shared_server, uid("pub"), version=version)
    base = uid("qos")
    assert sub.subscribe(f"{base}/q0", qos=0) == [0]
    assert sub.subscribe(f"{base}/q1", qos=1) == [1]
    payload = bytes(range(256)) * 3 + b"\x00\xff"

    pub.publish(f"{base}/q1", payload, qos=0)
    assert pub.publish(f"{base}/q1", payload[::-1], qos=1) == 0
    assert pub.publish(f"{base}/q0", payload, qos=1) == 0

    got = sub.collect_until(on_topic(f"{base}/q0"))
    assert [(m.topic, m.payload, m.qos) for m in got] == [
        (f"{base}/q1", payload, 0),
        (f"{base}/q1", payload[::-1], 1),
        (f"{base}/q0", payload, 0),  # delivered at the lower of publish and subscription QoS
    ]
    assert not any(m.retain or m.dup for m in got)


@pytest.mark.parametrize(
    ("pub_version", "sub_version"), [(V311, V5), (V5, V311)], ids=["311-to-5", "5-to-311"]
)
def test_cross_version_delivery(
    shared_server: RunningServer, pool: ClientPool, pub_version: int, sub_version: int
) -> None:
    sub = pool.connected(shared_server, uid("sub"), version=sub_version)
    pub = pool.connected(shared_server, uid("pub"), version=pub_version)
    topic = f"{uid('cross')}/t"
    assert sub.subscribe(topic, qos=1) == [1]
    assert pub.publish(topic, b"across versions", qos=1) == 0
    message = sub.next_message()
    assert (message.topic, message.payload, message.qos) == (topic, b"across versions", 1)


@BOTH
def test_wildcard_filters(shared_server: RunningServer, pool: ClientPool, version: int) -> None:
    sub = pool.connected(shared_server, uid("sub"), version=version)
    pub = pool.connected(shared_server, uid("pub"), version=version)
    base = uid("wild")
    assert sub.subscribe(f"{base}/+/temp", f"{base}/tree/#") == [1, 1]

    for topic in (
        f"{base}/dev1/temp",  # + matches one level
        f"{base}/dev1/humidity",  # no
        f"{base}/dev1/x/temp",  # + is one level only
        f"{base}/tree",  # AWS: a/# does not match a
        f"{base}/tree/",  # but does match a/
        f"{base}/tree/x/y",  # and everything below
    ):
        pub.publish(topic, topic.encode(), qos=1)
    marker = f"{base}/marker/temp"
    pub.publish(marker, b"", qos=1)

    got = {m.topic for m in sub.collect_until(on_topic(marker))}
    assert got == {f"{base}/dev1/temp", f"{base}/tree/", f"{base}/tree/x/y", marker}


@BOTH
def test_leading_wildcards_do_not_match_reserved_topics(
    shared_server: RunningServer, pool: ClientPool, version: int
) -> None:
    sub = pool.connected(shared_server, uid("sub"), version=version)
    assert sub.subscribe("#", "+/events/#", "+/+/presence/connected/+") == [1, 1, 1]
    other_id = uid("other")
    events = pool.watcher(shared_server, f"$aws/events/presence/connected/{other_id}")

    other = pool.connected(shared_server, other_id, version=version)
    events.wait_event("connected", other_id)  # a $aws message really was published
    marker = f"{uid('marker')}/done"
    other.publish(marker, b"", qos=1)

    got = sub.collect_until(on_topic(marker))
    assert [m.topic for m in got if m.topic.startswith("$")] == []


@BOTH
def test_overlapping_filters_deliver_one_copy(
    shared_server: RunningServer, pool: ClientPool, version: int
) -> None:
    sub = pool.connected(shared_server, uid("sub"), version=version)
    pub = pool.connected(shared_server, uid("pub"), version=version)
    base = uid("overlap")
    assert sub.subscribe(f"{base}/a/b", qos=0) == [0]
    assert sub.subscribe(f"{base}/+/b", f"{base}/#", qos=1) == [1, 1]

    pub.publish(f"{base}/a/b", b"once", qos=1)
    pub.publish(f"{base}/marker", b"", qos=1)

    got = sub.collect_until(on_topic(f"{base}/marker"))
    assert [(m.topic, m.payload) for m in got] == [(f"{base}/a/b", b"once"), (f"{base}/marker", b"")]


# -- retained messages -----------------------------------------------------------------------------------


@BOTH
def test_retained_message_on_exact_subscribe(
    shared_server: RunningServer, pool: ClientPool, version: int
) -> None:
    pub = pool.connected(shared_server, uid("pub"), version=version)
    topic = f"{uid('retained')}/state"
    assert pub.publish(topic, b"on", qos=1, retain=True) == 0

    sub = pool.connected(shared_server, uid("sub"), version=version)
    assert sub.subscribe(topic, qos=1) == [1]
    message = sub.next_message()
    assert (message.topic, message.payload, message.retain, message.qos) == (topic, b"on", True, 1)


@BOTH
def test_retained_message_not_sent_to_wildcard_subscribe(
    shared_server: RunningServer, pool: ClientPool, version: int
) -> None:
    pub = pool.connected(shared_server, uid("pub"), version=version)
    base = uid("retained")
    assert pub.publish(f"{base}/state", b"stored", qos=1, retain=True) == 0

    sub = pool.connected(shared_server, uid("sub"), version=version)
    assert sub.subscribe(f"{base}/+", f"{base}/#", qos=1) == [1, 1]
    # A live retained publish reaches existing wildcard subscribers, with RETAIN=0 on the wire.
    assert pub.publish(f"{base}/state", b"live", qos=1, retain=True) == 0

    got = sub.collect_until(on_topic(f"{base}/state"))
    assert [(m.payload, m.retain) for m in got] == [(b"live", False)]


@BOTH
def test_zero_byte_retained_publish_deletes(
    shared_server: RunningServer, pool: ClientPool, version: int
) -> None:
    pub = pool.connected(shared_server, uid("pub"), version=version)
    topic = f"{uid('retained')}/state"
    early = pool.connected(shared_server, uid("early"), version=version)
    assert early.subscribe(topic) == [1]

    assert pub.publish(topic, b"x", qos=1, retain=True) == 0
    assert pub.publish(topic, b"", qos=1, retain=True) == 0
    # Current subscribers get both, as live messages.
    got = [early.next_message(), early.next_message()]
    assert [(m.payload, m.retain) for m in got] == [(b"x", False), (b"", False)]

    late = pool.connected(shared_server, uid("late"), version=version)
    assert late.subscribe(topic) == [1]
    pub.publish(topic, b"marker", qos=1)
    assert [m.payload for m in late.collect_until(lambda m: m.payload == b"marker")] == [b"marker"]


# -- wills -------------------------------------------------------------------------------------------------


@BOTH
def test_will_sent_on_abnormal_close(shared_server: RunningServer, pool: ClientPool, version: int) -> None:
    client_id = uid("dying")
    will_topic = f"{uid('will')}/status"
    watcher = pool.watcher(shared_server, will_topic, f"$aws/events/presence/disconnected/{client_id}")
    client = pool.connected(shared_server, client_id, version=version, will=Will(will_topic, b"gone", qos=1))

    client.drop()

    will = watcher.wait_for(on_topic(will_topic))
    assert (will.payload, will.retain) == (b"gone", False)
    event = watcher.wait_event("disconnected", client_id)
    assert (event["disconnectReason"], event["clientInitiatedDisconnect"]) == ("CONNECTION_LOST", False)


@BOTH
def test_no_will_on_clean_disconnect(shared_server: RunningServer, pool: ClientPool, version: int) -> None:
    client_id = uid("leaving")
    will_topic = f"{uid('will')}/status"
    watcher = pool.watcher(shared_server, will_topic, f"$aws/events/presence/disconnected/{client_id}")
    client = pool.connected(shared_server, client_id, version=version, will=Will(will_topic, b"gone"))

    client.disconnect()
    event = watcher.wait_event("disconnected", client_id)
    assert (event["disconnectReason"], event["clientInitiatedDisconnect"]) == (
        "CLIENT_INITIATED_DISCONNECT",
        True,
    )
    # The will would have been routed before the event; a later marker shows nothing came.
    pool.connected(shared_server, uid("marker"), version=version).publish(will_topic, b"marker", qos=1)
    got = watcher.collect_until(lambda m: m.payload == b"marker")
    assert [m.payload for m in got if m.topic == will_topic] == [b"marker"]


def test_mqtt5_disconnect_with_will_message_sends_will(
    shared_server: RunningServer, pool: ClientPool
) -> None:
    client_id = uid("leaving")
    will_topic = f"{uid('will')}/status"
    watcher = pool.watcher(shared_server, will_topic)
    client = pool.connected(shared_server, client_id, version=V5, will=Will(will_topic, b"as asked", qos=1))

    client.disconnect(reason=DISCONNECT_WITH_WILL)

    assert watcher.wait_for(on_topic(will_topic)).payload == b"as asked"


# -- takeover and sessions ---------------------------------------------------------------------------------


@BOTH
def test_duplicate_client_id_takes_over(shared_server: RunningServer, pool: ClientPool, version: int) -> None:
    client_id = uid("twin")
    will_topic = f"{uid('will')}/twin"
    watcher = pool.watcher(shared_server, f"$aws/events/presence/+/{client_id}", will_topic)
    first = pool.connected(shared_server, client_id, version=version, will=Will(will_topic, b"first gone"))
    first_connected = watcher.wait_event("connected", client_id)

    second = pool.connected(shared_server, client_id, version=version)

    reason = first.wait_disconnected()
    if version == V5:
        assert reason == SESSION_TAKEN_OVER
    event = watcher.wait_event("disconnected", client_id)
    assert event["disconnectReason"] == "DUPLICATE_CLIENTID"
    assert event["clientInitiatedDisconnect"] is False
    assert event["versionNumber"] == first_connected["versionNumber"]
    assert watcher.wait_for(on_topic(will_topic)).payload == b"first gone"  # AWS sends the victim's will
    # The newcomer keeps working.
    topic = f"{uid('twin')}/t"
    assert second.subscribe(topic) == [1]
    second.publish(topic, b"still here", qos=1)
    assert second.next_message().payload == b"still here"
    assert not second.disconnected


@BOTH
def test_persistent_session_keeps_subscriptions_and_queues_qos1(
    shared_server: RunningServer, pool: ClientPool, version: int
) -> None:
    client_id = uid("persistent")
    topic = f"{uid('queue')}/t"
    expiry = 300 if version == V5 else None
    sub = pool.paho(shared_server, client_id, version=version, clean=False, session_expiry=expiry)
    assert sub.connect().session_present is False
    assert sub.subscribe(topic, qos=1) == [1]
    sub.disconnect()

    pub = pool.connected(shared_server, uid("pub"), version=version)
    for i in range(3):
        assert pub.publish(topic, f"offline {i}".encode(), qos=1) == 0
    pub.publish(topic, b"qos0 offline", qos=0)  # not stored for an offline client

    again = pool.paho(shared_server, client_id, version=version, clean=False, session_expiry=expiry)
    assert again.connect().session_present is True
    pub.publish(topic, b"live", qos=1)
    got = again.collect_until(lambda m: m.payload == b"live")
    assert [(m.payload, m.qos) for m in got] == [
        (b"offline 0", 1),
        (b"offline 1", 1),
        (b"offline 2", 1),
        (b"live", 1),
    ]


@BOTH
def test_unacknowledged_qos1_is_redelivered_with_dup(
    shared_server: RunningServer, pool: ClientPool, version: int
) -> None:
    client_id = uid("forgetful")
    topic = f"{uid('redeliver')}/t"
    expiry = 300 if version == V5 else None
    watcher = pool.watcher(shared_server, f"$aws/events/presence/disconnected/{client_id}")
    raw = pool.raw(RawMQTT.tls(shared_server, version=version))
    raw.connect(client_id, clean=False, session_expiry=expiry)
    raw.send(subscribe_packet(1, [(topic, 1)], version=version))
    assert raw.expect(SUBACK).body[-1] == 1

    pool.connected(shared_server, uid("pub"), version=version).publish(topic, b"ack me", qos=1)
    first = parse_publish(raw.expect(PUBLISH), version)
    assert (first.payload, first.qos, first.dup) == (b"ack me", 1, False)
    raw.close()  # no PUBACK, no DISCONNECT
    watcher.wait_event("disconnected", client_id)

    again = pool.raw(RawMQTT.tls(shared_server, version=version))
    connack = again.connect(client_id, clean=False, session_expiry=expiry)
    assert connack.body[0] & 0x01 == 1, "session present"
    redelivered = parse_publish(again.expect(PUBLISH), version)
    assert (redelivered.topic, redelivered.payload, redelivered.qos) == (topic, b"ack me", 1)
    assert redelivered.dup is True
    assert redelivered.packet_id is not None
    again.send(puback_packet(redelivered.packet_id))


@BOTH
def test_clean_session_discards_old_session(
    shared_server: RunningServer, pool: ClientPool, version: int
) -> None:
    client_id = uid("cleaner")
    base = uid("clean")
    expiry = 300 if version == V5 else None
    old = pool.paho(shared_server, client_id, version=version, clean=False, session_expiry=expiry)
    old.connect()
    assert old.subscribe(f"{base}/old", qos=1) == [1]
    old.disconnect()

    fresh = pool.paho(shared_server, client_id, version=version, clean=True)
    assert fresh.connect().session_present is False
    assert fresh.subscribe(f"{base}/new", qos=1) == [1]
    pub = pool.connected(shared_server, uid("pub"), version=version)
    pub.publish(f"{base}/old", b"to the old subscription", qos=1)
    pub.publish(f"{base}/new", b"marker", qos=1)
    assert [m.payload for m in fresh.collect_until(on_topic(f"{base}/new"))] == [b"marker"]
    fresh.disconnect()

    # A clean session was not kept either.
    later = pool.paho(shared_server, client_id, version=version, clean=False, session_expiry=expiry)
    assert later.connect().session_present is False


def test_mqtt5_session_without_expiry_ends_at_disconnect(
    shared_server: RunningServer, pool: ClientPool
) -> None:
    client_id = uid("short")
    first = pool.paho(shared_server, client_id, version=V5, clean=False)
    first.connect()
    assert first.subscribe(f"{uid('short')}/t") == [1]
    first.disconnect()
    again = pool.paho(shared_server, client_id, version=V5, clean=False)
    assert again.connect().session_present is False


# -- keep alive ----------------------------------------------------------------------------------------


def test_keep_alive_timeout_closes_silent_clients(keepalive_server: RunningServer, pool: ClientPool) -> None:
    silent_ids = {V311: uid("silent311"), V5: uid("silent5")}
    pinger_id = uid("pinger")
    will_topic = f"{uid('will')}/silent"
    watcher = pool.watcher(keepalive_server, "$aws/events/presence/disconnected/+", will_topic)
    silent: dict[int, RawMQTT] = {}
    for version, client_id in silent_ids.items():
        silent[version] = pool.raw(RawMQTT.tls(keepalive_server, version=version))
        will = Will(will_topic, b"timed out", qos=1) if version == V311 else None
        silent[version].connect(client_id, keepalive=1, will=will)
    pinger = pool.raw(RawMQTT.tls(keepalive_server))
    pinger.connect(pinger_id, keepalive=1)

    stop = threading.Event()
    failures: list[BaseException] = []

    def ping_forever() -> None:
        try:
            while not stop.wait(0.3):  # pacing a heartbeat, not synchronizing
                pinger.send(PINGREQ)
                pinger.expect(PINGRESP, timeout=5)
        except BaseException as exc:
            failures.append(exc)

    thread = threading.Thread(target=ping_forever, daemon=True)
    thread.start()
    try:
        started = time.monotonic()
        closing = {version: raw.wait_closed(timeout=8) for version, raw in silent.items()}
        elapsed = time.monotonic() - started
    finally:
        stop.set()
        thread.join(10)
    assert not failures, failures
    assert elapsed < 6
    assert closing[V311] == []
    assert [(p.type, p.body[:1]) for p in closing[V5]] == [(DISCONNECT_TYPE, bytes([KEEP_ALIVE_TIMEOUT]))]
    # The client that kept pinging through the same interval is still connected.
    pinger.send(PINGREQ)
    pinger.expect(PINGRESP)
    assert watcher.seen(is_event("disconnected", pinger_id)) == []

    # The silent clients' wills and lifecycle events follow the close (their sockets stay open, as a dead
    # peer's would).
    assert watcher.wait_for(on_topic(will_topic), timeout=PROMPTLY).payload == b"timed out"
    for client_id in silent_ids.values():
        event = watcher.wait_event("disconnected", client_id, timeout=PROMPTLY)
        assert (event["disconnectReason"], event["clientInitiatedDisconnect"]) == (
            "MQTT_KEEP_ALIVE_TIMEOUT",
            False,
        )


# -- limits and protocol errors ------------------------------------------------------------------------


@BOTH
def test_payload_size_limit(shared_server: RunningServer, pool: ClientPool, version: int) -> None:
    client_id = uid("big")
    topic = f"{uid('big')}/blob"
    sub = pool.connected(shared_server, uid("sub"), version=version)
    assert sub.subscribe(topic, f"$aws/events/presence/disconnected/{client_id}") == [1, 1]
    pub = pool.connected(shared_server, client_id, version=version)

    largest = bytes(i % 251 for i in range(MAX_PAYLOAD))
    assert pub.publish(topic, largest, qos=1) == 0
    delivered = sub.next_message()
    assert delivered.payload == largest

    pub.publish(topic, largest + b"!", qos=1, wait=False)
    reason = pub.wait_disconnected()
    if version == V5:
        assert reason == PACKET_TOO_LARGE
    event = sub.wait_event("disconnected", client_id)
    assert event["disconnectReason"] == "CLIENT_ERROR"
    pool.connected(shared_server, uid("marker"), version=version).publish(topic, b"marker", qos=1)
    got = sub.collect_until(lambda m: m.payload == b"marker")
    assert [m.payload for m in got if m.topic == topic] == [b"marker"]


GARBAGE = {
    "qos3-publish": b"\x36\x07\x00\x03a/b\x00\x01x",
    "5-byte-length": b"\x30\xff\xff\xff\xff\x01",
    "reserved-type-0": b"\x00\x00",
}


@BOTH
@pytest.mark.parametrize("garbage", list(GARBAGE), ids=list(GARBAGE))
def test_malformed_packet_closes_only_that_connection(
    shared_server: RunningServer, pool: ClientPool, version: int, garbage: str
) -> None:
    bystander = pool.connected(shared_server, uid("bystander"), version=version)
    topic = f"{uid('bystander')}/t"
    assert bystander.subscribe(topic) == [1]
    client_id = uid("broken")
    watcher = pool.watcher(shared_server, f"$aws/events/presence/disconnected/{client_id}")
    raw = pool.raw(RawMQTT.tls(shared_server, version=version))
    raw.connect(client_id)

    raw.send(GARBAGE[garbage])

    before_close = raw.wait_closed()
    if version == V5:  # at most a DISCONNECT with an error reason, then the close
        assert all(p.type == DISCONNECT_TYPE and p.body[0] >= 0x80 for p in before_close), before_close
    else:
        assert before_close == []
    assert (
        watcher.wait_event("disconnected", client_id, timeout=PROMPTLY)["disconnectReason"] == "CLIENT_ERROR"
    )
    bystander.publish(topic, b"still fine", qos=1)
    assert bystander.next_message().payload == b"still fine"
    assert not bystander.disconnected


def test_second_connect_is_a_client_error(shared_server: RunningServer, pool: ClientPool) -> None:
    client_id = uid("twice")
    watcher = pool.watcher(shared_server, f"$aws/events/presence/disconnected/{client_id}")
    raw = pool.raw(RawMQTT.tls(shared_server))
    raw.connect(client_id)
    raw.send(b"\x10\x0d\x00\x04MQTT\x04\x02\x00\x3c\x00\x01c")
    assert raw.wait_closed() == []
    assert (
        watcher.wait_event("disconnected", client_id, timeout=PROMPTLY)["disconnectReason"] == "CLIENT_ERROR"
    )


# -- lifecycle events ----------------------------------------------------------------------------------


@BOTH
def test_lifecycle_events(shared_server: RunningServer, pool: ClientPool, version: int) -> None:
    device = shared_server.issue_certificate(uid("lifecycle"))
    client_id = uid("lifecycle")
    watcher = pool.watcher(shared_server, "$aws/events/#")
    client = pool.connected(shared_server, client_id, version=version, device=device)
    base = uid("lc")

    connected = watcher.wait_event("connected", client_id)
    assert set(connected) == {
        "clientId",
        "timestamp",
        "eventType",
        "sessionIdentifier",
        "principalIdentifier",
        "ipAddress",
        "versionNumber",
    }
    assert connected["clientId"] == client_id
    assert connected["eventType"] == "connected"
    assert isinstance(connected["timestamp"], int)
    assert abs(connected["timestamp"] - time.time() * 1000) < 60_000  # milliseconds since the epoch
    assert isinstance(connected["sessionIdentifier"], str) and connected["sessionIdentifier"]
    assert connected["principalIdentifier"] == device.certificate_id
    assert connected["ipAddress"] == "127.0.0.1"
    assert isinstance(connected["versionNumber"], int) and connected["versionNumber"] >= 0
    session_id = connected["sessionIdentifier"]

    assert client.subscribe(f"{base}/a", f"{base}/b/#") == [1, 1]
    subscribed = watcher.wait_event("subscribed", client_id)
    assert subscribed["topics"] == [f"{base}/a", f"{base}/b/#"]
    assert subscribed["eventType"] == "subscribed"
    assert (subscribed["clientId"], subscribed["sessionIdentifier"]) == (client_id, session_id)
    assert subscribed["principalIdentifier"] == device.certificate_id

    client.unsubscribe(f"{base}/a")
    unsubscribed = watcher.wait_event("unsubscribed", client_id)
    assert (unsubscribed["eventType"], unsubscribed["topics"]) == ("unsubscribed", [f"{base}/a"])

    client.disconnect()
    disconnected = watcher.wait_event("disconnected", client_id)
    assert set(disconnected) == {
        "clientId",
        "timestamp",
        "eventType",
        "sessionIdentifier",
        "principalIdentifier",
        "clientInitiatedDisconnect",
        "disconnectReason",
        "versionNumber",
    }
    assert disconnected["eventType"] == "disconnected"
    assert disconnected["clientInitiatedDisconnect"] is True
    assert disconnected["disconnectReason"] == "CLIENT_INITIATED_DISCONNECT"
    assert disconnected["sessionIdentifier"] == session_id
    assert disconnected["versionNumber"] == connected["versionNumber"]
    assert disconnected["timestamp"] >= connected["timestamp"]

    # The next connection of the same client id gets a higher versionNumber.
    pool.connected(shared_server, client_id, version=version, device=device)
    reconnected = event_after(watcher, "connected", client_id, connected)
    assert reconnected["versionNumber"] > connected["versionNumber"]


def event_after(
    watcher: PahoClient, event_type: str, client_id: str, previous: dict[str, Any]
) -> dict[str, Any]:
    """A lifecycle event of the client other than ``previous``."""
    message = watcher.wait_for(lambda m: is_event(event_type, client_id)(m) and event_body(m) != previous)
    return event_body(message)


@pytest.mark.parametrize("wildcard", ["+", "#"])
def test_no_lifecycle_events_for_client_ids_with_wildcards(
    shared_server: RunningServer, pool: ClientPool, wildcard: str
) -> None:
    watcher = pool.watcher(shared_server, "$aws/events/#")
    client_id = f"dev{wildcard}{uid('wild')}"
    wild = pool.connected(shared_server, client_id)
    assert wild.subscribe(f"{uid('wild')}/t") == [1]
    wild.disconnect()
    marker_id = uid("marker")
    pool.connected(shared_server, marker_id)

    got = watcher.collect_until(is_event("connected", marker_id))
    assert [m.topic for m in got if client_id in m.topic] == []


# -- reserved topics and QoS 2 -------------------------------------------------------------------------


def test_mqtt311_publish_to_lifecycle_topic_disconnects(
    shared_server: RunningServer, pool: ClientPool
) -> None:
    forged_id, forger_id = uid("forged"), uid("forger")
    watcher = pool.watcher(
        shared_server,
        f"$aws/events/presence/connected/{forged_id}",
        f"$aws/events/presence/disconnected/{forger_id}",
    )
    client = pool.connected(shared_server, forger_id, version=V311)

    client.publish(f"$aws/events/presence/connected/{forged_id}", b'{"forged":true}', qos=1, wait=False)

    client.wait_disconnected()
    assert watcher.wait_event("disconnected", forger_id)["disconnectReason"] == "AUTH_ERROR"
    pool.connected(shared_server, forged_id)  # the real event, as a marker
    got = [m for m in watcher.collect_until(is_event("connected", forged_id)) if "/connected/" in m.topic]
    assert len(got) == 1 and b'"forged":true' not in got[0].payload


def test_mqtt5_publish_to_lifecycle_topic_is_refused(shared_server: RunningServer, pool: ClientPool) -> None:
    forged_id = uid("forged")
    watcher = pool.watcher(shared_server, f"$aws/events/presence/connected/{forged_id}")
    client = pool.connected(shared_server, uid("forger"), version=V5)

    assert (
        client.publish(f"$aws/events/presence/connected/{forged_id}", b'{"forged":true}', qos=1)
        == NOT_AUTHORIZED
    )

    pool.connected(shared_server, forged_id)
    got = watcher.collect_until(is_event("connected", forged_id))
    assert len(got) == 1 and b'"forged":true' not in got[0].payload


@BOTH
def test_qos2_subscribe_is_granted_qos1(shared_server: RunningServer, pool: ClientPool, version: int) -> None:
    """docs/broker.md §4: a QoS 2 subscription is granted QoS 1 (SUBACK 0x01), on both versions."""
    client = pool.connected(shared_server, uid("qos2sub"), version=version)
    topic = f"{uid('qos2')}/t"
    assert client.subscribe(topic, qos=2) == [1]
    client.publish(topic, b"at most qos 1", qos=1)
    message = client.next_message()
    assert (message.payload, message.qos) == (b"at most qos 1", 1)


@BOTH
def test_qos2_publish_is_refused(shared_server: RunningServer, pool: ClientPool, version: int) -> None:
    topic = f"{uid('qos2')}/t"
    sub = pool.connected(shared_server, uid("sub"), version=version)
    assert sub.subscribe(topic) == [1]
    client = pool.connected(shared_server, uid("qos2"), version=version)

    client.publish(topic, b"exactly once?", qos=2, wait=False)

    reason = client.wait_disconnected()
    if version == V5:
        assert reason == QOS_NOT_SUPPORTED
    pool.connected(shared_server, uid("marker"), version=version).publish(topic, b"marker", qos=1)
    assert [m.payload for m in sub.collect_until(lambda m: m.payload == b"marker")] == [b"marker"]


def test_raw_publish_bytes_reach_subscriber(shared_server: RunningServer, pool: ClientPool) -> None:
    """The hand-encoded client used above speaks valid MQTT: its publish reaches a paho subscriber."""
    topic = f"{uid('raw')}/t"
    sub = pool.connected(shared_server, uid("sub"))
    assert sub.subscribe(topic) == [1]
    raw = pool.raw(RawMQTT.tls(shared_server, version=V5))
    assert raw.connect(uid("raw")).type == CONNACK
    raw.send(publish_packet(topic, b"by hand", qos=1, packet_id=9, version=V5))
    puback = raw.expect(PUBACK)
    assert puback.body[:2] == b"\x00\x09"
    assert sub.next_message().payload == b"by hand"
