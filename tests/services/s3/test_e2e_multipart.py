"""Multipart uploads on a real `corral serve`: the aws CLI past its 8 MB threshold, boto3's transfer manager,
the multipart API and AWS's errors, and a `kill -9` in the middle of a part."""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from boto3.s3.transfer import TransferConfig

from tests.aws_cli import aws
from tests.harness import RunningServer, make_server, serving
from tests.services.s3.test_e2e_s3 import _raw_put, _swallow, error_of, s3

MIB = 1024 * 1024


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    yield from serving(make_server(tmp_path_factory.mktemp("s3mp")))


def multipart_etag(body: bytes, part_size: int) -> str:
    parts = [body[i : i + part_size] for i in range(0, len(body), part_size)]
    digests = b"".join(hashlib.md5(part).digest() for part in parts)
    return f'"{hashlib.md5(digests).hexdigest()}-{len(parts)}"'


def test_aws_cli_copies_past_its_multipart_threshold(server: RunningServer, tmp_path: Path) -> None:
    assert aws(server, "s3api", "create-bucket", "--bucket", "cli-multipart").returncode == 0
    source = tmp_path / "big.bin"
    body = os.urandom(20 * MIB)  # the CLI's threshold and part size are 8 MB: parts of 8, 8 and 4 MiB
    source.write_bytes(body)
    up = aws(server, "s3", "cp", str(source), "s3://cli-multipart/dir/big.bin")
    assert up.returncode == 0, up.stderr
    head = s3(server).head_object(Bucket="cli-multipart", Key="dir/big.bin")
    assert head["ContentLength"] == len(body) and head["ETag"] == multipart_etag(body, 8 * MIB)
    back = tmp_path / "back.bin"
    down = aws(server, "s3", "cp", "s3://cli-multipart/dir/big.bin", str(back))
    assert down.returncode == 0, down.stderr
    assert back.read_bytes() == body
    assert s3(server).list_multipart_uploads(Bucket="cli-multipart").get("Uploads") is None
    assert not any((server.data_dir / "s3" / "uploads").iterdir())


def test_boto3_transfer_manager(server: RunningServer, tmp_path: Path) -> None:
    client = s3(server)
    client.create_bucket(Bucket="transfers")
    source = tmp_path / "up.bin"
    body = os.urandom(11 * MIB + 123)
    source.write_bytes(body)
    config = TransferConfig(multipart_threshold=MIB, multipart_chunksize=5 * MIB, max_concurrency=3)
    client.upload_file(str(source), "transfers", "up.bin", Config=config, ExtraArgs={"Metadata": {"a": "1"}})
    head = client.head_object(Bucket="transfers", Key="up.bin")
    assert head["ETag"] == multipart_etag(body, 5 * MIB) and head["Metadata"] == {"a": "1"}
    target = tmp_path / "down.bin"
    client.download_file("transfers", "up.bin", str(target), Config=config)  # ranged GETs side by side
    assert target.read_bytes() == body


