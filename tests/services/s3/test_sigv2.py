"""SigV2 presigned URLs (``sigv2.py``) against botocore's own HmacV1QueryAuth signer."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import urlsplit

import pytest
from botocore.auth import HmacV1QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from corral.services.s3.errors import AccessDenied, InvalidAccessKeyId, SignatureDoesNotMatch
from corral.services.s3.sigv2 import is_presigned_v2, verify_presigned_v2

SECRETS = {"AKID": "secret"}


def presign(url: str, headers: dict[str, str] | None = None, expires: int = 3600) -> tuple[str, bytes]:
    request = AWSRequest("GET", url, headers=headers or {})
    HmacV1QueryAuth(Credentials("AKID", "secret"), expires=expires).add_auth(request)
    parts = urlsplit(request.url)
    return parts.path, parts.query.encode()


@pytest.mark.parametrize(
    "url",
    [
        "http://h/bucket/a%20b/c.txt",
        "http://h/bucket/k?response-content-type=text%2Fplain&uploadId=abc",
        "http://h/bucket?uploads",
    ],
)
def test_botocore_presigned_urls_verify(url: str) -> None:
    path, query = presign(url, {"Content-Type": "image/png", "x-amz-meta-a": "1"})
    assert is_presigned_v2(query)
    assert verify_presigned_v2("GET", [path], query, {}, SECRETS.get, datetime.now(UTC)) == "AKID"
    with pytest.raises(SignatureDoesNotMatch):
        verify_presigned_v2("PUT", [path], query, {}, SECRETS.get, datetime.now(UTC))
    with pytest.raises(SignatureDoesNotMatch):
        verify_presigned_v2("GET", [path + "x"], query, {}, SECRETS.get, datetime.now(UTC))


def test_expired_and_unknown_keys() -> None:
    path, query = presign("http://h/bucket/k", expires=-10)
    with pytest.raises(AccessDenied, match="Request has expired"):
        verify_presigned_v2("GET", [path], query, {}, SECRETS.get, datetime.now(UTC))
    path, query = presign("http://h/bucket/k")
    with pytest.raises(InvalidAccessKeyId):
        verify_presigned_v2("GET", [path], query, {}, lambda _: None, datetime.now(UTC))
    assert not is_presigned_v2(b"X-Amz-Algorithm=AWS4-HMAC-SHA256&AWSAccessKeyId=a&Signature=b")
