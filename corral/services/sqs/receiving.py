"""Receiving: ReceiveMessage with long polling, FIFO group order, dead-letter moves, and the API's
``Message`` form (system attributes, chosen message attributes and their digest)."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import secrets
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from corral.services.common import epoch_millis
from corral.services.sqs import fifo
from corral.services.sqs import messages as rules
from corral.services.sqs.errors import invalid_value
from corral.services.sqs.redrive import RedriveMixin
from corral.services.sqs.rows import Queue
from corral.store.schema import sqs_messages

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


class ReceivingMixin(RedriveMixin):
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
            values["SequenceNumber"] = fifo.sequence_number(message["sequence"])
        trace = (message["system_attributes"] or {}).get("AWSTraceHeader")
        if trace is not None:
            values["AWSTraceHeader"] = trace["StringValue"]
        return values if every else {k: v for k, v in values.items() if k in names}

    async def _candidates(
        self, conn: AsyncConnection, queue: Queue, count: int, now: float
    ) -> list[dict[str, Any]]:
        if queue.fifo:
            return await fifo.receivable(conn, self._messages_of(queue.name), count, now)
        query = (
            select(sqs_messages)
            .where(self._messages_of(queue.name), sqs_messages.c.visible_at <= now)
            .order_by(sqs_messages.c.sequence)
            .limit(count)
        )
        rows = (await conn.execute(query.with_for_update(skip_locked=True))).mappings().all()
        return [dict(r) for r in rows]