def test_multipart_api(server: RunningServer) -> None:
    client = s3(server)
    client.create_bucket(Bucket="mpu")
    created = client.create_multipart_upload(Bucket="mpu", Key="a/obj", ContentType="text/plain")
    upload_id = created["UploadId"]
    first, second = os.urandom(5 * MIB), b"tail"
    one = client.upload_part(Bucket="mpu", Key="a/obj", UploadId=upload_id, PartNumber=1, Body=b"replaced")
    one = client.upload_part(Bucket="mpu", Key="a/obj", UploadId=upload_id, PartNumber=1, Body=first)
    two = client.upload_part(Bucket="mpu", Key="a/obj", UploadId=upload_id, PartNumber=2, Body=second)
    assert one["ETag"] == f'"{hashlib.md5(first).hexdigest()}"'
    listed = client.list_parts(Bucket="mpu", Key="a/obj", UploadId=upload_id)
    assert [(p["PartNumber"], p["ETag"], p["Size"]) for p in listed["Parts"]] == [
        (1, one["ETag"], len(first)),
        (2, two["ETag"], len(second)),
    ]
    paged = client.list_parts(Bucket="mpu", Key="a/obj", UploadId=upload_id, MaxParts=1)
    assert paged["IsTruncated"] and paged["NextPartNumberMarker"] == 1
    uploads = client.list_multipart_uploads(Bucket="mpu")["Uploads"]
    assert [(u["Key"], u["UploadId"]) for u in uploads] == [("a/obj", upload_id)]
    grouped = client.list_multipart_uploads(Bucket="mpu", Delimiter="/")
    assert [p["Prefix"] for p in grouped["CommonPrefixes"]] == ["a/"] and "Uploads" not in grouped
    assert error_of(lambda: client.head_object(Bucket="mpu", Key="a/obj"))["status"] == 404  # not yet

    def complete(parts: list[dict[str, Any]]) -> Any:
        return client.complete_multipart_upload(
            Bucket="mpu", Key="a/obj", UploadId=upload_id, MultipartUpload={"Parts": parts}
        )

    p1, p2 = {"PartNumber": 1, "ETag": one["ETag"]}, {"PartNumber": 2, "ETag": two["ETag"]}
    assert error_of(lambda: complete([p2, p1]))["Code"] == "InvalidPartOrder"
    wrong = error_of(lambda: complete([p1, {"PartNumber": 2, "ETag": one["ETag"]}]))
    assert (wrong["Code"], wrong["status"]) == ("InvalidPart", 400)
    assert error_of(lambda: complete([p1, {"PartNumber": 3, "ETag": two["ETag"]}]))["Code"] == "InvalidPart"
    bad_number = error_of(
        lambda: client.upload_part(Bucket="mpu", Key="a/obj", UploadId=upload_id, PartNumber=10001, Body=b"")
    )
    assert bad_number["Code"] == "InvalidArgument"
    done = complete([p1, p2])
    assert done["ETag"] == multipart_etag(first + second, 5 * MIB) and done["Key"] == "a/obj"
    got = client.get_object(Bucket="mpu", Key="a/obj")
    assert got["Body"].read() == first + second and got["ContentType"] == "text/plain"
    gone = error_of(lambda: client.list_parts(Bucket="mpu", Key="a/obj", UploadId=upload_id))
    assert (gone["Code"], gone["status"]) == ("NoSuchUpload", 404)
    assert error_of(lambda: complete([p1, p2]))["Code"] == "NoSuchUpload"
    assert not any((server.data_dir / "s3" / "uploads").iterdir())


