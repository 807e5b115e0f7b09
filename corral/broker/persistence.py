"""Persistent sessions and retained messages across a clean restart.

On a clean shutdown the broker writes every persistent session (subscriptions, QoS 1 messages owed) and the
retained messages to ``DIR/broker-state.json`` atomically; the next start loads and removes it. The store
(SQLAlchemy) arrives with the control plane; until then a killed server loses this state, never half of it.
"""

from __future__ import annotations

import base64
import os
import time
from pathlib import Path
from typing import Any

import orjson

from corral.auth.principals import Principal
from corral.broker.broker import Broker
from corral.broker.message import Message
from corral.broker.session import Delivery, Session, SubscriptionOptions
from corral.mqtt.properties import Properties

STATE_FILE = "broker-state.json"
FORMAT_VERSION = 1


def _message_to_json(message: Message) -> dict[str, Any]:
    out: dict[str, Any] = {
        "topic": message.topic,
        "payload": base64.b64encode(message.payload).decode(),
        "qos": message.qos,
        "retain": message.retain,
    }
    props = message.properties
    if props is not None:
        out["properties"] = {
            "payload_format_indicator": props.payload_format_indicator,
            "content_type": props.content_type,
            "response_topic": props.response_topic,
            "correlation_data": base64.b64encode(props.correlation_data).decode()
            if props.correlation_data is not None
            else None,
            "user_properties": props.user_properties,
        }
        if props.message_expiry_interval is not None:
            elapsed = int(time.monotonic() - message.created)
            out["properties"]["message_expiry_interval"] = max(props.message_expiry_interval - elapsed, 1)
    return out


def _message_from_json(data: dict[str, Any]) -> Message:
    props: Properties | None = None
    raw_props = data.get("properties")
    if raw_props is not None:
        correlation = raw_props.get("correlation_data")
        props = Properties(
            payload_format_indicator=raw_props.get("payload_format_indicator"),
            content_type=raw_props.get("content_type"),
            response_topic=raw_props.get("response_topic"),
            correlation_data=base64.b64decode(correlation) if correlation is not None else None,
            user_properties=[(str(k), str(v)) for k, v in raw_props.get("user_properties", [])],
            message_expiry_interval=raw_props.get("message_expiry_interval"),
        )
    return Message(
        data["topic"], base64.b64decode(data["payload"]), int(data["qos"]), bool(data["retain"]), props
    )


def save_state(broker: Broker, data_dir: Path) -> Path:
    now = time.time()
    sessions = []
    for session in broker.sessions.values():
        if session.expiry_interval == 0:
            continue
        owed = [*session.inflight.values(), *session.queue]
        sessions.append(
            {
                "client_id": session.client_id,
                "principal": {"id": session.principal.id, "kind": session.principal.kind},
                "expiry_interval": session.expiry_interval,
                "disconnected_at": session.disconnected_at or now,
                "subscriptions": {
                    f: [o.qos, o.no_local, o.retain_as_published, o.retain_handling]
                    for f, o in session.subscriptions.items()
                },
                "owed": [_message_to_json(d.message) | {"deliver_retained": d.retain} for d in owed],
            }
        )
    state = {
        "format": FORMAT_VERSION,
        "sessions": sessions,
        "retained": [
            _message_to_json(m) | {"retained_at": broker.retained_at.get(m.topic)}
            for m in broker.retained.values()
        ],
    }
    path = data_dir / STATE_FILE
    tmp = path.with_suffix(".tmp")
    with open(tmp, "wb") as fh:
        fh.write(orjson.dumps(state))
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    return path


def load_state(broker: Broker, data_dir: Path) -> int:
    """Restores what ``save_state`` wrote, then removes the file; returns the number of sessions."""
    path = data_dir / STATE_FILE
    if not path.exists():
        return 0
    state = orjson.loads(path.read_bytes())
    if state.get("format") != FORMAT_VERSION:
        raise ValueError(f"{path}: unknown format {state.get('format')!r}")
    for item in state["retained"]:
        message = _message_from_json(item)
        broker.retained[message.topic] = message
        broker.retained_at[message.topic] = int(item.get("retained_at") or time.time() * 1000)
    for item in state["sessions"]:
        principal = Principal(id=item["principal"]["id"], kind=item["principal"]["kind"])
        session = Session(
            client_id=item["client_id"],
            principal=principal,
            expiry_interval=int(item["expiry_interval"]),
            disconnected_at=float(item["disconnected_at"]),
        )
        broker.sessions[session.client_id] = session
        for topic_filter, (qos, no_local, rap, rh) in item["subscriptions"].items():
            broker.subscribe(session, topic_filter, SubscriptionOptions(qos, no_local, rap, rh))
        for owed in item["owed"]:
            session.queue.append(Delivery(_message_from_json(owed), bool(owed["deliver_retained"])))
    path.unlink()
    return len(state["sessions"])
