"""``verify(..., payload_hash_checked_by_caller=True)``: the signature is checked over the declared payload
hash without the body (S3 streams uploads to disk after verifying), and the caller is told what to compare."""

from __future__ import annotations

import hashlib
from dataclasses import replace

import pytest

from corral.auth import sigv4
from corral.auth.sigv4 import Failure
from tests.auth.test_sigv4 import ENDPOINT, botocore_signed, captured


@pytest.mark.parametrize("signers", ["crt", "python"])
def test_a_declared_digest_is_returned_not_compared(signers: str) -> None:
    with captured("s3", signers, reply=b"") as (s3, wires):
        s3.put_object(Bucket="bucket", Key="k", Body=b"hello world")
    (wire,) = wires
    digest = hashlib.sha256(b"hello world").hexdigest()
    body_missing = replace(wire, body=b"")
    assert body_missing.verify(payload_hash_checked_by_caller=True).payload_hash == digest
    tampered = replace(wire, body=b"tampered")  # the caller's business now, not verify's
    assert tampered.verify(payload_hash_checked_by_caller=True).payload_hash == digest
    assert tampered.refused().failure is Failure.CONTENT_SHA256_MISMATCH  # the default is unchanged


def test_the_signature_still_covers_the_declared_digest() -> None:
    declared = [("X-Amz-Content-SHA256", hashlib.sha256(b"x").hexdigest())]
    wire = botocore_signed("PUT", f"{ENDPOINT}/b/k", body=b"x", headers=declared, service="s3")
    swapped = wire.with_header("X-Amz-Content-SHA256", hashlib.sha256(b"y").hexdigest())
    assert swapped.refused(payload_hash_checked_by_caller=True).failure is Failure.BAD_SIGNATURE


def test_unsigned_and_trailer_payloads_pass_through() -> None:
    for declared in (sigv4.UNSIGNED_PAYLOAD, sigv4.STREAMING_UNSIGNED_PAYLOAD_TRAILER):
        wire = botocore_signed(
            "PUT", f"{ENDPOINT}/b/k", headers=[("X-Amz-Content-SHA256", declared)], service="s3"
        )
        assert wire.verify(payload_hash_checked_by_caller=True).payload_hash == declared


def test_presigned_without_a_declared_hash_is_unsigned_payload() -> None:
    wire = botocore_signed("GET", f"{ENDPOINT}/b/k", signer="s3-query", service="s3")
    assert wire.verify(payload_hash_checked_by_caller=True).payload_hash == sigv4.UNSIGNED_PAYLOAD


def test_a_header_signature_without_a_declared_hash_is_refused() -> None:
    """Its payload hash is the body's, which the caller has not given: it cannot be verified."""
    iot = botocore_signed("POST", f"{ENDPOINT}/things/x", body=b"{}")
    assert iot.verify().payload_hash == hashlib.sha256(b"{}").hexdigest()
    error = iot.refused(payload_hash_checked_by_caller=True)
    assert error.failure is Failure.MISSING_CONTENT_SHA256


def test_malformed_and_signed_streaming_declarations_are_still_refused() -> None:
    garbage = botocore_signed(
        "PUT", f"{ENDPOINT}/b/k", headers=[("X-Amz-Content-SHA256", "not-a-hash")], service="s3"
    )
    assert garbage.refused(payload_hash_checked_by_caller=True).failure is Failure.BAD_CONTENT_SHA256
    streaming = botocore_signed(
        "PUT", f"{ENDPOINT}/b/k", headers=[("X-Amz-Content-SHA256", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD")],
        service="s3",
    )  # fmt: skip
    error = streaming.refused(payload_hash_checked_by_caller=True)
    assert (error.failure, error.code, error.status) == (Failure.STREAMING_UNSUPPORTED, "NotImplemented", 501)
