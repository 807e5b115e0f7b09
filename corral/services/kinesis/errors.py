"""Kinesis's errors, as the ``kinesis`` model names them (JSON protocol: the shape name is ``__type``)."""

from __future__ import annotations

from corral.errors import AWSServiceError


class KinesisError(AWSServiceError):
    code = "InvalidArgumentException"
    status = 400


class ResourceNotFoundException(KinesisError):
    code = "ResourceNotFoundException"


class ResourceInUseException(KinesisError):
    code = "ResourceInUseException"


class InvalidArgumentException(KinesisError):
    code = "InvalidArgumentException"


class ExpiredIteratorException(KinesisError):
    code = "ExpiredIteratorException"


class LimitExceededException(KinesisError):
    code = "LimitExceededException"


class ValidationException(KinesisError):
    code = "ValidationException"
