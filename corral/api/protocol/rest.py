"""What rest-json and rest-xml share: members bound to the path, the query string and headers.

Reading mirrors botocore's ``BaseRestSerializer``: path labels and query parameters are text read as the
member's type (booleans ``true``/``false``, timestamps ISO 8601 by default), a querystring list is the
repeated parameter, a querystring map takes every parameter no other member claims, a header list is
comma-separated (with ``"..."`` quoting), a ``jsonvalue`` header is base64-encoded JSON and a ``headers``
map collects every header with its prefix. Writing covers the members a response puts in headers.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from botocore.model import OperationModel, Shape

from corral.api.protocol.base import serialization_error
from corral.api.protocol.message import HttpRequest
from corral.api.protocol.values import (
    ValueConversionError,
    decode_base64,
    encode_base64,
    scalar_from_text,
    scalar_to_text,
)

HEADER_TIMESTAMP_FORMAT = "rfc822"


def body_member_names(shape: Shape) -> list[str]:
    return [name for name, member in shape.members.items() if "location" not in member.serialization]


def read_bound_members(
    operation: OperationModel, request: HttpRequest, path_params: Mapping[str, str]
) -> dict[str, Any]:
    """The input members bound to the path, query string and headers."""
    shape = operation.input_shape
    result: dict[str, Any] = {}
    if shape is None:
        return result
    claimed = _claimed_query_names(operation)
    query_map: str | None = None
    for name, member in shape.members.items():
        location = member.serialization.get("location")
        wire_name = member.serialization.get("name", name)
        try:
            if location == "uri":
                if wire_name in path_params:
                    result[name] = scalar_from_text(member, path_params[wire_name])
            elif location == "querystring":
                if member.type_name == "map":
                    query_map = name
                elif wire_name in request.query:
                    result[name] = _read_query(member, request.query[wire_name])
            elif location == "header":
                text = request.header(wire_name)
                if text is not None:
                    result[name] = read_header(member, text)
            elif location == "headers":
                prefix = wire_name.lower()
                found = {
                    key[len(prefix) :]: value
                    for key, value in request.headers.items()
                    if key.startswith(prefix)
                }
                if found:
                    result[name] = found
        except ValueConversionError as exc:
            where = {"uri": "path label", "querystring": "query parameter", "header": "header"}
            kind = where.get(str(location), "member")
            raise serialization_error(operation, f"Invalid {kind} '{wire_name}': {exc}") from exc
    if query_map is not None:
        rest = {key: values for key, values in request.query.items() if key not in claimed}
        if rest:
            result[query_map] = _read_query_map(operation, shape.members[query_map], rest)
    return result


def _claimed_query_names(operation: OperationModel) -> set[str]:
    """Query names bound to members or written literally in the request URI."""
    claimed: set[str] = set()
    _, _, literal = str(operation.http.get("requestUri", "")).partition("?")
    claimed.update(piece.partition("=")[0] for piece in literal.split("&") if piece)
    shape = operation.input_shape
    if shape is not None:
        for name, member in shape.members.items():
            if member.serialization.get("location") == "querystring" and member.type_name != "map":
                claimed.add(member.serialization.get("name", name))
    return claimed


def _read_query(member: Shape, values: list[str]) -> Any:
    if member.type_name == "list":
        return [scalar_from_text(member.member, value) for value in values]
    return scalar_from_text(member, values[0])


def _read_query_map(operation: OperationModel, member: Shape, query: dict[str, list[str]]) -> dict[str, Any]:
    value_shape = member.value
    try:
        if value_shape.type_name == "list":
            return {
                key: [scalar_from_text(value_shape.member, v) for v in values]
                for key, values in query.items()
            }
        return {key: scalar_from_text(value_shape, values[0]) for key, values in query.items()}
    except ValueConversionError as exc:
        raise serialization_error(operation, f"Invalid query parameter: {exc}") from exc


def read_header(member: Shape, text: str) -> Any:
    if member.type_name == "list":
        return [scalar_from_text(member.member, item) for item in split_header_list(text)]
    if member.type_name == "string" and member.serialization.get("jsonvalue"):
        try:
            return json.loads(decode_base64(text.strip()))
        except ValueError as exc:
            raise ValueConversionError("not base64-encoded JSON") from exc
    return scalar_from_text(member, text if member.type_name == "string" else text.strip())


def split_header_list(text: str) -> list[str]:
    """A comma-separated header value; items may be double-quoted with backslash escapes."""
    items: list[str] = []
    position = 0
    length = len(text)
    while position <= length:
        while position < length and text[position] in " \t":
            position += 1
        if position < length and text[position] == '"':
            position += 1
            chars: list[str] = []
            while position < length and text[position] != '"':
                if text[position] == "\\" and position + 1 < length:
                    position += 1
                chars.append(text[position])
                position += 1
            items.append("".join(chars))
            position = text.find(",", position)
            if position < 0:
                break
            position += 1
            continue
        end = text.find(",", position)
        if end < 0:
            items.append(text[position:].strip())
            break
        items.append(text[position:end].strip())
        position = end + 1
    return items


def write_bound_members(shape: Shape | None, output: Mapping[str, Any]) -> tuple[int | None, dict[str, str]]:
    """The status (a ``statusCode`` member) and headers of a response's header-bound members."""
    status: int | None = None
    headers: dict[str, str] = {}
    if shape is None:
        return status, headers
    for name, member in shape.members.items():
        value = output.get(name)
        if value is None:
            continue
        location = member.serialization.get("location")
        wire_name = member.serialization.get("name", name)
        if location == "statusCode":
            status = int(value)
        elif location == "header":
            headers[wire_name] = write_header(member, value)
        elif location == "headers":
            for key, item in value.items():
                headers[f"{wire_name}{key}"] = str(item)
    return status, headers


