"""FirehoseService: delivery streams (DirectPut, S3 destination) in the store, records buffered in a spool
file per stream and delivered as batched objects into a bucket of the embedded S3.

Invariants:

- A record is acknowledged only once it is fsynced in its stream's spool, ``DIR/firehose/{stream_id}.spool``
  (the Kinesis shard log format: a torn tail after a crash is cut off when the spool is opened).
- A batch is delivered when the buffered data reaches ``BufferingHints.SizeInMBs``, when
  ``IntervalInSeconds`` have passed since its first record, at shutdown, and at start for what a previous
  run left. Delivery writes one object (the records' bytes concatenated, as Firehose does: separators are
  the producer's business — the IoT ``firehose`` action adds its own) and only then empties the spool; a
  crash between the two delivers that batch twice (Firehose is at-least-once too), never loses it.
- A failed delivery (no such bucket, say) keeps the batch in the spool, is counted in ``stats`` and logged,
  and is retried at the next interval.

Rule actions and other domains call :meth:`FirehoseService.put_record` and :meth:`put_record_batch`.
"""

from __future__ import annotations

import asyncio
import gzip
import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Protocol

from sqlalchemy import delete, insert, select

from corral.services.common import Clock, arn, system_clock
from corral.services.firehose.errors import (
    InvalidArgumentException,
    ResourceInUseException,
    ResourceNotFoundException,
)
from corral.services.firehose.layout import object_key
from corral.services.kinesis.shardlog import ShardLog
from corral.store.engine import Store
from corral.store.errors import ConstraintViolation
from corral.store.schema import firehose_streams

log = logging.getLogger(__name__)

DEFAULT_SIZE_MB: Final = 5
DEFAULT_INTERVAL: Final = 300
MAX_RECORD_BYTES: Final = 1000 * 1024
COMPRESSIONS: Final = ("UNCOMPRESSED", "GZIP")


class ObjectStore(Protocol):
    """What delivery needs of S3 (``corral.services.s3.S3Service`` is one)."""

    async def put_object(
        self, bucket: str, key: str, body: bytes, content_type: str | None = None
    ) -> Any: ...


@dataclass(frozen=True, slots=True)
class DeliveryStream:
    name: str
    stream_id: str
    stream_type: str
    version: int
    destination: dict[str, Any]
    created_at: float

    @property
    def bucket(self) -> str:
        return str(self.destination["BucketARN"]).removeprefix("arn:aws:s3:::")

    @property
    def size_limit(self) -> int:
        hints = self.destination.get("BufferingHints") or {}
        return int(hints.get("SizeInMBs", DEFAULT_SIZE_MB)) * 1024 * 1024

    @property
    def interval(self) -> float:
        hints = self.destination.get("BufferingHints") or {}
        return float(hints.get("IntervalInSeconds", DEFAULT_INTERVAL))


@dataclass(slots=True)
class DeliveryStats:
    records: int = 0
    objects_delivered: int = 0
    bytes_delivered: int = 0
    delivery_failures: int = 0


@dataclass(slots=True)
class _Buffer:
    spool: ShardLog
    size: int = 0
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    timer: asyncio.Task[None] | None = None


