"""S3's query-string authentication of Signature Version 2 (``?AWSAccessKeyId=…&Expires=…&Signature=…``):
what boto3's ``generate_presigned_url`` produces for S3 at a custom endpoint unless told ``s3v4``.

The string to sign (Amazon S3 developer guide, "Signing and authenticating REST requests"): the method,
Content-MD5, Content-Type, the Expires value, the ``x-amz-*`` values (lower-case names, sorted, repeated
values joined by commas), and the canonical resource: ``/bucket/key`` as sent, plus the sub-resources and
``response-*`` overrides of the query, sorted. The signature is the Base64 HMAC-SHA1 of it with the secret.
Content-MD5, Content-Type and ``x-amz-*`` may come in the query (botocore puts them there) or as headers.
Pure: no I/O.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Final
from urllib.parse import parse_qsl, unquote

from corral.services.s3.errors import AccessDenied, InvalidAccessKeyId, SignatureDoesNotMatch

SUBRESOURCES: Final = frozenset(
    {
        "accelerate", "acl", "analytics", "cors", "delete", "inventory", "lifecycle", "location", "logging",
        "metrics", "notification", "object-lock", "partNumber", "policy", "replication", "requestPayment",
        "restore", "select", "select-type", "storageClass", "tagging", "torrent", "uploadId", "uploads",
        "versionId", "versioning", "versions", "website", "response-cache-control",
        "response-content-disposition", "response-content-encoding", "response-content-language",
        "response-content-type", "response-expires",
    }
)  # fmt: skip


def is_presigned_v2(raw_query: bytes) -> bool:
    names = {name for name, _ in parse_qsl(raw_query.decode("latin-1"), keep_blank_values=True)}
    return {"AWSAccessKeyId", "Signature"} <= names and "X-Amz-Algorithm" not in names


def string_to_sign(
    method: str, resource_path: str, raw_query: bytes, headers: Mapping[str, str], expires: str
) -> str:
    """``resource_path``: the path-style path as sent (``/bucket/key``, still percent-encoded)."""
    query = raw_query.decode("latin-1")
    pairs = [part.split("=", 1) for part in query.split("&") if part]
    decoded = parse_qsl(query, keep_blank_values=True)
    params = {name.lower(): value for name, value in decoded}
    amz: dict[str, list[str]] = {}
    for name, value in [*headers.items(), *decoded]:
        if name.lower().startswith("x-amz-"):
            amz.setdefault(name.lower(), []).append(value.strip())
    subresources = sorted(
        (pair[0], unquote(pair[1]) if len(pair) == 2 else None) for pair in pairs if pair[0] in SUBRESOURCES
    )
    resource = resource_path
    if subresources:
        resource += "?" + "&".join(
            name if value is None else f"{name}={value}" for name, value in subresources
        )
    lines = [
        method.upper(),
        params.get("content-md5", headers.get("content-md5", "")).strip(),
        params.get("content-type", headers.get("content-type", "")).strip(),
        expires,
        *(f"{name}:{','.join(values)}" for name, values in sorted(amz.items())),
        resource,
    ]
    return "\n".join(lines)


def verify_presigned_v2(
    method: str,
    resource_paths: list[str],
    raw_query: bytes,
    headers: Mapping[str, str],
    secret_for: Callable[[str], str | None],
    now: datetime,
) -> str:
    """The access key id of a valid SigV2 presigned request; S3's errors otherwise. ``resource_paths`` are
    the canonical paths to try (a virtual-host bucket's root is signed as ``/bucket/`` by some signers)."""
    params = dict(parse_qsl(raw_query.decode("latin-1"), keep_blank_values=True))
    expires = params.get("Expires", "")
    if not expires.isdigit():
        raise AccessDenied("Query-string authentication requires the Signature, Expires and AWSAccessKeyId "
                           "parameters")  # fmt: skip
    if now.timestamp() > int(expires):
        raise AccessDenied("Request has expired", Expires=expires)
    access_key_id = params["AWSAccessKeyId"]
    secret = secret_for(access_key_id)
    if secret is None:
        raise InvalidAccessKeyId(AWSAccessKeyId=access_key_id)
    provided = params["Signature"].encode()
    for path in resource_paths:
        text = string_to_sign(method, path, raw_query, headers, expires)
        digest = hmac.new(secret.encode(), text.encode("utf-8"), hashlib.sha1).digest()
        if hmac.compare_digest(base64.b64encode(digest), provided):
            return access_key_id
    raise SignatureDoesNotMatch(SignatureProvided=params["Signature"])
