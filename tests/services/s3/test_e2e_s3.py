"""S3 of a real `corral serve`, driven by boto3 (path and virtual-host addressing, HTTP and HTTPS) and the aws
CLI; a `kill -9` in the middle of an upload leaves no partial object."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import os
import socket
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import botocore.exceptions
import pytest
from botocore.config import Config as BotoConfig

from tests.aws_cli import aws
from tests.harness import RunningServer, make_server, serving


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    yield from serving(make_server(tmp_path_factory.mktemp("s3")))


def s3(server: RunningServer, **config: Any) -> Any:
    return server.client("s3", config=BotoConfig(retries={"max_attempts": 1}, **config))


def s3_at(server: RunningServer, endpoint_url: str, **kwargs: Any) -> Any:
    """An S3 client with the administrator's key on another endpoint (HTTPS, a host name)."""
    credentials = s3(server)._request_signer._credentials
    return boto3.client(
        "s3",
        endpoint_url=endpoint_url,
        region_name=server.endpoints["region"],
        aws_access_key_id=credentials.access_key,
        aws_secret_access_key=credentials.secret_key,
        **kwargs,
    )


def error_of(call: Any) -> dict[str, Any]:
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        call()
    result: dict[str, Any] = caught.value.response["Error"]
    result["status"] = caught.value.response["ResponseMetadata"]["HTTPStatusCode"]
    return result


def test_buckets(server: RunningServer) -> None:
    client = s3(server)
    client.create_bucket(Bucket="buckets-1")
    assert "buckets-1" in [b["Name"] for b in client.list_buckets()["Buckets"]]
    client.head_bucket(Bucket="buckets-1")
    assert client.create_bucket(Bucket="buckets-1")["ResponseMetadata"]["HTTPStatusCode"] == 200  # us-east-1
    assert error_of(lambda: client.create_bucket(Bucket="Bad_Name"))["Code"] == "InvalidBucketName"
    assert error_of(lambda: client.head_bucket(Bucket="nope-nope"))["status"] == 404
    client.put_object(Bucket="buckets-1", Key="k", Body=b"x")
    not_empty = error_of(lambda: client.delete_bucket(Bucket="buckets-1"))
    assert (not_empty["Code"], not_empty["status"]) == ("BucketNotEmpty", 409)
    client.delete_object(Bucket="buckets-1", Key="k")
    client.delete_bucket(Bucket="buckets-1")
    missing = error_of(lambda: client.delete_bucket(Bucket="buckets-1"))
    assert (missing["Code"], missing["BucketName"]) == ("NoSuchBucket", "buckets-1")


def test_objects(server: RunningServer) -> None:
    client = s3(server)
    client.create_bucket(Bucket="objects")
    body = os.urandom(100_000)
    md5 = base64.b64encode(hashlib.md5(body).digest()).decode()
    put = client.put_object(
        Bucket="objects", Key="dir/a b+c.bin", Body=body, ContentType="application/x-test", ContentMD5=md5,
        Metadata={"device": "d1"},
    )  # fmt: skip
    assert put["ETag"] == f'"{hashlib.md5(body).hexdigest()}"'
    got = client.get_object(Bucket="objects", Key="dir/a b+c.bin")
    assert got["Body"].read() == body
    assert (got["ContentType"], got["Metadata"], got["ContentLength"]) == (
        "application/x-test",
        {"device": "d1"},
        len(body),
    )
    part = client.get_object(Bucket="objects", Key="dir/a b+c.bin", Range="bytes=10-19")
    assert part["Body"].read() == body[10:20] and part["ContentRange"] == f"bytes 10-19/{len(body)}"
    assert (
        client.get_object(Bucket="objects", Key="dir/a b+c.bin", Range="bytes=-5")["Body"].read() == body[-5:]
    )
    assert (
        error_of(lambda: client.get_object(Bucket="objects", Key="dir/a b+c.bin", Range="bytes=999999-"))[
            "Code"
        ]
        == "InvalidRange"
    )
    not_modified = error_of(
        lambda: client.get_object(Bucket="objects", Key="dir/a b+c.bin", IfNoneMatch=put["ETag"])
    )
    assert not_modified["status"] == 304
    later = datetime.now(UTC) + timedelta(days=1)
    assert (
        error_of(lambda: client.get_object(Bucket="objects", Key="dir/a b+c.bin", IfModifiedSince=later))[
            "status"
        ]
        == 304
    )
    head = client.head_object(Bucket="objects", Key="dir/a b+c.bin")
    assert head["ContentLength"] == len(body) and head["ETag"] == put["ETag"]
    bad_md5 = base64.b64encode(hashlib.md5(b"other").digest()).decode()
    assert (
        error_of(lambda: client.put_object(Bucket="objects", Key="x", Body=b"1", ContentMD5=bad_md5))["Code"]
        == "BadDigest"
    )
    assert error_of(lambda: client.head_object(Bucket="objects", Key="x"))["status"] == 404
    no_key = error_of(lambda: client.get_object(Bucket="objects", Key="x"))
    assert (no_key["Code"], no_key["Key"], no_key["status"]) == ("NoSuchKey", "x", 404)
    assert error_of(lambda: client.put_object(Bucket="no-such", Key="x", Body=b"1"))["Code"] == "NoSuchBucket"
    copied = client.copy_object(
        Bucket="objects", Key="copy", CopySource={"Bucket": "objects", "Key": "dir/a b+c.bin"}
    )
    assert copied["CopyObjectResult"]["ETag"] == put["ETag"]
    assert client.head_object(Bucket="objects", Key="copy")["Metadata"] == {"device": "d1"}
    removed = client.delete_objects(
        Bucket="objects", Delete={"Objects": [{"Key": "copy"}, {"Key": "dir/a b+c.bin"}]}
    )
    assert sorted(d["Key"] for d in removed["Deleted"]) == ["copy", "dir/a b+c.bin"]
    assert client.list_objects_v2(Bucket="objects")["KeyCount"] == 0


