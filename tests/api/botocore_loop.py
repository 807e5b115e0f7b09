"""Drive the protocol layer with botocore itself, in-process.

``wire_request`` turns parameters into the bytes botocore would send (its own serializer and request
preparation, without a client's customizations); ``Loop`` is a real boto3 client whose ``before-send``
hook hands each prepared request to the protocol layer and answers with what the layer serializes, so a
test sees both what the "server" parsed and what botocore parsed back.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, cast
from urllib.parse import urlsplit

import boto3
from botocore.awsrequest import AWSResponse, create_request_object, prepare_request_dict
from botocore.config import Config
from botocore.model import OperationModel, ServiceModel
from botocore.parsers import create_parser
from botocore.serialize import create_serializer

from corral.api.protocol import (
    HttpResponse,
    ProtocolError,
    error_response,
    load_service_model,
    parse_request,
    route,
    serialize_response,
)

ENDPOINT = "http://127.0.0.1:9"


@lru_cache(maxsize=1)
def _session() -> boto3.session.Session:
    """One session for every test client: it caches the models and endpoint rules it loads."""
    return boto3.session.Session()


@dataclass(frozen=True)
class WireRequest:
    method: str
    raw_path: str
    query: str
    headers: dict[str, str]
    body: bytes


def _body_bytes(body: Any) -> bytes:
    if body is None:
        return b""
    if isinstance(body, bytes | bytearray):
        return bytes(body)
    if isinstance(body, str):
        return body.encode("utf-8")
    read = getattr(body, "read", None)
    if callable(read):
        data = read()
        seek = getattr(body, "seek", None)
        if callable(seek):
            seek(0)
        return data if isinstance(data, bytes) else str(data).encode("utf-8")
    raise TypeError(f"unexpected body {type(body)!r}")


def from_prepared(request: Any) -> WireRequest:
    """A botocore AWSPreparedRequest as the server would receive it."""
    url = urlsplit(str(request.url))
    headers = {
        str(k): v.decode("latin-1") if isinstance(v, bytes) else str(v) for k, v in request.headers.items()
    }
    return WireRequest(str(request.method), url.path or "/", url.query, headers, _body_bytes(request.body))


def wire_request(operation: OperationModel, params: Mapping[str, Any]) -> WireRequest:
    """The request botocore's own serializer makes of ``params`` (no client customizations)."""
    serializer = create_serializer(str(operation.service_model.protocol), include_validation=False)
    request_dict = serializer.serialize_to_request(dict(params), operation)
    prepare_request_dict(request_dict, ENDPOINT)
    return from_prepared(create_request_object(request_dict).prepare())


def parse_wire(operation: OperationModel, request: WireRequest, *, validate: bool = False) -> dict[str, Any]:
    return parse_request(
        operation,
        request.method,
        request.raw_path,
        request.query,
        request.headers,
        request.body,
        validate=validate,
    )


def botocore_parse(
    operation: OperationModel, response: HttpResponse, *, error: bool = False
) -> dict[str, Any]:
    """What botocore's parser makes of a response (ResponseMetadata removed)."""
    parser = create_parser(str(operation.service_model.protocol))
    shape = None if error else operation.output_shape
    parsed = parser.parse(
        {"status_code": response.status, "headers": _lower(response.headers), "body": response.body}, shape
    )
    parsed.pop("ResponseMetadata", None)
    return cast(dict[str, Any], parsed)


def _lower(headers: Mapping[str, str]) -> Any:
    from botocore.awsrequest import HeadersDict

    result = HeadersDict()
    for key, value in headers.items():
        result[key] = value
    return result


class _Raw(io.BytesIO):
    """What botocore expects of urllib3's response: ``stream()`` for the parsers, ``read()`` for streams."""

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self.getvalue()


Reply = Callable[[OperationModel, dict[str, Any]], Mapping[str, Any] | HttpResponse]


@dataclass
class Call:
    operation: str
    params: dict[str, Any]
    request: WireRequest


@dataclass
class Loop:
    """A boto3 client whose requests are answered in-process by the protocol layer."""

    service_name: str
    reply: Reply = field(default=lambda operation, params: {})
    calls: list[Call] = field(default_factory=list)
    errors: list[ProtocolError] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.service: ServiceModel = load_service_model(self.service_name)
        self.client: Any = _session().client(
            self.service_name,
            endpoint_url=ENDPOINT,
            region_name="us-east-1",
            aws_access_key_id="AKIDCORRALTEST",
            aws_secret_access_key="secret",
            config=Config(retries={"max_attempts": 0}, s3={"addressing_style": "path"}),
        )
        self.client.meta.events.register("before-send", self._answer)

    @property
    def last(self) -> Call:
        return self.calls[-1]

    def _answer(self, request: Any, **_: Any) -> AWSResponse:
        wire = from_prepared(request)
        try:
            match = route(self.service, wire.method, wire.raw_path, wire.query, wire.headers, wire.body)
            params = parse_request(
                match.operation,
                wire.method,
                wire.raw_path,
                wire.query,
                wire.headers,
                wire.body,
                path_params=match.path_params,
            )
            self.calls.append(Call(match.operation.name, params, wire))
            output = self.reply(match.operation, params)
            response = (
                output if isinstance(output, HttpResponse) else serialize_response(match.operation, output)
            )
        except ProtocolError as exc:
            self.errors.append(exc)
            response = error_response(self.service, exc)
        return AWSResponse(str(request.url), response.status, response.headers, _Raw(response.body))
