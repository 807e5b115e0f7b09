"""Session bookkeeping: packet identifiers, expiry and merged subscription options."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

import pytest

from corral.auth.principals import ANONYMOUS
from corral.broker.message import Message
from corral.broker.session import Delivery, Session, SubscriptionOptions, merge_options

if TYPE_CHECKING:
    from corral.broker.connection import MQTTConnection


def delivery() -> Delivery:
    return Delivery(Message("a/b", b"x", 1), retain=False)


def session(
    expiry_interval: int = 0, disconnected_at: float | None = None, last_packet_id: int = 0
) -> Session:
    return Session(
        "client-1",
        ANONYMOUS,
        expiry_interval=expiry_interval,
        disconnected_at=disconnected_at,
        _next_packet_id=last_packet_id,
    )


def test_packet_ids_start_at_one_and_increase() -> None:
    s = session()
    assert [s.next_packet_id() for _ in range(5)] == [1, 2, 3, 4, 5]


def test_packet_ids_are_not_reused_while_in_flight() -> None:
    s = session()
    first = s.next_packet_id()
    s.inflight[first] = delivery()
    s.inflight[3] = delivery()
    s.inflight[4] = delivery()
    assert s.next_packet_id() == 2
    assert s.next_packet_id() == 5


def test_packet_ids_wrap_at_65535_and_never_use_zero() -> None:
    s = session(last_packet_id=65533)
    assert [s.next_packet_id() for _ in range(4)] == [65534, 65535, 1, 2]


def test_wrapping_skips_ids_in_flight() -> None:
    s = session(last_packet_id=65534)
    for pid in (65535, 1, 2):
        s.inflight[pid] = delivery()
    assert s.next_packet_id() == 3
    s.inflight.clear()
    s.inflight[1] = delivery()
    assert s.next_packet_id() == 4


def test_a_full_cycle_returns_every_id_once() -> None:
    s = session()
    seen = set()
    for _ in range(65535):
        pid = s.next_packet_id()
        assert 1 <= pid <= 65535
        seen.add(pid)
    assert len(seen) == 65535


def test_no_free_packet_id() -> None:
    s = session()
    shared = delivery()
    s.inflight = dict.fromkeys(range(1, 65536), shared)
    with pytest.raises(RuntimeError):
        s.next_packet_id()
    del s.inflight[40_000]
    assert s.next_packet_id() == 40_000


def test_a_connected_session_never_expires() -> None:
    s = session(expiry_interval=0, disconnected_at=None)
    s.connection = cast("MQTTConnection", object())
    assert not s.expired(10**12)
    s.disconnected_at = 0.0  # even with a stale timestamp
    assert not s.expired(10**12)


def test_an_offline_session_expires_after_its_interval() -> None:
    s = session(expiry_interval=3600, disconnected_at=1000.0)
    assert not s.expired(1000.0)
    assert not s.expired(4599.9)
    assert s.expired(4600.0)
    assert s.expired(10**9)


def test_zero_expiry_expires_at_disconnect() -> None:
    s = session(expiry_interval=0, disconnected_at=50.0)
    assert s.expired(50.0)


def test_no_disconnect_time_means_not_expired() -> None:
    assert not session(expiry_interval=0).expired(10**12)


def test_sessions_get_distinct_ids_and_empty_state() -> None:
    a, b = session(), session()
    assert a.session_id != b.session_id
    assert a.inflight == {} and not a.queue and a.subscriptions == {}
    a.queue.append(delivery())
    a.subscriptions["x"] = SubscriptionOptions(qos=1)
    assert not b.queue and b.subscriptions == {}


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        (SubscriptionOptions(0), SubscriptionOptions(1), SubscriptionOptions(1)),
        (SubscriptionOptions(1), SubscriptionOptions(0), SubscriptionOptions(1)),
        (
            SubscriptionOptions(0, no_local=True),
            SubscriptionOptions(0, no_local=True),
            SubscriptionOptions(0, no_local=True),
        ),
        (SubscriptionOptions(0, no_local=True), SubscriptionOptions(0), SubscriptionOptions(0)),
        (
            SubscriptionOptions(0, retain_as_published=True),
            SubscriptionOptions(1),
            SubscriptionOptions(1, retain_as_published=True),
        ),
    ],
)
def test_merge_options(a: SubscriptionOptions, b: SubscriptionOptions, expected: SubscriptionOptions) -> None:
    assert merge_options(a, b) == expected
    assert merge_options(b, a) == expected
