"""JSON documents read into, and written from, model shapes: the body of rest-json and json requests.

Reading checks JSON types against the shape (a string where an integer belongs is refused, as AWS
refuses it) and converts base64 blobs and timestamps; members are found by their serialized name
(``locationName``), unknown keys are ignored, ``null`` is "not given". Writing is the mirror image with
the protocol's timestamp default (epoch seconds) unless the member names a ``timestampFormat``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from botocore.model import Shape

from corral.api.protocol.values import (
    ValueConversionError,
    decode_base64,
    encode_base64,
    float_to_wire,
    format_timestamp,
    parse_timestamp,
)

_INTEGERS = ("integer", "long", "short", "byte", "bigInteger")
_FLOATS = ("float", "double", "bigDecimal")
_SPECIAL_FLOATS = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


def _where(path: str) -> str:
    return f" at '{path}'" if path else ""


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return "null"


def _mismatch(shape: Shape, value: Any, path: str) -> ValueConversionError:
    return ValueConversionError(
        f"Expected {shape.type_name}{_where(path)} but found a JSON {_json_type(value)}"
    )


def read_members(
    shape: Shape, document: Mapping[str, Any], names: Iterable[str], path: str = ""
) -> dict[str, Any]:
    """The members ``names`` of structure ``shape`` found in a JSON object."""
    result: dict[str, Any] = {}
    for name in names:
        member = shape.members[name]
        raw = document.get(member.serialization.get("name", name))
        if raw is not None:
            result[name] = read_value(member, raw, f"{path}.{name}" if path else name)
    return result


def read_value(shape: Shape, value: Any, path: str = "") -> Any:
    """A JSON value (as ``json.loads`` gives it) converted to the Python value of ``shape``."""
    type_name = shape.type_name
    if type_name == "structure":
        if shape.metadata.get("document"):
            return value
        if not isinstance(value, dict):
            raise _mismatch(shape, value, path)
        return read_members(shape, value, shape.members, path)
    if type_name == "list":
        if not isinstance(value, list):
            raise _mismatch(shape, value, path)
        return [
            None if item is None else read_value(shape.member, item, f"{path}.{index}")
            for index, item in enumerate(value, 1)
        ]
    if type_name == "map":
        if not isinstance(value, dict):
            raise _mismatch(shape, value, path)
        return {
            key: None if item is None else read_value(shape.value, item, f"{path}.{key}")
            for key, item in value.items()
        }
    return _read_scalar(shape, value, path)


def _read_scalar(shape: Shape, value: Any, path: str) -> Any:
    type_name = shape.type_name
    if type_name == "string":
        if not isinstance(value, str):
            raise _mismatch(shape, value, path)
        return value
    if type_name == "boolean":
        if not isinstance(value, bool):
            raise _mismatch(shape, value, path)
        return value
    if type_name in _INTEGERS:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise _mismatch(shape, value, path)
        if isinstance(value, float):
            if not value.is_integer():
                raise ValueConversionError(f"Expected an integer{_where(path)} but found {value!r}")
            return int(value)
        return value
    if type_name in _FLOATS:
        if isinstance(value, str) and value in _SPECIAL_FLOATS:
            return _SPECIAL_FLOATS[value]
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise _mismatch(shape, value, path)
        return float(value)
    if type_name == "timestamp":
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise _mismatch(shape, value, path)
        try:
            return parse_timestamp(value)
        except ValueConversionError as exc:
            raise ValueConversionError(f"Invalid timestamp{_where(path)}: {value!r}") from exc
    if type_name == "blob":
        if not isinstance(value, str):
            raise _mismatch(shape, value, path)
        try:
            return decode_base64(value)
        except ValueConversionError as exc:
            raise ValueConversionError(f"Invalid base64{_where(path)}") from exc
    return value


def write_members(
    shape: Shape, values: Mapping[str, Any], names: Iterable[str] | None = None
) -> dict[str, Any]:
    """The JSON object for the members ``names`` (default: all) of structure ``shape``."""
    allowed = shape.members if names is None else set(names)
    document: dict[str, Any] = {}
    for name, value in values.items():
        if value is None or name == "ResponseMetadata":
            continue
        if name not in shape.members:
            raise ValueError(f"{shape.name} has no member {name!r}")
        if name not in allowed:
            continue
        member = shape.members[name]
        document[member.serialization.get("name", name)] = write_value(member, value)
    return document


def write_value(shape: Shape, value: Any, timestamp_format: str = "unixTimestamp") -> Any:
    """The JSON value of ``value`` for ``shape``."""
    type_name = shape.type_name
    if type_name == "structure":
        if shape.metadata.get("document"):
            return value
        return write_members(shape, value)
    if type_name == "list":
        return [None if item is None else write_value(shape.member, item) for item in value]
    if type_name == "map":
        return {
            str(key): None if item is None else write_value(shape.value, item) for key, item in value.items()
        }
    if type_name == "timestamp":
        return format_timestamp(value, shape.serialization.get("timestampFormat", timestamp_format))
    if type_name == "blob":
        return encode_base64(value)
    if type_name in _FLOATS:
        return float_to_wire(float(value))
    if type_name in _INTEGERS:
        return int(value)
    if type_name == "boolean":
        return bool(value)
    if type_name == "string" and isinstance(value, Decimal):
        return str(value)
    return value
