"""LogsService: CloudWatch Logs groups, streams and events, in the store.

Events are rows ordered by (timestamp, sequence) within a stream, ``sequence`` being the stream's own
counter; GetLogEvents' tokens name a position in that order (``f/``: after it, ``b/``: before it), so a
client that pages forward until the token repeats sees each event once. FilterLogEvents reads the whole
group in (timestamp, stream, sequence) order; its pattern is a plain match: every space-separated term (or
the one double-quoted phrase) must occur in the message. Deleting a group deletes its streams and events.

Rule actions and other domains call :meth:`LogsService.put_log_events`.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import and_, delete, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from corral.services.common import Clock, arn, system_clock
from corral.services.logs.errors import (
    InvalidParameterException,
    ResourceAlreadyExistsException,
    ResourceNotFoundException,
)
from corral.store.engine import Store
from corral.store.errors import ConstraintViolation
from corral.store.schema import logs_events, logs_groups, logs_streams

MAX_EVENTS: Final = 10_000
TOO_OLD: Final = 14 * 24 * 3600.0
TOO_NEW: Final = 2 * 3600.0
_POSITION_DIGITS: Final = 20
_END: Final = 10**15
"""Past every event's time (milliseconds) and sequence: where a backward read from the end starts."""


@dataclass(frozen=True, slots=True)
class Event:
    stream_name: str
    sequence: int
    timestamp_ms: int
    ingestion_ms: int
    message: str

    @property
    def event_id(self) -> str:
        stream = zlib.crc32(self.stream_name.encode())
        return f"{self.timestamp_ms:020d}{stream:010d}{self.sequence:026d}"


def _ms(seconds: float) -> int:
    return round(seconds * 1000)


def position_token(direction: str, timestamp_ms: int, sequence: int) -> str:
    return f"{direction}/{timestamp_ms:0{_POSITION_DIGITS}d}{sequence:0{_POSITION_DIGITS}d}"


def parse_position(token: str) -> tuple[str, int, int]:
    direction, _, digits = token.partition("/")
    if direction not in ("f", "b") or len(digits) != 2 * _POSITION_DIGITS or not digits.isdigit():
        raise InvalidParameterException("The specified nextToken is invalid.")
    return direction, int(digits[:_POSITION_DIGITS]), int(digits[_POSITION_DIGITS:])


def matches(pattern: str | None, message: str) -> bool:
    if not pattern or not pattern.strip():
        return True
    text = pattern.strip()
    if len(text) >= 2 and text[0] == text[-1] == '"':
        return text[1:-1] in message
    return all(term in message for term in text.split())


