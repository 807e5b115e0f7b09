"""KinesisService: streams in the store, their records in append-only shard logs under ``DIR/kinesis``.

Invariants:

- A stream's row is committed before its folder ``DIR/kinesis/{stream_id}`` is used; DeleteStream removes
  the row, then the folder. A folder no row names (a crash between the two) is removed at start.
- A put is acknowledged only after its record is fsynced (``shardlog.py``); one append runs at a time per
  shard (an asyncio lock), in a worker thread so the event loop never waits on the disk.
- Streams are ACTIVE as soon as CreateStream returns (AWS shows CREATING for a few seconds), and gone as
  soon as DeleteStream returns. Records older than the retention period are not returned (TRIM_HORIZON
  starts after them) but their bytes are not reclaimed from the log file.

Rule actions and other domains call :meth:`KinesisService.put_record` (a stream name or ARN, bytes, a
partition key); it answers ``(shard id, sequence number)``.
"""

from __future__ import annotations

import asyncio
import shutil
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

from sqlalchemy import delete, insert, select

from corral.services.common import Clock, arn, parse_arn, system_clock
from corral.services.kinesis import shards
from corral.services.kinesis.errors import (
    ExpiredIteratorException,
    InvalidArgumentException,
    LimitExceededException,
    ResourceInUseException,
    ResourceNotFoundException,
)
from corral.services.kinesis.shardlog import ShardLog, StoredRecord
from corral.store.engine import Store
from corral.store.errors import ConstraintViolation
from corral.store.schema import kinesis_streams

DEFAULT_RETENTION_HOURS: Final = 24
ON_DEMAND_SHARDS: Final = 4
MAX_SHARDS: Final = 500
MAX_RECORD_BYTES: Final = 1024 * 1024
MAX_GET_RECORDS: Final = 10_000
MAX_GET_BYTES: Final = 10 * 1024 * 1024
ITERATOR_TYPES: Final = (
    "AT_SEQUENCE_NUMBER",
    "AFTER_SEQUENCE_NUMBER",
    "TRIM_HORIZON",
    "LATEST",
    "AT_TIMESTAMP",
)


@dataclass(frozen=True, slots=True)
class Stream:
    name: str
    stream_id: str
    shard_count: int
    retention_hours: int
    mode: str
    created_at: float


@dataclass(frozen=True, slots=True)
class PutResult:
    shard_id: str
    sequence_number: str


@dataclass(frozen=True, slots=True)
class GetRecordsResult:
    records: list[StoredRecord]
    shard: int
    next_iterator: str
    millis_behind_latest: int


@dataclass(slots=True)
class _Shards:
    logs: list[ShardLog]
    locks: list[asyncio.Lock] = field(default_factory=list)


