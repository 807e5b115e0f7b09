"""S3's REST API as an ASGI application of its own, beside the generic AWS API (``corral/api/app.py``).

S3 needs what the generic path does not give: bodies streamed to disk instead of read into memory (uploads
of any size, hashed as they arrive), bodies streamed back (ranges), virtual-host-style addressing (the bucket
in the ``Host`` header: ``bucket.localhost:PORT``) and HEAD answers without bodies. The operations are still
the botocore model's: routing, parameter parsing, response headers and XML come from ``corral.api.protocol``.

Signatures: a request is verified before its body is read. ``x-amz-content-sha256`` is a hex digest (botocore
over HTTP), ``UNSIGNED-PAYLOAD``, or ``STREAMING-UNSIGNED-PAYLOAD-TRAILER`` with an ``aws-chunked`` body
(botocore over HTTPS); the hex digest is compared with the body once it has arrived (``sigv4.verify``
checks the signature over the declared digest first and only then reports a body that does not match it,
which is how a body it was not given is recognised). Signed streaming (``STREAMING-AWS4-HMAC-SHA256-PAYLOAD``)
is refused with S3's 501 NotImplemented.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import logging
import urllib.parse
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

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
from corral.auth.sigv4 import STREAMING_UNSIGNED_PAYLOAD_TRAILER, Failure, SigV4Error, verify
from corral.errors import AWSServiceError
from corral.services.s3.chunked import AwsChunkedDecoder, AwsChunkedError
from corral.services.s3.errors import (
    BadDigest,
    IncompleteBody,
    InvalidArgument,
    InvalidDigest,
    InvalidRange,
    InvalidRequest,
    MalformedXML,
    NotModified,
    PreconditionFailed,
    XAmzContentSHA256Mismatch,
)
from corral.services.s3.service import S3Service, StoredObject

log = logging.getLogger(__name__)

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]

MAX_REQUEST_BODY: Final = 16 * 1024 * 1024
"""For requests other than PutObject (XML documents)."""
STORED_HEADERS: Final = ("CacheControl", "ContentDisposition", "ContentEncoding", "ContentLanguage")
OWNER: Final = {"ID": "corral", "DisplayName": "corral"}


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


class S3API:
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
        declared: str | None = None
        try:
            verify(method, raw_path, raw_query, header_list, b"", self.secret_for, self.clock())
        except SigV4Error as exc:
            if exc.failure is not Failure.CONTENT_SHA256_MISMATCH:
                raise
            declared = headers["x-amz-content-sha256"].lower()  # signed; the body must hash to it
        path = self._route_path(raw_path, headers)
        match = route(self.model, method, path, raw_query, header_list, b"")
        operation = match.operation
        chunked = headers.get("x-amz-content-sha256") == STREAMING_UNSIGNED_PAYLOAD_TRAILER
        if operation.name == "PutObject":
            params = parse_request(
                operation, method, path, raw_query, header_list, b"", path_params=match.path_params
            )
            output = await self._put_object(params, headers, _body_chunks(receive, chunked), declared)
            return Reply(serialize_response(operation, output, request_id=request_id))
        body = await _read_body(receive, chunked)
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
        md5 = params.get("ContentMD5")
        expected_md5: bytes | None = None
        if md5 is not None:
            try:
                expected_md5 = base64.b64decode(md5, validate=True)
            except (binascii.Error, ValueError):
                expected_md5 = b""
            if len(expected_md5) != 16:
                raise InvalidDigest(**{"Content-MD5": md5})
        await self.service.require_bucket(bucket)
        trailers: dict[str, str] = {}
        staged = await self.service.stage(_collect_trailers(chunks, trailers))
        try:
            length = headers.get("x-amz-decoded-content-length") or (
                None
                if "aws-chunked" in headers.get("content-encoding", "")
                else headers.get("content-length")
            )
            if length is not None and length.isdigit() and int(length) != staged.size:
                raise IncompleteBody()
            if declared is not None and staged.sha256.hexdigest() != declared:
                raise XAmzContentSHA256Mismatch()
            if expected_md5 is not None and staged.md5.digest() != expected_md5:
                raise BadDigest(
                    CalculatedDigest=base64.b64encode(staged.md5.digest()).decode(), ExpectedDigest=str(md5)
                )
            crc32 = trailers.get("x-amz-checksum-crc32") or params.get("ChecksumCRC32")
            if crc32 is not None and crc32 != staged.crc32_base64:
                raise BadDigest("The CRC32 you specified did not match the calculated checksum.")
            stored_headers = {name: params[name] for name in STORED_HEADERS if params.get(name) is not None}
            if stored_headers.get("ContentEncoding") == "aws-chunked":
                del stored_headers["ContentEncoding"]
            stored = await self.service.commit(
                bucket, key, staged, params.get("ContentType"), params.get("Metadata") or {}, stored_headers
            )
        except BaseException:
            self.service.discard(staged)
            raise
        result: dict[str, Any] = {"ETag": stored.etag}
        if crc32 is not None:
            result["ChecksumCRC32"] = staged.crc32_base64
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
        source_text = urllib.parse.unquote(params["CopySource"].split("?", 1)[0]).lstrip("/")
        source_bucket, _, source_key = source_text.partition("/")
        if not source_bucket or not source_key:
            raise InvalidArgument(
                "Copy Source must mention the source bucket and key: sourcebucket/sourcekey"
            )
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
            stored_headers = {name: params[name] for name in STORED_HEADERS if params.get(name) is not None}
        else:
            content_type, metadata, stored_headers = source.content_type, source.metadata, source.headers
        copied = await self.service.copy_object(
            source, params["Bucket"], params["Key"], content_type, metadata, stored_headers
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
            result["NextContinuationToken"] = base64.urlsafe_b64encode(next_after.encode()).decode()
        return result


def _decode_token(token: str) -> str:
    try:
        return base64.urlsafe_b64decode(token.encode()).decode()
    except (ValueError, UnicodeDecodeError) as exc:
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


async def _body_chunks(receive: Receive, chunked: bool) -> AsyncIterator[bytes]:
    decoder = AwsChunkedDecoder() if chunked else None
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise IncompleteBody()
        data: bytes = message.get("body", b"")
        if decoder is not None:
            try:
                data = decoder.feed(data)
            except AwsChunkedError as exc:
                raise IncompleteBody(f"The aws-chunked body is malformed: {exc}") from exc
        if data:
            yield data
        if not message.get("more_body", False):
            break
    if decoder is not None:
        if not decoder.done:
            raise IncompleteBody()
        yield _Trailers(decoder.trailers)


class _Trailers(bytes):
    """An empty chunk carrying an aws-chunked body's trailer headers to the stager's caller."""

    trailers: dict[str, str]

    def __new__(cls, trailers: dict[str, str]) -> _Trailers:
        self = super().__new__(cls, b"")
        self.trailers = trailers
        return self


async def _collect_trailers(chunks: AsyncIterator[bytes], into: dict[str, str]) -> AsyncIterator[bytes]:
    async for chunk in chunks:
        if isinstance(chunk, _Trailers):
            into.update(chunk.trailers)
        elif chunk:
            yield chunk


async def _read_body(receive: Receive, chunked: bool) -> bytes:
    parts: list[bytes] = []
    size = 0
    async for chunk in _collect_trailers(_body_chunks(receive, chunked), {}):
        size += len(chunk)
        if size > MAX_REQUEST_BODY:
            raise InvalidRequest("The request body is too large")
        parts.append(chunk)
    return b"".join(parts)


def _snake(name: str) -> str:
    out = []
    for index, char in enumerate(name):
        if char.isupper() and index and not name[index - 1].isupper():
            out.append("_")
        out.append(char.lower())
    return "".join(out)
