"""CloudWatch's errors, named by their model shapes (the protocol adds the query-era code, which botocore
reports: ``ResourceNotFound``, ``InvalidParameterValue`` ...)."""

from __future__ import annotations

from corral.errors import AWSServiceError


class CloudWatchError(AWSServiceError):
    code = "InvalidParameterValueException"
    status = 400


class InvalidParameterValueException(CloudWatchError):
    code = "InvalidParameterValueException"


class MissingRequiredParameterException(CloudWatchError):
    code = "MissingRequiredParameterException"


class InvalidParameterCombinationException(CloudWatchError):
    code = "InvalidParameterCombinationException"


class ResourceNotFound(CloudWatchError):
    code = "ResourceNotFound"
    status = 404


class InvalidFormatFault(CloudWatchError):
    code = "InvalidFormatFault"


class InvalidNextToken(CloudWatchError):
    code = "InvalidNextToken"
