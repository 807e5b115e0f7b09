"""What every part of SqsService shares: its settings, queue names and URLs, and the rows of a queue.

:class:`SqsBase` holds the store, the account and the clock; the parts (queues.py, sending.py, receiving.py)
are mixins over it that :class:`~corral.services.sqs.service.SqsService` composes.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse

from sqlalchemy import and_, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from corral.services.common import Clock, arn, parse_arn, system_clock
from corral.services.sqs import attributes as queue_attributes
from corral.services.sqs.errors import MissingParameter, QueueDoesNotExist
from corral.store.engine import Store
from corral.store.schema import sqs_messages, sqs_queues


@dataclass(slots=True)
class Queue:
    name: str
    attributes: dict[str, str]
    tags: dict[str, str]
    created_at: float
    last_modified_at: float

    @property
    def fifo(self) -> bool:
        return self.attributes.get("FifoQueue") == "true"

    def setting(self, name: str) -> int:
        return int(queue_attributes.effective(self.attributes)[name])

    @property
    def redrive(self) -> queue_attributes.RedrivePolicy | None:
        policy = self.attributes.get("RedrivePolicy")
        return queue_attributes.redrive_policy(policy) if policy else None


@dataclass(slots=True)
class Wakeup:
    """One in-process event per queue that long polls wait on; set (and forgotten) by :meth:`notify`."""

    events: dict[str, asyncio.Event] = field(default_factory=dict)

    def event(self, queue: str) -> asyncio.Event:
        return self.events.setdefault(queue, asyncio.Event())

    def notify(self, queue: str) -> None:
        event = self.events.pop(queue, None)
        if event is not None:
            event.set()


class SqsBase:
    def __init__(
        self,
        store: Store,
        account_id: str,
        region: str,
        base_url: str,
        clock: Clock = system_clock,
    ) -> None:
        self.store = store
        self.account_id = account_id
        self.region = region
        self.base_url = base_url.rstrip("/")
        self.clock = clock
        self._wakeup = Wakeup()
        self._purged_at: dict[str, float] = {}
        self._deleted_at: dict[str, float] = {}

    # -- names ----------------------------------------------------------------------------------------

    def queue_url(self, name: str) -> str:
        return f"{self.base_url}/{self.account_id}/{name}"

    def queue_arn(self, name: str) -> str:
        return arn("sqs", self.region, self.account_id, name)

    def queue_name(self, queue_url_or_name: str) -> str:
        """The queue a URL (any host: clients keep AWS-shaped URLs), an ARN or a bare name designates."""
        if queue_url_or_name.startswith("arn:"):
            parsed = parse_arn(queue_url_or_name, "sqs")
            if parsed is None or parsed[1] != self.account_id:
                raise QueueDoesNotExist()
            return parsed[2]
        if "/" not in queue_url_or_name:
            if not queue_url_or_name:
                raise MissingParameter("The request must contain the parameter QueueUrl.")
            return queue_url_or_name
        parts = [p for p in urlparse(queue_url_or_name).path.split("/") if p]
        if len(parts) != 2 or parts[0] != self.account_id:
            raise QueueDoesNotExist()
        return parts[1]

    # -- rows -----------------------------------------------------------------------------------------

    async def _queue(self, conn: AsyncConnection, name: str) -> Queue:
        queue = await self._find_queue(conn, name)
        if queue is None:
            raise QueueDoesNotExist()
        return queue

    async def _find_queue(self, conn: AsyncConnection, name: str) -> Queue | None:
        row = (await conn.execute(select(sqs_queues).where(self._queue_key(name)))).mappings().first()
        if row is None:
            return None
        return Queue(
            name, dict(row["attributes"]), dict(row["tags"]), row["created_at"], row["last_modified_at"]
        )

    async def _next_sequence(self, conn: AsyncConnection, name: str) -> int:
        # The UPDATE takes the queue row's lock (PostgreSQL) before reading the counter.
        result = await conn.execute(
            update(sqs_queues)
            .where(self._queue_key(name))
            .values(last_sequence=sqs_queues.c.last_sequence + 1)
            .returning(sqs_queues.c.last_sequence)
        )
        return int(result.scalar_one())

    async def _counts(self, conn: AsyncConnection, name: str, now: float) -> tuple[int, int, int]:
        """(visible, in flight, delayed) messages of a queue."""
        visible = sqs_messages.c.visible_at <= now
        received = sqs_messages.c.receive_count > 0
        row = (
            await conn.execute(
                select(
                    func.count().filter(visible),
                    func.count().filter(~visible & received),
                    func.count().filter(~visible & ~received),
                ).where(self._messages_of(name))
            )
        ).one()
        return int(row[0]), int(row[1]), int(row[2])

    def _queue_key(self, name: str) -> Any:
        return and_(sqs_queues.c.account_id == self.account_id, sqs_queues.c.queue_name == name)

    def _messages_of(self, name: str) -> Any:
        return and_(sqs_messages.c.account_id == self.account_id, sqs_messages.c.queue_name == name)

    def _message_key(self, name: str, message_id: str) -> Any:
        return and_(self._messages_of(name), sqs_messages.c.message_id == message_id)
