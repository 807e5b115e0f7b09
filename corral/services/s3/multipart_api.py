"""The multipart operations of the S3 front (a mixin of ``http.S3API``): CreateMultipartUpload, UploadPart
(streamed), UploadPartCopy, CompleteMultipartUpload, AbortMultipartUpload, ListParts, ListMultipartUploads.
The state and its invariants are ``multipart.py``'s."""

from __future__ import annotations

import contextlib
import re
import urllib.parse
from collections.abc import AsyncIterator
from typing import Any, Final

from corral.services.s3.bodies import receive_body
from corral.services.s3.errors import InvalidArgument, InvalidRequest
from corral.services.s3.multipart import MAX_PART_NUMBER, RequestedPart, Upload
from corral.services.s3.service import S3Service
from corral.services.s3.staging import StagedBody

OWNER: Final = {"ID": "corral", "DisplayName": "corral"}
_COPY_RANGE: Final = re.compile(r"bytes=(\d+)-(\d+)")


class MultipartOperations:
    service: S3Service

    async def _create_multipart_upload(
        self, params: dict[str, Any], headers: dict[str, str]
    ) -> dict[str, Any]:
        upload = await self.service.uploads.create(
            params["Bucket"], params["Key"], params.get("ContentType"), params.get("Metadata") or {},
            stored_headers(params), params.get("ChecksumAlgorithm"),
        )  # fmt: skip
        result: dict[str, Any] = {"Bucket": upload.bucket, "Key": upload.key, "UploadId": upload.upload_id}
        if upload.checksum_algorithm:
            result["ChecksumAlgorithm"] = upload.checksum_algorithm
        return result

    async def _upload_part(
        self,
        params: dict[str, Any],
        headers: dict[str, str],
        chunks: AsyncIterator[bytes],
        declared: str | None,
    ) -> dict[str, Any]:
        number = _part_number(params["PartNumber"])
        upload = await self.service.uploads.get(params["Bucket"], params["Key"], params["UploadId"])
        staged, crc32 = await receive_body(self.service, params, headers, chunks, declared)
        result: dict[str, Any] = {"ETag": await self._install(upload, number, staged, crc32)}
        if crc32 is not None:
            result["ChecksumCRC32"] = crc32
        return result

    async def _install(self, upload: Upload, number: int, staged: StagedBody, crc32: str | None) -> str:
        try:
            return (await self.service.uploads.put_part(upload, number, staged, crc32)).etag
        finally:
            self.service.discard(staged)  # a no-op once the part is installed (the file was moved)

    async def _upload_part_copy(self, params: dict[str, Any], headers: dict[str, str]) -> dict[str, Any]:
        number = _part_number(params["PartNumber"])
        upload = await self.service.uploads.get(params["Bucket"], params["Key"], params["UploadId"])
        source = await self.service.head_object(*copy_source(params["CopySource"]))
        start, length = 0, source.size
        if params.get("CopySourceRange") is not None:
            matched = _COPY_RANGE.fullmatch(params["CopySourceRange"].strip())
            if matched is None:
                raise InvalidArgument(
                    "The x-amz-copy-source-range value must be of the form bytes=first-last where first and "
                    "last are the zero-based offsets of the first and last bytes to copy",
                    ArgumentName="x-amz-copy-source-range", ArgumentValue=params["CopySourceRange"],
                )  # fmt: skip
            start, last = int(matched.group(1)), int(matched.group(2))
            if last < start or last >= source.size:
                raise InvalidRequest(
                    f"The specified copy range is invalid for the source object size: {source.size}"
                )
            length = last - start + 1

        async def chunks() -> AsyncIterator[bytes]:
            remaining = length
            with contextlib.suppress(FileNotFoundError), source.path.open("rb") as body:
                body.seek(start)
                while remaining > 0 and (chunk := body.read(min(remaining, 1024 * 1024))):
                    remaining -= len(chunk)
                    yield chunk

        staged = await self.service.stage(chunks())
        if staged.size != length:  # the source was replaced while being read
            self.service.discard(staged)
            raise InvalidRequest("The source object changed while it was being copied; try again")
        etag = await self._install(upload, number, staged, None)
        return {"CopyPartResult": {"ETag": etag, "LastModified": self.service.clock()}}

    async def _complete_multipart_upload(
        self, params: dict[str, Any], headers: dict[str, str]
    ) -> dict[str, Any]:
        bucket, key = params["Bucket"], params["Key"]
        upload = await self.service.uploads.get(bucket, key, params["UploadId"])
        requested = [
            RequestedPart(
                int(part.get("PartNumber", 0)), str(part.get("ETag", "")), part.get("ChecksumCRC32")
            )
            for part in (params.get("MultipartUpload") or {}).get("Parts") or []
        ]
        stored = await self.service.uploads.complete(upload, requested)
        host = headers.get("host", "localhost")
        location = f"{headers.get(':scheme', 'http')}://{host}/{bucket}/{urllib.parse.quote(key)}"
        return {"Location": location, "Bucket": bucket, "Key": key, "ETag": stored.etag}

    async def _abort_multipart_upload(
        self, params: dict[str, Any], headers: dict[str, str]
    ) -> dict[str, Any]:
        await self.service.uploads.abort(params["Bucket"], params["Key"], params["UploadId"])
        return {}

    async def _list_parts(self, params: dict[str, Any], headers: dict[str, str]) -> dict[str, Any]:
        upload = await self.service.uploads.get(params["Bucket"], params["Key"], params["UploadId"])
        max_parts = min(max(params.get("MaxParts", 1000), 0), 1000)
        marker = params.get("PartNumberMarker") or 0
        parts = [part for part in await self.service.uploads.parts(upload) if part.number > int(marker)]
        page, truncated = parts[:max_parts], len(parts) > max_parts
        result: dict[str, Any] = {
            "Bucket": upload.bucket,
            "Key": upload.key,
            "UploadId": upload.upload_id,
            "PartNumberMarker": int(marker),
            "MaxParts": max_parts,
            "IsTruncated": truncated,
            "Parts": [
                {
                    "PartNumber": part.number,
                    "LastModified": part.last_modified,
                    "ETag": part.etag,
                    "Size": part.size,
                    **({"ChecksumCRC32": part.crc32} if part.crc32 else {}),
                }
                for part in page
            ]
            or None,
            "Initiator": OWNER,
            "Owner": OWNER,
            "StorageClass": "STANDARD",
        }
        if page:
            result["NextPartNumberMarker"] = page[-1].number
        if upload.checksum_algorithm:
            result["ChecksumAlgorithm"] = upload.checksum_algorithm
        return result

    async def _list_multipart_uploads(
        self, params: dict[str, Any], headers: dict[str, str]
    ) -> dict[str, Any]:
        bucket = params["Bucket"]
        prefix = params.get("Prefix") or ""
        delimiter = params.get("Delimiter") or None
        max_uploads = min(max(params.get("MaxUploads", 1000), 0), 1000)
        key_marker, id_marker = params.get("KeyMarker"), params.get("UploadIdMarker")
        uploads, prefixes, truncated = await self.service.uploads.list_page(
            bucket, prefix, delimiter, key_marker, id_marker, max_uploads
        )
        url = params.get("EncodingType") == "url"

        def enc(text: str) -> str:
            return urllib.parse.quote(text, safe="/") if url else text

        result: dict[str, Any] = {
            "Bucket": bucket,
            "KeyMarker": enc(key_marker or ""),
            "UploadIdMarker": id_marker or "",
            "Prefix": enc(prefix),
            "MaxUploads": max_uploads,
            "IsTruncated": truncated,
            "Uploads": [
                {
                    "UploadId": u.upload_id,
                    "Key": enc(u.key),
                    "Initiated": u.initiated,
                    "StorageClass": "STANDARD",
                    "Owner": OWNER,
                    "Initiator": OWNER,
                }
                for u in uploads
            ]
            or None,
            "CommonPrefixes": [{"Prefix": enc(p)} for p in prefixes] or None,
        }
        if delimiter is not None:
            result["Delimiter"] = enc(delimiter)
        if url:
            result["EncodingType"] = "url"
        if truncated:
            last_key = max([u.key for u in uploads] + prefixes, key=str.encode)
            result["NextKeyMarker"] = enc(last_key)
            if uploads and uploads[-1].key == last_key:
                result["NextUploadIdMarker"] = uploads[-1].upload_id
        return result


