"""Subscription filter policies, pure: validation with AWS's limits, and matching a message's attributes
(``FilterPolicyScope`` ``MessageAttributes``, the default) or its JSON body (``MessageBody``).

A policy is a JSON object. Every key must match (AND); a key's list of conditions matches when any of them
does (OR). Under ``MessageBody`` a key may hold a nested object, matched against the body's nested object.
Conditions:

- a string, a number, ``true``, ``false``, ``null``: equality (numbers numerically, with Number attributes);
- ``{"prefix": s}``, ``{"suffix": s}``, ``{"equals-ignore-case": s}``: on string values;
- ``{"anything-but": v | [v, ...] | {"prefix": s} | {"suffix": s}}``: present, and not one of those;
- ``{"numeric": [op, n]}`` or ``[op, n, op, n]`` with ``=``, ``<``, ``<=``, ``>``, ``>=``: Number values;
- ``{"exists": true|false}``: the key is there, or is not.

Attribute values: ``String`` is a string, ``Number`` a number, ``String.Array`` a JSON array whose elements
are matched each (any one matching is enough); ``Binary`` attributes are not matched (as on AWS). The
``$or`` operator is not supported (refused as an unknown key).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import orjson

from corral.services.sns.errors import InvalidParameter

SCOPES = ("MessageAttributes", "MessageBody")
MAX_KEYS = 5
MAX_COMBINATIONS = 150
_OPERATORS = ("prefix", "suffix", "equals-ignore-case", "anything-but", "numeric", "exists")
_COMPARISONS = ("=", "<", "<=", ">", ">=")
_ABSENT = object()


def _invalid(reason: str) -> InvalidParameter:
    return InvalidParameter(f"Invalid parameter: FilterPolicy: {reason}")


def parse(text: str, scope: str = "MessageAttributes") -> dict[str, Any]:
    """The policy, or AWS's InvalidParameter saying what is wrong with it."""
    if scope not in SCOPES:
        raise InvalidParameter("Invalid parameter: Attributes Reason: FilterPolicyScope: Invalid value")
    try:
        policy = orjson.loads(text)
    except orjson.JSONDecodeError:
        raise _invalid("failed to parse JSON.") from None
    if not isinstance(policy, dict):
        raise _invalid("Filter policy must be a JSON object")
    leaves = _check(policy, nested=scope == "MessageBody")
    if len(leaves) > MAX_KEYS:
        raise _invalid(f"Filter policy can not have more than {MAX_KEYS} keys")
    combinations = math.prod(leaves) if leaves else 1
    if combinations > MAX_COMBINATIONS:
        raise _invalid("Filter policy is too complex")
    return policy


def _check(policy: Mapping[str, Any], *, nested: bool) -> list[int]:
    """Validates; returns the number of conditions of each leaf key."""
    if not policy:
        raise _invalid("Filter policy can not be empty")
    leaves: list[int] = []
    for key, value in policy.items():
        if key.startswith("$"):
            raise _invalid(f"Unrecognized key {key}")
        if isinstance(value, dict) and nested:
            leaves += _check(value, nested=True)
            continue
        if not isinstance(value, list):
            raise _invalid(
                f'"{key}" must be an object or an array' if nested else f'"{key}" must be an array'
            )
        if not value:
            raise _invalid(f'Empty arrays are not allowed in "{key}"')
        for condition in value:
            _check_condition(condition)
        leaves.append(len(value))
    return leaves


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _check_condition(condition: Any) -> None:
    if condition is None or isinstance(condition, str | bool) or _is_number(condition):
        return
    if not isinstance(condition, dict) or len(condition) != 1:
        raise _invalid("Match value must be String, number, true, false, or null")
    [(operator, operand)] = condition.items()
    if operator not in _OPERATORS:
        raise _invalid(f"Unrecognized match type {operator}")
    if operator in ("prefix", "suffix", "equals-ignore-case"):
        if not isinstance(operand, str):
            raise _invalid(f"{operator} match pattern must be a string")
    elif operator == "exists":
        if not isinstance(operand, bool):
            raise _invalid("exists match pattern must be either true or false.")
    elif operator == "numeric":
        _check_numeric(operand)
    else:
        _check_anything_but(operand)


