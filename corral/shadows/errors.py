"""The iot-data API's errors, and the one mapping from a shadow rejection's code to AWS's exception.

Over MQTT a rejection is a ``/rejected`` message carrying AWS's numeric code; over HTTP the same rejection is
the exception the iot-data model names for that status.
"""

from __future__ import annotations

from typing import Final

from corral.errors import AWSServiceError
from corral.shadows.document import ShadowRejected


class DataPlaneError(AWSServiceError):
    """An iot-data request the service refuses."""


class InvalidRequest(DataPlaneError):
    code = "InvalidRequestException"
    status = 400


class Unauthorized(DataPlaneError):
    code = "UnauthorizedException"
    status = 401


class Forbidden(DataPlaneError):
    code = "ForbiddenException"
    status = 403


class ResourceNotFound(DataPlaneError):
    code = "ResourceNotFoundException"
    status = 404


class MethodNotAllowed(DataPlaneError):
    code = "MethodNotAllowedException"
    status = 405


class Conflict(DataPlaneError):
    code = "ConflictException"
    status = 409


class RequestEntityTooLarge(DataPlaneError):
    code = "RequestEntityTooLargeException"
    status = 413


class UnsupportedDocumentEncoding(DataPlaneError):
    code = "UnsupportedDocumentEncodingException"
    status = 415


class Throttling(DataPlaneError):
    code = "ThrottlingException"
    status = 429


class InternalFailure(DataPlaneError):
    code = "InternalFailureException"
    status = 500


class ServiceUnavailable(DataPlaneError):
    code = "ServiceUnavailableException"
    status = 503


_BY_CODE: Final[dict[int, type[DataPlaneError]]] = {
    cls.status: cls
    for cls in (
        InvalidRequest,
        Unauthorized,
        Forbidden,
        ResourceNotFound,
        MethodNotAllowed,
        Conflict,
        RequestEntityTooLarge,
        UnsupportedDocumentEncoding,
        Throttling,
        InternalFailure,
        ServiceUnavailable,
    )
}


def http_error(rejection: ShadowRejected) -> DataPlaneError:
    """The iot-data exception for a shadow rejection (an unknown code is our failure: 500)."""
    return _BY_CODE.get(rejection.code, InternalFailure)(rejection.message)