def _part_number(value: Any) -> int:
    if not isinstance(value, int) or not 1 <= value <= MAX_PART_NUMBER:
        raise InvalidArgument(
            f"Part number must be an integer between 1 and {MAX_PART_NUMBER}, inclusive",
            ArgumentName="partNumber", ArgumentValue=str(value),
        )  # fmt: skip
    return value


STORED_HEADERS: Final = ("CacheControl", "ContentDisposition", "ContentEncoding", "ContentLanguage")


def stored_headers(params: dict[str, Any]) -> dict[str, str]:
    """The representation headers an object keeps (Content-Encoding ``aws-chunked`` is the upload's own)."""
    stored = {name: params[name] for name in STORED_HEADERS if params.get(name) is not None}
    if stored.get("ContentEncoding") == "aws-chunked":
        del stored["ContentEncoding"]
    return stored


def copy_source(text: str) -> tuple[str, str]:
    """``x-amz-copy-source`` (``bucket/key`` or ``/bucket/key``, percent-encoded, maybe ``?versionId=``)."""
    source_text = urllib.parse.unquote(text.split("?", 1)[0]).lstrip("/")
    source_bucket, _, source_key = source_text.partition("/")
    if not source_bucket or not source_key:
        raise InvalidArgument("Copy Source must mention the source bucket and key: sourcebucket/sourcekey")
    return source_bucket, source_key
