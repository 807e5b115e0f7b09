"""AWS IoT Core's message broker quotas, as configurable defaults.

Each value is AWS's documented default for the quota of the same meaning; an operator may change any of
them in ``corral.toml`` under ``[limits]`` (tests lower the keep-alive floor to exercise timeouts quickly).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any


@dataclass(slots=True)
class Limits:
    client_id_max_bytes: int = 128
    topic_max_bytes: int = 256
    topic_max_slashes: int = 7  # forward slashes in a topic or filter, beyond the reserved prefix
    payload_max_bytes: int = 128 * 1024
    subscribe_max_filters: int = 8  # topic filters in one SUBSCRIBE
    subscriptions_per_session: int = 50
    inflight_max: int = 100  # unacknowledged QoS 1 deliveries per client
    keep_alive_min: int = 30
    keep_alive_max: int = 1200
    # AWS's persistent-session expiry period (default 1 hour, adjustable up to 7 days): what a 3.1.1
    # persistent session gets, and the most an MQTT 5 client may ask for.
    session_expiry_max: int = 3600
    queued_messages_max: int = 1000  # QoS 1 messages held for one session (offline or over the window)
    output_buffer_max_bytes: int = 1024 * 1024  # per connection, before QoS 0 deliveries are dropped
    topic_alias_max: int = 8
    retained_max_topics: int = 500_000

    @property
    def max_packet_size(self) -> int:
        """The MQTT 5 Maximum Packet Size: the payload quota plus room for topic, properties and headers
        (AWS's 146 KiB packet quota against its 128 KiB payload quota)."""
        return self.payload_max_bytes + 18 * 1024

    @classmethod
    def from_mapping(cls, values: dict[str, Any]) -> Limits:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"unknown limit(s): {', '.join(unknown)}")
        for name, value in values.items():
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ValueError(f"limit {name} must be a non-negative integer, got {value!r}")
        return cls(**values)
