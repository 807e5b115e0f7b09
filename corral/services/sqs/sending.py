"""Sending: SendMessage and SendMessageBatch, with AWS's checks of bodies, attributes, sizes and delays,
and FIFO groups and deduplication (fifo.py)."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from corral.services.common import new_message_id
from corral.services.sqs import fifo
from corral.services.sqs import messages as rules
from corral.services.sqs.errors import (
    BatchRequestTooLong,
    InvalidParameterValue,
    MissingParameter,
    invalid_value,
)
from corral.services.sqs.rows import Queue, SqsBase
from corral.store.schema import sqs_messages

NOT_FOR_THIS_QUEUE_TYPE = "The request include parameter that is not valid for this queue type."


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


class SendingMixin(SqsBase):
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
            earlier = await fifo.deduplicated(
                conn, self.account_id, f"sqs:{queue.name}", deduplication_id, now
            )
            if earlier is not None:
                result.message_id, result.sequence_number = earlier
                return result
        sequence = await self._next_sequence(conn, queue.name)
        if queue.fifo:
            result.sequence_number = fifo.sequence_number(sequence)
            await fifo.remember(
                conn, self.account_id, f"sqs:{queue.name}", deduplication_id or "", result.message_id,
                result.sequence_number, now,
            )  # fmt: skip
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
