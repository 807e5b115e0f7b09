"""Who gets into S3 on a real `corral serve`, seen from plain HTTP clients: unsigned requests answer S3's
AccessDenied XML, boto3's presigned GET and PUT URLs work from httpx, and expired or altered ones do not."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from tests.auth.test_sigv4 import botocore_clock
from tests.harness import RunningServer, make_server
from tests.services.s3.test_e2e_s3 import s3


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    running = make_server(tmp_path_factory.mktemp("s3access")).start()
    s3(running).create_bucket(Bucket="access")
    s3(running).put_object(Bucket="access", Key="doc.txt", Body=b"hello")
    yield running
    running.stop()


def s3_error(response: httpx.Response) -> tuple[int, str, str]:
    root = ET.fromstring(response.content)
    return response.status_code, root.findtext("Code") or "", root.findtext("Message") or ""


def test_unsigned_requests_answer_s3s_access_denied(server: RunningServer) -> None:
    base = f"http://{server.endpoints['http']}"
    with httpx.Client() as http:
        for method in ("GET", "PUT", "DELETE"):
            answer = http.request(method, f"{base}/access/doc.txt", content=b"x" if method == "PUT" else None)
            assert s3_error(answer) == (403, "AccessDenied", "Access Denied")
            assert answer.headers["content-type"].endswith("xml")
        listing = http.get(f"{base}/access", params={"list-type": "2"})
        assert s3_error(listing)[:2] == (403, "AccessDenied")
        virtual = http.get(f"{base}/doc.txt", headers={"Host": f"access.localhost:{server.http_port}"})
        assert s3_error(virtual)[:2] == (403, "AccessDenied")
        sigv2 = http.get(f"{base}/access/doc.txt", headers={"Authorization": "AWS AKIDEXAMPLE:c2lnbmF0dXJl"})
        assert s3_error(sigv2)[:2] == (400, "InvalidRequest")
        iot = http.get(f"{base}/things")  # not S3's: the IoT API's own answer
        assert iot.status_code == 403 and iot.json()["message"] == "Missing Authentication Token"
    assert s3(server).get_object(Bucket="access", Key="doc.txt")["Body"].read() == b"hello"


@pytest.mark.parametrize("signature_version", ["default", "s3v4"])
def test_presigned_urls_from_a_plain_http_client(server: RunningServer, signature_version: str) -> None:
    """boto3 presigns S3 URLs for a custom endpoint with SigV2 unless told ``s3v4``: both work."""
    client = s3(server) if signature_version == "default" else s3(server, signature_version="s3v4")
    key = f"up/{signature_version}.jpg"
    put_url = client.generate_presigned_url(
        "put_object", Params={"Bucket": "access", "Key": key, "ContentType": "image/jpeg"}
    )
    get_url = client.generate_presigned_url("get_object", Params={"Bucket": "access", "Key": key})
    assert ("X-Amz-Signature=" in get_url) == (signature_version == "s3v4")
    with httpx.Client() as http:
        put = http.put(put_url, content=b"\xff\xd8jpeg", headers={"Content-Type": "image/jpeg"})
        assert put.status_code == 200, put.text
        got = http.get(get_url)
        assert (got.status_code, got.content) == (200, b"\xff\xd8jpeg")
        assert got.headers["content-type"] == "image/jpeg"
        tampered = http.get(get_url.replace(".jpg", ".jpeg"))
        assert s3_error(tampered)[:2] == (403, "SignatureDoesNotMatch")
        assert http.head(get_url.replace(".jpg", ".jpeg")).status_code == 403
        with botocore_clock(datetime.now(UTC) - timedelta(hours=2)):  # SigV4's clock
            old = client.generate_presigned_url(
                "get_object", Params={"Bucket": "access", "Key": key},
                ExpiresIn=60 if signature_version == "s3v4" else -3600,  # SigV2: Expires, an epoch time
            )  # fmt: skip
        assert s3_error(http.get(old))[:3] == (403, "AccessDenied", "Request has expired")
    assert client.get_object(Bucket="access", Key=key)["Body"].read() == b"\xff\xd8jpeg"
