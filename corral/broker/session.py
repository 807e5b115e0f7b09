"""A client's session: its subscriptions and the QoS 1 messages owed to it.

Invariants:
- ``inflight`` holds QoS 1 deliveries written to the current (or a previous) connection and not yet
  acknowledged, in the order they were sent; at most ``Limits.inflight_max`` of them.
- ``queue`` holds QoS 1 deliveries not yet written, because the client is offline, its window is full or
  its connection is not draining; at most ``Limits.queued_messages_max`` of them.
- A session outlives its connection only when ``expiry_interval`` > 0.
"""

from __future__ import annotations

import uuid
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from corral.auth.principals import Principal
from corral.broker.message import Message

if TYPE_CHECKING:
    from corral.broker.connection import MQTTConnection


@dataclass(slots=True)
class SubscriptionOptions:
    qos: int
    no_local: bool = False
    retain_as_published: bool = False
    retain_handling: int = 0


def merge_options(a: SubscriptionOptions, b: SubscriptionOptions) -> SubscriptionOptions:
    """One delivery for overlapping subscriptions of a client, at the highest QoS they grant."""
    return SubscriptionOptions(
        qos=max(a.qos, b.qos),
        no_local=a.no_local and b.no_local,
        retain_as_published=a.retain_as_published or b.retain_as_published,
    )


@dataclass(slots=True)
class Delivery:
    """A QoS 1 message owed to one session, with what its subscriptions asked for."""

    message: Message
    retain: bool


@dataclass(slots=True)
class Session:
    client_id: str
    principal: Principal
    expiry_interval: int = 0
    subscriptions: dict[str, SubscriptionOptions] = field(default_factory=dict)
    inflight: dict[int, Delivery] = field(default_factory=dict)
    queue: deque[Delivery] = field(default_factory=deque)
    connection: MQTTConnection | None = None
    disconnected_at: float | None = None  # wall-clock seconds, while offline
    session_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    dropped: int = 0
    _next_packet_id: int = 0

    def next_packet_id(self) -> int:
        pid = self._next_packet_id
        for _ in range(65535):
            pid = pid % 65535 + 1
            if pid not in self.inflight:
                self._next_packet_id = pid
                return pid
        raise RuntimeError("no free packet identifier")  # cannot happen: inflight is bounded by 100s

    def expired(self, now: float) -> bool:
        return (
            self.connection is None
            and self.disconnected_at is not None
            and now - self.disconnected_at >= self.expiry_interval
        )
