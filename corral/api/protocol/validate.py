"""Input validation against the service model, worded as AWS words it.

AWS's front end (Coral) checks required members, lengths, ranges, patterns and enums and answers with one
sentence listing every failure:

    1 validation error detected: Value 'a b' at 'thingName' failed to satisfy constraint: Member must
    satisfy regular expression pattern: [a-zA-Z0-9:_-]+

Paths name members in lower camel case (``keySchema.1.member.attributeName``); a missing member is
``Value null at '...'``; a list whose elements fail is reported once, as ``Member must satisfy
constraint: [...]`` listing the element's constraints, and a map as ``Map keys/value must satisfy
constraint: [...]``. Values print as Java prints them (``[a, b]``, ``{k=v}``).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from botocore.model import Shape

from corral.api.protocol.patterns import compile_pattern


def find_problems(shape: Shape | None, params: Mapping[str, Any]) -> list[str]:
    """Every constraint the input parameters break, as AWS's clauses (empty when valid)."""
    problems: list[str] = []
    if shape is not None:
        _check_structure(shape, params, "", problems)
    return problems


def _member_path(parent: str, name: str) -> str:
    name = name[:1].lower() + name[1:]
    return f"{parent}.{name}" if parent else name


def _clause(value: Any, path: str, constraint: str) -> str:
    shown = "null" if value is None else f"'{render(value)}'"
    return f"Value {shown} at '{path}' failed to satisfy constraint: {constraint}"


def render(value: Any) -> str:
    """A value as Java's toString shows it in AWS's messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, bytes | bytearray):
        return f"java.nio.HeapByteBuffer[pos=0 lim={len(value)} cap={len(value)}]"
    if isinstance(value, datetime):
        return value.strftime("%a %b %d %H:%M:%S UTC %Y")
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{render(k)}={render(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(render(item) for item in value) + "]"
    return str(value)


def _number(bound: Any) -> str:
    if isinstance(bound, float) and bound.is_integer():
        return str(int(bound))
    return str(bound)


def _size(shape: Shape, value: Any) -> int | None:
    type_name = shape.type_name
    if type_name == "string" and isinstance(value, str):
        # Java counts UTF-16 code units.
        return len(value.encode("utf-16-le")) // 2
    if type_name == "blob" and isinstance(value, bytes | bytearray):
        return len(value)
    if type_name in ("list", "map") and isinstance(value, list | tuple | Mapping):
        return len(value)
    return None


def constraints(shape: Shape, value: Any = None, *, failing_only: bool = True) -> list[str]:
    """The shape's own constraints (not its members'), only those ``value`` breaks when ``failing_only``."""
    found: list[str] = []
    metadata = shape.metadata
    type_name = shape.type_name
    low, high = metadata.get("min"), metadata.get("max")
    if type_name in ("string", "blob", "list", "map"):
        size = _size(shape, value) if failing_only else None
        if high is not None and (not failing_only or (size is not None and size > high)):
            found.append(f"Member must have length less than or equal to {_number(high)}")
        if low is not None and (not failing_only or (size is not None and size < low)):
            found.append(f"Member must have length greater than or equal to {_number(low)}")
    elif type_name in ("integer", "long", "short", "byte", "float", "double"):
        number = value if isinstance(value, int | float) and not isinstance(value, bool) else None
        if high is not None and (not failing_only or (number is not None and number > high)):
            found.append(f"Member must have value less than or equal to {_number(high)}")
        if low is not None and (not failing_only or (number is not None and number < low)):
            found.append(f"Member must have value greater than or equal to {_number(low)}")
    if type_name == "string":
        pattern = metadata.get("pattern")
        if pattern is not None:
            compiled = compile_pattern(pattern)
            breaks = isinstance(value, str) and compiled is not None and compiled.fullmatch(value) is None
            if not failing_only or breaks:
                found.append(f"Member must satisfy regular expression pattern: {pattern}")
        enum = metadata.get("enum")
        if enum and (not failing_only or (isinstance(value, str) and value not in enum)):
            found.append(f"Member must satisfy enum value set: [{', '.join(enum)}]")
    return found


def _is_scalar(shape: Shape) -> bool:
    return shape.type_name not in ("structure", "list", "map")


def _check(shape: Shape, value: Any, path: str, problems: list[str]) -> None:
    problems.extend(_clause(value, path, text) for text in constraints(shape, value))
    type_name = shape.type_name
    if type_name == "structure" and isinstance(value, Mapping):
        _check_structure(shape, value, path, problems)
    elif type_name == "list" and isinstance(value, list | tuple):
        _check_list(shape, value, path, problems)
    elif type_name == "map" and isinstance(value, Mapping):
        _check_map(shape, value, path, problems)


def _check_structure(shape: Shape, value: Mapping[str, Any], path: str, problems: list[str]) -> None:
    if shape.metadata.get("document"):
        return
    required = set(shape.required_members)
    for name, member in shape.members.items():
        member_value = value.get(name)
        member_path = _member_path(path, name)
        if member_value is None:
            if name in required:
                problems.append(_clause(None, member_path, "Member must not be null"))
            continue
        _check(member, member_value, member_path, problems)


def _check_list(shape: Shape, value: list[Any] | tuple[Any, ...], path: str, problems: list[str]) -> None:
    element = shape.member
    if _is_scalar(element):
        if any(item is None or constraints(element, item) for item in value):
            listed = ", ".join(constraints(element, failing_only=False) or ["Member must not be null"])
            problems.append(_clause(value, path, f"Member must satisfy constraint: [{listed}]"))
        return
    for index, item in enumerate(value, 1):
        if item is not None:
            _check(element, item, f"{path}.{index}.member", problems)


def _check_map(shape: Shape, value: Mapping[Any, Any], path: str, problems: list[str]) -> None:
    if any(constraints(shape.key, key) for key in value):
        listed = ", ".join(constraints(shape.key, failing_only=False))
        problems.append(_clause(value, path, f"Map keys must satisfy constraint: [{listed}]"))
    if _is_scalar(shape.value):
        if any(item is not None and constraints(shape.value, item) for item in value.values()):
            listed = ", ".join(constraints(shape.value, failing_only=False))
            problems.append(_clause(value, path, f"Map value must satisfy constraint: [{listed}]"))
        return
    for key, item in value.items():
        if item is not None:
            _check(shape.value, item, f"{path}.{key}.member", problems)
