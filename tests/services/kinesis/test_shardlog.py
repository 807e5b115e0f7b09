"""The shard log on its own: frames round-trip, a torn or corrupt tail is ignored and cut off, appends
after it land on a frame boundary."""

from __future__ import annotations

from pathlib import Path

from corral.services.kinesis.shardlog import ShardLog, encode_frame


def test_records_round_trip_and_survive_reopening(tmp_path: Path) -> None:
    path = tmp_path / "shard.log"
    log = ShardLog(path)
    assert log.append([("a", b"one"), ("b", b"")], 1000) == (0, 1000)
    assert log.append([("c", b"three" * 1000)], 900) == (2, 1000)  # arrival never goes back
    log.close()
    again = ShardLog(path)
    records = again.read(0, 10, 1 << 20)
    assert [(r.ordinal, r.partition_key, r.data, r.arrival_ms) for r in records] == [
        (0, "a", b"one", 1000),
        (1, "b", b"", 1000),
        (2, "c", b"three" * 1000, 1000),
    ]
    assert [r.ordinal for r in again.read(1, 1, 0)] == [1]  # at least one record, whatever max_bytes
    assert again.read(3, 10, 100) == []
    assert again.first_at_or_after(1001) == 3
    again.close()


def test_every_torn_tail_is_ignored_and_truncated(tmp_path: Path) -> None:
    whole = encode_frame(5, "key", b"payload")
    for cut in range(1, len(whole)):
        path = tmp_path / f"torn-{cut}.log"
        path.write_bytes(whole + whole[:cut])
        log = ShardLog(path)
        assert len(log) == 1
        assert path.stat().st_size == len(whole)
        log.append([("next", b"after")], 6)
        assert [r.data for r in log.read(0, 10, 1 << 20)] == [b"payload", b"after"]
        log.close()


def test_a_frame_with_a_bad_checksum_ends_the_log(tmp_path: Path) -> None:
    path = tmp_path / "corrupt.log"
    good = encode_frame(1, "k", b"good")
    bad = bytearray(encode_frame(2, "k", b"bad!"))
    bad[-1] ^= 0xFF
    path.write_bytes(good + bytes(bad))
    log = ShardLog(path)
    assert [r.data for r in log.read(0, 10, 1 << 20)] == [b"good"]
    log.close()
