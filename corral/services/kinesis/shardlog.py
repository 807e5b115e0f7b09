"""One Kinesis shard's records: an append-only file, fsynced before a put is acknowledged.

Each record is one frame::

    u32 body length | u32 CRC-32 of the body | body
    body = u64 arrival time (epoch ms) | u16 partition key length | partition key (UTF-8) | data

all integers big-endian. A record's ordinal (0, 1, 2 ... in the order appended) is its place in the file; the
offsets of every frame (and their arrival times) are kept in memory, rebuilt by one scan when the log is
opened.

Invariants:

- A frame is visible to readers only after it has been written *and* fsynced: readers go through the
  in-memory index, which grows after ``os.fsync`` returns.
- A crash (even kill -9 or a power cut) during an append leaves, at most, one frame cut short or with a bad
  CRC at the end of the file. Opening the log stops its scan at the first such frame and truncates the file
  there, so the torn tail is never read and the next append starts on a frame boundary.
- Arrival times never decrease along the log (an append takes ``max(now, last arrival)``), so
  AT_TIMESTAMP is a binary search.

Appends are synchronous (the service runs them in a worker thread, one at a time per shard); reads use
``os.pread`` on their own descriptor and may run beside an append.
"""

from __future__ import annotations

import bisect
import os
import struct
import zlib
from array import array
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

_FRAME: Final = struct.Struct(">II")
_BODY: Final = struct.Struct(">QH")
_READ_CHUNK: Final = 1 << 20


@dataclass(frozen=True, slots=True)
class StoredRecord:
    ordinal: int
    arrival_ms: int
    partition_key: str
    data: bytes


def encode_frame(arrival_ms: int, partition_key: str, data: bytes) -> bytes:
    key = partition_key.encode()
    body = _BODY.pack(arrival_ms, len(key)) + key + data
    return _FRAME.pack(len(body), zlib.crc32(body)) + body


def _decode_body(ordinal: int, body: bytes) -> StoredRecord:
    arrival_ms, key_length = _BODY.unpack_from(body)
    start = _BODY.size
    key = body[start : start + key_length].decode()
    return StoredRecord(ordinal, arrival_ms, key, body[start + key_length :])


class ShardLog:
    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o644)
        self.offsets = array("q")
        self.arrivals = array("q")
        self.end = 0
        self._scan()

    def _scan(self) -> None:
        """Indexes every whole frame; truncates a torn tail."""
        size = os.fstat(self._fd).st_size
        position = 0
        buffer = b""
        buffer_start = 0
        while position < size:
            need = position + _FRAME.size
            if need > buffer_start + len(buffer):
                buffer = os.pread(self._fd, max(_READ_CHUNK, need - position), position)
                buffer_start = position
            header = buffer[position - buffer_start : position - buffer_start + _FRAME.size]
            if len(header) < _FRAME.size:
                break
            length, crc = _FRAME.unpack(header)
            frame_end = position + _FRAME.size + length
            if frame_end > size or length < _BODY.size:
                break
            if frame_end > buffer_start + len(buffer):
                buffer = os.pread(self._fd, max(_READ_CHUNK, frame_end - position), position)
                buffer_start = position
            body = buffer[position - buffer_start + _FRAME.size : frame_end - buffer_start]
            if zlib.crc32(body) != crc:
                break
            self.offsets.append(position)
            self.arrivals.append(_BODY.unpack_from(body)[0])
            position = frame_end
        if position < size:
            os.ftruncate(self._fd, position)
            os.fsync(self._fd)
        self.end = position

    def __len__(self) -> int:
        return len(self.offsets)

    @property
    def last_arrival_ms(self) -> int:
        return self.arrivals[-1] if self.arrivals else 0

    def append(self, records: Sequence[tuple[str, bytes]], now_ms: int) -> tuple[int, int]:
        """Appends (partition key, data) records durably; returns (first ordinal, arrival ms)."""
        arrival = max(now_ms, self.last_arrival_ms)
        frames = [encode_frame(arrival, key, data) for key, data in records]
        blob = b"".join(frames)
        try:
            written = 0
            while written < len(blob):
                written += os.write(self._fd, blob[written:])
            os.fsync(self._fd)
        except OSError:
            os.ftruncate(self._fd, self.end)  # never leave a half-written batch before the next append
            raise
        first = len(self.offsets)
        position = self.end
        for frame in frames:
            self.offsets.append(position)
            self.arrivals.append(arrival)
            position += len(frame)
        self.end = position
        return first, arrival

    def read(self, start: int, limit: int, max_bytes: int) -> list[StoredRecord]:
        """Up to ``limit`` records from ordinal ``start`` (at least one if any, at most ``max_bytes`` of data
        beyond the first)."""
        count = len(self.offsets)
        stop = min(count, start + limit)
        if start >= stop:
            return []
        end_offset = self.offsets[stop] if stop < count else self.end
        first = self.offsets[start]
        span = min(end_offset - first, max(max_bytes, 1))
        blob = os.pread(self._fd, max(span, self._frame_size(start)), first)
        records: list[StoredRecord] = []
        for ordinal in range(start, stop):
            relative = self.offsets[ordinal] - first
            if relative + _FRAME.size > len(blob):
                break
            length, _crc = _FRAME.unpack_from(blob, relative)
            body_start = relative + _FRAME.size
            if body_start + length > len(blob):
                break
            records.append(_decode_body(ordinal, blob[body_start : body_start + length]))
        return records

    def _frame_size(self, ordinal: int) -> int:
        following = self.offsets[ordinal + 1] if ordinal + 1 < len(self.offsets) else self.end
        return following - self.offsets[ordinal]

    def first_at_or_after(self, arrival_ms: int) -> int:
        """The ordinal of the first record that arrived at or after ``arrival_ms`` (len(self) if none)."""
        return bisect.bisect_left(self.arrivals, arrival_ms)

    def reset(self) -> None:
        """Empties the log durably (Firehose's spool, once its batch is delivered)."""
        os.ftruncate(self._fd, 0)
        os.fsync(self._fd)
        del self.offsets[:]
        del self.arrivals[:]
        self.end = 0

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
