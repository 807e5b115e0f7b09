"""S3Service on both stores (listing order, replacement, sweeping) and the aws-chunked decoder."""

from __future__ import annotations

from pathlib import Path

import pytest

from corral.services.s3.chunked import AwsChunkedDecoder
from corral.services.s3.errors import BucketNotEmpty, InvalidBucketName, NoSuchBucket, NoSuchKey
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
