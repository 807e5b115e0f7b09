"""The 1-Click services' errors: the codes both APIs declare, each with its HTTP status.

Both models give their errors a ``code`` and a ``message``; ``code`` repeats the error's name, as AWS's
bodies do.
"""

from __future__ import annotations

from corral.errors import AWSServiceError


class OneClickError(AWSServiceError):
    def __init__(self, message: str) -> None:
        super().__init__(message, code=self.code)


class InvalidRequest(OneClickError):
    code = "InvalidRequestException"
    status = 400


class Forbidden(OneClickError):
    code = "ForbiddenException"
    status = 403


class ResourceNotFound(OneClickError):
    code = "ResourceNotFoundException"
    status = 404


class ResourceConflict(OneClickError):
    code = "ResourceConflictException"
    status = 409


class PreconditionFailed(OneClickError):
    code = "PreconditionFailedException"
    status = 412


class RangeNotSatisfiable(OneClickError):
    code = "RangeNotSatisfiableException"
    status = 416
