"""The queue operations of SqsService: create (idempotent with the same attributes), look up, list with
paging, delete (a name is reusable 60 s later), purge (once a minute), attributes and tags."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping, Sequence

from sqlalchemy import delete, insert, select, update

from corral.services.sqs import attributes as queue_attributes
from corral.services.sqs.errors import (
    InvalidAttributeName,
    InvalidParameterValue,
    PurgeQueueInProgress,
    QueueDeletedRecently,
    QueueDoesNotExist,
    QueueNameExists,
    invalid_value,
)
from corral.services.sqs.fifo import forget_deduplication
from corral.services.sqs.redrive import RedriveMixin
from corral.store.schema import sqs_messages, sqs_queues

PURGE_INTERVAL = 60.0
RECREATE_WAIT = 60.0


class QueuesMixin(RedriveMixin):
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
            await forget_deduplication(conn, self.account_id, f"sqs:{name}")
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