class LogsService:
    def __init__(self, store: Store, account_id: str, region: str, clock: Clock = system_clock) -> None:
        self.store = store
        self.account_id = account_id
        self.region = region
        self.clock = clock

    def group_arn(self, group: str) -> str:
        return arn("logs", self.region, self.account_id, f"log-group:{group}")

    # -- groups and streams ---------------------------------------------------------------------------

    async def create_log_group(self, group: str, tags: Mapping[str, str] | None = None) -> None:
        try:
            async with self.store.begin() as conn:
                await conn.execute(
                    insert(logs_groups).values(
                        account_id=self.account_id, group_name=group, retention_days=None,
                        tags=dict(tags or {}), created_at=self.clock(),
                    )
                )  # fmt: skip
        except ConstraintViolation:
            raise ResourceAlreadyExistsException("The specified log group already exists") from None

    async def _require_group(self, conn: AsyncConnection, group: str) -> None:
        found = await conn.execute(
            select(logs_groups.c.group_name).where(
                logs_groups.c.account_id == self.account_id, logs_groups.c.group_name == group
            )
        )
        if found.first() is None:
            raise ResourceNotFoundException("The specified log group does not exist.")

    async def create_log_stream(self, group: str, stream: str) -> None:
        try:
            async with self.store.begin() as conn:
                await self._require_group(conn, group)
                await conn.execute(
                    insert(logs_streams).values(
                        account_id=self.account_id, group_name=group, stream_name=stream, last_sequence=0,
                        created_at=self.clock(), stored_bytes=0,
                    )
                )  # fmt: skip
        except ConstraintViolation:
            raise ResourceAlreadyExistsException("The specified log stream already exists") from None

    async def describe_log_groups(self, prefix: str | None = None) -> list[dict[str, Any]]:
        query = select(logs_groups).where(logs_groups.c.account_id == self.account_id)
        if prefix:
            query = query.where(logs_groups.c.group_name.startswith(prefix, autoescape=True))
        async with self.store.read() as conn:
            groups = (await conn.execute(query.order_by(logs_groups.c.group_name))).all()
            sizes = await conn.execute(
                select(logs_streams.c.group_name, logs_streams.c.stored_bytes).where(
                    logs_streams.c.account_id == self.account_id
                )
            )
            stored: dict[str, int] = {}
            for name, size in sizes:
                stored[name] = stored.get(name, 0) + size
        answer = []
        for row in groups:
            group: dict[str, Any] = {
                "logGroupName": row.group_name, "creationTime": _ms(row.created_at), "metricFilterCount": 0,
                "arn": self.group_arn(row.group_name) + ":*", "logGroupArn": self.group_arn(row.group_name),
                "storedBytes": stored.get(row.group_name, 0), "logGroupClass": "STANDARD",
            }  # fmt: skip
            if row.retention_days is not None:
                group["retentionInDays"] = row.retention_days
            answer.append(group)
        return answer

    async def describe_log_streams(
        self, group: str, prefix: str | None = None, order_by_time: bool = False, descending: bool = False
    ) -> list[dict[str, Any]]:
        query = select(logs_streams).where(
            logs_streams.c.account_id == self.account_id, logs_streams.c.group_name == group
        )
        if prefix:
            query = query.where(logs_streams.c.stream_name.startswith(prefix, autoescape=True))
        async with self.store.read() as conn:
            await self._require_group(conn, group)
            rows = list((await conn.execute(query.order_by(logs_streams.c.stream_name))).all())
        if order_by_time:
            rows.sort(key=lambda r: r.last_event_at or 0.0)
        if descending:
            rows.reverse()
        answer = []
        for row in rows:
            stream: dict[str, Any] = {
                "logStreamName": row.stream_name, "creationTime": _ms(row.created_at),
                "arn": f"{self.group_arn(group)}:log-stream:{row.stream_name}",
                "storedBytes": row.stored_bytes,
            }  # fmt: skip
            if row.first_event_at is not None:
                stream["firstEventTimestamp"] = _ms(row.first_event_at)
                stream["lastEventTimestamp"] = _ms(row.last_event_at)
                stream["lastIngestionTime"] = _ms(row.last_ingestion_at)
            answer.append(stream)
        return answer

    async def delete_log_group(self, group: str) -> None:
        async with self.store.begin() as conn:
            await self._require_group(conn, group)
            key = [logs_events.c.account_id == self.account_id, logs_events.c.group_name == group]
            await conn.execute(delete(logs_events).where(*key))
            await conn.execute(
                delete(logs_streams).where(
                    logs_streams.c.account_id == self.account_id, logs_streams.c.group_name == group
                )
            )
            await conn.execute(
                delete(logs_groups).where(
                    logs_groups.c.account_id == self.account_id, logs_groups.c.group_name == group
                )
            )

    # -- events ---------------------------------------------------------------------------------------

    async def put_log_events(
        self, group: str, stream: str, events: Sequence[Mapping[str, Any]]
    ) -> dict[str, int]:
        """Stores events ({"timestamp": epoch ms, "message": str}); answers AWS's rejectedLogEventsInfo
        (empty when every event was kept). Raises ResourceNotFoundException for a missing group or stream."""
        if not events:
            raise InvalidParameterException("The log events batch is empty.")
        if len(events) > MAX_EVENTS:
            raise InvalidParameterException(f"The batch of log events exceeds {MAX_EVENTS} events.")
        now = self.clock()
        rejected: dict[str, int] = {}
        kept: list[tuple[int, Mapping[str, Any]]] = []
        for index, event in enumerate(events):
            seconds = int(event["timestamp"]) / 1000
            if seconds < now - TOO_OLD:
                rejected["tooOldLogEventEndIndex"] = index + 1
            elif seconds > now + TOO_NEW:
                rejected.setdefault("tooNewLogEventStartIndex", index)
            else:
                kept.append((index, event))
        async with self.store.begin() as conn:
            where = and_(
                logs_streams.c.account_id == self.account_id,
                logs_streams.c.group_name == group,
                logs_streams.c.stream_name == stream,
            )
            row = (await conn.execute(select(logs_streams).where(where))).first()
            if row is None:
                await self._require_group(conn, group)
                raise ResourceNotFoundException("The specified log stream does not exist.")
            if not kept:
                return rejected
            sequence = row.last_sequence
            values = []
            for _index, event in kept:
                sequence += 1
                values.append({
                    "account_id": self.account_id, "group_name": group, "stream_name": stream,
                    "sequence": sequence, "timestamp": int(event["timestamp"]) / 1000, "ingested_at": now,
                    "message": str(event["message"]),
                })  # fmt: skip
            await conn.execute(insert(logs_events), values)
            times = [v["timestamp"] for v in values]
            first = min(times) if row.first_event_at is None else min(row.first_event_at, *times)
            last = max(times) if row.last_event_at is None else max(row.last_event_at, *times)
            size = sum(len(v["message"].encode()) for v in values)
            await conn.execute(
                update(logs_streams)
                .where(where)
                .values(
                    last_sequence=sequence, first_event_at=first, last_event_at=last, last_ingestion_at=now,
                    stored_bytes=row.stored_bytes + size,
                )
            )  # fmt: skip
        return rejected

    async def get_log_events(
        self,
        group: str,
        stream: str,
        start_ms: int | None = None,
        end_ms: int | None = None,
        token: str | None = None,
        limit: int | None = None,
        start_from_head: bool = False,
    ) -> tuple[list[Event], str, str]:
        """(events in ascending order, nextForwardToken, nextBackwardToken)."""
        limit = limit or MAX_EVENTS
        t, s = logs_events.c.timestamp, logs_events.c.sequence
        query = select(logs_events).where(
            logs_events.c.account_id == self.account_id,
            logs_events.c.group_name == group,
            logs_events.c.stream_name == stream,
        )
        if token:
            direction, after_ms, after_sequence = parse_position(token)
            bound = after_ms / 1000
            if direction == "f":
                query = query.where(or_(t > bound, and_(t == bound, s > after_sequence)))
            else:
                query = query.where(or_(t < bound, and_(t == bound, s < after_sequence)))
        else:
            direction = "f" if start_from_head else "b"
            after_ms, after_sequence = (0, 0) if start_from_head else (_END, _END)
        query = query.order_by(t, s) if direction == "f" else query.order_by(t.desc(), s.desc())
        if start_ms is not None:
            query = query.where(t >= start_ms / 1000)
        if end_ms is not None:
            query = query.where(t < end_ms / 1000)
        async with self.store.read() as conn:
            found = (
                await conn.execute(
                    select(logs_streams.c.stream_name).where(
                        logs_streams.c.account_id == self.account_id,
                        logs_streams.c.group_name == group,
                        logs_streams.c.stream_name == stream,
                    )
                )
            ).first()
            if found is None:
                await self._require_group(conn, group)
                raise ResourceNotFoundException("The specified log stream does not exist.")
            rows = (await conn.execute(query.limit(limit))).all()
        events = [_event(r) for r in rows]
        if direction == "b":
            events.reverse()
        if not events:
            same = position_token("f", after_ms, after_sequence)
            return [], same, position_token("b", after_ms, after_sequence)
        first, last = events[0], events[-1]
        return (
            events,
            position_token("f", last.timestamp_ms, last.sequence),
            position_token("b", first.timestamp_ms, first.sequence),
        )

    async def filter_log_events(
        self,
        group: str,
        stream_names: Sequence[str] | None = None,
        stream_prefix: str | None = None,
        start_ms: int | None = None,
        end_ms: int | None = None,
        pattern: str | None = None,
        token: str | None = None,
        limit: int | None = None,
    ) -> tuple[list[Event], str | None]:
        limit = limit or MAX_EVENTS
        t = logs_events.c.timestamp
        query = select(logs_events).where(
            logs_events.c.account_id == self.account_id, logs_events.c.group_name == group
        )
        if stream_names:
            query = query.where(logs_events.c.stream_name.in_(list(stream_names)))
        if stream_prefix:
            query = query.where(logs_events.c.stream_name.startswith(stream_prefix, autoescape=True))
        if start_ms is not None:
            query = query.where(t >= start_ms / 1000)
        if end_ms is not None:
            query = query.where(t <= end_ms / 1000)
        skip = 0
        if token:
            if not token.isdigit():
                raise InvalidParameterException("The specified nextToken is invalid.")
            skip = int(token)
        query = query.order_by(t, logs_events.c.stream_name, logs_events.c.sequence)
        async with self.store.read() as conn:
            await self._require_group(conn, group)
            rows = await conn.execute(query)
            matched = [_event(r) for r in rows if matches(pattern, r.message)]
        page = matched[skip : skip + limit]
        more = skip + limit < len(matched)
        return page, str(skip + limit) if more else None


def _event(row: Any) -> Event:
    return Event(row.stream_name, row.sequence, _ms(row.timestamp), _ms(row.ingested_at), row.message)