def test_small_parts_abort_and_copy(server: RunningServer) -> None:
    client = s3(server)
    client.create_bucket(Bucket="mpu-small")
    upload_id = client.create_multipart_upload(Bucket="mpu-small", Key="k")["UploadId"]
    parts = [
        {"PartNumber": n, "ETag": client.upload_part(
            Bucket="mpu-small", Key="k", UploadId=upload_id, PartNumber=n, Body=b"x" * 10
        )["ETag"]}
        for n in (1, 2)
    ]  # fmt: skip
    small = error_of(
        lambda: client.complete_multipart_upload(
            Bucket="mpu-small", Key="k", UploadId=upload_id, MultipartUpload={"Parts": parts}
        )
    )
    assert (small["Code"], small["status"]) == ("EntityTooSmall", 400)
    empty = error_of(
        lambda: client.complete_multipart_upload(
            Bucket="mpu-small", Key="k", UploadId=upload_id, MultipartUpload={"Parts": []}
        )
    )
    assert empty["Code"] == "MalformedXML"
    client.abort_multipart_upload(Bucket="mpu-small", Key="k", UploadId=upload_id)
    assert error_of(lambda: client.list_parts(Bucket="mpu-small", Key="k", UploadId=upload_id))["Code"] == (
        "NoSuchUpload"
    )
    assert error_of(
        lambda: client.abort_multipart_upload(Bucket="mpu-small", Key="k", UploadId="no-such-upload-id")
    )["Code"] == ("NoSuchUpload")
    assert error_of(lambda: client.create_multipart_upload(Bucket="no-bucket-here", Key="k"))["Code"] == (
        "NoSuchBucket"
    )
    source = os.urandom(6 * MIB)
    client.put_object(Bucket="mpu-small", Key="source", Body=source)
    copy_id = client.create_multipart_upload(Bucket="mpu-small", Key="copy")["UploadId"]
    copied = [
        client.upload_part_copy(
            Bucket="mpu-small", Key="copy", UploadId=copy_id, PartNumber=n,
            CopySource={"Bucket": "mpu-small", "Key": "source"}, CopySourceRange=f"bytes={first}-{last}",
        )["CopyPartResult"]["ETag"]
        for n, (first, last) in enumerate([(0, 5 * MIB - 1), (5 * MIB, 6 * MIB - 1)], start=1)
    ]  # fmt: skip
    client.complete_multipart_upload(
        Bucket="mpu-small", Key="copy", UploadId=copy_id,
        MultipartUpload={"Parts": [{"PartNumber": n, "ETag": e} for n, e in enumerate(copied, start=1)]},
    )  # fmt: skip
    assert client.get_object(Bucket="mpu-small", Key="copy")["Body"].read() == source
    leftover = client.create_multipart_upload(Bucket="mpu-small", Key="left")["UploadId"]
    client.upload_part(Bucket="mpu-small", Key="left", UploadId=leftover, PartNumber=1, Body=b"z")
    for key in ("source", "copy"):
        client.delete_object(Bucket="mpu-small", Key=key)
    client.delete_bucket(Bucket="mpu-small")  # its upload in progress goes with it
    assert not (server.data_dir / "s3" / "uploads" / leftover).exists()


def test_kill_during_a_part_keeps_the_upload_and_its_other_parts(tmp_path: Path) -> None:
    running = make_server(tmp_path).start()
    client = s3(running)
    client.create_bucket(Bucket="crash")
    upload_id = client.create_multipart_upload(Bucket="crash", Key="obj")["UploadId"]
    first = os.urandom(5 * MIB)
    one = client.upload_part(Bucket="crash", Key="obj", UploadId=upload_id, PartNumber=1, Body=first)
    size = 64 * MIB
    received = threading.Event()

    def body() -> Iterator[bytes]:
        chunk = b"y" * MIB
        for index in range(size // MIB):
            if index == 8:
                received.set()
            yield chunk

    key = f"obj?partNumber=2&uploadId={upload_id}"
    upload = threading.Thread(
        target=lambda: _swallow(lambda: _raw_put(running, "crash", key, body(), size)), daemon=True
    )
    upload.start()
    assert received.wait(60)
    tmp_dir = running.data_dir / "s3" / "tmp"
    deadline = datetime.now(UTC) + timedelta(seconds=30)
    while not any(tmp_dir.iterdir()) and datetime.now(UTC) < deadline:
        threading.Event().wait(0.01)  # polls until the server is writing the part to its temp file
    assert any(tmp_dir.iterdir()), "the part never reached the server"
    running.stop(sig=9)
    upload.join(30)
    running.start()
    try:
        client = s3(running)
        assert not any(tmp_dir.iterdir())
        parts = client.list_parts(Bucket="crash", Key="obj", UploadId=upload_id)["Parts"]
        assert [(p["PartNumber"], p["ETag"]) for p in parts] == [(1, one["ETag"])]
        assert error_of(lambda: client.head_object(Bucket="crash", Key="obj"))["status"] == 404
        client.complete_multipart_upload(
            Bucket="crash", Key="obj", UploadId=upload_id,
            MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": one["ETag"]}]},
        )  # fmt: skip
        assert client.get_object(Bucket="crash", Key="obj")["Body"].read() == first
    finally:
        running.stop()
