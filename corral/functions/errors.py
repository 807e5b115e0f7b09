"""The Lambda API's errors: each the exception botocore's ``lambda`` model names, with AWS's status.

Lambda's error bodies carry ``Type`` (``User`` for the caller's mistakes, ``Service`` for ours) beside the
message, as AWS sends them.
"""

from __future__ import annotations

from corral.errors import AWSServiceError


class FunctionsError(AWSServiceError):
    """A Lambda request the service refuses."""

    def __init__(self, message: str, **extra: str) -> None:
        super().__init__(message, **{"Type": "User", **extra})


class InvalidParameterValue(FunctionsError):
    code = "InvalidParameterValueException"
    status = 400


class InvalidRequestContent(FunctionsError):
    code = "InvalidRequestContentException"
    status = 400


class ResourceNotFound(FunctionsError):
    code = "ResourceNotFoundException"
    status = 404


class ResourceConflict(FunctionsError):
    code = "ResourceConflictException"
    status = 409


class PreconditionFailed(FunctionsError):
    code = "PreconditionFailedException"
    status = 412


class RequestTooLarge(FunctionsError):
    code = "RequestTooLargeException"
    status = 413


class TooManyRequests(FunctionsError):
    """Throttled: ``Reason`` says which limit (as AWS's ``ThrottleReason``)."""

    code = "TooManyRequestsException"
    status = 429


class ServiceFailure(FunctionsError):
    code = "ServiceException"
    status = 500

    def __init__(self, message: str) -> None:
        AWSServiceError.__init__(self, message, Type="Service")


def function_not_found(arn: str) -> ResourceNotFound:
    return ResourceNotFound(f"Function not found: {arn}")


class Validation(FunctionsError):
    """A member outside AWS's limits, answered with AWS's validation sentence."""

    code = "ValidationException"
    status = 400
