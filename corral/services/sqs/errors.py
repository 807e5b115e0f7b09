"""SQS's errors: each carries the shape name of the JSON protocol's ``__type``; the protocol layer adds the
query-era code (``AWS.SimpleQueueService.NonExistentQueue`` …) in ``x-amzn-query-error``, which botocore
reports as the error code."""

from __future__ import annotations

from corral.errors import AWSServiceError


class SqsError(AWSServiceError):
    code = "InvalidParameterValue"
    status = 400


class QueueDoesNotExist(SqsError):
    code = "QueueDoesNotExist"

    def __init__(self, message: str = "The specified queue does not exist.") -> None:
        super().__init__(message)


class QueueNameExists(SqsError):
    code = "QueueNameExists"


class QueueDeletedRecently(SqsError):
    code = "QueueDeletedRecently"


class InvalidParameterValue(SqsError):
    code = "InvalidParameterValue"


class MissingParameter(SqsError):
    code = "MissingParameter"


class InvalidAttributeName(SqsError):
    code = "InvalidAttributeName"


class InvalidAttributeValue(SqsError):
    code = "InvalidAttributeValue"


class ReceiptHandleIsInvalid(SqsError):
    code = "ReceiptHandleIsInvalid"


class MessageNotInflight(SqsError):
    code = "MessageNotInflight"

    def __init__(self, message: str = "Message is not in flight.") -> None:
        super().__init__(message)


class PurgeQueueInProgress(SqsError):
    code = "PurgeQueueInProgress"
    status = 403


class EmptyBatchRequest(SqsError):
    code = "EmptyBatchRequest"


class TooManyEntriesInBatchRequest(SqsError):
    code = "TooManyEntriesInBatchRequest"


class BatchEntryIdsNotDistinct(SqsError):
    code = "BatchEntryIdsNotDistinct"


class InvalidBatchEntryId(SqsError):
    code = "InvalidBatchEntryId"


class BatchRequestTooLong(SqsError):
    code = "BatchRequestTooLong"


class InvalidMessageContents(SqsError):
    code = "InvalidMessageContents"


def invalid_value(parameter: str, value: object, reason: str) -> InvalidParameterValue:
    """AWS's sentence for a parameter outside its range."""
    return InvalidParameterValue(f"Value {value} for parameter {parameter} is invalid. Reason: {reason}")
