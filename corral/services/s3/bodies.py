"""Request bodies of the S3 front: streamed from ASGI ``receive`` (plain or ``aws-chunked``), staged to disk
and checked against what the request declared; small XML bodies read whole."""

from __future__ import annotations

import base64
import binascii
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, Final

from corral.services.s3.chunked import AwsChunkedDecoder, AwsChunkedError
from corral.services.s3.errors import (
    BadDigest,
    IncompleteBody,
    InvalidDigest,
    InvalidRequest,
    XAmzContentSHA256Mismatch,
)
from corral.services.s3.service import S3Service
from corral.services.s3.staging import StagedBody

Receive = Callable[[], Awaitable[dict[str, Any]]]

MAX_REQUEST_BODY: Final = 16 * 1024 * 1024
"""For requests other than PutObject and UploadPart (XML documents)."""


async def receive_body(
    service: S3Service,
    params: dict[str, Any],
    headers: dict[str, str],
    chunks: AsyncIterator[bytes],
    declared: str | None,
) -> tuple[StagedBody, str | None]:
    """Streams a request body to a temp file and checks it against what the request declared (length,
    x-amz-content-sha256, Content-MD5, CRC32); the CRC32 it was checked against, if any, comes back."""
    md5 = params.get("ContentMD5")
    expected_md5: bytes | None = None
    if md5 is not None:
        try:
            expected_md5 = base64.b64decode(md5, validate=True)
        except (binascii.Error, ValueError):
            expected_md5 = b""
        if len(expected_md5) != 16:
            raise InvalidDigest(**{"Content-MD5": md5})
    trailers: dict[str, str] = {}
    staged = await service.stage(collect_trailers(chunks, trailers))
    try:
        length = headers.get("x-amz-decoded-content-length") or (
            None if "aws-chunked" in headers.get("content-encoding", "") else headers.get("content-length")
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
    except BaseException:
        service.discard(staged)
        raise
    return staged, crc32


async def body_chunks(receive: Receive, chunked: bool) -> AsyncIterator[bytes]:
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


async def collect_trailers(chunks: AsyncIterator[bytes], into: dict[str, str]) -> AsyncIterator[bytes]:
    async for chunk in chunks:
        if isinstance(chunk, _Trailers):
            into.update(chunk.trailers)
        elif chunk:
            yield chunk


async def read_body(receive: Receive, chunked: bool) -> bytes:
    parts: list[bytes] = []
    size = 0
    async for chunk in collect_trailers(body_chunks(receive, chunked), {}):
        size += len(chunk)
        if size > MAX_REQUEST_BODY:
            raise InvalidRequest("The request body is too large")
        parts.append(chunk)
    return b"".join(parts)
