"""Firehose's errors, as the ``firehose`` model names them."""

from __future__ import annotations

from corral.errors import AWSServiceError


class FirehoseError(AWSServiceError):
    code = "InvalidArgumentException"
    status = 400


class ResourceNotFoundException(FirehoseError):
    code = "ResourceNotFoundException"


class ResourceInUseException(FirehoseError):
    code = "ResourceInUseException"


class InvalidArgumentException(FirehoseError):
    code = "InvalidArgumentException"
