"""The values IoT SQL computes with, and AWS's conversion rules between its types.

JSON values are plain Python values: ``dict`` (Object), ``list`` (Array), ``str`` (String), ``int`` (Int),
``float`` (Decimal), ``bool`` (Boolean), ``None`` (Null), plus ``bytes`` (Binary: a payload that is not JSON)
and the ``UNDEFINED`` singleton (AWS's Undefined: a missing attribute, the result of a failed conversion;
left out of the output).

The implicit conversions (``to_*``) follow the "Conversions" tables of AWS's *Data types* page
(https://docs.aws.amazon.com/iot/latest/developerguide/iot-sql-data-types.html); the explicit ones
(``cast_to_*``) follow the "Casting rules" of ``cast()`` on the *Functions* page. Where they differ:

- Null: the implicit conversions to Int and Decimal give Null (to Boolean and String: Undefined); ``cast``
  gives Undefined for every target.
- Boolean to a number: Undefined implicitly; ``cast`` gives 1/0 (1.0/0.0).
- Decimal to Int: implicitly "rounded to the nearest Int" (halves away from zero: the docs do not say);
  ``cast`` "rounded down" (towards negative infinity).
- A number to Boolean: Undefined implicitly; ``cast`` gives false for 0 and true for anything else.

Strings convert to numbers only when they match AWS's pattern ``^-?\\d+(\\.\\d+)?((?i)E-?\\d+)?$`` (no
leading ``+``, no blanks, no ``.5`` or ``5.``). A String converted to Int is parsed as a Decimal and then
truncated. Python floats stand for AWS's 34-digit Decimals (double precision); conversions from strings are
exact before that last rounding.
"""

from __future__ import annotations

import math
import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any, Final, TypeAlias

import orjson


class _Undefined:
    """AWS IoT SQL's Undefined: not JSON null; an attribute whose value is Undefined is left out."""

    _instance: _Undefined | None = None

    def __new__(cls) -> _Undefined:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "Undefined"

    def __bool__(self) -> bool:
        return False


UNDEFINED: Final = _Undefined()
Undefined: TypeAlias = _Undefined

Value: TypeAlias = Any
"""dict | list | str | int | float | bool | None | bytes | Undefined (Any: JSON containers nest freely)."""


class _NoMatch:
    _instance: _NoMatch | None = None

    def __new__(cls) -> _NoMatch:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "NoMatch"


NO_MATCH: Final = _NoMatch()
NoMatch: TypeAlias = _NoMatch
"""What a statement evaluates to when its WHERE clause is not true: the rule's actions do not run."""

DECIMAL_PATTERN: Final = re.compile(r"-?\d+(?:\.\d+)?(?:[eE]-?\d+)?")
"""The strings AWS converts to numbers (matched whole, with ``fullmatch``)."""

INT_DIGITS_MAX: Final = 34
"""AWS's Int holds at most 34 digits; a String whose integer part is longer does not convert to Int."""

_TYPE_NAMES: Final[dict[type, str]] = {
    bool: "Boolean",
    int: "Int",
    float: "Decimal",
    str: "String",
    list: "Array",
    dict: "Object",
    type(None): "Null",
    _Undefined: "Undefined",
    bytes: "Binary",
}


def type_name(value: Value) -> str:
    """AWS's name of a value's type: Int, Decimal, Boolean, String, Array, Object, Null, Undefined, Binary."""
    name = _TYPE_NAMES.get(type(value))
    if name is not None:
        return name
    # Subclasses (never produced by the engine, but cheap to answer).
    for cls, cls_name in _TYPE_NAMES.items():
        if isinstance(value, cls):
            return cls_name
    raise TypeError(f"not an IoT SQL value: {value!r}")


def is_number(value: Value) -> bool:
    """Int or Decimal (a Boolean is neither, although Python's bool is an int)."""
    return (type(value) is int) or (type(value) is float)


def parse_decimal_string(text: str) -> Decimal | None:
    """The exact Decimal a String spells when it matches AWS's pattern, else None."""
    if DECIMAL_PATTERN.fullmatch(text) is None:
        return None
    try:
        return Decimal(text)
    except InvalidOperation:  # pragma: no cover - the pattern only admits valid literals
        return None


def _finite(number: float) -> float | Undefined:
    return number if math.isfinite(number) else UNDEFINED


def _decimal_to_float(number: Decimal) -> float | Undefined:
    return _finite(float(number))


def _decimal_to_int(number: Decimal, rounding: str) -> int | Undefined:
    """An integral Decimal, or Undefined when it has more digits than AWS's Int."""
    if number.is_zero():
        return 0
    if number.adjusted() >= INT_DIGITS_MAX:
        return UNDEFINED
    return int(number.to_integral_value(rounding=rounding))


def to_boolean(value: Value) -> bool | Undefined:
    """AWS's conversion to Boolean (as in WHERE, AND/OR/NOT): Booleans, and the strings "true"/"false" in
    any case; everything else (numbers included) is Undefined."""
    if value is True or value is False:
        return value
    if type(value) is str:
        lowered = value.lower()
        if lowered == "true":
            return True
        if lowered == "false":
            return False
    return UNDEFINED


