"""S3Service on both stores (listing order, replacement, sweeping, multipart uploads' leftovers), the region's
CreateBucket rule and the aws-chunked decoder."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from corral.services.s3.chunked import AwsChunkedDecoder
from corral.services.s3.errors import (
    BucketAlreadyOwnedByYou,
    BucketNotEmpty,
    InvalidBucketName,
    NoSuchBucket,
    NoSuchKey,
    NoSuchUpload,
)
from corral.services.s3.multipart import RequestedPart, multipart_etag
from corral.services.s3.service import S3Service
from corral.store.engine import Store


async def test_objects_on_both_stores(database_url: str | None, tmp_path: Path) -> None:
    async with await Store.open(database_url, tmp_path) as store:
        s3 = S3Service(store, tmp_path, "000000000000", "us-east-1")
        await s3.start()
        with pytest.raises(InvalidBucketName):
            await s3.create_bucket("Not_Valid")
        await s3.create_bucket("bkt")
        with pytest.raises(NoSuchBucket):
            await s3.put_object("other", "k", b"x")
        keys = ["a/1", "a/2", "B", "b", "é", "z", "a/b/c"]
        for key in keys:
            await s3.put_object("bkt", key, key.encode(), content_type="text/plain")
        contents, prefixes, nxt = await s3.list_page("bkt", "", None, None, 100)
        assert [o.key for o in contents] == sorted(keys, key=str.encode) and nxt is None
        contents, prefixes, nxt = await s3.list_page("bkt", "", "/", None, 100)
        assert [o.key for o in contents] == ["B", "b", "z", "é"] and prefixes == ["a/"]
        contents, prefixes, nxt = await s3.list_page("bkt", "a/", "/", None, 1)
        assert [o.key for o in contents] == ["a/1"] and nxt is not None
        first = await s3.head_object("bkt", "z")
        await s3.put_object("bkt", "z", b"new body")
        second = await s3.head_object("bkt", "z")
        assert not first.path.exists() and second.path.read_bytes() == b"new body"
        with pytest.raises(BucketNotEmpty):
            await s3.delete_bucket("bkt")
        for key in keys:
            await s3.delete_object("bkt", key)
        with pytest.raises(NoSuchKey):
            await s3.head_object("bkt", "z")
        assert list(s3.objects_dir.iterdir()) == []
        (s3.tmp_dir / "leftover").write_bytes(b"partial")
        (s3.objects_dir / "orphan").write_bytes(b"never committed")
        await s3.start()
        assert list(s3.tmp_dir.iterdir()) == [] and list(s3.objects_dir.iterdir()) == []
        await s3.delete_bucket("bkt")


def test_aws_chunked_in_any_split() -> None:
    encoded = b"5;chunk-signature=x\r\nhello\r\n6\r\n world\r\n0\r\nx-amz-checksum-crc32:AAAA\r\n\r\n"
    for size in (1, 2, 7, len(encoded)):
        decoder = AwsChunkedDecoder()
        out = b"".join(decoder.feed(encoded[i : i + size]) for i in range(0, len(encoded), size))
        assert out == b"hello world" and decoder.done
        assert decoder.trailers == {"x-amz-checksum-crc32": "AAAA"}


async def _chunks(body: bytes) -> AsyncIterator[bytes]:
    yield body


async def test_recreating_a_bucket_depends_on_the_region(tmp_path: Path) -> None:
    async with await Store.open(None, tmp_path) as store:
        virginia = S3Service(store, tmp_path, "000000000000", "us-east-1")
        await virginia.create_bucket("mine")
        await virginia.create_bucket("mine")  # AWS's legacy behaviour in us-east-1: 200 OK
        ireland = S3Service(store, tmp_path, "000000000000", "eu-west-1")
        with pytest.raises(BucketAlreadyOwnedByYou):
            await ireland.create_bucket("mine")


async def test_multipart_leftovers_are_swept_at_start(database_url: str | None, tmp_path: Path) -> None:
    async with await Store.open(database_url, tmp_path) as store:
        s3 = S3Service(store, tmp_path, "000000000000", "us-east-1")
        await s3.start()
        await s3.create_bucket("bkt")
        upload = await s3.uploads.create("bkt", "k")
        part = await s3.uploads.put_part(upload, 1, await s3.stage(_chunks(b"one")), None)
        folder = s3.uploads.root / upload.upload_id
        (folder / "body-orphan").write_bytes(b"a part whose pointer was never written")
        (folder / ".tmp-pointer").write_bytes(b"{")
        (folder / "completing").write_text('"a-body-never-committed"')
        (s3.uploads.root / ".new-x").mkdir()
        (s3.uploads.root / ".trash-y").mkdir()
        finished = await s3.uploads.create("bkt", "done")
        committed = await s3.put_object("bkt", "done", b"body")
        (s3.uploads.root / finished.upload_id / "completing").write_text(f'"{committed.path.name}"')
        await s3.start()
        assert [p.name for p in s3.uploads.root.iterdir()] == [upload.upload_id]
        assert sorted(p.name for p in folder.iterdir()) == sorted(
            ["upload.json", "part-00001.json", part.body_file]
        )
        assert [p.number for p in await s3.uploads.parts(upload)] == [1]
        stored = await s3.uploads.complete(upload, [RequestedPart(1, part.etag)])
        assert stored.path.read_bytes() == b"one" and stored.etag == multipart_etag([part.etag])
        assert list(s3.uploads.root.iterdir()) == [] and list(s3.tmp_dir.iterdir()) == []
        with pytest.raises(NoSuchUpload):
            await s3.uploads.get("bkt", "k", upload.upload_id)
        await s3.delete_object("bkt", "k")
        await s3.delete_object("bkt", "done")
        await s3.delete_bucket("bkt")


async def test_list_multipart_uploads_markers(tmp_path: Path) -> None:
    async with await Store.open(None, tmp_path) as store:
        s3 = S3Service(store, tmp_path, "000000000000", "us-east-1")
        await s3.start()
        await s3.create_bucket("bkt")
        made = [await s3.uploads.create("bkt", key) for key in ("b", "a", "b", "c/1", "c/2")]
        page, prefixes, truncated = await s3.uploads.list_page("bkt", "", "/", None, None, 2)
        assert [u.key for u in page] == ["a", "b"] and prefixes == [] and truncated
        assert page[1].upload_id == made[0].upload_id  # same key: by initiation
        page, prefixes, truncated = await s3.uploads.list_page("bkt", "", "/", "b", made[0].upload_id, 2)
        assert [u.upload_id for u in page] == [made[2].upload_id] and prefixes == ["c/"] and not truncated
        page, _, _ = await s3.uploads.list_page("bkt", "c/", None, None, None, 10)
        assert [u.key for u in page] == ["c/1", "c/2"]
        assert multipart_etag(['"' + "00" * 16 + '"', "ff" * 16]).endswith('-2"')
