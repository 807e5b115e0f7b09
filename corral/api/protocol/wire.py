"""The protocol layer's entry points: route, parse (and validate), serialize a result or an error.

    service = load_service_model("iot")
    match = route(service, "POST", raw_path, query_string, headers, body)       # UnknownOperationError
    params = parse_request(match.operation, "POST", raw_path, query_string, headers, body,
                           path_params=match.path_params)                        # ValidationError...
    status, headers, body = serialize_response(match.operation, output)
    status, headers, body = serialize_error(service, "ResourceNotFoundException", "...")

Each call picks the protocol module named by the service model (rest-json, json, query, rest-xml).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from botocore.model import OperationModel, ServiceModel

# Importing a protocol module registers it.
from corral.api.protocol import json_rpc as _json_rpc  # noqa: F401
from corral.api.protocol import query as _query  # noqa: F401
from corral.api.protocol import rest_json as _rest_json  # noqa: F401
from corral.api.protocol import rest_xml as _rest_xml  # noqa: F401
from corral.api.protocol.base import ErrorReply, protocol_for
from corral.api.protocol.errors import ProtocolError, ValidationError
from corral.api.protocol.message import HeadersInput, HttpRequest, HttpResponse, QueryInput
from corral.api.protocol.models import find_error_shape, load_service_model
from corral.api.protocol.profiles import profile_for
from corral.api.protocol.routing import OperationMatch, router_for
from corral.api.protocol.validate import find_problems


def new_request_id() -> str:
    return str(uuid.uuid4())


def route(
    service: ServiceModel,
    method: str,
    raw_path: str | bytes,
    query: QueryInput = None,
    headers: HeadersInput = None,
    body: bytes = b"",
) -> OperationMatch:
    """The operation the request asks for, and its path labels; ``UnknownOperationError`` if none."""
    return router_for(service).match(HttpRequest.build(method, raw_path, query, headers, body))


def parse_request(
    operation: OperationModel,
    method: str,
    raw_path: str | bytes,
    query: QueryInput = None,
    headers: HeadersInput = None,
    body: bytes = b"",
    *,
    path_params: Mapping[str, str] | None = None,
    validate: bool = True,
) -> dict[str, Any]:
    """The input parameters of ``operation`` in the request, as a botocore client would have had them.

    Raises ``SerializationError`` for a body or value that is not of its member's type, and (unless
    ``validate`` is false) ``ValidationError`` for input that breaks the model's constraints.
    """
    request = HttpRequest.build(method, raw_path, query, headers, body)
    if path_params is None:
        path_params = router_for(operation.service_model).path_params(operation, request)
    params = protocol_for(operation.service_model).parse_request(operation, request, path_params)
    if validate:
        validate_input(operation, params)
    return params


def validate_input(operation: OperationModel, params: Mapping[str, Any]) -> None:
    """Raise the service's ``ValidationError`` if ``params`` break the input shape's constraints."""
    problems = find_problems(operation.input_shape, params)
    if problems:
        profile = profile_for(operation.service_model)
        raise ValidationError(profile.validation_code, problems, profile.validation_status)


def serialize_response(
    operation: OperationModel, output: Mapping[str, Any] | None = None, *, request_id: str | None = None
) -> HttpResponse:
    """Status, headers and body for ``output`` (the output shape's members; None values omitted)."""
    protocol = protocol_for(operation.service_model)
    return protocol.serialize_response(operation, output or {}, request_id or new_request_id())


def serialize_error(
    service: ServiceModel | str,
    code: str,
    message: str,
    status: int | None = None,
    extra: Mapping[str, Any] | None = None,
    *,
    request_id: str | None = None,
) -> HttpResponse:
    """An AWS error response in the service's protocol.

    ``code`` is the error's shape name or wire code; when the model declares it, its
    ``error.httpStatusCode`` is the status unless ``status`` is given (default 400 otherwise), and
    ``extra`` members (``resourceId``, ``resourceArn``...) are written through its shape.
    """
    model = load_service_model(service) if isinstance(service, str) else service
    shape = find_error_shape(model, code)
    if status is None:
        modeled = shape.metadata.get("error", {}).get("httpStatusCode") if shape is not None else None
        status = int(modeled) if modeled is not None else 400
    reply = ErrorReply(code, message, status, shape, dict(extra or {}))
    return protocol_for(model).serialize_error(model, reply, request_id or new_request_id())


def error_response(
    service: ServiceModel | str, error: ProtocolError, *, request_id: str | None = None
) -> HttpResponse:
    """The response for an error this layer raised (unknown operation, validation, serialization)."""
    return serialize_error(service, error.code, error.message, error.status, request_id=request_id)
