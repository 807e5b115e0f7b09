"""Multipart uploads, kept on disk under ``DIR/s3/uploads`` (parts can be gigabytes; the store keeps objects'
metadata only once they are complete).

Layout of one upload::

    uploads/<upload id>/upload.json       bucket, key, initiation time, content type, metadata, headers
    uploads/<upload id>/part-00001.json   part 1's pointer: its body file, ETag, size, time, CRC32
    uploads/<upload id>/body-<uuid>       a part's body
    uploads/<upload id>/completing        during CompleteMultipartUpload: the name of the object's body
    uploads/.new-<uuid>/                  an upload being created (renamed to its id when written)
    uploads/.trash-<uuid>/                an upload being removed (aborted, completed, its bucket deleted)

Invariants:

* An upload exists exactly when ``uploads/<id>/upload.json`` does: it is written inside ``.new-*`` and the
  folder renamed into place; removal renames the folder to ``.trash-*`` first. Both renames are atomic.
* A part is the body its pointer names. A new body is staged in ``DIR/s3/tmp`` (fsynced), renamed into the
  upload's folder, and only then does the pointer (temp file, fsync, rename) switch to it; the body it
  replaced is deleted afterwards. Bodies no pointer names are leftovers of a crash.
* Completion concatenates the listed parts into a temp file (fsynced) and commits it as the object through
  ``S3Service.commit`` (rename, then the row), exactly as PutObject does: a crash shows the old object or the
  new one, never part of one. ``completing`` names the new body, so that a crash between the commit and the
  folder's removal is recognised at the next start (the row points at that body: the upload is finished).
* Per upload, part installs, completion and abort take turns (one asyncio lock per upload id; one process).

``sweep`` (at start) removes ``.new-*``/``.trash-*`` folders, uploads whose bucket is gone, finished
completions, unreferenced bodies and temp files. Uploads in progress survive restarts, as on AWS.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import itertools
import json
import os
import re
import secrets
import shutil
import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from corral.services.s3.errors import (
    EntityTooSmall,
    InvalidPart,
    InvalidPartOrder,
    MalformedXML,
    NoSuchBucket,
    NoSuchUpload,
)
from corral.services.s3.staging import StagedBody, fsync_dir, write_json_atomically

if TYPE_CHECKING:
    from corral.services.s3.service import S3Service, StoredObject

MIN_PART_SIZE: Final = 5 * 1024**2
"""Every part but the last must be at least 5 MiB (Amazon S3 multipart upload limits)."""
MAX_PART_NUMBER: Final = 10_000
_UPLOAD_ID: Final = re.compile(r"[A-Za-z0-9_-]{32,128}")
_POINTER: Final = re.compile(r"part-(\d{5})\.json")


@dataclass(frozen=True, slots=True)
class Upload:
    upload_id: str
    bucket: str
    key: str
    initiated: float
    content_type: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    checksum_algorithm: str | None = None


@dataclass(frozen=True, slots=True)
class Part:
    number: int
    etag: str
    size: int
    last_modified: float
    body_file: str
    crc32: str | None = None


@dataclass(frozen=True, slots=True)
class RequestedPart:
    """One ``<Part>`` of a CompleteMultipartUpload request."""

    number: int
    etag: str
    crc32: str | None = None


def multipart_etag(md5_etags: Sequence[str]) -> str:
    """AWS's ETag of a multipart object: the MD5 of the parts' binary MD5s, a dash, the number of parts."""
    digests = b"".join(bytes.fromhex(etag.strip('"')) for etag in md5_etags)
    return f'"{hashlib.md5(digests).hexdigest()}-{len(md5_etags)}"'


def _same_etag(a: str, b: str) -> bool:
    return a.strip().strip('"').lower() == b.strip().strip('"').lower()


class MultipartUploads:
    def __init__(self, service: S3Service, root: Path, min_part_size: int = MIN_PART_SIZE) -> None:
        self.service = service
        self.root = root
        self.min_part_size = min_part_size
        self._locks: dict[str, asyncio.Lock] = {}

    def _lock(self, upload_id: str) -> asyncio.Lock:
        return self._locks.setdefault(upload_id, asyncio.Lock())

    def _folder(self, upload_id: str) -> Path:
        if not _UPLOAD_ID.fullmatch(upload_id):
            raise NoSuchUpload(UploadId=upload_id)
        return self.root / upload_id

    # -- creating and finding ------------------------------------------------------------------------

    async def create(
        self,
        bucket: str,
        key: str,
        content_type: str | None = None,
        metadata: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
        checksum_algorithm: str | None = None,
    ) -> Upload:
        await self.service.require_bucket(bucket)
        upload = Upload(
            secrets.token_urlsafe(48), bucket, key, self.service.clock(), content_type, metadata or {},
            headers or {}, checksum_algorithm,
        )  # fmt: skip
        await asyncio.to_thread(self._write_new, upload)
        return upload

    def _write_new(self, upload: Upload) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        fresh = self.root / f".new-{uuid.uuid4().hex}"
        fresh.mkdir()
        write_json_atomically(fresh / "upload.json", asdict(upload))
        os.rename(fresh, self.root / upload.upload_id)
        fsync_dir(self.root)

    async def get(self, bucket: str, key: str, upload_id: str) -> Upload:
        """The upload ``upload_id`` of ``bucket/key``; NoSuchUpload (NoSuchBucket) otherwise."""
        upload = await asyncio.to_thread(_read_upload, self._folder(upload_id))
        if upload is None or upload.bucket != bucket or upload.key != key:
            if not await self.service.bucket_exists(bucket):
                raise NoSuchBucket(BucketName=bucket)
            raise NoSuchUpload(UploadId=upload_id)
        return upload

    # -- parts ---------------------------------------------------------------------------------------

    async def put_part(self, upload: Upload, number: int, staged: StagedBody, crc32: str | None) -> Part:
        """Makes the staged body part ``number`` of ``upload`` (replacing any part with that number)."""
        part = Part(number, staged.etag, staged.size, self.service.clock(), f"body-{uuid.uuid4().hex}", crc32)
        async with self._lock(upload.upload_id):
            try:
                await asyncio.to_thread(self._install, self.root / upload.upload_id, staged.path, part)
            except FileNotFoundError as exc:  # aborted or completed meanwhile
                raise NoSuchUpload(UploadId=upload.upload_id) from exc
        return part

    @staticmethod
    def _install(folder: Path, body: Path, part: Part) -> None:
        if not (folder / "upload.json").exists():
            raise FileNotFoundError(folder)
        os.replace(body, folder / part.body_file)
        fsync_dir(folder)
        pointer = folder / f"part-{part.number:05d}.json"
        old = _read_part(pointer)
        write_json_atomically(pointer, asdict(part))
        if old is not None:
            (folder / old.body_file).unlink(missing_ok=True)

    async def parts(self, upload: Upload) -> list[Part]:
        """The upload's parts by part number."""
        return await asyncio.to_thread(_read_parts, self.root / upload.upload_id)

    # -- completing, aborting ------------------------------------------------------------------------

    async def complete(self, upload: Upload, requested: Sequence[RequestedPart]) -> StoredObject:
        """Assembles the listed parts into the object ``upload.key``, atomically, and ends the upload."""
        folder = self.root / upload.upload_id
        async with self._lock(upload.upload_id):
            if not (folder / "upload.json").exists():
                raise NoSuchUpload(UploadId=upload.upload_id)
            chosen = self._check(upload, requested, {p.number: p for p in await self.parts(upload)})
            staged = await asyncio.to_thread(self._concatenate, folder, chosen)
            staged.etag_override = multipart_etag([part.etag for part in chosen])
            marker = folder / "completing"
            try:
                await asyncio.to_thread(write_json_atomically, marker, staged.path.name)
                stored = await self.service.commit(
                    upload.bucket, upload.key, staged, upload.content_type, upload.metadata, upload.headers
                )
            except BaseException:
                self.service.discard(staged)
                marker.unlink(missing_ok=True)
                raise
            await asyncio.to_thread(self._remove, folder)
            self._locks.pop(upload.upload_id, None)
        return stored

    def _check(
        self, upload: Upload, requested: Sequence[RequestedPart], parts: dict[int, Part]
    ) -> list[Part]:
        if not requested:
            raise MalformedXML()
        numbers = [item.number for item in requested]
        if any(later <= earlier for earlier, later in itertools.pairwise(numbers)):
            raise InvalidPartOrder(UploadId=upload.upload_id)
        chosen: list[Part] = []
        for item in requested:
            part = parts.get(item.number)
            if (
                part is None
                or not _same_etag(part.etag, item.etag)
                or (item.crc32 is not None and part.crc32 is not None and item.crc32 != part.crc32)
            ):
                raise InvalidPart(UploadId=upload.upload_id, PartNumber=str(item.number), ETag=item.etag)
            chosen.append(part)
        for part in chosen[:-1]:
            if part.size < self.min_part_size:
                raise EntityTooSmall(
                    ProposedSize=str(part.size), MinSizeAllowed=str(self.min_part_size),
                    PartNumber=str(part.number), ETag=part.etag,
                )  # fmt: skip
        return chosen

    def _concatenate(self, folder: Path, parts: Sequence[Part]) -> StagedBody:
        tmp_dir = self.service.tmp_dir
        tmp_dir.mkdir(parents=True, exist_ok=True)
        staged = StagedBody(tmp_dir / uuid.uuid4().hex)
        try:
            with staged.path.open("wb") as out:
                for part in parts:
                    with (folder / part.body_file).open("rb") as body:
                        shutil.copyfileobj(body, out, 1024 * 1024)
                out.flush()
                os.fsync(out.fileno())
        except BaseException:
            staged.path.unlink(missing_ok=True)
            raise
        staged.size = sum(part.size for part in parts)
        return staged

    async def abort(self, bucket: str, key: str, upload_id: str) -> None:
        upload = await self.get(bucket, key, upload_id)
        async with self._lock(upload.upload_id):
            try:
                await asyncio.to_thread(self._remove, self.root / upload.upload_id)
            except FileNotFoundError as exc:  # completed or aborted meanwhile
                raise NoSuchUpload(UploadId=upload_id) from exc
            self._locks.pop(upload.upload_id, None)

    def _remove(self, folder: Path) -> None:
        trash = self.root / f".trash-{uuid.uuid4().hex}"
        os.rename(folder, trash)
        fsync_dir(self.root)
        shutil.rmtree(trash, ignore_errors=True)

    async def drop_bucket(self, bucket: str) -> None:
        """Removes the uploads in progress into a bucket that was deleted."""
        for upload in await self.uploads(bucket):
            async with self._lock(upload.upload_id):
                with contextlib.suppress(FileNotFoundError):
                    await asyncio.to_thread(self._remove, self.root / upload.upload_id)
                self._locks.pop(upload.upload_id, None)

    # -- listing -------------------------------------------------------------------------------------

    async def uploads(self, bucket: str) -> list[Upload]:
        """The bucket's uploads in progress, in ListMultipartUploads order: key (UTF-8 bytes), initiation."""
        return await asyncio.to_thread(self._uploads, bucket)

    def _uploads(self, bucket: str) -> list[Upload]:
        if not self.root.exists():
            return []
        found = []
        for folder in self.root.iterdir():
            if folder.name.startswith("."):
                continue
            upload = _read_upload(folder)
            if upload is not None and upload.bucket == bucket:
                found.append(upload)
        return sorted(found, key=lambda u: (u.key.encode(), u.initiated, u.upload_id))

    async def list_page(
        self,
        bucket: str,
        prefix: str,
        delimiter: str | None,
        key_marker: str | None,
        upload_id_marker: str | None,
        max_uploads: int,
    ) -> tuple[list[Upload], list[str], bool]:
        """One ListMultipartUploads page: uploads and common prefixes (together at most ``max_uploads``)
        after the markers, and whether more follow."""
        await self.service.require_bucket(bucket)
        everything = await self.uploads(bucket)
        if key_marker is not None:
            marker = key_marker.encode()
            position = next(
                (i for i, u in enumerate(everything) if upload_id_marker and u.upload_id == upload_id_marker),
                None,
            )
            everything = [
                u
                for i, u in enumerate(everything)
                if u.key.encode() > marker or (u.key == key_marker and position is not None and i > position)
            ]
        uploads: list[Upload] = []
        prefixes: list[str] = []
        for upload in everything:
            if not upload.key.startswith(prefix):
                continue
            cut = upload.key.find(delimiter, len(prefix)) if delimiter else -1
            common = upload.key[: cut + len(delimiter or "")] if cut >= 0 else None
            if common is not None and prefixes and prefixes[-1] == common:
                continue
            if len(uploads) + len(prefixes) >= max_uploads:
                return uploads, prefixes, True
            if common is not None:
                prefixes.append(common)
            else:
                uploads.append(upload)
        return uploads, prefixes, False

    # -- at start ------------------------------------------------------------------------------------

    def sweep(self, referenced_bodies: set[str], buckets: set[str]) -> None:
        """What a crash left (see the module's invariants); blocking, run once before serving."""
        if not self.root.exists():
            return
        for entry in self.root.iterdir():
            upload = None if entry.name.startswith(".") or not entry.is_dir() else _read_upload(entry)
            if upload is None or upload.bucket not in buckets:
                _remove_entry(entry)
                continue
            marker = entry / "completing"
            if marker.exists():
                with contextlib.suppress(OSError, ValueError):
                    if json.loads(marker.read_text()) in referenced_bodies:
                        _remove_entry(entry)  # the object was committed before the crash
                        continue
                marker.unlink(missing_ok=True)
            kept = {part.body_file for part in _read_parts(entry)}
            for item in entry.iterdir():
                if item.name.startswith(".tmp-") or (item.name.startswith("body-") and item.name not in kept):
                    item.unlink(missing_ok=True)


def _remove_entry(entry: Path) -> None:
    if entry.is_dir():
        shutil.rmtree(entry, ignore_errors=True)
    else:
        entry.unlink(missing_ok=True)


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _read_upload(folder: Path) -> Upload | None:
    data = _read_json(folder / "upload.json")
    if not isinstance(data, dict):
        return None
    try:
        return Upload(**data)
    except TypeError:
        return None


def _read_part(pointer: Path) -> Part | None:
    data = _read_json(pointer)
    if not isinstance(data, dict):
        return None
    try:
        return Part(**data)
    except TypeError:
        return None


def _read_parts(folder: Path) -> list[Part]:
    parts = []
    with contextlib.suppress(FileNotFoundError):
        for pointer in folder.iterdir():
            if _POINTER.fullmatch(pointer.name) and (part := _read_part(pointer)) is not None:
                parts.append(part)
    return sorted(parts, key=lambda part: part.number)