class FirehoseService:
    def __init__(
        self,
        store: Store,
        data_dir: Path,
        s3: ObjectStore,
        account_id: str,
        region: str,
        clock: Clock = system_clock,
    ) -> None:
        self.store = store
        self.root = data_dir / "firehose"
        self.s3 = s3
        self.account_id = account_id
        self.region = region
        self.clock = clock
        self.stats = DeliveryStats()
        self._buffers: dict[str, _Buffer] = {}

    def stream_arn(self, name: str) -> str:
        return arn("firehose", self.region, self.account_id, f"deliverystream/{name}")

    # -- lifecycle ------------------------------------------------------------------------------------

    async def start(self) -> None:
        """Removes spools no stream names; delivers what an earlier run left buffered."""
        self.root.mkdir(parents=True, exist_ok=True)
        streams = await self._all()
        known = {s.stream_id for s in streams}
        for spool in self.root.iterdir():
            if spool.stem not in known:
                spool.unlink(missing_ok=True)
        for stream in streams:
            if (self.root / f"{stream.stream_id}.spool").exists():
                buffer = await self._buffer(stream)
                if len(buffer.spool):
                    await self.flush(stream)

    async def close(self) -> None:
        """Delivers every buffered batch (shutdown), then closes the spools."""
        for stream in await self._all():
            if stream.stream_id in self._buffers:
                await self.flush(stream)
        for buffer in self._buffers.values():
            if buffer.timer is not None:
                buffer.timer.cancel()
            buffer.spool.close()
        self._buffers.clear()

    # -- delivery streams -----------------------------------------------------------------------------

    async def create_delivery_stream(
        self, name: str, stream_type: str | None, destination: dict[str, Any] | None
    ) -> str:
        stream_type = stream_type or "DirectPut"
        if stream_type != "DirectPut":
            raise InvalidArgumentException(f"DeliveryStreamType {stream_type} is not supported by Corral.")
        if destination is None:
            raise InvalidArgumentException(
                "Exactly one destination configuration is required (Corral delivers to S3)."
            )
        _check_destination(destination)
        row = {
            "account_id": self.account_id, "stream_name": name, "stream_id": uuid.uuid4().hex,
            "stream_type": stream_type, "version_id": 1, "destination": destination,
            "created_at": self.clock(),
        }  # fmt: skip
        try:
            async with self.store.begin() as conn:
                await conn.execute(insert(firehose_streams).values(**row))
        except ConstraintViolation:
            raise ResourceInUseException(
                f"Firehose {name} under accountId {self.account_id} already exists"
            ) from None
        return self.stream_arn(name)

    async def stream(self, name: str) -> DeliveryStream:
        async with self.store.read() as conn:
            row = (
                await conn.execute(
                    select(firehose_streams).where(
                        firehose_streams.c.account_id == self.account_id,
                        firehose_streams.c.stream_name == name,
                    )
                )
            ).first()
        if row is None:
            raise ResourceNotFoundException(f"Firehose {name} under account {self.account_id} not found.")
        return _stream(row)

    async def _all(self) -> list[DeliveryStream]:
        async with self.store.read() as conn:
            rows = await conn.execute(
                select(firehose_streams)
                .where(firehose_streams.c.account_id == self.account_id)
                .order_by(firehose_streams.c.stream_name)
            )
            return [_stream(r) for r in rows]

    async def list_delivery_streams(
        self, after: str | None, limit: int, stream_type: str | None = None
    ) -> tuple[list[str], bool]:
        names = [
            s.name
            for s in await self._all()
            if (after is None or s.name > after) and (stream_type is None or s.stream_type == stream_type)
        ]
        return names[:limit], len(names) > limit

    async def delete_delivery_stream(self, name: str) -> None:
        stream = await self.stream(name)
        async with self.store.begin() as conn:
            await conn.execute(
                delete(firehose_streams).where(
                    firehose_streams.c.account_id == self.account_id, firehose_streams.c.stream_name == name
                )
            )
        buffer = self._buffers.pop(stream.stream_id, None)
        if buffer is not None:
            if buffer.timer is not None:
                buffer.timer.cancel()
            buffer.spool.close()
        (self.root / f"{stream.stream_id}.spool").unlink(missing_ok=True)

    # -- records --------------------------------------------------------------------------------------

    async def put_record(self, delivery_stream: str, data: bytes) -> str:
        """Buffers one record durably; answers its RecordId. Raises ResourceNotFoundException."""
        return (await self.put_record_batch(delivery_stream, [data]))[0]

    async def put_record_batch(self, delivery_stream: str, records: Sequence[bytes]) -> list[str]:
        """Buffers records durably (one fsync); answers their RecordIds in order."""
        stream = await self.stream(delivery_stream)
        for data in records:
            if len(data) > MAX_RECORD_BYTES:
                raise InvalidArgumentException(
                    f"Record size {len(data)} exceeds the maximum record size of {MAX_RECORD_BYTES} bytes."
                )
        ids = [uuid.uuid4().hex + uuid.uuid4().hex for _ in records]
        buffer = await self._buffer(stream)
        async with buffer.lock:
            now_ms = int(self.clock() * 1000)
            await asyncio.to_thread(buffer.spool.append, list(zip(ids, records, strict=True)), now_ms)
            buffer.size += sum(len(r) for r in records)
        self.stats.records += len(records)
        if buffer.size >= stream.size_limit:
            await self.flush(stream)
        elif buffer.timer is None or buffer.timer.done():
            buffer.timer = asyncio.create_task(self._flush_later(stream, stream.interval))
        return ids

    async def _buffer(self, stream: DeliveryStream) -> _Buffer:
        buffer = self._buffers.get(stream.stream_id)
        if buffer is None:
            spool = await asyncio.to_thread(ShardLog, self.root / f"{stream.stream_id}.spool")
            buffer = self._buffers.setdefault(stream.stream_id, _Buffer(spool))
            if buffer.spool is not spool:
                spool.close()
            else:
                buffer.size = spool.end
        return buffer

    async def _flush_later(self, stream: DeliveryStream, delay: float) -> None:
        await asyncio.sleep(delay)
        try:
            await self.flush(stream)
        except Exception:
            log.exception("firehose %s: delivery failed", stream.name)

    async def flush(self, stream: DeliveryStream) -> bool:
        """Delivers what is buffered for ``stream`` as one object; False (batch kept, retried at the next
        interval) when the delivery fails."""
        buffer = self._buffers.get(stream.stream_id)
        if buffer is None:
            return True
        async with buffer.lock:
            if not len(buffer.spool):
                return True
            records = await asyncio.to_thread(buffer.spool.read, 0, len(buffer.spool), 1 << 62)
            body = b"".join(r.data for r in records)
            compression = stream.destination.get("CompressionFormat") or "UNCOMPRESSED"
            if compression == "GZIP":
                body = gzip.compress(body)
            key = object_key(
                stream.destination.get("Prefix") or "", stream.name, stream.version,
                records[0].arrival_ms / 1000, compression, stream.destination.get("FileExtension"),
            )  # fmt: skip
            try:
                await self.s3.put_object(stream.bucket, key, body)
            except Exception as exc:
                self.stats.delivery_failures += 1
                log.warning("firehose %s: delivery to s3://%s failed: %s", stream.name, stream.bucket, exc)
                if stream.stream_id in self._buffers:
                    buffer.timer = asyncio.create_task(self._flush_later(stream, max(stream.interval, 1.0)))
                return False
            self.stats.objects_delivered += 1
            self.stats.bytes_delivered += len(body)
            await asyncio.to_thread(buffer.spool.reset)
            buffer.size = 0
        return True


def _check_destination(destination: dict[str, Any]) -> None:
    bucket_arn = str(destination.get("BucketARN", ""))
    if not bucket_arn.startswith("arn:aws:s3:::") or len(bucket_arn) <= len("arn:aws:s3:::"):
        raise InvalidArgumentException(f"BucketARN {bucket_arn} is not a valid S3 bucket ARN.")
    if "!{" in str(destination.get("Prefix") or ""):
        raise InvalidArgumentException("Corral does not evaluate Firehose's !{...} prefix expressions.")
    compression = destination.get("CompressionFormat") or "UNCOMPRESSED"
    if compression not in COMPRESSIONS:
        raise InvalidArgumentException(f"CompressionFormat {compression} is not supported by Corral.")


def _stream(row: Any) -> DeliveryStream:
    return DeliveryStream(
        row.stream_name, row.stream_id, row.stream_type, row.version_id, dict(row.destination), row.created_at
    )
