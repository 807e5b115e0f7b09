"""SqsService: queues and their messages in the store, with long polling, FIFO order and dead-letter redrive.

Invariants:

- A message is receivable when ``visible_at <= now``. Sending sets it to now + delay; each receive to now +
  visibility timeout; ChangeMessageVisibility to now + the new timeout. "In flight" is ``visible_at > now``
  after at least one receive, "delayed" the same before any.
- Every receive gives the message a new receipt nonce. DeleteMessage with an older handle succeeds without
  deleting (as AWS documents); ChangeMessageVisibility with one is refused.
- Messages are taken in ``sequence`` order (a per-queue counter kept on the queue row). On a FIFO queue a
  message group with a message in flight or delayed is skipped as a whole, so a group is delivered in order
  and one batch at a time.
- A message whose receive count has reached the source queue's ``maxReceiveCount`` moves to the dead-letter
  queue, in the same transaction, instead of being received again.
- Long polls wait on an in-process event per queue, set after each commit that may make a message
  receivable; a poll also wakes when the earliest invisible message's time comes.

Rule actions and other domains call :meth:`SqsService.send_message` (a queue URL or a bare queue name).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import hashlib
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse

from sqlalchemy import and_, delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from corral.services.common import Clock, arn, epoch_millis, new_message_id, parse_arn, system_clock
from corral.services.sqs import attributes as queue_attributes
from corral.services.sqs import messages as rules
from corral.services.sqs.errors import (
    BatchRequestTooLong,
    InvalidAttributeName,
    InvalidAttributeValue,
    InvalidParameterValue,
    MessageNotInflight,
    MissingParameter,
    PurgeQueueInProgress,
    QueueDeletedRecently,
    QueueDoesNotExist,
    QueueNameExists,
    ReceiptHandleIsInvalid,
    invalid_value,
)
from corral.store.engine import Store
from corral.store.schema import message_deduplication, sqs_messages, sqs_queues

DEDUPLICATION_WINDOW = 300.0
PURGE_INTERVAL = 60.0
RECREATE_WAIT = 60.0
MESSAGE_SYSTEM_ATTRIBUTES = (
    "SenderId",
    "SentTimestamp",
    "ApproximateReceiveCount",
    "ApproximateFirstReceiveTimestamp",
    "SequenceNumber",
    "MessageDeduplicationId",
    "MessageGroupId",
    "AWSTraceHeader",
)
_FIFO_SCAN = 1000
NOT_FOR_THIS_QUEUE_TYPE = "The request include parameter that is not valid for this queue type."


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
class SendResult:
    message_id: str
    md5_of_body: str
    md5_of_attributes: str | None = None
    md5_of_system_attributes: str | None = None
    sequence_number: str | None = None

    def output(self) -> dict[str, Any]:
        result: dict[str, Any] = {"MessageId": self.message_id, "MD5OfMessageBody": self.md5_of_body}
        if self.md5_of_attributes is not None:
            result["MD5OfMessageAttributes"] = self.md5_of_attributes
        if self.md5_of_system_attributes is not None:
            result["MD5OfMessageSystemAttributes"] = self.md5_of_system_attributes
        if self.sequence_number is not None:
            result["SequenceNumber"] = self.sequence_number
        return result


@dataclass(slots=True)
class _Wakeup:
    events: dict[str, asyncio.Event] = field(default_factory=dict)

    def event(self, queue: str) -> asyncio.Event:
        return self.events.setdefault(queue, asyncio.Event())

    def notify(self, queue: str) -> None:
        event = self.events.pop(queue, None)
        if event is not None:
            event.set()


def sequence_number(sequence: int) -> str:
    """A FIFO message's SequenceNumber: 20 digits, growing with the queue's order."""
    return str(10**19 + sequence)


class SqsService:
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
        self._wakeup = _Wakeup()
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

    # -- queues ---------------------------------------------------------------------------------------

    async def create_queue(
        self, name: str, attributes: Mapping[str, str] | None = None, tags: Mapping[str, str] | None = None
    ) -> str:
        attributes = dict(attributes or {})
        fifo = attributes.get("FifoQueue", "false").lower() == "true"
        queue_attributes.check_queue_name(name, fifo or queue_attributes.is_fifo_name(name))
        if queue_attributes.is_fifo_name(name) and not fifo:
            raise InvalidParameterValue("Can only include alphanumeric characters, hyphens, or underscores. "
                                        "1 to 80 in length")  # fmt: skip
        wanted = queue_attributes.validate(attributes, fifo=fifo, creating=True)
        await self._check_redrive_target(wanted)
        now = self.clock()
        deleted = self._deleted_at.get(name)
        if deleted is not None and now - deleted < RECREATE_WAIT:
            raise QueueDeletedRecently(
                "You must wait 60 seconds after deleting a queue before you can create another with the same "
                "name."
            )
        async with self.store.begin() as conn:
            existing = await self._find_queue(conn, name)
            if existing is not None:
                current = queue_attributes.effective(existing.attributes)
                if any(current.get(k) != v for k, v in queue_attributes.effective(wanted).items()):
                    raise QueueNameExists(
                        "A queue already exists with the same name and a different value for attribute(s) "
                        + ", ".join(k for k, v in wanted.items() if current.get(k) != v)
                    )
                return self.queue_url(name)
            await conn.execute(
                insert(sqs_queues).values(
                    account_id=self.account_id, queue_name=name, attributes=wanted, tags=dict(tags or {}),
                    last_sequence=0, created_at=now, last_modified_at=now,
                )
            )  # fmt: skip
        return self.queue_url(name)

    async def get_queue_url(self, name: str, owner: str | None = None) -> str:
        if owner is not None and owner != self.account_id:
            raise QueueDoesNotExist()
        async with self.store.read() as conn:
            await self._queue(conn, name)
        return self.queue_url(name)

    async def list_queues(
        self, prefix: str | None = None, max_results: int | None = None, next_token: str | None = None
    ) -> tuple[list[str], str | None]:
        """Queue URLs in name order; ``next_token`` (only with ``max_results``) is the last name returned."""
        if max_results is not None and not 1 <= max_results <= 1000:
            raise invalid_value(
                "MaxResults", max_results, "MaxResults must be an integer between 1 and 1000."
            )
        after = None
        if next_token:
            try:
                after = base64.urlsafe_b64decode(next_token.encode()).decode()
            except (binascii.Error, UnicodeDecodeError):
                raise InvalidParameterValue("Invalid NextToken value.") from None
        query = select(sqs_queues.c.queue_name).where(sqs_queues.c.account_id == self.account_id)
        if prefix:
            query = query.where(sqs_queues.c.queue_name.startswith(prefix, autoescape=True))
        if after is not None:
            query = query.where(sqs_queues.c.queue_name > after)
        limit = max_results or 1000
        async with self.store.read() as conn:
            names = list(
                (await conn.execute(query.order_by(sqs_queues.c.queue_name).limit(limit + 1))).scalars()
            )
        token = None
        if max_results is not None and len(names) > limit:
            token = base64.urlsafe_b64encode(names[limit - 1].encode()).decode()
        return [self.queue_url(n) for n in names[:limit]], token

    async def delete_queue(self, queue: str) -> None:
        name = self.queue_name(queue)
        async with self.store.begin() as conn:
            await self._queue(conn, name)
            await conn.execute(delete(sqs_messages).where(self._messages_of(name)))
            await conn.execute(
                delete(message_deduplication).where(
                    message_deduplication.c.account_id == self.account_id,
                    message_deduplication.c.target == f"sqs:{name}",
                )
            )
            await conn.execute(delete(sqs_queues).where(self._queue_key(name)))
        self._deleted_at[name] = self.clock()
        self._wakeup.notify(name)

    async def purge_queue(self, queue: str) -> None:
        name = self.queue_name(queue)
        now = self.clock()
        async with self.store.begin() as conn:
            await self._queue(conn, name)
            last = self._purged_at.get(name)
            if last is not None and now - last < PURGE_INTERVAL:
                raise PurgeQueueInProgress(
                    f"Only one PurgeQueue operation on {name} is allowed every 60 seconds."
                )
            await conn.execute(delete(sqs_messages).where(self._messages_of(name)))
        self._purged_at[name] = now

    async def get_queue_attributes(self, queue: str, names: Sequence[str] | None = None) -> dict[str, str]:
        name = self.queue_name(queue)
        wanted = list(names or [])
        for attribute in wanted:
            if attribute != "All" and attribute not in queue_attributes.ALL_NAMES:
                raise InvalidAttributeName(f"Unknown Attribute {attribute}.")
        if not wanted:
            return {}
        now = self.clock()
        async with self.store.read() as conn:
            row = await self._queue(conn, name)
            counts = await self._counts(conn, name, now)
        values = {
            **queue_attributes.effective(row.attributes),
            "ApproximateNumberOfMessages": str(counts[0]),
            "ApproximateNumberOfMessagesNotVisible": str(counts[1]),
            "ApproximateNumberOfMessagesDelayed": str(counts[2]),
            "CreatedTimestamp": str(int(row.created_at)),
            "LastModifiedTimestamp": str(int(row.last_modified_at)),
            "QueueArn": self.queue_arn(name),
        }
        values.setdefault("SqsManagedSseEnabled", "false")
        if row.fifo:
            values.setdefault("ContentBasedDeduplication", "false")
            values.setdefault("DeduplicationScope", "queue")
            values.setdefault("FifoThroughputLimit", "perQueue")
        if "All" in wanted:
            return values
        return {k: values[k] for k in wanted if k in values}

    async def set_queue_attributes(self, queue: str, attributes: Mapping[str, str]) -> None:
        name = self.queue_name(queue)
        async with self.store.begin() as conn:
            row = await self._queue(conn, name)
            changes = queue_attributes.validate(attributes, fifo=row.fifo, creating=False)
            await self._check_redrive_target(changes)
            merged = {**row.attributes, **changes}
            if merged.get("RedrivePolicy") == "":
                del merged["RedrivePolicy"]
            await conn.execute(
                update(sqs_queues)
                .where(self._queue_key(name))
                .values(attributes=merged, last_modified_at=self.clock())
            )
        self._wakeup.notify(name)

    async def tag_queue(self, queue: str, tags: Mapping[str, str]) -> None:
        name = self.queue_name(queue)
        async with self.store.begin() as conn:
            row = await self._queue(conn, name)
            await conn.execute(
                update(sqs_queues).where(self._queue_key(name)).values(tags={**row.tags, **tags})
            )

    async def untag_queue(self, queue: str, keys: Sequence[str]) -> None:
        name = self.queue_name(queue)
        async with self.store.begin() as conn:
            row = await self._queue(conn, name)
            remaining = {k: v for k, v in row.tags.items() if k not in keys}
            await conn.execute(update(sqs_queues).where(self._queue_key(name)).values(tags=remaining))

    async def list_queue_tags(self, queue: str) -> dict[str, str]:
        async with self.store.read() as conn:
            return (await self._queue(conn, self.queue_name(queue))).tags

    async def list_dead_letter_source_queues(self, queue: str) -> list[str]:
        name = self.queue_name(queue)
        target = self.queue_arn(name)
        async with self.store.read() as conn:
            await self._queue(conn, name)
            rows = (
                await conn.execute(
                    select(sqs_queues.c.queue_name, sqs_queues.c.attributes)
                    .where(sqs_queues.c.account_id == self.account_id)
                    .order_by(sqs_queues.c.queue_name)
                )
            ).all()
        sources = []
        for source, stored in rows:
            policy = stored.get("RedrivePolicy")
            if policy and queue_attributes.redrive_policy(policy).dead_letter_target_arn == target:
                sources.append(self.queue_url(source))
        return sources

    # -- sending --------------------------------------------------------------------------------------

    async def send_message(
        self,
        queue_url_or_name: str,
        body: str,
        *,
        delay_seconds: int | None = None,
        message_attributes: Mapping[str, Mapping[str, Any]] | None = None,
        system_attributes: Mapping[str, Mapping[str, Any]] | None = None,
        group_id: str | None = None,
        deduplication_id: str | None = None,
        sender_id: str | None = None,
    ) -> SendResult:
        """Send one message, as SendMessage does; the interface the IoT rule action and SNS use.

        ``message_attributes`` are in the API's form (``{"name": {"DataType": "String", "StringValue":
        "v"}}``, ``BinaryValue`` as bytes). Raises the ``SqsError`` AWS would answer with.
        """
        name = self.queue_name(queue_url_or_name)
        async with self.store.begin() as conn:
            queue = await self._queue(conn, name)
            result = await self._send(
                conn, queue, body, delay_seconds, message_attributes or {}, system_attributes or {},
                group_id, deduplication_id, sender_id,
            )  # fmt: skip
        self._wakeup.notify(name)
        return result

    async def send_message_batch(
        self, queue: str, entries: Sequence[Mapping[str, Any]]
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """Entries in the API's form; each succeeds or fails on its own, as AWS does."""
        name = self.queue_name(queue)
        successful: list[dict[str, Any]] = []
        failed: list[dict[str, Any]] = []
        async with self.store.begin() as conn:
            row = await self._queue(conn, name)
            total = sum(
                len(e.get("MessageBody", "").encode())
                + rules.attributes_size(e.get("MessageAttributes") or {})
                for e in entries
            )
            if total > row.setting("MaximumMessageSize"):
                raise BatchRequestTooLong(
                    f"Batch requests cannot be longer than {row.setting('MaximumMessageSize')} bytes. "
                    "You have "
                    f"sent {total} bytes."
                )
            for entry in entries:
                try:
                    async with conn.begin_nested():
                        sent = await self._send(
                            conn, row, entry.get("MessageBody", ""), entry.get("DelaySeconds"),
                            entry.get("MessageAttributes") or {}, entry.get("MessageSystemAttributes") or {},
                            entry.get("MessageGroupId"), entry.get("MessageDeduplicationId"), None,
                        )  # fmt: skip
                except InvalidParameterValue as exc:
                    failed.append(
                        {"Id": entry["Id"], "SenderFault": True, "Code": exc.code, "Message": exc.message}
                    )
                    continue
                successful.append({"Id": entry["Id"], **sent.output()})
        self._wakeup.notify(name)
        return successful, failed

    async def _send(
        self,
        conn: AsyncConnection,
        queue: Queue,
        body: str,
        delay_seconds: int | None,
        message_attributes: Mapping[str, Mapping[str, Any]],
        system_attributes: Mapping[str, Mapping[str, Any]],
        group_id: str | None,
        deduplication_id: str | None,
        sender_id: str | None,
    ) -> SendResult:
        rules.check_body(body)
        rules.validate_attributes(message_attributes)
        rules.validate_attributes(system_attributes, "Message system")
        size = len(body.encode()) + rules.attributes_size(message_attributes)
        limit = queue.setting("MaximumMessageSize")
        if size > limit:
            raise InvalidParameterValue(
                f"One or more parameters are invalid. Reason: Message must be shorter than {limit} bytes."
            )
        if delay_seconds is not None and not 0 <= delay_seconds <= 900:
            raise invalid_value("DelaySeconds", delay_seconds, "DelaySeconds must be >= 0 and <= 900.")
        now = self.clock()
        if queue.fifo:
            if delay_seconds:
                raise invalid_value("DelaySeconds", delay_seconds, NOT_FOR_THIS_QUEUE_TYPE)
            if not group_id:
                raise MissingParameter("The request must contain the parameter MessageGroupId.")
            if deduplication_id is None:
                if queue.attributes.get("ContentBasedDeduplication") != "true":
                    raise InvalidParameterValue(
                        "The queue should either have ContentBasedDeduplication enabled or "
                        "MessageDeduplicationId provided explicitly"
                    )
                deduplication_id = hashlib.sha256(body.encode()).hexdigest()
        elif deduplication_id is not None:
            raise invalid_value("MessageDeduplicationId", deduplication_id, NOT_FOR_THIS_QUEUE_TYPE)
        result = SendResult(
            new_message_id(),
            rules.md5_of_body(body),
            rules.md5_of_attributes(message_attributes) if message_attributes else None,
            rules.md5_of_attributes(system_attributes) if system_attributes else None,
        )
        if queue.fifo and deduplication_id is not None:
            earlier = await self._deduplicated(conn, f"sqs:{queue.name}", deduplication_id, now)
            if earlier is not None:
                result.message_id, result.sequence_number = earlier
                return result
        sequence = await self._next_sequence(conn, queue.name)
        if queue.fifo:
            result.sequence_number = sequence_number(sequence)
            await self._remember(conn, f"sqs:{queue.name}", deduplication_id or "", result, now)
        delay = queue.setting("DelaySeconds") if delay_seconds is None else delay_seconds
        await conn.execute(
            insert(sqs_messages).values(
                account_id=self.account_id, queue_name=queue.name, message_id=result.message_id,
                sequence=sequence, body=body,
                message_attributes=rules.to_store(message_attributes) if message_attributes else None,
                system_attributes=rules.to_store(system_attributes) if system_attributes else None,
                sender_id=sender_id or self.account_id, sent_at=now, visible_at=now + delay, receive_count=0,
                first_received_at=None, receipt=None, group_id=group_id, deduplication_id=deduplication_id,
            )
        )  # fmt: skip
        return result

    async def _deduplicated(
        self, conn: AsyncConnection, target: str, deduplication_id: str, now: float
    ) -> tuple[str, str | None] | None:
        row = (
            await conn.execute(
                select(message_deduplication.c.message_id, message_deduplication.c.sequence_number).where(
                    message_deduplication.c.account_id == self.account_id,
                    message_deduplication.c.target == target,
                    message_deduplication.c.deduplication_id == deduplication_id,
                    message_deduplication.c.expires_at > now,
                )
            )
        ).first()
        return None if row is None else (row[0], row[1])

    async def _remember(
        self, conn: AsyncConnection, target: str, deduplication_id: str, result: SendResult, now: float
    ) -> None:
        key = and_(
            message_deduplication.c.account_id == self.account_id,
            message_deduplication.c.target == target,
            message_deduplication.c.deduplication_id == deduplication_id,
        )
        await conn.execute(delete(message_deduplication).where(key))
        await conn.execute(
            insert(message_deduplication).values(
                account_id=self.account_id, target=target, deduplication_id=deduplication_id,
                message_id=result.message_id, sequence_number=result.sequence_number,
                expires_at=now + DEDUPLICATION_WINDOW,
            )
        )  # fmt: skip

    async def _next_sequence(self, conn: AsyncConnection, name: str) -> int:
        # The UPDATE takes the queue row's lock (PostgreSQL) before reading the counter.
        result = await conn.execute(
            update(sqs_queues)
            .where(self._queue_key(name))
            .values(last_sequence=sqs_queues.c.last_sequence + 1)
            .returning(sqs_queues.c.last_sequence)
        )
        return int(result.scalar_one())

    # -- receiving ------------------------------------------------------------------------------------

    async def receive_message(
        self,
        queue: str,
        *,
        max_messages: int | None = None,
        visibility_timeout: int | None = None,
        wait_seconds: int | None = None,
        system_attribute_names: Sequence[str] = (),
        message_attribute_names: Sequence[str] = (),
    ) -> list[dict[str, Any]]:
        """Messages in the API's ``Message`` form; waits up to ``wait_seconds`` (or the queue's
        ReceiveMessageWaitTimeSeconds) for the first one, returning as soon as any is receivable."""
        name = self.queue_name(queue)
        count = 1 if max_messages is None else max_messages
        if not 1 <= count <= 10:
            raise invalid_value("MaxNumberOfMessages", count, "Must be between 1 and 10, if provided.")
        if visibility_timeout is not None and not 0 <= visibility_timeout <= 43200:
            raise invalid_value(
                "VisibilityTimeout", visibility_timeout, "Must be >= 0 and <= 43200, if provided."
            )
        if wait_seconds is not None and not 0 <= wait_seconds <= 20:
            raise invalid_value("WaitTimeSeconds", wait_seconds, "Must be >= 0 and <= 20, if provided.")
        loop = asyncio.get_running_loop()
        deadline: float | None = None
        while True:
            event = self._wakeup.event(name)
            taken, wait_default, next_visible, moved = await self._receive_once(
                name, count, visibility_timeout
            )
            for dead_letter in moved:
                self._wakeup.notify(dead_letter)
            if deadline is None:
                wait = wait_default if wait_seconds is None else wait_seconds
                deadline = loop.time() + wait
            remaining = deadline - loop.time()
            if taken or remaining <= 0:
                return [self._output(m, system_attribute_names, message_attribute_names) for m in taken]
            if next_visible is not None:
                remaining = min(remaining, max(0.0, next_visible - self.clock()) + 0.01)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), remaining)

    async def _receive_once(
        self, name: str, count: int, visibility_timeout: int | None
    ) -> tuple[list[dict[str, Any]], int, float | None, list[str]]:
        now = self.clock()
        moved: list[str] = []
        async with self.store.begin() as conn:
            queue = await self._queue(conn, name)
            retention = queue.setting("MessageRetentionPeriod")
            await conn.execute(
                delete(sqs_messages).where(self._messages_of(name), sqs_messages.c.sent_at < now - retention)
            )
            timeout = queue.setting("VisibilityTimeout") if visibility_timeout is None else visibility_timeout
            candidates = await self._candidates(conn, queue, count, now)
            redrive = queue.redrive
            taken: list[dict[str, Any]] = []
            for message in candidates:
                if redrive is not None and message["receive_count"] >= redrive.max_receive_count:
                    target = await self._move_to_dead_letter(
                        conn, message, redrive.dead_letter_target_arn, now
                    )
                    if target is not None:
                        moved.append(target)
                        continue
                receipt = secrets.token_urlsafe(18)
                changes = {
                    "receive_count": message["receive_count"] + 1,
                    "first_received_at": message["first_received_at"] or now,
                    "receipt": receipt,
                    "visible_at": now + timeout,
                }
                await conn.execute(
                    update(sqs_messages)
                    .where(self._message_key(name, message["message_id"]))
                    .values(**changes)
                )
                taken.append({**message, **changes})
            next_visible = (
                await conn.execute(
                    select(func.min(sqs_messages.c.visible_at)).where(
                        self._messages_of(name), sqs_messages.c.visible_at > now
                    )
                )
            ).scalar()
        return taken, queue.setting("ReceiveMessageWaitTimeSeconds"), next_visible, moved

    async def _candidates(
        self, conn: AsyncConnection, queue: Queue, count: int, now: float
    ) -> list[dict[str, Any]]:
        columns = select(sqs_messages).where(self._messages_of(queue.name))
        if not queue.fifo:
            query = (
                columns.where(sqs_messages.c.visible_at <= now).order_by(sqs_messages.c.sequence).limit(count)
            )
            rows = (await conn.execute(query.with_for_update(skip_locked=True))).mappings().all()
            return [dict(r) for r in rows]
        blocked = set(
            (
                await conn.execute(
                    select(sqs_messages.c.group_id)
                    .where(self._messages_of(queue.name), sqs_messages.c.visible_at > now)
                    .distinct()
                )
            ).scalars()
        )
        query = (
            columns.where(sqs_messages.c.visible_at <= now)
            .order_by(sqs_messages.c.sequence)
            .limit(_FIFO_SCAN)
        )
        chosen: list[dict[str, Any]] = []
        for row in (await conn.execute(query.with_for_update())).mappings():
            if row["group_id"] in blocked:
                continue
            chosen.append(dict(row))
            if len(chosen) == count:
                break
        return chosen

    async def _move_to_dead_letter(
        self, conn: AsyncConnection, message: Mapping[str, Any], target_arn: str, now: float
    ) -> str | None:
        parsed = parse_arn(target_arn, "sqs")
        if parsed is None or parsed[1] != self.account_id:
            return None
        target = await self._find_queue(conn, parsed[2])
        if target is None:
            return None
        sequence = await self._next_sequence(conn, target.name)
        await conn.execute(
            delete(sqs_messages).where(self._message_key(message["queue_name"], message["message_id"]))
        )
        await conn.execute(
            insert(sqs_messages).values(
                {
                    **message,
                    "queue_name": target.name,
                    "sequence": sequence,
                    "visible_at": now,
                    "receipt": None,
                }
            )
        )
        return target.name

    def _output(
        self, message: Mapping[str, Any], system_names: Sequence[str], attribute_names: Sequence[str]
    ) -> dict[str, Any]:
        handle = base64.urlsafe_b64encode(
            f"{self.account_id}\n{message['queue_name']}\n{message['message_id']}\n{message['receipt']}".encode()
        ).decode()
        result: dict[str, Any] = {
            "MessageId": message["message_id"],
            "ReceiptHandle": handle,
            "MD5OfBody": rules.md5_of_body(message["body"]),
            "Body": message["body"],
        }
        system = self._system_attributes(message, system_names)
        if system:
            result["Attributes"] = system
        stored = rules.from_store(message["message_attributes"] or {})
        chosen = rules.select_attributes(stored, list(attribute_names))
        if chosen:
            result["MessageAttributes"] = chosen
            result["MD5OfMessageAttributes"] = rules.md5_of_attributes(chosen)
        return result

    @staticmethod
    def _system_attributes(message: Mapping[str, Any], names: Sequence[str]) -> dict[str, str]:
        if not names:
            return {}
        every = "All" in names
        values: dict[str, str] = {
            "SenderId": message["sender_id"],
            "SentTimestamp": epoch_millis(message["sent_at"]),
            "ApproximateReceiveCount": str(message["receive_count"]),
            "ApproximateFirstReceiveTimestamp": epoch_millis(message["first_received_at"]),
        }
        if message["group_id"] is not None:
            values["MessageGroupId"] = message["group_id"]
        if message["deduplication_id"] is not None:
            values["MessageDeduplicationId"] = message["deduplication_id"]
            values["SequenceNumber"] = sequence_number(message["sequence"])
        trace = (message["system_attributes"] or {}).get("AWSTraceHeader")
        if trace is not None:
            values["AWSTraceHeader"] = trace["StringValue"]
        return values if every else {k: v for k, v in values.items() if k in names}

    # -- deleting and visibility ---------------------------------------------------------------------

    def _parse_handle(self, name: str, handle: str) -> tuple[str, str]:
        try:
            account, queue, message_id, receipt = (
                base64.urlsafe_b64decode(handle.encode()).decode().split("\n")
            )
        except (binascii.Error, UnicodeDecodeError, ValueError):
            raise ReceiptHandleIsInvalid(
                f'The input receipt handle "{handle}" is not a valid receipt handle.'
            ) from None
        if account != self.account_id or queue != name:
            raise ReceiptHandleIsInvalid(
                f'The input receipt handle "{handle}" is not a valid receipt handle.'
            )
        return message_id, receipt

    async def delete_message(self, queue: str, receipt_handle: str) -> None:
        name = self.queue_name(queue)
        message_id, receipt = self._parse_handle(name, receipt_handle)
        async with self.store.begin() as conn:
            await self._queue(conn, name)
            await conn.execute(
                delete(sqs_messages).where(
                    self._message_key(name, message_id), sqs_messages.c.receipt == receipt
                )
            )

    async def change_message_visibility(self, queue: str, receipt_handle: str, seconds: int) -> None:
        name = self.queue_name(queue)
        message_id, receipt = self._parse_handle(name, receipt_handle)
        if not 0 <= seconds <= 43200:
            raise invalid_value("VisibilityTimeout", seconds, "Must be >= 0 and <= 43200.")
        now = self.clock()
        async with self.store.begin() as conn:
            await self._queue(conn, name)
            row = (
                await conn.execute(
                    select(sqs_messages.c.receipt, sqs_messages.c.visible_at).where(
                        self._message_key(name, message_id)
                    )
                )
            ).first()
            if row is None or row.receipt != receipt:
                raise invalid_value(
                    "ReceiptHandle",
                    receipt_handle,
                    "Message does not exist or is not available for visibility timeout change.",
                )
            if row.visible_at <= now:
                raise MessageNotInflight()
            await conn.execute(
                update(sqs_messages)
                .where(self._message_key(name, message_id))
                .values(visible_at=now + seconds)
            )
        if seconds == 0:
            self._wakeup.notify(name)

    # -- reads ----------------------------------------------------------------------------------------

    async def _counts(self, conn: AsyncConnection, name: str, now: float) -> tuple[int, int, int]:
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

    async def _check_redrive_target(self, attributes: Mapping[str, str]) -> None:
        policy = attributes.get("RedrivePolicy")
        if not policy:
            return
        target = queue_attributes.redrive_policy(policy).dead_letter_target_arn
        parsed = parse_arn(target, "sqs")
        exists = False
        if parsed is not None and parsed[1] == self.account_id:
            async with self.store.read() as conn:
                exists = await self._find_queue(conn, parsed[2]) is not None
        if not exists:
            raise InvalidAttributeValue(
                f"Value {policy} for parameter RedrivePolicy is invalid. "
                "Reason: Dead letter target does not exist."
            )

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

    def _queue_key(self, name: str) -> Any:
        return and_(sqs_queues.c.account_id == self.account_id, sqs_queues.c.queue_name == name)

    def _messages_of(self, name: str) -> Any:
        return and_(sqs_messages.c.account_id == self.account_id, sqs_messages.c.queue_name == name)

    def _message_key(self, name: str, message_id: str) -> Any:
        return and_(self._messages_of(name), sqs_messages.c.message_id == message_id)
