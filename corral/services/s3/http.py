"""S3's REST API as an ASGI application of its own, beside the generic AWS API (``corral/api/app.py``).

S3 needs what the generic path does not give: bodies streamed to disk instead of read into memory (uploads
of any size, hashed as they arrive), bodies streamed back (ranges), virtual-host-style addressing (the bucket
in the ``Host`` header: ``bucket.localhost:PORT``) and HEAD answers without bodies. The operations are still
the botocore model's: routing, parameter parsing, response headers and XML come from ``corral.api.protocol``.

Signatures: a request is verified before its body is read (``sigv4.verify(...,
payload_hash_checked_by_caller=True)``), with S3's error codes whatever the scope says.
``x-amz-content-sha256`` is a hex digest (botocore over HTTP), ``UNSIGNED-PAYLOAD`` (presigned URLs), or
``STREAMING-UNSIGNED-PAYLOAD-TRAILER`` with an ``aws-chunked`` body (botocore over HTTPS); a hex digest is
compared here with the body once it has arrived (XAmzContentSHA256Mismatch). Signed streaming
(``STREAMING-AWS4-HMAC-SHA256-PAYLOAD``, per-chunk signatures) is refused with S3's 501 NotImplemented:
neither botocore (boto3, the aws CLI) nor awscrt's Python binding can send it, so no client we test with does.

Presigned URLs of SigV2 (``AWSAccessKeyId``, ``Expires``, ``Signature``: boto3's default for S3 at a custom
endpoint) are verified by ``sigv2.py``; SigV2 ``Authorization: AWS ...`` headers are refused (InvalidRequest).

Which requests are S3's (:meth:`S3API.claims`): those signed for ``s3`` (SigV4, or SigV2 presigned), and
unsigned ones addressed to a bucket (virtual-host style, or path style naming an existing bucket) or carrying
a SigV2 ``Authorization`` header: they answer S3's AccessDenied (InvalidRequest for SigV2) as XML.

Multipart uploads (``multipart.py``): parts are streamed to disk like PutObject bodies; completion makes the
object visible atomically.
"""

from __future__ import annotations

import hashlib
import logging
import re
import urllib.parse
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

from corral import paging
from corral.api.protocol import (
    HttpResponse,
    ProtocolError,
    error_response,
    load_service_model,
    new_request_id,
    parse_request,
    route,
    serialize_error,
    serialize_response,
)
from corral.auth.sigv4 import (
    STREAMING_UNSIGNED_PAYLOAD_TRAILER,
    SigV4Error,
    credential_scope_service,
    error_style,
    verify,
)
from corral.errors import AWSServiceError
from corral.services.s3.bodies import Receive, body_chunks, read_body, receive_body
from corral.services.s3.errors import (
    InvalidArgument,
    InvalidRange,
    InvalidRequest,
    MalformedXML,
    NotModified,
    PreconditionFailed,
    XAmzContentSHA256Mismatch,
)
from corral.services.s3.multipart_api import OWNER, MultipartOperations, copy_source, stored_headers
from corral.services.s3.service import S3Service, StoredObject
from corral.services.s3.sigv2 import is_presigned_v2, verify_presigned_v2

log = logging.getLogger(__name__)

Scope = dict[str, Any]
Send = Callable[[dict[str, Any]], Awaitable[None]]

S3_ERRORS: Final = error_style("s3")
_HEX_SHA256: Final = re.compile(r"[0-9a-f]{64}")


class _TrackedBody:
    """The ASGI ``receive`` of one request, remembering whether the whole body was read."""

    def __init__(self, receive: Receive) -> None:
        self._receive = receive
        self.finished = False

    async def receive(self) -> dict[str, Any]:
        message = await self._receive()
        if message["type"] == "http.disconnect" or not message.get("more_body", False):
            self.finished = True
        return message


@dataclass(slots=True)
class Reply:
    response: HttpResponse
    file: Path | None = None
    start: int = 0
    length: int = 0


