"""Bodies on their way to disk: a temp file hashed as it is written, and the fsync helpers that make a rename
durable. Shared by single-request writes (``service.py``) and multipart uploads (``multipart.py``)."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import uuid
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(slots=True)
class StagedBody:
    """A body written to a temp file, with its digests. ``etag`` is the MD5's, unless ``etag_override``
    says otherwise (a completed multipart upload's ``md5-of-part-md5s-N``)."""

    path: Path
    size: int = 0
    md5: Any = field(default_factory=hashlib.md5)
    sha256: Any = field(default_factory=hashlib.sha256)
    crc32: int = 0
    etag_override: str | None = None

    def update(self, chunk: bytes) -> None:
        self.size += len(chunk)
        self.md5.update(chunk)
        self.sha256.update(chunk)
        self.crc32 = zlib.crc32(chunk, self.crc32)

    @property
    def etag(self) -> str:
        return self.etag_override or f'"{self.md5.hexdigest()}"'

    @property
    def crc32_base64(self) -> str:
        return base64.b64encode(self.crc32.to_bytes(4, "big")).decode("ascii")


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_json_atomically(path: Path, value: Any) -> None:
    """``path`` holds either its old content or ``value``, never part of it (temp file, fsync, rename)."""
    temp = path.with_name(f".tmp-{uuid.uuid4().hex}")
    try:
        with temp.open("w", encoding="utf-8") as out:
            json.dump(value, out)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)
