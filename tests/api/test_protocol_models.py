"""Every operation of every model we serve survives the trip through botocore and back.

Requests: botocore's own serializer makes the request from sample input (every member filled); routing
must find the same operation and parsing must give back exactly that input. Responses: sample output
serialized by us and parsed by botocore's own parser must come back equal.
"""

from __future__ import annotations

from typing import Any

import pytest
from botocore.model import OperationModel

from corral.api.protocol import load_service_model, route, serialize_response
from tests.api.botocore_loop import botocore_parse, parse_wire, wire_request
from tests.api.samples import sample_input

SERVICES = ["iot", "iot-data", "lambda", "sns", "sqs", "dynamodb", "s3"]
# Deprecated operations whose shapes are ambiguous on the wire (S3's old notification configuration
# has both a flattened ``Event`` list and an ``Event`` member).
AMBIGUOUS = {("s3", "PutBucketNotification"), ("s3", "GetBucketNotification")}


def _operations() -> list[Any]:
    cases = []
    for service_name in SERVICES:
        service = load_service_model(service_name)
        for name in service.operation_names:
            cases.append(pytest.param(service_name, name, id=f"{service_name}.{name}"))
    return cases


def _signature(operation: OperationModel) -> tuple[str, str, tuple[str, ...]]:
    shape = operation.input_shape
    required = tuple(sorted(shape.required_members)) if shape is not None else ()
    return operation.http.get("method", "POST"), operation.http.get("requestUri", "/"), required


def _event_stream(operation: OperationModel, shape_attr: str) -> bool:
    shape = getattr(operation, shape_attr)
    return shape is not None and any(m.serialization.get("eventstream") for m in shape.members.values())


@pytest.mark.parametrize(("service_name", "operation_name"), _operations())
def test_request_round_trip(service_name: str, operation_name: str) -> None:
    service = load_service_model(service_name)
    operation = service.operation_model(operation_name)
    if (service_name, operation_name) in AMBIGUOUS:
        pytest.skip("deprecated operation with an ambiguous wire shape")
    if operation.endpoint and "hostPrefix" in operation.endpoint:
        pytest.skip("input bound to the host name (S3 Object Lambda): not routed by path")
    params = sample_input(operation.input_shape)
    wire = wire_request(operation, params)

    match = route(service, wire.method, wire.raw_path, wire.query, wire.headers, wire.body)
    if match.operation.name != operation_name:
        # Only an operation with the same method, URI and required members may stand in (a deprecated
        # twin such as S3's GetBucketLifecycle, or S3 Express's ListDirectoryBuckets, told apart by host).
        assert _signature(match.operation) == _signature(operation) or operation.deprecated, (
            match.operation.name
        )
        return
    assert parse_wire(operation, wire) == params


@pytest.mark.parametrize(("service_name", "operation_name"), _operations())
def test_response_round_trip(service_name: str, operation_name: str) -> None:
    service = load_service_model(service_name)
    operation = service.operation_model(operation_name)
    if (service_name, operation_name) in AMBIGUOUS:
        pytest.skip("deprecated operation with an ambiguous wire shape")
    if _event_stream(operation, "output_shape"):
        with pytest.raises(NotImplementedError):
            serialize_response(operation, {})
        return
    output = sample_input(operation.output_shape)
    response = serialize_response(operation, output)
    assert response.headers["x-amzn-RequestId"]
    shape = operation.output_shape
    payload = shape.serialization.get("payload") if shape is not None else None
    if payload is not None and shape.members[payload].type_name in ("blob", "string"):
        # A client reads a streaming payload as the raw body; the rest comes from the headers.
        expected = output.pop(payload)
        assert response.body == (expected.encode() if isinstance(expected, str) else expected)
        parsed = botocore_parse(operation, response._replace(body=b""))
        parsed.pop(payload, None)
        assert parsed == output
        return
    assert botocore_parse(operation, response) == output
