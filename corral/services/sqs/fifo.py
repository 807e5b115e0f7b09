"""FIFO rules shared by SQS queues and SNS topics: sequence numbers, deduplication within five minutes, and
which messages of a FIFO queue may be received now.

Deduplication ids are rows of ``message_deduplication`` keyed by a target (``sqs:{queue}`` or
``sns:{topic}``): a message with an id seen within the window is accepted and answered with the first
message's id and sequence number, and not stored again.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, delete, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from corral.store.schema import message_deduplication, sqs_messages

DEDUPLICATION_WINDOW = 300.0
FIFO_SCAN = 1000
"""How many receivable messages a FIFO receive looks at to fill its batch from unblocked groups."""


def sequence_number(sequence: int) -> str:
    """A FIFO message's SequenceNumber: 20 digits, growing with the queue's (or topic's) order."""
    return str(10**19 + sequence)


async def deduplicated(
    conn: AsyncConnection, account_id: str, target: str, deduplication_id: str, now: float
) -> tuple[str, str | None] | None:
    """(message id, sequence number) of the message sent to ``target`` with this id within the window."""
    row = (
        await conn.execute(
            select(message_deduplication.c.message_id, message_deduplication.c.sequence_number).where(
                message_deduplication.c.account_id == account_id,
                message_deduplication.c.target == target,
                message_deduplication.c.deduplication_id == deduplication_id,
                message_deduplication.c.expires_at > now,
            )
        )
    ).first()
    return None if row is None else (row[0], row[1])


async def remember(
    conn: AsyncConnection,
    account_id: str,
    target: str,
    deduplication_id: str,
    message_id: str,
    sequence: str | None,
    now: float,
) -> None:
    key = and_(
        message_deduplication.c.account_id == account_id,
        message_deduplication.c.target == target,
        message_deduplication.c.deduplication_id == deduplication_id,
    )
    await conn.execute(delete(message_deduplication).where(key))
    await conn.execute(
        insert(message_deduplication).values(
            account_id=account_id, target=target, deduplication_id=deduplication_id, message_id=message_id,
            sequence_number=sequence, expires_at=now + DEDUPLICATION_WINDOW,
        )
    )  # fmt: skip


async def forget_deduplication(conn: AsyncConnection, account_id: str, target: str) -> None:
    await conn.execute(
        delete(message_deduplication).where(
            message_deduplication.c.account_id == account_id, message_deduplication.c.target == target
        )
    )


async def receivable(conn: AsyncConnection, messages_of: Any, count: int, now: float) -> list[dict[str, Any]]:
    """Up to ``count`` receivable messages of a FIFO queue in order, skipping every group that has a message
    in flight or delayed, so a group is delivered in order and one batch at a time."""
    blocked = set(
        (
            await conn.execute(
                select(sqs_messages.c.group_id).where(messages_of, sqs_messages.c.visible_at > now).distinct()
            )
        ).scalars()
    )
    query = (
        select(sqs_messages)
        .where(messages_of, sqs_messages.c.visible_at <= now)
        .order_by(sqs_messages.c.sequence)
        .limit(FIFO_SCAN)
    )
    chosen: list[dict[str, Any]] = []
    for row in (await conn.execute(query.with_for_update())).mappings():
        if row["group_id"] in blocked:
            continue
        chosen.append(dict(row))
        if len(chosen) == count:
            break
    return chosen