def test_list_objects_v2(server: RunningServer) -> None:
    client = s3(server)
    client.create_bucket(Bucket="listing")
    keys = ["a/1", "a/2", "a/b/3", "b", "c/4", "é", "z"]
    for key in keys:
        client.put_object(Bucket="listing", Key=key, Body=key.encode())
    listed = client.list_objects_v2(Bucket="listing", Delimiter="/")
    assert [o["Key"] for o in listed["Contents"]] == ["b", "z", "é"]  # UTF-8 byte order
    assert [p["Prefix"] for p in listed["CommonPrefixes"]] == ["a/", "c/"]
    inside = client.list_objects_v2(Bucket="listing", Prefix="a/", Delimiter="/")
    assert [o["Key"] for o in inside["Contents"]] == ["a/1", "a/2"]
    assert [p["Prefix"] for p in inside["CommonPrefixes"]] == ["a/b/"]
    after = client.list_objects_v2(Bucket="listing", StartAfter="a/b/3")
    assert [o["Key"] for o in after["Contents"]] == ["b", "c/4", "z", "é"]
    paginator = client.get_paginator("list_objects_v2")
    pages = list(paginator.paginate(Bucket="listing", PaginationConfig={"PageSize": 2}))
    assert len(pages) == 4 and [o["Key"] for p in pages for o in p.get("Contents", [])] == sorted(
        keys, key=str.encode
    )
    grouped = list(paginator.paginate(Bucket="listing", Delimiter="/", PaginationConfig={"PageSize": 1}))
    assert [
        x
        for p in grouped
        for x in [o["Key"] for o in p.get("Contents", [])]
        + [c["Prefix"] for c in p.get("CommonPrefixes", [])]
    ] == ["a/", "b", "c/", "z", "é"]
    assert error_of(lambda: client.list_objects_v2(Bucket="nothing-here"))["Code"] == "NoSuchBucket"


