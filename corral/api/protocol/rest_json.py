"""The rest-json protocol (IoT, the IoT data plane, Lambda, the 1-Click services).

Requests: members bound to the path, query and headers (rest.py); the rest is a JSON object in the body,
or the body *is* the ``payload`` member (raw bytes for a blob, as the IoT data plane's Publish and
UpdateThingShadow send them, without a Content-Type; a JSON object for a structure).

Errors: the code in the ``x-amzn-ErrorType`` header, which is where botocore and the other SDKs read it
first, and ``{"message": ...}`` plus the modeled members in the body. AWS IoT sends no code in the body.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
from botocore.model import OperationModel, ServiceModel, Shape

from corral.api.protocol.base import ErrorReply, Protocol, register, serialization_error
from corral.api.protocol.jsonbody import read_members, read_value, write_members, write_value
from corral.api.protocol.message import HttpRequest, HttpResponse
from corral.api.protocol.rest import (
    body_member_names,
    check_output,
    is_streaming_payload,
    read_rest_request,
    write_bound_members,
)

JSON_CONTENT_TYPE = "application/json"


def decode_json_body(operation: OperationModel, body: bytes) -> Any:
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise serialization_error(operation, f"The request body is not valid JSON: {exc}") from exc


class RestJsonProtocol(Protocol):
    name = "rest-json"

    def parse_request(
        self, operation: OperationModel, request: HttpRequest, path_params: Mapping[str, str]
    ) -> dict[str, Any]:
        def payload(member: Shape, name: str) -> Any:
            return read_value(member, decode_json_body(operation, request.body), name)

        def members(shape: Shape) -> dict[str, Any]:
            document = decode_json_body(operation, request.body)
            if not isinstance(document, dict):
                raise serialization_error(operation, "The request body must be a JSON object")
            return read_members(shape, document, body_member_names(shape))

        return read_rest_request(operation, request, path_params, payload, members)

    def serialize_response(
        self, operation: OperationModel, output: Mapping[str, Any], request_id: str
    ) -> HttpResponse:
        shape = operation.output_shape
        status = int(operation.http.get("responseCode", 200))
        headers: dict[str, str] = {"x-amzn-RequestId": request_id}
        if shape is None:
            headers["Content-Type"] = JSON_CONTENT_TYPE
            return HttpResponse(status, headers, b"{}")
        check_output(shape, output)
        status_member, bound = write_bound_members(shape, output)
        headers.update(bound)
        payload = shape.serialization.get("payload")
        body: bytes
        if is_streaming_payload(shape, payload):
            assert payload is not None
            value = output.get(payload)
            body = value.encode("utf-8") if isinstance(value, str) else bytes(value or b"")
            if shape.members[payload].type_name == "blob":
                headers.setdefault("Content-Type", "application/octet-stream")
            else:
                headers.setdefault("Content-Type", "text/plain; charset=utf-8")
        elif payload is not None:
            value = output.get(payload)
            body = b"" if value is None else orjson.dumps(write_value(shape.members[payload], value))
            headers.setdefault("Content-Type", JSON_CONTENT_TYPE)
        else:
            body = orjson.dumps(write_members(shape, output, body_member_names(shape)))
            headers.setdefault("Content-Type", JSON_CONTENT_TYPE)
        return HttpResponse(status_member or status, headers, body)

    def serialize_error(self, service: ServiceModel, error: ErrorReply, request_id: str) -> HttpResponse:
        document = error_document(error)
        headers = {
            "x-amzn-RequestId": request_id,
            "x-amzn-ErrorType": error.code if error.shape is None else str(error.shape.name),
            "Content-Type": JSON_CONTENT_TYPE,
        }
        if error.shape is not None:
            _, bound = write_bound_members(error.shape, error.extra)
            headers.update(bound)
        return HttpResponse(error.status, headers, orjson.dumps(document))


def error_document(error: ErrorReply) -> dict[str, Any]:
    """``{"message": ...}`` and the extra members, written through the error shape when it is modeled."""
    message_member = error.message_member()
    values: dict[str, Any] = {message_member: error.message, **error.extra}
    if error.shape is None:
        return values
    modeled = {k: v for k, v in values.items() if k in error.shape.members}
    document = write_members(error.shape, modeled, body_member_names(error.shape))
    document.update({k: v for k, v in values.items() if k not in error.shape.members})
    return document


register(RestJsonProtocol())
