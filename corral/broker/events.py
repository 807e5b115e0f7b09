"""AWS IoT lifecycle events: the topics and JSON bodies AWS publishes when clients come, go and subscribe."""

from __future__ import annotations

import time
from typing import Any

import orjson

CONNECTED = "$aws/events/presence/connected/{}"
DISCONNECTED = "$aws/events/presence/disconnected/{}"
CONNECT_FAILED = "$aws/events/presence/connect_failed/{}"
SUBSCRIBED = "$aws/events/subscriptions/subscribed/{}"
UNSUBSCRIBED = "$aws/events/subscriptions/unsubscribed/{}"

# disconnectReason values, as AWS names them.
AUTH_ERROR = "AUTH_ERROR"
CLIENT_INITIATED_DISCONNECT = "CLIENT_INITIATED_DISCONNECT"
CLIENT_ERROR = "CLIENT_ERROR"
CONNECTION_LOST = "CONNECTION_LOST"
DUPLICATE_CLIENTID = "DUPLICATE_CLIENTID"
FORBIDDEN_ACCESS = "FORBIDDEN_ACCESS"
MQTT_KEEP_ALIVE_TIMEOUT = "MQTT_KEEP_ALIVE_TIMEOUT"
SERVER_ERROR = "SERVER_ERROR"
SERVER_INITIATED_DISCONNECT = "SERVER_INITIATED_DISCONNECT"
THROTTLED = "THROTTLED"


def events_enabled(client_id: str) -> bool:
    """AWS publishes no lifecycle events for client ids containing MQTT wildcards."""
    return "#" not in client_id and "+" not in client_id


def _now_ms() -> int:
    return int(time.time() * 1000)


def connected(
    client_id: str, principal_id: str, session_id: str, ip_address: str, version: int
) -> tuple[str, bytes]:
    body: dict[str, Any] = {
        "clientId": client_id,
        "timestamp": _now_ms(),
        "eventType": "connected",
        "sessionIdentifier": session_id,
        "principalIdentifier": principal_id,
        "ipAddress": ip_address,
        "versionNumber": version,
    }
    return CONNECTED.format(client_id), orjson.dumps(body)


def disconnected(
    client_id: str,
    principal_id: str,
    session_id: str,
    version: int,
    client_initiated: bool,
    reason: str,
) -> tuple[str, bytes]:
    body: dict[str, Any] = {
        "clientId": client_id,
        "timestamp": _now_ms(),
        "eventType": "disconnected",
        "sessionIdentifier": session_id,
        "principalIdentifier": principal_id,
        "clientInitiatedDisconnect": client_initiated,
        "disconnectReason": reason,
        "versionNumber": version,
    }
    return DISCONNECTED.format(client_id), orjson.dumps(body)


def connect_failed(client_id: str, principal_id: str, ip_address: str, reason: str) -> tuple[str, bytes]:
    body: dict[str, Any] = {
        "clientId": client_id,
        "timestamp": _now_ms(),
        "eventType": "connect_failed",
        "connectFailureReason": reason,
        "principalIdentifier": principal_id,
        "ipAddress": ip_address,
    }
    return CONNECT_FAILED.format(client_id), orjson.dumps(body)


def subscription_event(
    subscribed: bool, client_id: str, principal_id: str, session_id: str, topics: list[str]
) -> tuple[str, bytes]:
    body: dict[str, Any] = {
        "clientId": client_id,
        "timestamp": _now_ms(),
        "eventType": "subscribed" if subscribed else "unsubscribed",
        "sessionIdentifier": session_id,
        "principalIdentifier": principal_id,
        "topics": topics,
    }
    return (SUBSCRIBED if subscribed else UNSUBSCRIBED).format(client_id), orjson.dumps(body)