def write_header(member: Shape, value: Any) -> str:
    if member.type_name == "list":
        parts = [write_header(member.member, item) for item in value if item is not None]
        return ",".join(
            _quote_header_item(part) if member.member.type_name == "string" else part for part in parts
        )
    if member.type_name == "string" and member.serialization.get("jsonvalue"):
        return encode_base64(json.dumps(value, separators=(",", ":")))
    return scalar_to_text(member, value, HEADER_TIMESTAMP_FORMAT)


def _quote_header_item(item: str) -> str:
    if '"' in item or "," in item:
        return '"' + item.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return item


def is_streaming_payload(shape: Shape, payload: str | None) -> bool:
    return payload is not None and shape.members[payload].type_name in ("blob", "string")


def check_output(shape: Shape, output: Mapping[str, Any]) -> None:
    """Refuse output the shape cannot carry: an unknown member, or an event stream (not implemented)."""
    for name in output:
        if name not in shape.members and name != "ResponseMetadata":
            raise ValueError(f"{shape.name} has no member {name!r}")
    for member in shape.members.values():
        if member.serialization.get("eventstream"):
            raise NotImplementedError(f"{shape.name}: event-stream responses are not implemented")


def read_rest_request(
    operation: OperationModel,
    request: HttpRequest,
    path_params: Mapping[str, str],
    read_payload: Callable[[Shape, str], Any],
    read_body: Callable[[Shape], dict[str, Any]],
) -> dict[str, Any]:
    """A REST request's input: the bound members, then the body as the protocol reads it.

    ``read_payload(member, name)`` reads a (non-streaming) payload member from the non-empty body;
    ``read_body(shape)`` reads the body members. A streaming payload is the raw body.
    """
    shape = operation.input_shape
    if shape is None:
        return {}
    params = read_bound_members(operation, request, path_params)
    payload = shape.serialization.get("payload")
    body = request.body
    try:
        if is_streaming_payload(shape, payload):
            assert payload is not None
            if body or payload in shape.required_members:
                blob = shape.members[payload].type_name == "blob"
                params[payload] = body if blob else body.decode("utf-8")
        elif body.strip():
            if payload is not None:
                params[payload] = read_payload(shape.members[payload], payload)
            else:
                params.update(read_body(shape))
    except ValueConversionError as exc:
        raise serialization_error(operation, str(exc)) from exc
    except UnicodeDecodeError as exc:
        raise serialization_error(operation, "The request body is not valid UTF-8") from exc
    return params
