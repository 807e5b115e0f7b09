"""Query's key condition: checked as DynamoDB checks it, then turned into SQL on the encoded key columns.

A key condition is ``hash = :v``, optionally ANDed with one condition on the range key: ``=``, ``<``, ``<=``,
``>``, ``>=``, ``BETWEEN :a AND :b`` or ``begins_with(range, :p)`` (strings and binary).
"""

from __future__ import annotations

from typing import Any

from corral.services.dynamodb.errors import ValidationException, invalid_parameter
from corral.services.dynamodb.expressions import (
    And,
    Between,
    Call,
    Compare,
    Condition,
    In,
    Literal,
    Not,
    Or,
    Path,
)
from corral.services.dynamodb.keys import PREFIX_END, encode_key
from corral.services.dynamodb.tables import KeySchema
from corral.services.dynamodb.values import AttributeValue, type_of

_ONE_PER_KEY = "KeyConditionExpressions must only contain one condition per key"


def _parts(condition: Condition) -> list[Condition]:
    if isinstance(condition, And):
        return [*_parts(condition.left), *_parts(condition.right)]
    return [condition]


def _operator(condition: Condition) -> str:
    if isinstance(condition, Or):
        return "OR"
    if isinstance(condition, Not):
        return "NOT"
    if isinstance(condition, In):
        return "IN"
    if isinstance(condition, Call):
        return condition.name
    if isinstance(condition, Compare):
        return condition.op
    return "BETWEEN"


def _key_name(operand: Any, keys: KeySchema) -> str:
    if not isinstance(operand, Path) or len(operand.elements) != 1:
        raise ValidationException("Query key condition not supported")
    name = str(operand.elements[0])
    if name not in keys.names:
        raise ValidationException("Query key condition not supported")
    return name


def _literal(operand: Any, keys: KeySchema, name: str) -> AttributeValue:
    if not isinstance(operand, Literal):
        raise ValidationException("Query key condition not supported")
    if type_of(operand.value) != keys.type_of(name):
        raise invalid_parameter("Condition parameter type does not match schema type")
    return operand.value


def key_condition_sql(
    condition: Condition, keys: KeySchema, hash_column: Any, range_column: Any
) -> list[Any]:
    """SQL conditions on the encoded key columns equivalent to a checked key condition."""
    parts = _parts(condition)
    if len(parts) > 2:
        raise ValidationException(_ONE_PER_KEY)
    clauses: list[Any] = []
    seen: set[str] = set()
    for part in parts:
        if isinstance(part, Or | Not | In) or (isinstance(part, Compare) and part.op == "<>"):
            raise ValidationException(f"Invalid operator used in KeyConditionExpression: {_operator(part)}")
        if isinstance(part, Call) and part.name != "begins_with":
            raise ValidationException(f"Invalid operator used in KeyConditionExpression: {part.name}")
        subject = (
            part.operand
            if isinstance(part, Between)
            else (
                part.left if isinstance(part, Compare) else part.args[0]  # type: ignore[union-attr]
            )
        )
        name = _key_name(subject, keys)
        if name in seen:
            raise ValidationException(_ONE_PER_KEY)
        seen.add(name)
        if name == keys.hash_name:
            if not isinstance(part, Compare) or part.op != "=":
                raise ValidationException("Query key condition not supported")
            clauses.append(hash_column == encode_key(_literal(part.right, keys, name)))
            continue
        if isinstance(part, Compare):
            bound = encode_key(_literal(part.right, keys, name))
            clauses.append(
                {
                    "=": range_column == bound,
                    "<": range_column < bound,
                    "<=": range_column <= bound,
                    ">": range_column > bound,
                    ">=": range_column >= bound,
                }[part.op]
            )
        elif isinstance(part, Between):
            low = _literal(part.low, keys, name)
            high = _literal(part.high, keys, name)
            clauses.extend([range_column >= encode_key(low), range_column <= encode_key(high)])
        else:
            assert isinstance(part, Call)
            if keys.type_of(name) == "N":
                raise ValidationException(
                    "Invalid KeyConditionExpression: Incorrect operand type for operator or function; "
                    "operator or function: begins_with, operand type: N"
                )
            prefix = encode_key(_literal(part.args[1], keys, name)) if _prefix_nonempty(part) else ""
            clauses.extend([range_column >= prefix, range_column < prefix + PREFIX_END])
    if keys.hash_name not in seen:
        raise ValidationException(f"Query condition missed key schema element: {keys.hash_name}")
    return clauses


def _prefix_nonempty(call: Call) -> bool:
    operand = call.args[1]
    return not (isinstance(operand, Literal) and len(next(iter(operand.value.values()))) == 0)
