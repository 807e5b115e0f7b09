"""Deliveries to subscribers, each a :class:`Delivery` (plain data: what to send, to whom, how) run in a
background task with retries and exponential backoff.

Every attempt's outcome is counted in :class:`DeliveryStats` (``/health`` shows them), logged when it fails,
and recorded on the subscription (``deliveries``, ``delivery_failures``, ``last_failure``), which
GetSubscriptionAttributes shows as ``CorralDeliveries``, ``CorralDeliveryFailures`` and
``CorralLastDeliveryFailure``. A :class:`PermanentFailure` (no SMTP server, no SMS gateway, no function
service, a queue that does not exist) is not retried. How each protocol sends is transports.py's business.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from corral.services.common import new_message_id

log = logging.getLogger(__name__)

BACKOFF = (1.0, 4.0, 16.0)
"""Seconds before the 2nd, 3rd and 4th attempt."""


class PermanentFailure(Exception):
    """A delivery that no retry can make succeed."""


@dataclass(slots=True)
class Delivery:
    """One document for one subscriber, ready to send: everything a transport needs, JSON-serializable."""

    subscription_id: str
    protocol: str
    endpoint: str
    body: str
    """What is sent: the HTTP body, the e-mail text, the SMS text, the Lambda event, the SQS message body."""
    kind: str = "Notification"
    """Notification, SubscriptionConfirmation or UnsubscribeConfirmation."""
    subject: str | None = None
    sender_name: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    message_attributes: dict[str, dict[str, str]] | None = None
    """SQS with raw delivery: the message attributes, binary values in base64."""
    group_id: str | None = None
    deduplication_id: str | None = None
    sequence_number: str | None = None
    """A FIFO topic's SequenceNumber: the order in which a restart resumes a group's deliveries."""
    id: str = field(default_factory=new_message_id)
    attempts: int = 0
    """Attempts already made (and failed)."""

    @property
    def what(self) -> str:
        return f"{self.kind} to {self.protocol}:{self.endpoint}"

    @property
    def lane(self) -> str | None:
        """Deliveries with the same lane run one after the other, in the order submitted: a FIFO message
        group's messages to one subscriber. None: no order to keep."""
        return None if self.group_id is None else f"{self.subscription_id}\n{self.group_id}"

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Delivery:
        return cls(**data)


@dataclass(slots=True)
class DeliveryStats:
    attempts: int = 0
    delivered: int = 0
    failed_attempts: int = 0
    abandoned: int = 0


Send = Callable[[Delivery], Awaitable[None]]
Record = Callable[[Delivery, bool, str | None, bool], Awaitable[None]]
"""(delivery, succeeded, failure text, finished: no attempt will follow) -> stored."""


class Deliveries:
    def __init__(self, send: Send, record: Record, backoff: tuple[float, ...] = BACKOFF) -> None:
        self.send = send
        self.record = record
        self.backoff = backoff
        self.stats = DeliveryStats()
        self._tasks: set[asyncio.Task[None]] = set()
        self._lanes: dict[str, asyncio.Task[None]] = {}

    def submit(self, delivery: Delivery) -> None:
        lane = delivery.lane
        before = self._lanes.get(lane) if lane is not None else None
        task = asyncio.get_running_loop().create_task(self._run(delivery, before))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        if lane is not None:
            self._lanes[lane] = task
            task.add_done_callback(lambda done: self._forget_lane(lane, done))

    def _forget_lane(self, lane: str, task: asyncio.Task[None]) -> None:
        if self._lanes.get(lane) is task:
            del self._lanes[lane]

    async def _run(self, delivery: Delivery, after: asyncio.Task[None] | None = None) -> None:
        if after is not None:
            await asyncio.wait([after])  # the group's previous message first (delivered or abandoned)
        delays = (0.0, *self.backoff)
        while delivery.attempts < len(delays):
            delay = delays[delivery.attempts]
            if delay:
                await asyncio.sleep(delay)  # the retry policy's backoff
            delivery.attempts += 1
            self.stats.attempts += 1
            try:
                await self.send(delivery)
            except Exception as exc:
                self.stats.failed_attempts += 1
                text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
                log.warning("SNS delivery %s (attempt %d) failed: %s", delivery.what, delivery.attempts, text)
                final = isinstance(exc, PermanentFailure) or delivery.attempts >= len(delays)
                await self._record(delivery, False, text, final)
                if final:
                    break
                continue
            self.stats.delivered += 1
            await self._record(delivery, True, None, True)
            return
        self.stats.abandoned += 1
        log.error("SNS delivery %s abandoned", delivery.what)

    async def _record(self, delivery: Delivery, ok: bool, text: str | None, finished: bool) -> None:
        try:
            await self.record(delivery, ok, text, finished)
        except Exception:
            log.exception("cannot record an SNS delivery outcome")

    async def drain(self) -> None:
        """Waits for every delivery under way (retries included)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
