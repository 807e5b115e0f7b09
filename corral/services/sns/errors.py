"""SNS's errors, by the model's shape names (the query protocol answers each shape's ``error.code``)."""

from __future__ import annotations

from corral.errors import AWSServiceError


class SnsError(AWSServiceError):
    code = "InvalidParameterException"
    status = 400


class InvalidParameter(SnsError):
    code = "InvalidParameterException"


class NotFound(SnsError):
    code = "NotFoundException"
    status = 404


class AuthorizationError(SnsError):
    code = "AuthorizationErrorException"
    status = 403


class EmptyBatchRequest(SnsError):
    code = "EmptyBatchRequestException"


class TooManyEntriesInBatchRequest(SnsError):
    code = "TooManyEntriesInBatchRequestException"


class BatchEntryIdsNotDistinct(SnsError):
    code = "BatchEntryIdsNotDistinctException"


class InvalidBatchEntryId(SnsError):
    code = "InvalidBatchEntryIdException"