def _check_numeric(operand: Any) -> None:
    if not isinstance(operand, list) or len(operand) not in (2, 4):
        raise _invalid("Value of numeric must be an array.")
    for index in range(0, len(operand), 2):
        comparison, number = operand[index], operand[index + 1]
        if comparison not in _COMPARISONS:
            raise _invalid(f"Unrecognized numeric range operator: {comparison}")
        if not _is_number(number):
            raise _invalid(f"Value of {comparison} must be numeric")
    if len(operand) == 4:
        if operand[0] not in (">", ">=") or operand[2] not in ("<", "<="):
            raise _invalid("Bad numeric range operator")
        if operand[1] >= operand[3]:
            raise _invalid("Bottom must be less than top")


def _check_anything_but(operand: Any) -> None:
    if isinstance(operand, dict):
        if len(operand) != 1 or next(iter(operand)) not in ("prefix", "suffix"):
            raise _invalid("Unsupported anything-but pattern")
        if not isinstance(next(iter(operand.values())), str):
            raise _invalid("anything-but prefix and suffix must be strings")
        return
    values = operand if isinstance(operand, list) else [operand]
    if not values or not all(isinstance(v, str) or _is_number(v) for v in values):
        raise _invalid("Inside anything but list, start|null|boolean is not supported.")


# -- matching ----------------------------------------------------------------------------------------------


def matches_attributes(policy: Mapping[str, Any], attributes: Mapping[str, Mapping[str, Any]]) -> bool:
    """Whether message attributes (the API's form) pass a ``MessageAttributes``-scoped policy."""
    for key, conditions in policy.items():
        attribute = attributes.get(key)
        values = _attribute_values(attribute) if attribute is not None else None
        if not _matches(conditions, values):
            return False
    return True


def matches_body(policy: Mapping[str, Any], body: str) -> bool:
    """Whether a message body (a JSON object) passes a ``MessageBody``-scoped policy."""
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError:
        return False
    return isinstance(document, dict) and _matches_object(policy, document)


def _matches_object(policy: Mapping[str, Any], document: Mapping[str, Any]) -> bool:
    for key, conditions in policy.items():
        value = document.get(key, _ABSENT)
        if isinstance(conditions, dict):
            if not isinstance(value, dict) or not _matches_object(conditions, value):
                return False
            continue
        values = None if value is _ABSENT else (value if isinstance(value, list) else [value])
        if not _matches(conditions, values):
            return False
    return True


def _attribute_values(attribute: Mapping[str, Any]) -> list[Any] | None:
    data_type = str(attribute.get("DataType", ""))
    text = attribute.get("StringValue")
    if text is None:  # Binary
        return None
    if data_type.startswith("Number"):
        try:
            return [float(text)]
        except ValueError:
            return None
    if data_type.startswith("String.Array"):
        try:
            parsed = orjson.loads(text)
        except orjson.JSONDecodeError:
            return None
        return parsed if isinstance(parsed, list) else None
    return [text]


def _matches(conditions: list[Any], values: list[Any] | None) -> bool:
    return any(_condition(condition, values) for condition in conditions)


def _condition(condition: Any, values: list[Any] | None) -> bool:
    if isinstance(condition, dict):
        [(operator, operand)] = condition.items()
        if operator == "exists":
            return (values is not None) is operand
        if values is None:
            return False
        if operator == "anything-but":
            return any(not _excluded(operand, value) for value in values)
        if operator == "numeric":
            return any(_is_number(v) and _in_range(operand, float(v)) for v in values)
        strings = [v for v in values if isinstance(v, str)]
        if operator == "prefix":
            return any(v.startswith(operand) for v in strings)
        if operator == "suffix":
            return any(v.endswith(operand) for v in strings)
        return any(v.casefold() == operand.casefold() for v in strings)  # equals-ignore-case
    if values is None:
        return False
    return any(_equal(condition, value) for value in values)


def _equal(condition: Any, value: Any) -> bool:
    if _is_number(condition):
        return _is_number(value) and float(value) == float(condition)
    if isinstance(condition, bool) or condition is None:
        return value is condition
    return isinstance(value, str) and value == condition


def _excluded(operand: Any, value: Any) -> bool:
    if isinstance(operand, dict):
        [(operator, text)] = operand.items()
        if not isinstance(value, str):
            return False
        return value.startswith(text) if operator == "prefix" else value.endswith(text)
    excluded = operand if isinstance(operand, list) else [operand]
    return any(_equal(item, value) for item in excluded)


def _in_range(operand: list[Any], value: float) -> bool:
    for index in range(0, len(operand), 2):
        comparison, number = operand[index], float(operand[index + 1])
        ok = {
            "=": value == number,
            "<": value < number,
            "<=": value <= number,
            ">": value > number,
            ">=": value >= number,
        }[comparison]
        if not ok:
            return False
    return True
