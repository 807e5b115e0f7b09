"""Dead-letter queues: the target a RedrivePolicy names must exist; a message received ``maxReceiveCount``
times moves to it (in the receive's transaction) instead of being received again."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from corral.services.common import parse_arn
from corral.services.sqs import attributes as queue_attributes
from corral.services.sqs.errors import InvalidAttributeValue
from corral.services.sqs.rows import SqsBase
from corral.store.schema import sqs_messages, sqs_queues


class RedriveMixin(SqsBase):
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
