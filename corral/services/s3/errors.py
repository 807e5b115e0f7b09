"""S3's errors: the codes, statuses and messages of the Amazon S3 API reference's error table."""

from __future__ import annotations

from typing import ClassVar

from corral.errors import AWSServiceError


class S3Error(AWSServiceError):
    status: ClassVar[int] = 400
    default_message: ClassVar[str] = ""

    def __init__(self, message: str | None = None, **extra: str) -> None:
        super().__init__(message or self.default_message, **extra)


class NoSuchBucket(S3Error):
    code: ClassVar[str] = "NoSuchBucket"
    status: ClassVar[int] = 404
    default_message: ClassVar[str] = "The specified bucket does not exist"


class NoSuchKey(S3Error):
    code: ClassVar[str] = "NoSuchKey"
    status: ClassVar[int] = 404
    default_message: ClassVar[str] = "The specified key does not exist."


class BucketNotEmpty(S3Error):
    code: ClassVar[str] = "BucketNotEmpty"
    status: ClassVar[int] = 409
    default_message: ClassVar[str] = "The bucket you tried to delete is not empty"


class InvalidBucketName(S3Error):
    code: ClassVar[str] = "InvalidBucketName"
    status: ClassVar[int] = 400
    default_message: ClassVar[str] = "The specified bucket is not valid."


class InvalidDigest(S3Error):
    code: ClassVar[str] = "InvalidDigest"
    status: ClassVar[int] = 400
    default_message: ClassVar[str] = "The Content-MD5 you specified was invalid."


class BadDigest(S3Error):
    code: ClassVar[str] = "BadDigest"
    status: ClassVar[int] = 400
    default_message: ClassVar[str] = "The Content-MD5 you specified did not match what we received."


class InvalidRange(S3Error):
    code: ClassVar[str] = "InvalidRange"
    status: ClassVar[int] = 416
    default_message: ClassVar[str] = "The requested range is not satisfiable"


class PreconditionFailed(S3Error):
    code: ClassVar[str] = "PreconditionFailed"
    status: ClassVar[int] = 412
    default_message: ClassVar[str] = "At least one of the pre-conditions you specified did not hold"


class NotModified(S3Error):
    code: ClassVar[str] = "NotModified"
    status: ClassVar[int] = 304
    default_message: ClassVar[str] = "Not Modified"


class InvalidArgument(S3Error):
    code: ClassVar[str] = "InvalidArgument"
    status: ClassVar[int] = 400
    default_message: ClassVar[str] = "Invalid Argument"


class InvalidRequest(S3Error):
    code: ClassVar[str] = "InvalidRequest"
    status: ClassVar[int] = 400
    default_message: ClassVar[str] = "Invalid Request"


class EntityTooLarge(S3Error):
    code: ClassVar[str] = "EntityTooLarge"
    status: ClassVar[int] = 400
    default_message: ClassVar[str] = "Your proposed upload exceeds the maximum allowed object size."


class BucketAlreadyOwnedByYou(S3Error):
    code: ClassVar[str] = "BucketAlreadyOwnedByYou"
    status: ClassVar[int] = 409
    default_message: ClassVar[str] = (
        "Your previous request to create the named bucket succeeded and you already own it."
    )


class IncompleteBody(S3Error):
    code: ClassVar[str] = "IncompleteBody"
    default_message: ClassVar[str] = (
        "You did not provide the number of bytes specified by the Content-Length HTTP header"
    )


class XAmzContentSHA256Mismatch(S3Error):
    code: ClassVar[str] = "XAmzContentSHA256Mismatch"
    default_message: ClassVar[str] = (
        "The provided 'x-amz-content-sha256' header does not match what was computed."
    )


class MalformedXML(S3Error):
    code: ClassVar[str] = "MalformedXML"
    default_message: ClassVar[str] = (
        "The XML you provided was not well-formed or did not validate against our published schema"
    )


class NoSuchUpload(S3Error):
    code: ClassVar[str] = "NoSuchUpload"
    status: ClassVar[int] = 404
    default_message: ClassVar[str] = (
        "The specified upload does not exist. The upload ID may be invalid, or the upload may have been "
        "aborted or completed."
    )


class InvalidPart(S3Error):
    code: ClassVar[str] = "InvalidPart"
    default_message: ClassVar[str] = (
        "One or more of the specified parts could not be found. The part may not have been uploaded, or "
        "the specified entity tag may not match the part's entity tag."
    )


class InvalidPartOrder(S3Error):
    code: ClassVar[str] = "InvalidPartOrder"
    default_message: ClassVar[str] = (
        "The list of parts was not in ascending order. The parts list must be specified in order by part "
        "number."
    )


class EntityTooSmall(S3Error):
    code: ClassVar[str] = "EntityTooSmall"
    default_message: ClassVar[str] = "Your proposed upload is smaller than the minimum allowed object size."


class AccessDenied(S3Error):
    code: ClassVar[str] = "AccessDenied"
    status: ClassVar[int] = 403
    default_message: ClassVar[str] = "Access Denied"


class InvalidAccessKeyId(S3Error):
    code: ClassVar[str] = "InvalidAccessKeyId"
    status: ClassVar[int] = 403
    default_message: ClassVar[str] = "The AWS Access Key Id you provided does not exist in our records."


class SignatureDoesNotMatch(S3Error):
    code: ClassVar[str] = "SignatureDoesNotMatch"
    status: ClassVar[int] = 403
    default_message: ClassVar[str] = (
        "The request signature we calculated does not match the signature you provided. Check your key and "
        "signing method."
    )