def test_virtual_host_addressing(server: RunningServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """``bucket.localhost`` resolves to loopback as RFC 6761 asks (systemd-resolved and browsers do so);
    glibc here does not, so the test resolves it for boto3."""
    resolve = socket.getaddrinfo

    def loopback(host: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(host, str) and host.endswith(".localhost"):
            host = "127.0.0.1"
        return resolve(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", loopback)
    port = server.http_port
    virtual = s3_at(
        server, f"http://localhost:{port}",
        config=BotoConfig(retries={"max_attempts": 1}, s3={"addressing_style": "virtual"}),
    )  # fmt: skip
    seen: list[str] = []
    virtual.meta.events.register("before-send.s3", lambda request, **_: seen.append(request.url))
    virtual.create_bucket(Bucket="virtual")
    virtual.put_object(Bucket="virtual", Key="k/1", Body=b"hello")
    assert virtual.get_object(Bucket="virtual", Key="k/1")["Body"].read() == b"hello"
    assert [o["Key"] for o in virtual.list_objects_v2(Bucket="virtual")["Contents"]] == ["k/1"]
    assert seen[0].startswith(f"http://virtual.localhost:{port}/")
    assert s3(server).get_object(Bucket="virtual", Key="k/1")["Body"].read() == b"hello"


def test_https_uploads_are_aws_chunked(server: RunningServer) -> None:
    """Over HTTPS botocore streams uploads as aws-chunked with a CRC32 trailer (STREAMING-UNSIGNED-PAYLOAD-
    TRAILER)."""
    secure = s3_at(
        server, f"https://localhost:{server.https_port}", verify=str(server.ca_file),
        config=BotoConfig(retries={"max_attempts": 1}),
    )  # fmt: skip
    sent: list[dict[str, str]] = []
    secure.meta.events.register(
        "before-send.s3", lambda request, **_: sent.append({k.lower(): v for k, v in request.headers.items()})
    )
    secure.create_bucket(Bucket="chunked")
    body = os.urandom(300_000)
    secure.put_object(Bucket="chunked", Key="big", Body=body)
    assert sent[-1]["x-amz-content-sha256"] in (
        b"STREAMING-UNSIGNED-PAYLOAD-TRAILER",
        "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
    )
    assert secure.get_object(Bucket="chunked", Key="big")["Body"].read() == body


def test_aws_cli(server: RunningServer, tmp_path: Path) -> None:
    source = tmp_path / "reading.json"
    source.write_text('{"t": 20}')
    assert aws(server, "s3api", "create-bucket", "--bucket", "cli-bucket").returncode == 0
    put = aws(
        server, "s3api", "put-object", "--bucket", "cli-bucket", "--key", "r/1.json", "--body", str(source),
        "--content-type", "application/json",
    )  # fmt: skip
    assert put.returncode == 0, put.stderr
    listed = aws(server, "s3api", "list-objects-v2", "--bucket", "cli-bucket")
    assert listed.returncode == 0 and '"Key": "r/1.json"' in listed.stdout
    target = tmp_path / "out.json"
    got = aws(server, "s3api", "get-object", "--bucket", "cli-bucket", "--key", "r/1.json", str(target))
    assert got.returncode == 0 and target.read_text() == '{"t": 20}' and "application/json" in got.stdout
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(3 * 1024 * 1024))
    copied = aws(server, "s3", "cp", str(big), "s3://cli-bucket/big.bin")
    assert copied.returncode == 0, copied.stderr
    ls = aws(server, "s3", "ls", "s3://cli-bucket/")
    assert ls.returncode == 0 and "big.bin" in ls.stdout and "PRE r/" in ls.stdout
    back = tmp_path / "back.bin"
    assert aws(server, "s3", "cp", "s3://cli-bucket/big.bin", str(back)).returncode == 0
    assert back.read_bytes() == big.read_bytes()
    missing = aws(server, "s3api", "get-object", "--bucket", "cli-bucket", "--key", "nope", str(target))
    assert missing.returncode != 0 and "NoSuchKey" in missing.stderr


def test_kill_during_upload_leaves_no_partial_object(tmp_path: Path) -> None:
    running = make_server(tmp_path).start()
    client = s3(running)
    client.create_bucket(Bucket="crash")
    client.put_object(Bucket="crash", Key="obj", Body=b"old")
    size = 64 * 1024 * 1024
    received = threading.Event()

    def body() -> Iterator[bytes]:
        chunk = b"x" * (1024 * 1024)
        for index in range(size // len(chunk)):
            if index == 8:
                received.set()  # the server has read some of the body by now; it is killed meanwhile
            yield chunk

    upload = threading.Thread(
        target=lambda: _swallow(lambda: _raw_put(running, "crash", "obj", body(), size)), daemon=True
    )
    upload.start()
    assert received.wait(60)
    tmp_dir = running.data_dir / "s3" / "tmp"
    deadline = datetime.now(UTC) + timedelta(seconds=30)
    while not any(tmp_dir.iterdir()) and datetime.now(UTC) < deadline:
        threading.Event().wait(0.01)  # polls until the server is writing the body to its temp file
    running.stop(sig=9)
    upload.join(30)
    running.start()
    try:
        client = s3(running)
        assert client.get_object(Bucket="crash", Key="obj")["Body"].read() == b"old"
        assert [o["Key"] for o in client.list_objects_v2(Bucket="crash")["Contents"]] == ["obj"]
        assert not any((running.data_dir / "s3" / "tmp").iterdir())
    finally:
        running.stop()


def _swallow(call: Any) -> None:
    """The upload fails when the server dies under it; that is the point."""
    with contextlib.suppress(Exception):
        call()


def _raw_put(server: RunningServer, bucket: str, key: str, chunks: Iterator[bytes], size: int) -> None:
    """A signed UNSIGNED-PAYLOAD PUT whose body arrives slowly enough to be interrupted."""
    import urllib3
    from botocore.auth import S3SigV4Auth
    from botocore.awsrequest import AWSRequest

    client = s3(server)
    credentials = client._request_signer._credentials
    url = f"http://{server.endpoints['http']}/{bucket}/{key}"
    request = AWSRequest(
        "PUT", url, headers={"Content-Length": str(size), "X-Amz-Content-SHA256": "UNSIGNED-PAYLOAD"}
    )
    S3SigV4Auth(credentials, "s3", server.endpoints["region"]).add_auth(request)
    http = urllib3.PoolManager()
    http.request("PUT", url, body=chunks, headers=dict(request.headers), timeout=60, chunked=False)
