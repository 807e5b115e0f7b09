"""The json protocol (JSON-RPC over POST /, operation in ``X-Amz-Target``): DynamoDB, SQS.

The whole input is one JSON object; the output too, with ``Content-Type: application/x-amz-json-1.0``
(or 1.1, the model's ``jsonVersion``). Errors are ``{"__type": code, "message": ...}``. A service that is
``awsQueryCompatible`` (SQS, once a query service) also names its old query error code and fault in
``x-amzn-query-error: AWS.SimpleQueueService.NonExistentQueue;Sender``: botocore reports that code.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
from botocore.model import OperationModel, ServiceModel

from corral.api.protocol.base import ErrorReply, Protocol, register, serialization_error
from corral.api.protocol.jsonbody import read_members, write_members
from corral.api.protocol.message import HttpRequest, HttpResponse
from corral.api.protocol.profiles import profile_for
from corral.api.protocol.rest_json import decode_json_body, error_document
from corral.api.protocol.values import ValueConversionError


def content_type(service: ServiceModel) -> str:
    return f"application/x-amz-json-{service.metadata.get('jsonVersion', '1.0')}"


class JsonProtocol(Protocol):
    name = "json"

    def parse_request(
        self, operation: OperationModel, request: HttpRequest, path_params: Mapping[str, str]
    ) -> dict[str, Any]:
        shape = operation.input_shape
        if shape is None or not request.body.strip():
            return {}
        document = decode_json_body(operation, request.body)
        if not isinstance(document, dict):
            raise serialization_error(operation, "The request body must be a JSON object")
        try:
            return read_members(shape, document, shape.members)
        except ValueConversionError as exc:
            raise serialization_error(operation, str(exc)) from exc

    def serialize_response(
        self, operation: OperationModel, output: Mapping[str, Any], request_id: str
    ) -> HttpResponse:
        shape = operation.output_shape
        document = {} if shape is None else write_members(shape, output)
        headers = {"x-amzn-RequestId": request_id, "Content-Type": content_type(operation.service_model)}
        return HttpResponse(200, headers, orjson.dumps(document))

    def serialize_error(self, service: ServiceModel, error: ErrorReply, request_id: str) -> HttpResponse:
        type_name = error.code if error.shape is None else str(error.shape.name)
        document = {"__type": type_name, **error_document(error)}
        headers = {
            "x-amzn-RequestId": request_id,
            "x-amzn-ErrorType": type_name,
            "Content-Type": content_type(service),
        }
        if service.is_query_compatible:
            fault = "Sender" if error.sender_fault else "Receiver"
            query_code = profile_for(service).query_error_codes.get(type_name, error.wire_code)
            headers["x-amzn-query-error"] = f"{query_code};{fault}"
        return HttpResponse(error.status, headers, orjson.dumps(document))


register(JsonProtocol())
