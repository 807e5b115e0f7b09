"""DynamoDB's attribute values as the API carries them: ``{"S": "x"}``, ``{"N": "1.5"}``,
``{"B": b"..."}``, ``{"BOOL": True}``, ``{"NULL": True}``, ``{"M": {...}}``, ``{"L": [...]}``,
``{"SS": [...]}``, ``{"NS": [...]}``, ``{"BS": [...]}`` (binary as bytes; base64 only in JSON:
:func:`to_json`).

Numbers are exact decimals kept as text: up to 38 significant digits, magnitudes from 1E-130 to below 1E+126,
answered in DynamoDB's canonical form (``"1.50"`` is ``"1.5"``, ``"1e2"`` is ``"100"``, ``"-0"`` is ``"0"``).
"""

from __future__ import annotations

import base64
import re
from decimal import Decimal, localcontext
from typing import Any, Final

from corral.services.dynamodb.errors import ValidationException, invalid_parameter

AttributeValue = dict[str, Any]
Item = dict[str, AttributeValue]

TYPES: Final = ("S", "N", "B", "BOOL", "NULL", "M", "L", "SS", "NS", "BS")
SET_TYPES: Final = {"SS": "S", "NS": "N", "BS": "B"}
SET_NAMES: Final = {"SS": "string set", "NS": "number set", "BS": "binary set"}
MAX_DIGITS: Final = 38
MAX_ITEM_BYTES: Final = 400 * 1024

_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def parse_number(text: str) -> Decimal:
    """A number attribute's value, checked against DynamoDB's range and precision."""
    if not isinstance(text, str) or not _NUMBER.fullmatch(text.strip()):
        raise ValidationException("A value provided cannot be converted into a number")
    with localcontext() as context:
        context.prec = 400
        number = Decimal(text.strip()).normalize()
    if number.is_zero():
        return Decimal(0)
    if len(number.as_tuple().digits) > MAX_DIGITS:
        raise ValidationException("Attempting to store more than 38 significant digits in a Number")
    if number.adjusted() > 125:
        raise ValidationException(
            "Number overflow. Attempting to store a number with magnitude larger than supported range"
        )
    if number.adjusted() < -130:
        raise ValidationException(
            "Number underflow. Attempting to store a number with magnitude smaller than supported range"
        )
    return number


def number_text(number: Decimal) -> str:
    """The canonical text of a (checked) number: no exponent, no trailing zeros."""
    if number.is_zero():
        return "0"
    with localcontext() as context:
        context.prec = 400
        return format(number.normalize(), "f")


def canonical_number(text: str) -> str:
    return number_text(parse_number(text))


def arithmetic(left: Decimal, right: Decimal, subtract: bool) -> str:
    """``left ± right`` as DynamoDB computes it: exactly, then checked as any stored number."""
    with localcontext() as context:
        context.prec = 400
        result = left - right if subtract else left + right
    return canonical_number(str(result))


def type_of(value: AttributeValue) -> str:
    return next(iter(value))


def validate_value(value: Any) -> AttributeValue:
    """A checked, canonical copy of one attribute value (numbers canonical, sets non-empty and distinct)."""
    if not isinstance(value, dict) or not value:
        raise ValidationException(
            "Supplied AttributeValue is empty, must contain exactly one of the supported datatypes"
        )
    present = [key for key in TYPES if value.get(key) is not None]
    if not present:
        raise ValidationException(
            "Supplied AttributeValue is empty, must contain exactly one of the supported datatypes"
        )
    if len(present) > 1:
        raise ValidationException(
            "Supplied AttributeValue has more than one datatypes set, must contain exactly one of the "
            "supported datatypes"
        )
    kind = present[0]
    content = value[kind]
    if kind == "N":
        return {"N": canonical_number(content)}
    if kind == "NULL":
        if content is not True:
            raise invalid_parameter("Null attribute value types must have the true value")
        return {"NULL": True}
    if kind == "M":
        return {"M": {name: validate_value(item) for name, item in content.items()}}
    if kind == "L":
        return {"L": [validate_value(item) for item in content]}
    if kind in SET_TYPES:
        if not content:
            raise invalid_parameter(f"An {SET_NAMES[kind]}  may not be empty")
        members = [canonical_number(item) for item in content] if kind == "NS" else list(content)
        if len(set(members)) != len(members):
            shown = ", ".join(str(m) for m in content)
            raise invalid_parameter(f"Input collection [{shown}] contains duplicates.")
        return {kind: members}
    return {kind: content}