class KinesisService:
    def __init__(
        self, store: Store, data_dir: Path, account_id: str, region: str, clock: Clock = system_clock
    ) -> None:
        self.store = store
        self.root = data_dir / "kinesis"
        self.account_id = account_id
        self.region = region
        self.clock = clock
        self._streams: dict[str, Stream] = {}
        self._open: dict[str, _Shards] = {}
        self._opening: dict[str, asyncio.Lock] = {}

    async def start(self) -> None:
        """Removes folders no stream names (a DeleteStream or CreateStream cut short)."""
        self.root.mkdir(parents=True, exist_ok=True)
        async with self.store.read() as conn:
            known = set((await conn.execute(select(kinesis_streams.c.stream_id))).scalars())
        for folder in self.root.iterdir():
            if folder.name not in known:
                await asyncio.to_thread(shutil.rmtree, folder, True)

    async def close(self) -> None:
        for opened in self._open.values():
            for log in opened.logs:
                log.close()
        self._open.clear()

    # -- names ----------------------------------------------------------------------------------------

    def stream_arn(self, name: str) -> str:
        return arn("kinesis", self.region, self.account_id, f"stream/{name}")

    def stream_name(self, name: str | None = None, stream_arn: str | None = None) -> str:
        """The stream a StreamName or StreamARN (or a rule action's name-or-ARN) designates."""
        value = name or stream_arn
        if not value:
            raise InvalidArgumentException("Either StreamName or StreamARN should be provided.")
        if value.startswith("arn:"):
            parsed = parse_arn(value, "kinesis")
            if parsed is None or not parsed[2].startswith("stream/"):
                raise InvalidArgumentException(f"StreamARN {value} is invalid.")
            if parsed[1] != self.account_id:
                raise ResourceNotFoundException(self._not_found(parsed[2].removeprefix("stream/")))
            return parsed[2].removeprefix("stream/")
        return value

    def _not_found(self, name: str) -> str:
        return f"Stream {name} under account {self.account_id} not found."

    # -- streams --------------------------------------------------------------------------------------

    async def create_stream(self, name: str, shard_count: int | None = None, mode: str | None = None) -> None:
        mode = mode or ("PROVISIONED" if shard_count is not None else "ON_DEMAND")
        if mode == "PROVISIONED" and shard_count is None:
            raise InvalidArgumentException("ShardCount is required for a PROVISIONED stream.")
        if mode == "ON_DEMAND" and shard_count is not None:
            raise InvalidArgumentException("ShardCount must not be given for an ON_DEMAND stream.")
        count = shard_count if shard_count is not None else ON_DEMAND_SHARDS
        if count < 1:
            raise InvalidArgumentException("ShardCount must be at least 1.")
        if count > MAX_SHARDS:
            raise LimitExceededException(
                f"This request would exceed the shard limit for the account {self.account_id} in "
                f"{self.region}. Current shard count for the account: 0. Limit: {MAX_SHARDS}. Number of "
                f"additional shards that would have resulted from this request: {count}."
            )
        row = {
            "account_id": self.account_id, "stream_name": name, "stream_id": uuid.uuid4().hex,
            "shard_count": count, "retention_hours": DEFAULT_RETENTION_HOURS, "stream_mode": mode,
            "created_at": self.clock(),
        }  # fmt: skip
        try:
            async with self.store.begin() as conn:
                await conn.execute(insert(kinesis_streams).values(**row))
        except ConstraintViolation:
            raise ResourceInUseException(
                f"Stream {name} under account {self.account_id} already exists."
            ) from None

    async def stream(self, name: str) -> Stream:
        cached = self._streams.get(name)
        if cached is not None:
            return cached
        async with self.store.read() as conn:
            row = (
                await conn.execute(
                    select(kinesis_streams).where(
                        kinesis_streams.c.account_id == self.account_id,
                        kinesis_streams.c.stream_name == name,
                    )
                )
            ).first()
        if row is None:
            raise ResourceNotFoundException(self._not_found(name))
        found = _stream(row)
        self._streams[name] = found
        return found

    async def list_streams(self, after: str | None, limit: int) -> tuple[list[Stream], bool]:
        query = select(kinesis_streams).where(kinesis_streams.c.account_id == self.account_id)
        if after:
            query = query.where(kinesis_streams.c.stream_name > after)
        async with self.store.read() as conn:
            rows = (await conn.execute(query.order_by(kinesis_streams.c.stream_name).limit(limit + 1))).all()
        streams = [_stream(r) for r in rows]
        return streams[:limit], len(streams) > limit

    async def delete_stream(self, name: str) -> None:
        stream = await self.stream(name)
        async with self.store.begin() as conn:
            await conn.execute(
                delete(kinesis_streams).where(
                    kinesis_streams.c.account_id == self.account_id, kinesis_streams.c.stream_name == name
                )
            )
        self._streams.pop(name, None)
        opened = self._open.pop(stream.stream_id, None)
        if opened is not None:
            for log in opened.logs:
                log.close()
        await asyncio.to_thread(shutil.rmtree, self.root / stream.stream_id, True)

    async def _shards(self, stream: Stream) -> _Shards:
        opened = self._open.get(stream.stream_id)
        if opened is not None:
            return opened
        async with self._opening.setdefault(stream.stream_id, asyncio.Lock()):
            opened = self._open.get(stream.stream_id)
            if opened is None:
                folder = self.root / stream.stream_id
                logs = [
                    await asyncio.to_thread(ShardLog, folder / f"{shards.shard_id(i)}.log")
                    for i in range(stream.shard_count)
                ]
                opened = _Shards(logs, [asyncio.Lock() for _ in logs])
                self._open[stream.stream_id] = opened
        return opened

    # -- records --------------------------------------------------------------------------------------

    def _route(self, stream: Stream, partition_key: str | None, explicit_hash_key: str | None) -> int:
        if partition_key is None:
            raise InvalidArgumentException("PartitionKey is required.")
        if explicit_hash_key is not None:
            if not explicit_hash_key.isdigit() or int(explicit_hash_key) >= shards.HASH_SPACE:
                raise InvalidArgumentException(
                    f"Invalid ExplicitHashKey. ExplicitHashKey must be in the range: [0, "
                    f"{shards.HASH_SPACE - 1}]. Specified value was {explicit_hash_key}"
                )
            key = int(explicit_hash_key)
        else:
            key = shards.hash_key(partition_key)
        return shards.shard_for(key, stream.shard_count)

    async def _append(self, stream: Stream, index: int, records: Sequence[tuple[str, bytes]]) -> int:
        opened = await self._shards(stream)
        async with opened.locks[index]:
            now_ms = int(self.clock() * 1000)
            first, _arrival = await asyncio.to_thread(opened.logs[index].append, records, now_ms)
        return first

    async def put_record(
        self, stream: str, data: bytes, partition_key: str, explicit_hash_key: str | None = None
    ) -> PutResult:
        """Appends one record durably; raises ResourceNotFoundException, InvalidArgumentException."""
        found = await self.stream(self.stream_name(stream))
        _check_data(data)
        index = self._route(found, partition_key, explicit_hash_key)
        ordinal = await self._append(found, index, [(partition_key, data)])
        return PutResult(shards.shard_id(index), shards.sequence_number(index, ordinal))

    async def put_records(self, stream: str, entries: Sequence[dict[str, Any]]) -> list[PutResult]:
        """PutRecords: every entry's shard is chosen first (a bad entry fails the request, as AWS's
        validation does), then each shard's entries are appended together with one fsync."""
        found = await self.stream(self.stream_name(stream))
        if not entries:
            raise InvalidArgumentException("Records must contain at least one record.")
        routed: list[int] = []
        for entry in entries:
            _check_data(entry["Data"])
            routed.append(self._route(found, entry.get("PartitionKey"), entry.get("ExplicitHashKey")))
        results: list[PutResult | None] = [None] * len(entries)

        async def append_shard(index: int) -> None:
            positions = [i for i, shard in enumerate(routed) if shard == index]
            batch = [(entries[i]["PartitionKey"], entries[i]["Data"]) for i in positions]
            first = await self._append(found, index, batch)
            for offset, position in enumerate(positions):
                results[position] = PutResult(
                    shards.shard_id(index), shards.sequence_number(index, first + offset)
                )

        await asyncio.gather(*(append_shard(index) for index in sorted(set(routed))))
        return [result for result in results if result is not None]

    # -- reading --------------------------------------------------------------------------------------

    def _shard(self, stream: Stream, shard_id: str) -> int:
        index = shards.shard_index(shard_id, stream.shard_count)
        if index is None:
            raise ResourceNotFoundException(
                f"Shard {shard_id} in stream {stream.name} under account {self.account_id} does not exist"
            )
        return index

    def _trim_horizon(self, stream: Stream, log: ShardLog) -> int:
        oldest_ms = int((self.clock() - stream.retention_hours * 3600) * 1000)
        return log.first_at_or_after(oldest_ms)

    async def get_shard_iterator(
        self,
        stream: str,
        shard_id: str,
        iterator_type: str,
        starting_sequence_number: str | None = None,
        timestamp: datetime | float | None = None,
    ) -> str:
        found = await self.stream(self.stream_name(stream))
        index = self._shard(found, shard_id)
        log = (await self._shards(found)).logs[index]
        if iterator_type == "TRIM_HORIZON":
            ordinal = self._trim_horizon(found, log)
        elif iterator_type == "LATEST":
            ordinal = len(log)
        elif iterator_type in ("AT_SEQUENCE_NUMBER", "AFTER_SEQUENCE_NUMBER"):
            if starting_sequence_number is None:
                raise InvalidArgumentException(
                    f"StartingSequenceNumber is required for ShardIteratorType {iterator_type}."
                )
            parsed = shards.parse_sequence_number(starting_sequence_number)
            if parsed is None or parsed[0] != index or parsed[1] > len(log):
                raise InvalidArgumentException(
                    f"StartingSequenceNumber {starting_sequence_number} used in GetShardIterator on shard "
                    f"{shards.shard_id(index)} in stream {found.name} under account {self.account_id} is "
                    "invalid because it did not come from this stream."
                )
            ordinal = parsed[1] + (1 if iterator_type == "AFTER_SEQUENCE_NUMBER" else 0)
            ordinal = max(ordinal, self._trim_horizon(found, log))
        elif iterator_type == "AT_TIMESTAMP":
            if timestamp is None:
                raise InvalidArgumentException("Timestamp is required for ShardIteratorType AT_TIMESTAMP.")
            seconds = timestamp.timestamp() if isinstance(timestamp, datetime) else float(timestamp)
            ordinal = max(log.first_at_or_after(int(seconds * 1000)), self._trim_horizon(found, log))
        else:
            raise InvalidArgumentException(
                f"Must specify a valid ShardIteratorType, one of {', '.join(ITERATOR_TYPES)}."
            )
        return self._iterator(found, index, ordinal)

    def _iterator(self, stream: Stream, index: int, ordinal: int) -> str:
        issued = int(self.clock() * 1000)
        return shards.Iterator(stream.name, stream.stream_id, index, ordinal, issued).encode()

    async def get_records(self, iterator: str, limit: int | None = None) -> GetRecordsResult:
        position = shards.Iterator.decode(iterator)
        now_ms = int(self.clock() * 1000)
        if now_ms - position.issued_ms > shards.ITERATOR_LIFETIME_MS:
            raise ExpiredIteratorException(
                f"Iterator expired. The iterator was created at time {_java_time(position.issued_ms)} while "
                f"right now it is {_java_time(now_ms)} which is further in the future than the tolerated "
                f"delay of {shards.ITERATOR_LIFETIME_MS} milliseconds."
            )
        found = await self.stream(position.stream_name)
        if found.stream_id != position.stream_id or position.shard >= found.shard_count:
            raise ResourceNotFoundException(self._not_found(position.stream_name))
        if limit is not None and not 1 <= limit <= MAX_GET_RECORDS:
            raise InvalidArgumentException(f"Limit must be between 1 and {MAX_GET_RECORDS}.")
        log = (await self._shards(found)).logs[position.shard]
        start = max(position.ordinal, self._trim_horizon(found, log))
        records = await asyncio.to_thread(log.read, start, limit or MAX_GET_RECORDS, MAX_GET_BYTES)
        following = start + len(records)
        behind = 0 if following >= len(log) else max(0, now_ms - log.arrivals[following])
        return GetRecordsResult(
            records, position.shard, self._iterator(found, position.shard, following), behind
        )


def _stream(row: Any) -> Stream:
    return Stream(
        row.stream_name, row.stream_id, row.shard_count, row.retention_hours, row.stream_mode, row.created_at
    )


def _check_data(data: bytes) -> None:
    if len(data) > MAX_RECORD_BYTES:
        raise InvalidArgumentException(
            f"Record size {len(data)} exceeds the maximum record size of {MAX_RECORD_BYTES} bytes."
        )


def _java_time(millis: int) -> str:
    return datetime.fromtimestamp(millis / 1000, UTC).strftime("%a %b %d %H:%M:%S UTC %Y")
