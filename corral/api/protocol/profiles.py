"""What each service answers when the protocol layer refuses a request: one table, one place.

The codes differ between services even on the same protocol, so they are data keyed by the service
model's name (as in botocore's data directory; its ``endpointPrefix`` is the fallback), with a default
per protocol.

Sources, as far as they were checked (public SDK issue threads quoting AWS's responses):
- IoT and the IoT data plane answer a path they do not serve with 404, ``x-amzn-ErrorType:
  ResourceNotFoundException`` and ``{"message": "Not Found"}`` (aws-sdk-ios#720, aws-sdk-go#493,
  aws-sdk-js#1698), and constraint failures with 400 ``InvalidRequestException`` whose message is the
  Coral sentence "N validation error(s) detected: Value '...' at '...' failed to satisfy constraint: ..."
  (aws-sdk-java#666).
- JSON-RPC services (DynamoDB, SQS) answer an unknown ``X-Amz-Target`` with 400
  ``UnknownOperationException`` and constraint failures with ``ValidationException``.
- Query services answer an unknown ``Action`` with 400 ``InvalidAction`` and constraint failures with
  ``ValidationError``.
The Lambda, S3 and query-service answers to unknown operations were not checked against AWS; they follow
the protocol family's habit and are easy to change here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from botocore.model import ServiceModel


@dataclass(frozen=True)
class ServiceProfile:
    """The error answers of one service for requests the protocol layer refuses."""

    validation_code: str = "ValidationException"
    validation_status: int = 400
    # A body, query parameter, header or label that cannot be read as its member's type.
    serialization_code: str = "SerializationException"
    serialization_status: int = 400
    unknown_operation_code: str = "UnknownOperationException"
    unknown_operation_status: int = 400
    # ``{action}`` is replaced with the operation name asked for (or the path when there is none).
    unknown_operation_message: str = "Unknown operation {action}"
    # awsQueryCompatible services: the old query error code of each error shape, for the
    # ``x-amzn-query-error`` header, where the model lacks ``error.code`` (SQS's does).
    query_error_codes: Mapping[str, str] = field(default_factory=dict)


_BY_PROTOCOL: dict[str, ServiceProfile] = {
    "rest-json": ServiceProfile(
        unknown_operation_code="UnknownOperationException",
        unknown_operation_status=404,
        unknown_operation_message="Unknown operation",
    ),
    "json": ServiceProfile(unknown_operation_message="Unknown operation {action}"),
    "query": ServiceProfile(
        validation_code="ValidationError",
        serialization_code="MalformedQueryString",
        unknown_operation_code="InvalidAction",
        unknown_operation_message="The action {action} is not valid for this web service.",
    ),
    "rest-xml": ServiceProfile(
        validation_code="InvalidArgument",
        serialization_code="MalformedXML",
        unknown_operation_code="NotImplemented",
        unknown_operation_status=501,
        unknown_operation_message="A header you provided implies functionality that is not implemented",
    ),
}

_IOT = ServiceProfile(
    validation_code="InvalidRequestException",
    serialization_code="InvalidRequestException",
    unknown_operation_code="ResourceNotFoundException",
    unknown_operation_status=404,
    unknown_operation_message="Not Found",
)

# SQS's query-era codes (its model before the move to JSON carried them as ``error.code``).
_SQS_QUERY_CODES = {
    "QueueDoesNotExist": "AWS.SimpleQueueService.NonExistentQueue",
    "QueueDeletedRecently": "AWS.SimpleQueueService.QueueDeletedRecently",
    "QueueNameExists": "QueueAlreadyExists",
    "MessageNotInflight": "AWS.SimpleQueueService.MessageNotInflight",
    "PurgeQueueInProgress": "AWS.SimpleQueueService.PurgeQueueInProgress",
    "BatchEntryIdsNotDistinct": "AWS.SimpleQueueService.BatchEntryIdsNotDistinct",
    "BatchRequestTooLong": "AWS.SimpleQueueService.BatchRequestTooLong",
    "EmptyBatchRequest": "AWS.SimpleQueueService.EmptyBatchRequest",
    "InvalidBatchEntryId": "AWS.SimpleQueueService.InvalidBatchEntryId",
    "TooManyEntriesInBatchRequest": "AWS.SimpleQueueService.TooManyEntriesInBatchRequest",
    "UnsupportedOperation": "AWS.SimpleQueueService.UnsupportedOperation",
}

_BY_SERVICE: dict[str, ServiceProfile] = {
    "iot": _IOT,
    "iot-data": _IOT,
    "lambda": replace(_BY_PROTOCOL["rest-json"], serialization_code="InvalidRequestContentException"),
    "sqs": replace(_BY_PROTOCOL["json"], query_error_codes=_SQS_QUERY_CODES),
}


def register_profile(service: str, profile: ServiceProfile) -> None:
    """Declare the answers of a service we ship a model for (the 1-Click services, say)."""
    _BY_SERVICE[service] = profile


def wire_protocol(service: ServiceModel) -> str:
    """The protocol botocore clients speak to ``service``: the first of the model's ``protocols`` they
    support (``resolved_protocol``), which can differ from the legacy ``protocol`` field (CloudWatch says
    smithy-rpc-v2-cbor there, and its clients send JSON)."""
    return str(getattr(service, "resolved_protocol", None) or service.protocol)


def profile_for(service: ServiceModel) -> ServiceProfile:
    for key in (service.service_name, service.endpoint_prefix):
        found = _BY_SERVICE.get(key)
        if found is not None:
            return found
    return _BY_PROTOCOL.get(wire_protocol(service), ServiceProfile())
