"""Pure Kinesis arithmetic: hash key ranges, shard ids, sequence numbers and shard iterators.

- The 128-bit hash key space is split evenly as AWS splits it at CreateStream: shard ``i`` starts at
  ``i * (2**128 // n)``, the last shard ends at ``2**128 - 1``. A record's hash key is the MD5 of its
  partition key (UTF-8) read as a big-endian integer, or its ``ExplicitHashKey``.
- A sequence number is 56 decimal digits, as AWS's are: ``49``, the shard index (12 digits), the record's
  ordinal in the shard (42 digits). It grows with the record's place in its shard and names its shard.
- A shard iterator is opaque to clients: base64 (URL alphabet) of a small JSON document naming the stream
  (name and the incarnation's id), the shard, the ordinal to read next and when it was issued; it expires
  after five minutes, as AWS's do.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass
from typing import Final

import orjson

from corral.services.kinesis.errors import InvalidArgumentException

HASH_SPACE: Final = 2**128
ITERATOR_LIFETIME_MS: Final = 300_000
_PREFIX: Final = "49"
_SHARD_DIGITS: Final = 12
_ORDINAL_DIGITS: Final = 42


def shard_id(index: int) -> str:
    return f"shardId-{index:012d}"


def shard_index(value: str, shard_count: int) -> int | None:
    """The index a ShardId names (``shardId-000000000001`` or AWS's accepted short form ``1``)."""
    digits = value.removeprefix("shardId-")
    if not digits.isdigit() or len(digits) > _SHARD_DIGITS:
        return None
    index = int(digits)
    return index if index < shard_count else None


def hash_key_range(index: int, shard_count: int) -> tuple[int, int]:
    width = HASH_SPACE // shard_count
    start = index * width
    end = HASH_SPACE - 1 if index == shard_count - 1 else start + width - 1
    return start, end


def hash_key(partition_key: str) -> int:
    return int.from_bytes(hashlib.md5(partition_key.encode()).digest(), "big")


def shard_for(key: int, shard_count: int) -> int:
    return min(key // (HASH_SPACE // shard_count), shard_count - 1)


def sequence_number(index: int, ordinal: int) -> str:
    return f"{_PREFIX}{index:0{_SHARD_DIGITS}d}{ordinal:0{_ORDINAL_DIGITS}d}"


def parse_sequence_number(value: str) -> tuple[int, int] | None:
    """(shard index, ordinal) of a sequence number Corral gave, else None."""
    width = len(_PREFIX) + _SHARD_DIGITS + _ORDINAL_DIGITS
    if len(value) != width or not value.isdigit() or not value.startswith(_PREFIX):
        return None
    shard_end = len(_PREFIX) + _SHARD_DIGITS
    return int(value[len(_PREFIX) : shard_end]), int(value[shard_end:])


@dataclass(frozen=True, slots=True)
class Iterator:
    stream_name: str
    stream_id: str
    shard: int
    ordinal: int
    issued_ms: int

    def encode(self) -> str:
        document = [self.stream_name, self.stream_id, self.shard, self.ordinal, self.issued_ms]
        return base64.urlsafe_b64encode(orjson.dumps(document)).decode()

    @classmethod
    def decode(cls, token: str) -> Iterator:
        try:
            name, stream_id, shard, ordinal, issued = orjson.loads(base64.urlsafe_b64decode(token.encode()))
            if not (isinstance(name, str) and isinstance(stream_id, str)):
                raise ValueError(token)
            if not all(isinstance(n, int) and n >= 0 for n in (shard, ordinal, issued)):
                raise ValueError(token)
        except (ValueError, TypeError, binascii.Error, orjson.JSONDecodeError):
            raise InvalidArgumentException(f"Invalid ShardIterator: {token[:128]}") from None
        return cls(name, stream_id, shard, ordinal, issued)
