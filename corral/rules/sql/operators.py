"""IoT SQL's operators on values, as AWS's *Operators* page defines them
(https://docs.aws.amazon.com/iot/latest/developerguide/iot-sql-operators.html). Pure functions.

- Arithmetic: Int op Int is an Int (``/`` truncates towards zero, ``%`` takes the dividend's sign, as the
  Java engine behind AWS does); Int/Decimal mixes are Decimals; for ``-`` ``*`` ``/`` ``%`` a numeric String
  converts to a Decimal; ``+`` with a String operand concatenates the other operand's String form. Anything
  else, and division by zero, is Undefined.
- ``=``: Undefined on either side is Undefined; numbers compare by value (Int converted to Decimal); Arrays
  item by item in order; Objects by keys and values in any order; mismatched types are false. ``<>`` is its
  negation (Null <> Null is false).
- ``<`` ``<=`` ``>`` ``>=``: both operands converted to Decimal (numeric Strings included); otherwise
  Undefined.
- AND, OR, NOT: Booleans, or the Strings "true"/"false" in any case; otherwise Undefined. AND is false as
  soon as one side is false, OR true as soon as one side is true (the right side is then not evaluated):
  the page's tables only say "Other value -> Undefined", Corral reads them the Kleene way.
- ``a IN b`` (the current page has an IN section: a value against the items of an Array) and ``a CONTAINS
  b`` (an Array holding b, a String holding the String b): Corral compares items with ``=``'s rules and
  answers Undefined when the right (IN) or left (CONTAINS) operand has the wrong type. The archived page
  Corral's tables come from has neither section, so these two follow the current page's headings, not
  its tables.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from corral.rules.sql.values import UNDEFINED, Value, parse_decimal_string, to_boolean, to_string


def _is_num(kind: type) -> bool:
    return kind is int or kind is float


def same(a: Value, b: Value) -> bool:
    """Equality of two defined values under ``=`` (no conversions; 1 = 1.0)."""
    ta, tb = type(a), type(b)
    if _is_num(ta) and _is_num(tb):
        return bool(a == b)
    if ta is not tb:
        return False
    if ta is list:
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if ta is dict:
        return a.keys() == b.keys() and all(same(v, b[k]) for k, v in a.items())
    return bool(a == b)


def eq(a: Value, b: Value) -> Value:
    if a is UNDEFINED or b is UNDEFINED:
        return UNDEFINED
    return same(a, b)


def ne(a: Value, b: Value) -> Value:
    if a is UNDEFINED or b is UNDEFINED:
        return UNDEFINED
    return not same(a, b)


def _as_decimal(value: Value) -> int | float | None:
    """A number for ordering comparisons and String arithmetic, or None."""
    kind = type(value)
    if kind is int or kind is float:
        return value  # type: ignore[no-any-return]
    if kind is str:
        parsed = parse_decimal_string(value)
        if parsed is None:
            return None
        number = float(parsed)
        return number if math.isfinite(number) else None
    return None


def _ordering(test: Callable[[int | float, int | float], bool]) -> Callable[[Value, Value], Value]:
    def compare(a: Value, b: Value) -> Value:
        x = _as_decimal(a)
        if x is None:
            return UNDEFINED
        y = _as_decimal(b)
        if y is None:
            return UNDEFINED
        return test(x, y)

    return compare


lt = _ordering(lambda x, y: x < y)
le = _ordering(lambda x, y: x <= y)
gt = _ordering(lambda x, y: x > y)
ge = _ordering(lambda x, y: x >= y)

COMPARISONS: dict[str, Callable[[Value, Value], Value]] = {
    "=": eq,
    "<>": ne,
    "!=": ne,
    "<": lt,
    "<=": le,
    ">": gt,
    ">=": ge,
}


def in_(a: Value, b: Value) -> Value:
    """``a IN b``: whether the Array b holds an item equal to a; Undefined when b is not an Array."""
    if a is UNDEFINED or type(b) is not list:
        return UNDEFINED
    return any(same(a, item) for item in b)


def contains(a: Value, b: Value) -> Value:
    """``a CONTAINS b``: an Array holding b, or a String holding the String b; otherwise Undefined."""
    if b is UNDEFINED:
        return UNDEFINED
    kind = type(a)
    if kind is list:
        return any(same(item, b) for item in a)
    if kind is str and type(b) is str:
        return b in a
    return UNDEFINED


def truth(value: Value) -> bool | None:
    """A logical operand: ``to_boolean``'s answer, with None where it is Undefined."""
    converted = to_boolean(value)
    return converted if isinstance(converted, bool) else None


def not_(value: Value) -> Value:
    t = truth(value)
    return UNDEFINED if t is None else not t


# --- arithmetic ---------------------------------------------------------------------------------------------


def _finite(number: float) -> Value:
    return number if math.isfinite(number) else UNDEFINED


def _decimals(a: Value, b: Value) -> tuple[float, float] | None:
    x = _as_decimal(a)
    if x is None:
        return None
    y = _as_decimal(b)
    if y is None:
        return None
    return float(x), float(y)


def add(a: Value, b: Value) -> Value:
    ta, tb = type(a), type(b)
    if ta is int and tb is int:
        return a + b
    if ta is str or tb is str:
        left, right = to_string(a), to_string(b)
        if isinstance(left, str) and isinstance(right, str):
            return left + right
        return UNDEFINED
    if _is_num(ta) and _is_num(tb):
        return _finite(float(a) + float(b))
    return UNDEFINED


def sub(a: Value, b: Value) -> Value:
    if type(a) is int and type(b) is int:
        return a - b
    pair = _decimals(a, b)
    return UNDEFINED if pair is None else _finite(pair[0] - pair[1])


def mul(a: Value, b: Value) -> Value:
    if type(a) is int and type(b) is int:
        return a * b
    pair = _decimals(a, b)
    return UNDEFINED if pair is None else _finite(pair[0] * pair[1])


def div(a: Value, b: Value) -> Value:
    if type(a) is int and type(b) is int:
        if b == 0:
            return UNDEFINED
        quotient = abs(a) // abs(b)
        return quotient if (a < 0) == (b < 0) else -quotient
    pair = _decimals(a, b)
    if pair is None or pair[1] == 0:
        return UNDEFINED
    return _finite(pair[0] / pair[1])


def mod(a: Value, b: Value) -> Value:
    if type(a) is int and type(b) is int:
        if b == 0:
            return UNDEFINED
        remainder = abs(a) % abs(b)
        return -remainder if a < 0 else remainder
    pair = _decimals(a, b)
    if pair is None or pair[1] == 0:
        return UNDEFINED
    return _finite(math.fmod(pair[0], pair[1]))


def neg(a: Value) -> Value:
    kind = type(a)
    if kind is int or kind is float:
        return -a
    if kind is str:
        number = _as_decimal(a)
        return UNDEFINED if number is None else -float(number)
    return UNDEFINED


ARITHMETIC: dict[str, Callable[[Value, Value], Value]] = {
    "+": add,
    "-": sub,
    "*": mul,
    "/": div,
    "%": mod,
}