def validate_item(item: Any) -> Item:
    return {name: validate_value(value) for name, value in item.items()}


def equal(left: AttributeValue, right: AttributeValue) -> bool:
    """DynamoDB's ``=``: same type and value; sets compare as sets, numbers numerically."""
    kind = type_of(left)
    if kind != type_of(right):
        return False
    a, b = left[kind], right[kind]
    if kind == "N":
        return Decimal(a) == Decimal(b)
    if kind == "NS":
        return {Decimal(x) for x in a} == {Decimal(x) for x in b}
    if kind in ("SS", "BS"):
        return set(a) == set(b)
    if kind == "M":
        return a.keys() == b.keys() and all(equal(a[k], b[k]) for k in a)
    if kind == "L":
        return len(a) == len(b) and all(equal(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def order(left: AttributeValue, right: AttributeValue) -> int | None:
    """-1, 0 or 1 for two values of one orderable type (N numerically, S and B by their bytes); else None."""
    kind = type_of(left)
    if kind != type_of(right) or kind not in ("N", "S", "B"):
        return None
    a: Any = left[kind]
    b: Any = right[kind]
    if kind == "N":
        a, b = Decimal(a), Decimal(b)
    elif kind == "S":
        a, b = a.encode("utf-8"), b.encode("utf-8")
    return int(a > b) - int(a < b)


def value_size(value: AttributeValue) -> int:
    """DynamoDB's item-size accounting, approximately: UTF-8 bytes of strings, bytes of binary, numbers by
    their digits, one byte for booleans and null, three bytes of overhead per document and element."""
    kind = type_of(value)
    content = value[kind]
    if kind == "S":
        return len(content.encode("utf-8"))
    if kind == "B":
        return len(content)
    if kind == "N":
        return (len(content.replace("-", "").replace(".", "")) + 1) // 2 + 1
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "M":
        return 3 + sum(len(k.encode("utf-8")) + value_size(v) + 1 for k, v in content.items())
    if kind == "L":
        return 3 + sum(value_size(v) + 1 for v in content)
    member = SET_TYPES[kind]
    return sum(value_size({member: item}) for item in content)


def item_size(item: Item) -> int:
    return sum(len(name.encode("utf-8")) + value_size(value) for name, value in item.items())


def to_json(value: Any) -> Any:
    """An item or value with binary as base64 text, for the store's JSON column."""
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, dict):
        return {key: to_json(item) for key, item in value.items()}
    if isinstance(value, list):
        return [to_json(item) for item in value]
    return value


def from_json(value: Any) -> Item:
    """The inverse of :func:`to_json` for an item (a mapping of names to attribute values)."""
    return {name: _value_from_json(item) for name, item in value.items()}


def _value_from_json(value: AttributeValue) -> AttributeValue:
    kind = type_of(value)
    content = value[kind]
    if kind == "B":
        return {"B": base64.b64decode(content)}
    if kind == "BS":
        return {"BS": [base64.b64decode(item) for item in content]}
    if kind == "M":
        return {"M": {name: _value_from_json(item) for name, item in content.items()}}
    if kind == "L":
        return {"L": [_value_from_json(item) for item in content]}
    return {kind: content}


def render(value: AttributeValue) -> str:
    """A value as DynamoDB's messages show it: ``{N:5}``, ``{S:abc}``."""
    kind = type_of(value)
    return f"{{{kind}:{value[kind]}}}"
