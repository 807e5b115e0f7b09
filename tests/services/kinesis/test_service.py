"""KinesisService on SQLite and PostgreSQL: streams, routing by hash key, sequence numbers, iterators of
every type, retention and AWS's errors. Time is a fake clock the tests move."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from corral.services.kinesis import KinesisService
from corral.services.kinesis import shards as arithmetic
from corral.services.kinesis.errors import (
    ExpiredIteratorException,
    InvalidArgumentException,
    ResourceInUseException,
    ResourceNotFoundException,
)
from corral.store import Store

ACCOUNT = "000000000000"


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def kinesis(
    database_url: str | None, tmp_path: Path, clock: FakeClock
) -> AsyncIterator[KinesisService]:
    async with await Store.open(database_url, tmp_path) as store:
        service = KinesisService(store, tmp_path, ACCOUNT, "us-east-1", clock)
        await service.start()
        yield service
        await service.close()


def test_hash_key_ranges_are_aws_s() -> None:
    assert arithmetic.hash_key_range(0, 1) == (0, 2**128 - 1)
    assert arithmetic.hash_key_range(0, 3) == (0, 113427455640312821154458202477256070484)
    assert arithmetic.hash_key_range(2, 3)[1] == 340282366920938463463374607431768211455
    for count in (1, 2, 3, 7):
        ranges = [arithmetic.hash_key_range(i, count) for i in range(count)]
        assert all(ranges[i][1] + 1 == ranges[i + 1][0] for i in range(count - 1))
        for key in (0, 2**127, 2**128 - 1, ranges[-1][0], ranges[0][1]):
            index = arithmetic.shard_for(key, count)
            assert ranges[index][0] <= key <= ranges[index][1]


async def test_records_go_to_the_shard_of_their_md5_and_read_back(kinesis: KinesisService) -> None:
    await kinesis.create_stream("s", 4)
    put = {}
    for key in ("alpha", "beta", "gamma", "delta", "epsilon"):
        put[key] = await kinesis.put_record("s", key.encode(), key)
        md5 = int(hashlib.md5(key.encode()).hexdigest(), 16)
        start, end = arithmetic.hash_key_range(int(put[key].shard_id[-12:]), 4)
        assert start <= md5 <= end
    explicit = await kinesis.put_record("s", b"x", "any", explicit_hash_key=str(2**128 - 1))
    assert explicit.shard_id == "shardId-000000000003"
    for key, result in put.items():
        iterator = await kinesis.get_shard_iterator(
            "s", result.shard_id, "AT_SEQUENCE_NUMBER", result.sequence_number
        )
        got = await kinesis.get_records(iterator, 1)
        assert [(r.partition_key, r.data) for r in got.records] == [(key, key.encode())]


async def test_iterator_types_sequence_numbers_and_lag(kinesis: KinesisService, clock: FakeClock) -> None:
    await kinesis.create_stream("one", 1)
    shard = "shardId-000000000000"
    latest = await kinesis.get_shard_iterator("one", shard, "LATEST")
    first = await kinesis.put_record("one", b"1", "k")
    clock.now += 10
    batch = await kinesis.put_records(
        "one", [{"Data": b"2", "PartitionKey": "k"}, {"Data": b"3", "PartitionKey": "j"}]
    )
    numbers = [first.sequence_number, *(r.sequence_number for r in batch)]
    assert numbers == sorted(numbers) and len(set(numbers)) == 3 and all(len(n) == 56 for n in numbers)
    got = await kinesis.get_records(latest)
    assert [r.data for r in got.records] == [b"1", b"2", b"3"] and got.millis_behind_latest == 0
    assert (await kinesis.get_records(got.next_iterator)).records == []
    partial = await kinesis.get_records(await kinesis.get_shard_iterator("one", shard, "TRIM_HORIZON"), 1)
    assert [r.data for r in partial.records] == [b"1"] and partial.millis_behind_latest == 0
    after = await kinesis.get_shard_iterator("one", shard, "AFTER_SEQUENCE_NUMBER", numbers[1])
    assert [r.data for r in (await kinesis.get_records(after)).records] == [b"3"]
    at_time = await kinesis.get_shard_iterator(
        "one", shard, "AT_TIMESTAMP", timestamp=datetime.fromtimestamp(clock.now - 5, UTC)
    )
    assert [r.data for r in (await kinesis.get_records(at_time)).records] == [b"2", b"3"]
    clock.now += 5
    lagging = await kinesis.get_records(await kinesis.get_shard_iterator("one", shard, "TRIM_HORIZON"), 1)
    assert lagging.millis_behind_latest == 5_000  # the next unread record arrived 5 s ago
    clock.now += 301
    with pytest.raises(ExpiredIteratorException):
        await kinesis.get_records(latest)
    clock.now += 24 * 3600
    horizon = await kinesis.get_shard_iterator("one", shard, "TRIM_HORIZON")
    assert (await kinesis.get_records(horizon)).records == []  # past the retention period


async def test_errors(kinesis: KinesisService) -> None:
    await kinesis.create_stream("s", 2)
    with pytest.raises(ResourceInUseException, match="Stream s under account 000000000000 already exists"):
        await kinesis.create_stream("s", 1)
    with pytest.raises(ResourceNotFoundException, match="Stream nope under account 000000000000 not found"):
        await kinesis.put_record("nope", b"x", "k")
    with pytest.raises(ResourceNotFoundException):
        await kinesis.get_shard_iterator("s", "shardId-000000000002", "LATEST")
    with pytest.raises(InvalidArgumentException):
        await kinesis.get_shard_iterator("s", "shardId-000000000000", "SIDEWAYS")
    other = await kinesis.put_record("s", b"x", "k", explicit_hash_key="0")
    with pytest.raises(InvalidArgumentException, match="did not come from this stream"):
        await kinesis.get_shard_iterator(
            "s", "shardId-000000000001", "AT_SEQUENCE_NUMBER", other.sequence_number
        )
    with pytest.raises(InvalidArgumentException):
        await kinesis.put_record("s", b"x", "k", explicit_hash_key=str(2**128))
    with pytest.raises(InvalidArgumentException):
        await kinesis.put_record("s", b"x" * (1024 * 1024 + 1), "k")
    with pytest.raises(InvalidArgumentException):
        await kinesis.get_records("not an iterator")
    iterator = await kinesis.get_shard_iterator("s", "shardId-000000000000", "TRIM_HORIZON")
    await kinesis.delete_stream("s")
    await kinesis.create_stream("s", 2)  # a new incarnation: the old iterator and records are gone
    with pytest.raises(ResourceNotFoundException):
        await kinesis.get_records(iterator)
    fresh = await kinesis.get_shard_iterator("s", "shardId-000000000000", "TRIM_HORIZON")
    assert (await kinesis.get_records(fresh)).records == []
    streams, more = await kinesis.list_streams(None, 10)
    assert [s.name for s in streams] == ["s"] and not more
    assert kinesis.stream_name(stream_arn="arn:aws:kinesis:us-east-1:000000000000:stream/s") == "s"
