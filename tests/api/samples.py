"""Sample input for any operation of any model: every member filled with a value of its type.

The values are chosen to stress the wire encodings (spaces, ``/``, ``+``, ``%``, non-ASCII in path labels
and query parameters; quotes and emoji in JSON; binary blobs), while staying inside what each location
can carry: header values are ASCII without surrounding spaces, header timestamps whole seconds (RFC 822
has no fractions).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from botocore.model import Shape

TEXT = {
    "uri": "a b/c+d%e~é",
    "querystring": "q v/+%&=é",
    "header": "header-value",
    None: 'body "q" é 😀',
}
MAX_DEPTH = 4


def sample_input(shape: Shape | None) -> dict[str, Any]:
    if shape is None:
        return {}
    value = _structure(shape, None, 0)
    return value


def _structure(shape: Shape, location: str | None, depth: int) -> dict[str, Any]:
    if shape.metadata.get("document"):
        return {"doc": [1, "two", {"three": True}]}
    members = shape.members
    required = set(shape.required_members)
    if shape.metadata.get("union"):
        first = next(iter(members))
        return {first: sample(members[first], None, depth + 1)}
    result: dict[str, Any] = {}
    for name, member in members.items():
        if depth >= MAX_DEPTH and name not in required:
            continue
        if member.serialization.get("eventstream") or member.serialization.get("hostLabel"):
            continue
        member_location = member.serialization.get("location") if depth == 0 else location
        result[name] = sample(member, member_location, depth + 1)
    return result


def _sized(text: str, shape: Shape) -> str:
    low = int(shape.metadata.get("min", 1) or 1)
    high = shape.metadata.get("max")
    while len(text) < low:
        text += "x"
    if high is not None and len(text) > int(high):
        text = text[: int(high)]
    return text


def sample(shape: Shape, location: str | None, depth: int) -> Any:
    type_name = shape.type_name
    if type_name == "structure":
        return _structure(shape, location, depth)
    if type_name == "list":
        count = 2 if shape.metadata.get("max", 2) >= 2 else 1
        return [sample(shape.member, location, depth + 1) for _ in range(count)]
    if type_name == "map":
        if location == "headers":
            return {"meta-one": "v1", "meta-two": "v2"}
        key = shape.key.metadata.get("enum", ["mapkey"])[0]
        return {key: sample(shape.value, location, depth + 1)}
    if type_name == "string":
        if "enum" in shape.metadata:
            return shape.metadata["enum"][0]
        if shape.serialization.get("jsonvalue"):
            return {"json": ["value", 1]}
        return _sized(TEXT.get(location, TEXT[None]), shape)
    if type_name in ("integer", "long", "short", "byte"):
        low, high = shape.metadata.get("min"), shape.metadata.get("max")
        value = 7 if low is None else int(low) + 1
        return value if high is None else min(value, int(high))
    if type_name in ("float", "double"):
        return 1.5
    if type_name == "boolean":
        return True
    if type_name == "timestamp":
        # botocore sends header timestamps in whole seconds; RFC 822 has no fractions anywhere.
        rfc822 = shape.serialization.get("timestampFormat") == "rfc822"
        micro = 0 if rfc822 or location == "header" else 123000
        return datetime(2024, 5, 6, 7, 8, 9, micro, tzinfo=UTC)
    if type_name == "blob":
        return b"\x00\x01binary\xff"
    raise AssertionError(f"no sample for {type_name}")
