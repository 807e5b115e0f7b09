"""FirehoseService on SQLite and PostgreSQL with a stand-in S3: batching by size, delivery at shutdown and
at the next start, a failed delivery kept for later, AWS's default key layout."""

from __future__ import annotations

import gzip
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from corral.services.firehose import FirehoseService
from corral.services.firehose.errors import (
    InvalidArgumentException,
    ResourceInUseException,
    ResourceNotFoundException,
)
from corral.services.firehose.layout import object_key
from corral.store import Store

ACCOUNT = "000000000000"
NOW = 1_800_000_000.0  # 2027-01-15T08:00:00Z


class FakeS3:
    def __init__(self) -> None:
        self.objects: dict[tuple[str, str], bytes] = {}
        self.buckets = {"bucket"}

    async def put_object(self, bucket: str, key: str, body: bytes, content_type: str | None = None) -> Any:
        if bucket not in self.buckets:
            raise LookupError(f"NoSuchBucket: {bucket}")
        self.objects[(bucket, key)] = body


@pytest.fixture
async def store(database_url: str | None, tmp_path: Path) -> AsyncIterator[Store]:
    async with await Store.open(database_url, tmp_path) as opened:
        yield opened


def destination(**extra: Any) -> dict[str, Any]:
    return {"RoleARN": "arn:aws:iam::000000000000:role/r", "BucketARN": "arn:aws:s3:::bucket", **extra}


def test_default_key_layout() -> None:
    key = object_key("p/", "stream", 1, NOW, random="r")
    assert key == "p/2027/01/15/08/stream-1-2027-01-15-08-00-00-r"
    assert object_key("", "s", 2, NOW, "GZIP", random="r").endswith("s-2-2027-01-15-08-00-00-r.gz")


async def test_batches_by_size_and_at_shutdown(store: Store, tmp_path: Path) -> None:
    s3 = FakeS3()
    firehose = FirehoseService(store, tmp_path, s3, ACCOUNT, "us-east-1", lambda: NOW)
    await firehose.start()
    hints = {"SizeInMBs": 1, "IntervalInSeconds": 900}
    arn = await firehose.create_delivery_stream("s", None, destination(Prefix="iot/", BufferingHints=hints))
    assert arn == "arn:aws:firehose:us-east-1:000000000000:deliverystream/s"
    with pytest.raises(ResourceInUseException):
        await firehose.create_delivery_stream("s", None, destination())
    ids = await firehose.put_record_batch("s", [b"a\n", b"b\n"])
    assert len(set(ids)) == 2 and s3.objects == {}
    await firehose.put_record_batch("s", [b"x" * 524288] * 2)  # crosses 1 MiB: delivered at once
    [(bucket, key)] = s3.objects
    assert bucket == "bucket" and re.fullmatch(
        r"iot/2027/01/15/08/s-1-2027-01-15-08-00-00-[0-9a-f-]{36}", key
    )
    assert s3.objects[(bucket, key)] == b"a\nb\n" + b"x" * 1048576
    await firehose.put_record("s", b"last")
    await firehose.close()
    assert sorted(s3.objects.values(), key=len)[0] == b"last"
    assert firehose.stats.objects_delivered == 2


async def test_a_batch_survives_a_crash_and_a_missing_bucket(store: Store, tmp_path: Path) -> None:
    s3 = FakeS3()
    first = FirehoseService(store, tmp_path, s3, ACCOUNT, "us-east-1", lambda: NOW)
    await first.start()
    await first.create_delivery_stream("g", "DirectPut", destination(CompressionFormat="GZIP"))
    await first.put_record("g", b"kept")
    # The process dies without close(): the next start delivers the spooled batch.
    second = FirehoseService(store, tmp_path, s3, ACCOUNT, "us-east-1", lambda: NOW)
    s3.buckets.clear()
    await second.start()
    assert s3.objects == {} and second.stats.delivery_failures == 1  # kept for a later attempt
    s3.buckets.add("bucket")
    await second.close()
    [(key, body)] = [(k, v) for (_, k), v in s3.objects.items()]
    assert key.endswith(".gz") and gzip.decompress(body) == b"kept"


async def test_errors(store: Store, tmp_path: Path) -> None:
    firehose = FirehoseService(store, tmp_path, FakeS3(), ACCOUNT, "us-east-1", lambda: NOW)
    await firehose.start()
    with pytest.raises(ResourceNotFoundException, match="Firehose nope under account 000000000000 not found"):
        await firehose.put_record("nope", b"x")
    with pytest.raises(InvalidArgumentException):
        await firehose.create_delivery_stream("s", None, {"BucketARN": "bucket"})
    with pytest.raises(InvalidArgumentException):
        await firehose.create_delivery_stream("s", "KinesisStreamAsSource", destination())
    await firehose.create_delivery_stream("s", None, destination())
    assert await firehose.list_delivery_streams(None, 10) == (["s"], False)
    await firehose.delete_delivery_stream("s")
    assert await firehose.list_delivery_streams(None, 10) == ([], False)
    await firehose.close()
