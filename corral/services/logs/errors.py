"""CloudWatch Logs' errors, as the ``logs`` model names them."""

from __future__ import annotations

from corral.errors import AWSServiceError


class LogsError(AWSServiceError):
    code = "InvalidParameterException"
    status = 400


class ResourceNotFoundException(LogsError):
    code = "ResourceNotFoundException"


class ResourceAlreadyExistsException(LogsError):
    code = "ResourceAlreadyExistsException"


class InvalidParameterException(LogsError):
    code = "InvalidParameterException"
