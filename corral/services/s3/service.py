"""S3Service: buckets and object metadata in the store, bodies as files under ``DIR/s3``.

A write is atomic: the body goes to ``DIR/s3/tmp/<uuid>`` (hashed as it arrives), is fsynced, renamed into
``DIR/s3/objects/<uuid>`` (a fresh name for every write, the directory fsynced), and only then is the metadata
row committed pointing at it; the body it replaced is deleted after the commit. A crash at any point leaves
either the old object or the new one visible, never part of one; what a crash leaves behind (temp files,
bodies no row points at) is swept at start.

The plain interface for the rules engine and other domains::

    await s3.put_object("bucket", "key", b"body", content_type="application/json")
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
import uuid
from collections.abc import AsyncIterable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from corral.services.s3.errors import (
    BucketAlreadyOwnedByYou,
    BucketNotEmpty,
    InvalidBucketName,
    NoSuchBucket,
    NoSuchKey,
)
from corral.services.s3.multipart import MultipartUploads
from corral.services.s3.names import valid_bucket_name
from corral.services.s3.staging import StagedBody, fsync_dir
from corral.store.engine import Store
from corral.store.errors import ConstraintViolation
from corral.store.schema import s3_buckets, s3_objects

DEFAULT_CONTENT_TYPE: Final = "binary/octet-stream"
MAX_OBJECT_BYTES: Final = 5 * 1024**3
_MAX_CHAR: Final = "\U0010ffff"
"""Sorts after every other character: ``p + _MAX_CHAR`` bounds the keys that start with ``p``."""


@dataclass(frozen=True, slots=True)
class StoredObject:
    bucket: str
    key: str
    path: Path
    size: int
    etag: str
    content_type: str
    metadata: dict[str, str]
    headers: dict[str, str]
    last_modified: float


class S3Service:
    def __init__(
        self,
        store: Store,
        data_dir: Path,
        account_id: str,
        region: str,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.account_id = account_id
        self.region = region
        self.clock = clock
        self.root = data_dir / "s3"
        self.tmp_dir = self.root / "tmp"
        self.objects_dir = self.root / "objects"
        self.uploads = MultipartUploads(self, self.root / "uploads")

    async def start(self) -> None:
        """Creates the folders and sweeps what an interrupted write left: temp files, unreferenced bodies,
        and the multipart uploads' leftovers (see ``MultipartUploads.sweep``)."""
        self.tmp_dir.mkdir(parents=True, exist_ok=True)
        self.objects_dir.mkdir(parents=True, exist_ok=True)
        for leftover in self.tmp_dir.iterdir():
            leftover.unlink(missing_ok=True)
        async with self.store.read() as conn:
            referenced = {row.body_file for row in await conn.execute(select(s3_objects.c.body_file))}
            buckets = {
                row.bucket_name
                for row in await conn.execute(
                    select(s3_buckets.c.bucket_name).where(s3_buckets.c.account_id == self.account_id)
                )
            }
        for body in self.objects_dir.iterdir():
            if body.name not in referenced:
                body.unlink(missing_ok=True)
        await asyncio.to_thread(self.uploads.sweep, referenced, buckets)

    # -- the plain interface -------------------------------------------------------------------------

    async def put_object(
        self, bucket: str, key: str, body: bytes, content_type: str | None = None
    ) -> StoredObject:
        """Stores ``body`` as ``bucket/key`` (replacing any object there); raises NoSuchBucket."""

        async def chunks() -> AsyncIterable[bytes]:
            yield body

        await self.require_bucket(bucket)
        staged = await self.stage(chunks())
        return await self.commit(bucket, key, staged, content_type)

    # -- buckets -------------------------------------------------------------------------------------

    def _bucket_where(self, name: str) -> list[Any]:
        return [s3_buckets.c.account_id == self.account_id, s3_buckets.c.bucket_name == name]

    async def create_bucket(self, name: str) -> None:
        """Creates a bucket. Re-creating one's own bucket succeeds in us-east-1 (AWS's legacy behaviour there)
        and is BucketAlreadyOwnedByYou in every other region."""
        if not valid_bucket_name(name):
            raise InvalidBucketName(BucketName=name)
        try:
            async with self.store.begin() as conn:
                found = (
                    await conn.execute(select(s3_buckets.c.bucket_name).where(*self._bucket_where(name)))
                ).first()
                if found is not None:
                    if self.region == "us-east-1":
                        return
                    raise BucketAlreadyOwnedByYou(BucketName=name)
                await conn.execute(
                    insert(s3_buckets).values(
                        account_id=self.account_id,
                        bucket_name=name,
                        region=self.region,
                        created_at=self.clock(),
                    )
                )
        except ConstraintViolation as exc:  # created meanwhile by a concurrent request
            if self.region == "us-east-1":
                return
            raise BucketAlreadyOwnedByYou(BucketName=name) from exc

    async def list_buckets(self) -> list[tuple[str, float]]:
        async with self.store.read() as conn:
            rows = await conn.execute(
                select(s3_buckets.c.bucket_name, s3_buckets.c.created_at)
                .where(s3_buckets.c.account_id == self.account_id)
                .order_by(s3_buckets.c.bucket_name)
            )
            return [(row.bucket_name, row.created_at) for row in rows]

    async def _bucket_exists(self, conn: AsyncConnection, name: str) -> bool:
        found = await conn.execute(select(s3_buckets.c.bucket_name).where(*self._bucket_where(name)))
        return found.first() is not None

    async def bucket_exists(self, name: str) -> bool:
        async with self.store.read() as conn:
            return await self._bucket_exists(conn, name)

    async def require_bucket(self, name: str) -> None:
        async with self.store.read() as conn:
            if not await self._bucket_exists(conn, name):
                raise NoSuchBucket(BucketName=name)

    async def delete_bucket(self, name: str) -> None:
        async with self.store.begin() as conn:
            if not await self._bucket_exists(conn, name):
                raise NoSuchBucket(BucketName=name)
            one = await conn.execute(select(s3_objects.c.object_key).where(*self._objects_in(name)).limit(1))
            if one.first() is not None:
                raise BucketNotEmpty(BucketName=name)
            await conn.execute(delete(s3_buckets).where(*self._bucket_where(name)))
        await self.uploads.drop_bucket(name)  # its multipart uploads in progress go with it

    # -- writing bodies ------------------------------------------------------------------------------

    async def stage(self, chunks: AsyncIterable[bytes]) -> StagedBody:
        """Writes a body to a temp file and fsyncs it; the caller commits or discards it."""
        self.tmp_dir.mkdir(parents=True, exist_ok=True)
        staged = StagedBody(self.tmp_dir / uuid.uuid4().hex)
        try:
            with staged.path.open("wb") as out:
                async for chunk in chunks:
                    staged.update(chunk)
                    out.write(chunk)
                out.flush()
                await asyncio.to_thread(os.fsync, out.fileno())
        except BaseException:
            staged.path.unlink(missing_ok=True)
            raise
        return staged

    def discard(self, staged: StagedBody) -> None:
        staged.path.unlink(missing_ok=True)

    async def commit(
        self,
        bucket: str,
        key: str,
        staged: StagedBody,
        content_type: str | None,
        metadata: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> StoredObject:
        """Makes a staged body the object ``bucket/key``: rename, fsync the folder, commit the row."""
        self.objects_dir.mkdir(parents=True, exist_ok=True)
        final = self.objects_dir / staged.path.name
        os.replace(staged.path, final)
        await asyncio.to_thread(fsync_dir, self.objects_dir)
        now = self.clock()
        values = {
            "body_file": final.name,
            "size": staged.size,
            "etag": staged.etag,
            "content_type": content_type or DEFAULT_CONTENT_TYPE,
            "user_metadata": metadata or {},
            "headers": headers or {},
            "last_modified": now,
        }
        replaced: str | None = None
        try:
            async with self.store.begin() as conn:
                if not await self._bucket_exists(conn, bucket):
                    raise NoSuchBucket(BucketName=bucket)
                query = select(s3_objects.c.body_file).where(*self._object_where(bucket, key))
                if self.store.dialect == "postgresql":
                    query = query.with_for_update()
                old = (await conn.execute(query)).first()
                if old is None:
                    await conn.execute(
                        insert(s3_objects).values(
                            account_id=self.account_id, bucket_name=bucket, object_key=key, **values
                        )
                    )
                else:
                    replaced = old.body_file
                    await conn.execute(
                        update(s3_objects).where(*self._object_where(bucket, key)).values(**values)
                    )
        except BaseException:
            final.unlink(missing_ok=True)
            raise
        if replaced is not None:
            (self.objects_dir / replaced).unlink(missing_ok=True)
        return StoredObject(
            bucket, key, final, staged.size, staged.etag, str(values["content_type"]), metadata or {},
            headers or {}, now,
        )  # fmt: skip

    # -- reading, listing, deleting ------------------------------------------------------------------

    def _objects_in(self, bucket: str) -> list[Any]:
        return [s3_objects.c.account_id == self.account_id, s3_objects.c.bucket_name == bucket]

    def _object_where(self, bucket: str, key: str) -> list[Any]:
        return [*self._objects_in(bucket), s3_objects.c.object_key == key]

    def _stored(self, row: Any) -> StoredObject:
        return StoredObject(
            row.bucket_name, row.object_key, self.objects_dir / row.body_file, row.size, row.etag,
            row.content_type, dict(row.user_metadata), dict(row.headers), row.last_modified,
        )  # fmt: skip

    async def head_object(self, bucket: str, key: str) -> StoredObject:
        async with self.store.read() as conn:
            row = (await conn.execute(select(s3_objects).where(*self._object_where(bucket, key)))).first()
            if row is None:
                if not await self._bucket_exists(conn, bucket):
                    raise NoSuchBucket(BucketName=bucket)
                raise NoSuchKey(Key=key)
        return self._stored(row)

    async def delete_object(self, bucket: str, key: str) -> None:
        async with self.store.begin() as conn:
            if not await self._bucket_exists(conn, bucket):
                raise NoSuchBucket(BucketName=bucket)
            row = (
                await conn.execute(select(s3_objects.c.body_file).where(*self._object_where(bucket, key)))
            ).first()
            if row is None:
                return
            await conn.execute(delete(s3_objects).where(*self._object_where(bucket, key)))
        (self.objects_dir / row.body_file).unlink(missing_ok=True)

    async def list_page(
        self, bucket: str, prefix: str, delimiter: str | None, after: str | None, max_keys: int
    ) -> tuple[list[StoredObject], list[str], str | None]:
        """One ListObjects page: objects and common prefixes (together at most ``max_keys``), in UTF-8 byte
        order after ``after``; the third value is where the next page starts (None: this is the last)."""
        key_column: Any = s3_objects.c.object_key
        if self.store.dialect == "postgresql":
            key_column = key_column.collate("C")
        contents: list[StoredObject] = []
        prefixes: list[str] = []
        last: str | None = None
        async with self.store.read() as conn:
            if not await self._bucket_exists(conn, bucket):
                raise NoSuchBucket(BucketName=bucket)
            while True:
                query = select(s3_objects).where(*self._objects_in(bucket))
                if prefix:
                    query = query.where(key_column >= prefix, key_column < prefix + _MAX_CHAR)
                if after is not None:
                    query = query.where(key_column > after)
                rows = (await conn.execute(query.order_by(key_column).limit(max(max_keys, 1) + 1))).all()
                if not rows:
                    return contents, prefixes, None
                for row in rows:
                    key: str = row.object_key
                    if not key.startswith(prefix):
                        after = key
                        continue
                    if len(contents) + len(prefixes) >= max_keys:
                        return contents, prefixes, last
                    cut = key.find(delimiter, len(prefix)) if delimiter else -1
                    if cut >= 0:
                        common = key[: cut + len(delimiter or "")]
                        prefixes.append(common)
                        last = after = common + _MAX_CHAR
                        break  # the keys under this prefix are skipped by the next query
                    contents.append(self._stored(row))
                    last = after = key
                else:
                    if len(rows) <= max(max_keys, 1):
                        return contents, prefixes, None

    async def copy_object(
        self,
        source: StoredObject,
        bucket: str,
        key: str,
        content_type: str | None,
        metadata: dict[str, str],
        headers: dict[str, str],
    ) -> StoredObject:
        await self.require_bucket(bucket)

        async def chunks() -> AsyncIterable[bytes]:
            with contextlib.suppress(FileNotFoundError), source.path.open("rb") as body:
                while chunk := body.read(1024 * 1024):
                    yield chunk

        staged = await self.stage(chunks())
        return await self.commit(bucket, key, staged, content_type, metadata, headers)