class S3API(MultipartOperations):
    def __init__(
        self,
        service: S3Service,
        secret_for: Callable[[str], str | None],
        hostnames: Sequence[str] = (),
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.service = service
        self.secret_for = secret_for
        self.model = load_service_model("s3")
        self.base_hosts = tuple(dict.fromkeys(["localhost", *hostnames]))
        self.clock = clock or (lambda: datetime.now(UTC))

    # -- which requests are S3's ---------------------------------------------------------------------

    async def claims(self, scope: Scope) -> bool:
        """Signed for ``s3``; or unsigned (no client certificate either) and addressed to S3: a SigV2
        ``Authorization: AWS ...`` header, a virtual-host bucket, or a path naming an existing bucket."""
        if scope.get("type") != "http":
            return False
        raw_query: bytes = scope.get("query_string", b"")
        service = credential_scope_service(scope["headers"], raw_query)
        if service is not None:
            return service == "s3"
        if scope.get("extensions", {}).get("tls", {}).get("client_cert_chain"):
            return False  # the IoT data plane's certificate-authenticated requests
        headers: dict[str, str] = {
            name.decode("latin-1").lower(): value.decode("latin-1") for name, value in scope["headers"]
        }
        authorization = headers.get("authorization")
        if authorization is not None:
            return authorization.startswith("AWS ")
        if is_presigned_v2(raw_query):
            return True  # S3 is the only service with SigV2 presigned URLs
        raw_path: bytes = scope.get("raw_path") or scope["path"].encode()
        if self._route_path(raw_path, headers) != (raw_path or b"/"):
            return True
        bucket = urllib.parse.unquote(raw_path.decode("latin-1")).lstrip("/").split("/", 1)[0]
        return bool(bucket) and bool(await self.service.bucket_exists(bucket))

    # -- ASGI ----------------------------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request_id = new_request_id()
        body = _TrackedBody(receive)
        try:
            reply = await self._respond(scope, body.receive, request_id)
        except SigV4Error as exc:
            if exc.canonical_request is not None:
                log.info("S3 signature mismatch; canonical request:\n%s", exc.canonical_request)
            reply = Reply(
                serialize_error(self.model, exc.code, exc.message, exc.status, request_id=request_id)
            )
        except ProtocolError as exc:
            reply = Reply(error_response(self.model, exc, request_id=request_id))
        except AWSServiceError as exc:
            reply = Reply(
                serialize_error(
                    self.model, exc.code, exc.message, exc.status, exc.extra, request_id=request_id
                )
            )
        except Exception:
            log.exception("internal error in S3 %s %s", scope["method"], scope.get("path"))
            reply = Reply(
                serialize_error(
                    self.model, "InternalError", "We encountered an internal error. Please try again.", 500,
                    request_id=request_id,
                )
            )  # fmt: skip
        if not body.finished:
            # Refused before its body was read (NoSuchBucket on a PUT...): the connection cannot carry another
            # request, since the unread body would be taken for it.
            reply.response.headers["Connection"] = "close"
        await self._send(scope, send, reply)

    async def _send(self, scope: Scope, send: Send, reply: Reply) -> None:
        response = reply.response
        headers = dict(response.headers)
        head = scope["method"] == "HEAD"
        if reply.file is not None:
            headers["Content-Length"] = str(reply.length)
        elif not head or response.status >= 300:
            headers["Content-Length"] = str(0 if head else len(response.body))
        if response.status == 304:
            headers.pop("Content-Length", None)
        await send(
            {
                "type": "http.response.start",
                "status": response.status,
                "headers": [
                    (k.lower().encode("latin-1"), str(v).encode("latin-1")) for k, v in headers.items()
                ],
            }
        )
        if head or response.status == 304:
            await send({"type": "http.response.body", "body": b""})
            return
        if reply.file is None:
            await send({"type": "http.response.body", "body": response.body})
            return
        remaining = reply.length
        try:
            with reply.file.open("rb") as body:
                body.seek(reply.start)
                while remaining > 0:
                    chunk = body.read(min(remaining, 256 * 1024))
                    if not chunk:
                        break
                    remaining -= len(chunk)
                    await send({"type": "http.response.body", "body": chunk, "more_body": remaining > 0})
        except FileNotFoundError:  # replaced meanwhile: the reader gets a short body, as on a dropped link
            remaining = 0
        if remaining:
            await send({"type": "http.response.body", "body": b""})

    # -- one request ---------------------------------------------------------------------------------

    def _route_path(self, raw_path: bytes, headers: dict[str, str]) -> bytes:
        """Virtual-host style (``bucket.localhost:PORT``) as path style (``/bucket/key``)."""
        host = headers.get("host", "").rsplit(":", 1)[0].lower() if "]" not in headers.get("host", "") else ""
        for base in self.base_hosts:
            if host.endswith("." + base):
                bucket = host[: -len(base) - 1].encode()
                return b"/" + bucket if raw_path in (b"", b"/") else b"/" + bucket + raw_path
        return raw_path or b"/"

    async def _respond(self, scope: Scope, receive: Receive, request_id: str) -> Reply:
        method: str = scope["method"]
        raw_path: bytes = scope.get("raw_path") or scope["path"].encode()
        raw_query: bytes = scope.get("query_string", b"")
        header_list: list[tuple[bytes, bytes]] = scope["headers"]
        headers: dict[str, str] = {}
        for name, value in header_list:
            key = name.decode("latin-1").lower()
            text = value.decode("latin-1")
            headers[key] = f"{headers[key]},{text}" if key in headers else text
        path = self._route_path(raw_path, headers)
        declared: str | None = None
        chunked = False
        if "authorization" not in headers and is_presigned_v2(raw_query):
            resource = path.decode("latin-1")
            virtual_root = path != (raw_path or b"/") and raw_path in (b"", b"/")
            resources = [resource, resource + "/"] if virtual_root else [resource]
            verify_presigned_v2(method, resources, raw_query, headers, self.secret_for, self.clock())
        else:
            signed = verify(
                method, raw_path, raw_query, header_list, b"", self.secret_for, self.clock(),
                style=S3_ERRORS, payload_hash_checked_by_caller=True,
            )  # fmt: skip
            payload = signed.payload_hash.lower()
            declared = payload if _HEX_SHA256.fullmatch(payload) else None  # the body must hash to it
            chunked = signed.payload_hash == STREAMING_UNSIGNED_PAYLOAD_TRAILER
        headers[":scheme"] = scope.get("scheme", "http")
        match = route(self.model, method, path, raw_query, header_list, b"")
        operation = match.operation
        if operation.name in ("PutObject", "UploadPart"):
            params = parse_request(
                operation, method, path, raw_query, header_list, b"", path_params=match.path_params
            )
            streamed = self._put_object if operation.name == "PutObject" else self._upload_part
            output = await streamed(params, headers, body_chunks(receive, chunked), declared)
            return Reply(serialize_response(operation, output, request_id=request_id))
        body = await read_body(receive, chunked)
        if declared is not None and hashlib.sha256(body).hexdigest() != declared:
            raise XAmzContentSHA256Mismatch()
        params = parse_request(
            operation, method, path, raw_query, header_list, body, path_params=match.path_params
        )
        handler = getattr(self, "_" + _snake(operation.name), None)
        if handler is None:
            log.warning("unsupported s3 operation: %s", operation.name)
            return Reply(
                serialize_error(
                    self.model, "NotImplemented",
                    "A header you provided implies functionality that is not implemented", 501,
                    request_id=request_id,
                )
            )  # fmt: skip
        result = await handler(params, headers)
        if isinstance(result, Reply):
            return result
        return Reply(serialize_response(operation, result, request_id=request_id))

    # -- buckets -------------------------------------------------------------------------------------

    async def _create_bucket(self, params: dict[str, Any], headers: dict[str, str]) -> dict[str, Any]:
        await self.service.create_bucket(params["Bucket"])
        return {"Location": f"/{params['Bucket']}"}

    async def _list_buckets(self, params: dict[str, Any], headers: dict[str, str]) -> dict[str, Any]:
        buckets = await self.service.list_buckets()
        return {
            "Buckets": [{"Name": name, "CreationDate": created} for name, created in buckets],
            "Owner": OWNER,
        }

    async def _delete_bucket(self, params: dict[str, Any], headers: dict[str, str]) -> dict[str, Any]:
        await self.service.delete_bucket(params["Bucket"])
        return {}

    async def _head_bucket(self, params: dict[str, Any], headers: dict[str, str]) -> dict[str, Any]:
        await self.service.require_bucket(params["Bucket"])
        return {"BucketRegion": self.service.region}

    async def _get_bucket_location(self, params: dict[str, Any], headers: dict[str, str]) -> dict[str, Any]:
        await self.service.require_bucket(params["Bucket"])
        region = self.service.region
        return {"LocationConstraint": None if region == "us-east-1" else region}

    # -- objects -------------------------------------------------------------------------------------

    async def _put_object(
        self,
        params: dict[str, Any],
        headers: dict[str, str],
        chunks: AsyncIterator[bytes],
        declared: str | None,
    ) -> dict[str, Any]:
        bucket, key = params["Bucket"], params["Key"]
        await self.service.require_bucket(bucket)
        staged, crc32 = await receive_body(self.service, params, headers, chunks, declared)
        try:
            stored = await self.service.commit(
                bucket, key, staged, params.get("ContentType"), params.get("Metadata") or {},
                stored_headers(params),
            )  # fmt: skip
        except BaseException:
            self.service.discard(staged)
            raise
        result: dict[str, Any] = {"ETag": stored.etag}
        if crc32 is not None:
            result["ChecksumCRC32"] = crc32
        return result

    def _object_headers(self, stored: StoredObject) -> dict[str, Any]:
        result: dict[str, Any] = {
            "ETag": stored.etag,
            "LastModified": stored.last_modified,
            "ContentType": stored.content_type,
            "ContentLength": stored.size,
            "AcceptRanges": "bytes",
            **stored.headers,
        }
        if stored.metadata:
            result["Metadata"] = stored.metadata
        return result

    def _preconditions(self, stored: StoredObject, params: dict[str, Any]) -> None:
        """If-Match / If-Unmodified-Since fail with 412; If-None-Match / If-Modified-Since with 304."""
        modified = datetime.fromtimestamp(int(stored.last_modified), UTC)
        if_match = params.get("IfMatch")
        if if_match is not None and if_match.strip() not in ("*", stored.etag, stored.etag.strip('"')):
            raise PreconditionFailed(Condition="If-Match")
        unmodified_since = params.get("IfUnmodifiedSince")
        if if_match is None and unmodified_since is not None and modified > _aware(unmodified_since):
            raise PreconditionFailed(Condition="If-Unmodified-Since")
        if_none_match = params.get("IfNoneMatch")
        if if_none_match is not None and if_none_match.strip() in ("*", stored.etag, stored.etag.strip('"')):
            raise NotModified()
        modified_since = params.get("IfModifiedSince")
        if if_none_match is None and modified_since is not None and modified <= _aware(modified_since):
            raise NotModified()

    async def _head_object(self, params: dict[str, Any], headers: dict[str, str]) -> dict[str, Any]:
        stored = await self.service.head_object(params["Bucket"], params["Key"])
        self._preconditions(stored, params)
        return self._object_headers(stored)

    async def _get_object(self, params: dict[str, Any], headers: dict[str, str]) -> Reply:
        stored = await self.service.head_object(params["Bucket"], params["Key"])
        self._preconditions(stored, params)
        output = self._object_headers(stored)
        for override, member in (
            ("ResponseContentType", "ContentType"),
            ("ResponseContentDisposition", "ContentDisposition"),
            ("ResponseContentEncoding", "ContentEncoding"),
            ("ResponseCacheControl", "CacheControl"),
            ("ResponseContentLanguage", "ContentLanguage"),
        ):
            if params.get(override) is not None:
                output[member] = params[override]
        start, length, status = 0, stored.size, 200
        if params.get("Range"):
            parsed = _parse_range(params["Range"], stored.size)
            if parsed is not None:
                start, end = parsed
                length = end - start + 1
                status = 206
                output["ContentRange"] = f"bytes {start}-{end}/{stored.size}"
        output["ContentLength"] = length
        operation = self.model.operation_model("GetObject")
        response = serialize_response(operation, output)
        response = HttpResponse(status, response.headers, b"")
        return Reply(response, stored.path, start, length)

    async def _delete_object(self, params: dict[str, Any], headers: dict[str, str]) -> dict[str, Any]:
        await self.service.delete_object(params["Bucket"], params["Key"])
        return {}

    async def _delete_objects(self, params: dict[str, Any], headers: dict[str, str]) -> dict[str, Any]:
        request = params.get("Delete")
        if not request or not request.get("Objects"):
            raise MalformedXML()
        if len(request["Objects"]) > 1000:
            raise MalformedXML()
        deleted = []
        for entry in request["Objects"]:
            await self.service.delete_object(params["Bucket"], entry["Key"])
            deleted.append({"Key": entry["Key"]})
        return {} if request.get("Quiet") else {"Deleted": deleted}

    async def _copy_object(self, params: dict[str, Any], headers: dict[str, str]) -> dict[str, Any]:
        source_bucket, source_key = copy_source(params["CopySource"])
        source = await self.service.head_object(source_bucket, source_key)
        replace = params.get("MetadataDirective") == "REPLACE"
        if (source_bucket, source_key) == (params["Bucket"], params["Key"]) and not replace:
            raise InvalidRequest(
                "This copy request is illegal because it is trying to copy an object to itself without "
                "changing the object's metadata, storage class, website redirect location or encryption "
                "attributes."
            )
        if replace:
            content_type = params.get("ContentType")
            metadata = params.get("Metadata") or {}
            kept_headers = stored_headers(params)
        else:
            content_type, metadata, kept_headers = source.content_type, source.metadata, source.headers
        copied = await self.service.copy_object(
            source, params["Bucket"], params["Key"], content_type, metadata, kept_headers
        )
        return {"CopyObjectResult": {"ETag": copied.etag, "LastModified": copied.last_modified}}

    async def _list_objects_v2(self, params: dict[str, Any], headers: dict[str, str]) -> dict[str, Any]:
        bucket = params["Bucket"]
        prefix = params.get("Prefix") or ""
        delimiter = params.get("Delimiter") or None
        max_keys = params.get("MaxKeys", 1000)
        if max_keys < 0:
            raise InvalidArgument("Argument maxKeys must be an integer between 0 and 2147483647")
        max_keys = min(max_keys, 1000)
        token = params.get("ContinuationToken")
        after = _decode_token(token) if token is not None else params.get("StartAfter")
        contents, prefixes, next_after = await self.service.list_page(
            bucket, prefix, delimiter, after, max_keys
        )
        url = params.get("EncodingType") == "url"

        def enc(text: str) -> str:
            return urllib.parse.quote(text, safe="/") if url else text

        result: dict[str, Any] = {
            "Name": bucket,
            "Prefix": enc(prefix),
            "MaxKeys": max_keys,
            "KeyCount": len(contents) + len(prefixes),
            "IsTruncated": next_after is not None,
            "Contents": [
                {
                    "Key": enc(o.key),
                    "LastModified": o.last_modified,
                    "ETag": o.etag,
                    "Size": o.size,
                    "StorageClass": "STANDARD",
                }
                for o in contents
            ]
            or None,
            "CommonPrefixes": [{"Prefix": enc(p)} for p in prefixes] or None,
        }
        if delimiter is not None:
            result["Delimiter"] = enc(delimiter)
        if url:
            result["EncodingType"] = "url"
        if token is not None:
            result["ContinuationToken"] = token
        if params.get("StartAfter") is not None:
            result["StartAfter"] = enc(params["StartAfter"])
        if next_after is not None:
            result["NextContinuationToken"] = paging.encode_token(next_after)
        return result


def _decode_token(token: str) -> str:
    try:
        return paging.decode_token(token) or ""
    except paging.BadToken as exc:
        raise InvalidArgument("The continuation token provided is incorrect") from exc


def _aware(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def _parse_range(text: str, size: int) -> tuple[int, int] | None:
    """``bytes=a-b``, ``bytes=a-`` or ``bytes=-n`` as (first, last); None for a header S3 ignores."""
    unit, _, spec = text.strip().partition("=")
    if unit.strip().lower() != "bytes" or "," in spec:
        return None
    first_text, dash, last_text = spec.strip().partition("-")
    if not dash:
        return None
    try:
        if not first_text:
            suffix = int(last_text)
            if suffix == 0:
                raise InvalidRange(RangeRequested=text, ActualObjectSize=str(size))
            return max(size - suffix, 0), size - 1
        first = int(first_text)
        last = int(last_text) if last_text else size - 1
    except ValueError:
        return None
    if first >= size:
        raise InvalidRange(RangeRequested=text, ActualObjectSize=str(size))
    if last < first:
        return None
    return first, min(last, size - 1)


def _snake(name: str) -> str:
    out = []
    for index, char in enumerate(name):
        if char.isupper() and index and not name[index - 1].isupper():
            out.append("_")
        out.append(char.lower())
    return "".join(out)