def to_int(value: Value) -> int | Undefined | None:
    """AWS's conversion to Int: a Decimal rounded to the nearest Int; a String parsed as a Decimal and
    truncated; Null stays Null; Boolean, Array, Object, Binary and Undefined are Undefined."""
    kind = type(value)
    if kind is int:
        return value  # type: ignore[no-any-return]
    if kind is float:
        if not math.isfinite(value):
            return UNDEFINED
        return _decimal_to_int(Decimal(value), ROUND_HALF_UP)
    if kind is str:
        parsed = parse_decimal_string(value)
        if parsed is None:
            return UNDEFINED
        return _decimal_to_int(parsed, "ROUND_DOWN")
    if value is None:
        return None
    return UNDEFINED


def to_decimal(value: Value) -> float | Undefined | None:
    """AWS's conversion to Decimal: an Int as a Decimal; a String matching AWS's pattern parsed; Null stays
    Null; Boolean, Array, Object, Binary and Undefined are Undefined."""
    kind = type(value)
    if kind is float:
        return value  # type: ignore[no-any-return]
    if kind is int:
        try:
            return float(value)
        except OverflowError:
            return UNDEFINED
    if kind is str:
        parsed = parse_decimal_string(value)
        if parsed is None:
            return UNDEFINED
        return _decimal_to_float(parsed)
    if value is None:
        return None
    return UNDEFINED


def to_number(value: Value) -> int | float | Undefined:
    """Int stays Int, Decimal stays Decimal, a String parses as whichever it spells; else Undefined.

    Not one of AWS's tables: the numeric reading that operators and numeric functions share. A String
    with neither a decimal point nor an exponent is an Int; Null, like every other type, is Undefined.
    """
    kind = type(value)
    if kind is int or kind is float:
        return value  # type: ignore[no-any-return]
    if kind is str:
        parsed = parse_decimal_string(value)
        if parsed is None:
            return UNDEFINED
        if "." not in value and "e" not in value and "E" not in value:
            return _decimal_to_int(parsed, "ROUND_DOWN")
        return _decimal_to_float(parsed)
    return UNDEFINED


def format_decimal(number: float) -> str:
    """A Decimal as AWS prints it: plain digits, or scientific notation with an upper-case E.

    The exponent has no ``+`` (``1E16``), so that the text converts back under AWS's pattern, which has none.
    """
    text = repr(number)
    if "e" in text:
        mantissa, exponent = text.split("e")
        if mantissa.endswith(".0"):
            mantissa = mantissa[:-2]
        return f"{mantissa}E{exponent.lstrip('+')}"
    return text


def to_string(value: Value) -> str | Undefined:
    """AWS's conversion to String (numbers as AWS prints them, objects and arrays as JSON text)."""
    kind = type(value)
    if kind is str:
        return value  # type: ignore[no-any-return]
    if value is True:
        return "true"
    if value is False:
        return "false"
    if kind is int:
        return str(value)
    if kind is float:
        return format_decimal(value)
    if kind is list or kind is dict:
        return to_json_text(value)
    if kind is bytes:
        try:
            return value.decode()  # type: ignore[no-any-return]
        except UnicodeDecodeError:
            return UNDEFINED
    return UNDEFINED  # Null, Undefined


def without_undefined(value: Value) -> Value:
    """A JSON value with every Undefined object member and array item left out, at any depth."""
    kind = type(value)
    if kind is dict:
        return {k: without_undefined(v) for k, v in value.items() if v is not UNDEFINED}
    if kind is list:
        return [without_undefined(v) for v in value if v is not UNDEFINED]
    return value


def _default(obj: Any) -> Any:
    if obj is UNDEFINED:
        return None
    if isinstance(obj, bytes):
        return obj.decode(errors="replace")
    raise TypeError(f"not an IoT SQL value: {obj!r}")


def to_json_text(value: Value) -> str:
    """A JSON value as compact JSON text (Undefined members left out)."""
    return orjson.dumps(without_undefined(value), default=_default).decode()


# --- cast(value AS type): the explicit conversions ---------------------------------------------------------


def cast_to_boolean(value: Value) -> bool | Undefined:
    """``cast(… AS Boolean)``: numbers are false when 0 and true otherwise; strings as ``to_boolean``."""
    kind = type(value)
    if kind is int or kind is float:
        return bool(value != 0)
    return to_boolean(value)


def cast_to_int(value: Value) -> int | Undefined:
    """``cast(… AS Int)``: a Decimal rounded down; true = 1, false = 0; a String parsed as a Decimal and
    rounded down; Null and everything else Undefined."""
    kind = type(value)
    if kind is int:
        return value  # type: ignore[no-any-return]
    if kind is bool:
        return 1 if value else 0
    if kind is float:
        if not math.isfinite(value):
            return UNDEFINED
        return _decimal_to_int(Decimal(value), "ROUND_FLOOR")
    if kind is str:
        parsed = parse_decimal_string(value)
        if parsed is None:
            return UNDEFINED
        return _decimal_to_int(parsed, "ROUND_FLOOR")
    return UNDEFINED


def cast_to_decimal(value: Value) -> float | Undefined:
    """``cast(… AS Decimal)`` (and ``Double``): true = 1.0, false = 0.0; Null and everything else that is
    not a number or a numeric String is Undefined."""
    kind = type(value)
    if kind is bool:
        return 1.0 if value else 0.0
    if value is None:
        return UNDEFINED
    return to_decimal(value)  # type: ignore[return-value]


def cast_to_string(value: Value) -> str | Undefined:
    """``cast(… AS String)``: as ``to_string``."""
    return to_string(value)


def whole_decimal_as_int(value: Value) -> Value:
    """SQL 2016-03-23 and later: a Decimal that is a whole number (``10.0``) is processed as an Int."""
    if type(value) is float and value.is_integer():
        return int(value)
    return value
