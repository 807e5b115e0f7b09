"""Persistent sessions and retained messages written at shutdown and loaded at the next start."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import orjson
import pytest

from corral.auth.principals import ANONYMOUS, AllowAllAuthorizer, CertificateChainAuthenticator, Principal
from corral.broker.broker import Broker
from corral.broker.limits import Limits
from corral.broker.message import Message
from corral.broker.persistence import STATE_FILE, load_state, save_state
from corral.broker.session import Delivery, Session, SubscriptionOptions
from corral.mqtt.properties import Properties

if TYPE_CHECKING:
    from corral.broker.connection import MQTTConnection

DEVICE = Principal(id="ab" * 32, kind="certificate", certificate_der=b"\x30\x00")


def new_broker() -> Broker:
    return Broker(Limits(), CertificateChainAuthenticator(), AllowAllAuthorizer())


def add_session(broker: Broker, client_id: str, principal: Principal, expiry: int) -> Session:
    session = Session(client_id, principal, expiry_interval=expiry, disconnected_at=1_700_000_000.5)
    broker.sessions[client_id] = session
    return session


def props() -> Properties:
    return Properties(
        payload_format_indicator=1,
        content_type="application/json",
        response_topic="reply/to",
        correlation_data=b"\x00\xffid",
        user_properties=[("k", "v"), ("k", "v2")],
    )


def message_view(message: Message) -> tuple[Any, ...]:
    return (message.topic, message.payload, message.qos, message.retain, message.properties)


def queue_view(session: Session) -> list[tuple[Any, ...]]:
    return [(*message_view(d.message), d.retain) for d in session.queue]


@pytest.fixture
def populated() -> Broker:
    broker = new_broker()
    device = add_session(broker, "device-1", DEVICE, expiry=3600)
    broker.subscribe(device, "sensors/+/temp", SubscriptionOptions(qos=1))
    broker.subscribe(
        device,
        "cmd/#",
        SubscriptionOptions(qos=0, no_local=True, retain_as_published=True, retain_handling=2),
    )
    # Sent and not acknowledged, then not yet sent: both are owed after a restart.
    device.inflight[17] = Delivery(Message("sensors/a/temp", b"\x00\x01binary", 1, properties=props()), True)
    device.inflight[3] = Delivery(Message("sensors/b/temp", b"second", 1), False)
    device.queue.append(Delivery(Message("cmd/reboot", b"third", 1, retain=True), False))

    online = add_session(broker, "device-2", ANONYMOUS, expiry=60)
    online.connection = cast("MQTTConnection", object())
    online.disconnected_at = None
    broker.subscribe(online, "sensors/+/temp", SubscriptionOptions(qos=0))

    clean = add_session(broker, "clean", ANONYMOUS, expiry=0)
    broker.subscribe(clean, "#", SubscriptionOptions(qos=1))
    clean.queue.append(Delivery(Message("x", b"y", 1), False))

    broker.retained["status/1"] = Message("status/1", b"on", 1, retain=True, properties=props())
    broker.retained["status/2"] = Message("status/2", "ünï".encode(), 0, retain=True)
    return broker


def test_round_trip(populated: Broker, tmp_path: Path) -> None:
    before = time.time()
    path = save_state(populated, tmp_path)
    assert path == tmp_path / STATE_FILE
    assert path.is_file()

    broker = new_broker()
    assert load_state(broker, tmp_path) == 2

    assert set(broker.sessions) == {"device-1", "device-2"}
    device = broker.sessions["device-1"]
    assert device.principal.id == DEVICE.id and device.principal.kind == "certificate"
    assert device.expiry_interval == 3600
    assert device.disconnected_at == 1_700_000_000.5
    assert device.connection is None
    assert device.subscriptions == {
        "sensors/+/temp": SubscriptionOptions(qos=1),
        "cmd/#": SubscriptionOptions(qos=0, no_local=True, retain_as_published=True, retain_handling=2),
    }
    # In-flight deliveries come first (in the order they were sent), then the queue; all are queued.
    assert device.inflight == {}
    assert queue_view(device) == [
        ("sensors/a/temp", b"\x00\x01binary", 1, False, props(), True),
        ("sensors/b/temp", b"second", 1, False, None, False),
        ("cmd/reboot", b"third", 1, True, None, False),
    ]

    online = broker.sessions["device-2"]
    assert online.principal == ANONYMOUS
    assert online.connection is None
    # A session connected at shutdown counts as disconnected then.
    assert online.disconnected_at is not None and before <= online.disconnected_at <= time.time()
    assert not online.expired(online.disconnected_at + 59)

    # The subscriptions are live in the trie, not just in the session objects.
    assert sorted(broker.subscriptions.match("sensors/x/temp")) == [
        ("device-1", SubscriptionOptions(qos=1)),
        ("device-2", SubscriptionOptions(qos=0)),
    ]
    assert [c for c, _ in broker.subscriptions.match("cmd/reboot")] == ["device-1"]
    assert broker.subscriptions.match("other") == []
    assert broker.subscriptions.count == 3

    assert {t: message_view(m) for t, m in broker.retained.items()} == {
        "status/1": ("status/1", b"on", 1, True, props()),
        "status/2": ("status/2", "ünï".encode(), 0, True, None),
    }


def test_non_persistent_sessions_are_not_saved(populated: Broker, tmp_path: Path) -> None:
    save_state(populated, tmp_path)
    state = orjson.loads((tmp_path / STATE_FILE).read_bytes())
    assert sorted(s["client_id"] for s in state["sessions"]) == ["device-1", "device-2"]
    broker = new_broker()
    load_state(broker, tmp_path)
    assert "clean" not in broker.sessions
    assert all(c != "clean" for c, _ in broker.subscriptions.match("anything"))


def test_file_is_removed_after_load(populated: Broker, tmp_path: Path) -> None:
    save_state(populated, tmp_path)
    load_state(new_broker(), tmp_path)
    assert list(tmp_path.iterdir()) == []
    # A second start finds nothing to load.
    broker = new_broker()
    assert load_state(broker, tmp_path) == 0
    assert broker.sessions == {} and broker.retained == {}


def test_write_is_atomic(populated: Broker, tmp_path: Path) -> None:
    save_state(populated, tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == [STATE_FILE]
    # Saving again replaces the file and still leaves no temporary behind.
    populated.retained.clear()
    save_state(populated, tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == [STATE_FILE]
    assert orjson.loads((tmp_path / STATE_FILE).read_bytes())["retained"] == []


def test_empty_broker_round_trip(tmp_path: Path) -> None:
    save_state(new_broker(), tmp_path)
    broker = new_broker()
    assert load_state(broker, tmp_path) == 0
    assert broker.sessions == {} and broker.retained == {}
    assert not (tmp_path / STATE_FILE).exists()


def test_no_state_file(tmp_path: Path) -> None:
    assert load_state(new_broker(), tmp_path) == 0


def test_unknown_format_is_refused_and_kept(tmp_path: Path) -> None:
    path = tmp_path / STATE_FILE
    path.write_bytes(orjson.dumps({"format": 999, "sessions": [], "retained": []}))
    with pytest.raises(ValueError, match="unknown format"):
        load_state(new_broker(), tmp_path)
    assert path.exists()


def test_loaded_sessions_receive_new_messages(populated: Broker, tmp_path: Path) -> None:
    save_state(populated, tmp_path)
    broker = new_broker()
    load_state(broker, tmp_path)
    broker.publish(Message("sensors/z/temp", b"new", 1))
    # device-1 is offline with a QoS 1 subscription: the message joins its queue.
    assert queue_view(broker.sessions["device-1"])[-1] == ("sensors/z/temp", b"new", 1, False, None, False)
    # device-2 subscribed at QoS 0: nothing is kept for it while offline.
    assert not broker.sessions["device-2"].queue


def test_message_expiry_survives_a_restart(tmp_path: Path) -> None:
    """MQTT 5 messages keep their Message Expiry Interval (what remains of it) across a restart."""
    broker = new_broker()
    device = add_session(broker, "device-1", DEVICE, expiry=3600)
    expiring = Properties(message_expiry_interval=600, content_type="text/plain")
    device.queue.append(Delivery(Message("a/b", b"queued", 1, properties=expiring), False))
    broker.retained["r/1"] = Message("r/1", b"kept", 1, retain=True, properties=expiring)
    save_state(broker, tmp_path)

    loaded = new_broker()
    load_state(loaded, tmp_path)
    for message in (loaded.sessions["device-1"].queue[0].message, loaded.retained["r/1"]):
        assert message.properties is not None
        assert message.properties.content_type == "text/plain"
        remaining = message.properties.message_expiry_interval
        assert remaining is not None and 0 < remaining <= 600
        # Compare with a margin: (created + 600) - created need not be exactly 600 in floating point.
        assert not message.expired(message.created + remaining - 0.5)
        assert message.expired(message.created + remaining + 0.5)
