"""The numeric functions of AWS's *Functions* page: each follows its "Argument type → Result" table.

Decimals are Python floats (double precision). A result that is NaN ("imaginary results are returned as
Undefined") or infinite is Undefined, since JSON has neither. Remainders take the sign of the dividend, as
Java's ``%`` and ``BigDecimal.remainder`` do (AWS's engine), not Python's floored ``%``.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence
from decimal import ROUND_DOWN, ROUND_HALF_UP, Context, Decimal
from typing import Final

from corral.rules.sql.context import EvalContext
from corral.rules.sql.functions_base import (
    SqlFunction,
    decimal_arg,
    exact_decimal,
    finite,
    fixed,
    floor_arg,
    number_arg,
)
from corral.rules.sql.values import UNDEFINED, Value

TRUNC_PLACES_MAX: Final = 34
_WIDE: Final = Context(prec=800)
"""Room for any double written out to 34 decimal places."""


def _double(operation: Callable[[float], float]) -> Callable[[EvalContext, Sequence[Value]], Value]:
    """Int/Decimal/numeric String → Decimal (double); everything else, and NaN or infinity, Undefined."""

    def call(ctx: EvalContext, args: Sequence[Value]) -> Value:
        number = decimal_arg(args[0])
        if number is None:
            return UNDEFINED
        try:
            return finite(operation(number))
        except (ValueError, OverflowError):
            return UNDEFINED

    return call


def _abs(ctx: EvalContext, args: Sequence[Value]) -> Value:
    """Int → Int; Decimal → Decimal; String → Decimal; others Undefined."""
    value = args[0]
    number = number_arg(value)
    if number is None:
        return UNDEFINED
    if type(value) is str:
        return finite(abs(float(number)))
    return abs(number)


def _atan2(ctx: EvalContext, args: Sequence[Value]) -> Value:
    y, x = decimal_arg(args[0]), decimal_arg(args[1])
    if y is None or x is None:
        return UNDEFINED
    return finite(math.atan2(y, x))


def _power(ctx: EvalContext, args: Sequence[Value]) -> Value:
    base, exponent = decimal_arg(args[0]), decimal_arg(args[1])
    if base is None or exponent is None:
        return UNDEFINED
    try:
        return finite(math.pow(base, exponent))
    except (ValueError, OverflowError):
        return UNDEFINED


def _log(ctx: EvalContext, args: Sequence[Value]) -> Value:
    """Base-10 logarithm; the 2016 guide's two-argument form ``log(n, m)`` takes the base second."""
    number = decimal_arg(args[0])
    if number is None:
        return UNDEFINED
    try:
        if len(args) == 1:
            return finite(math.log10(number))
        base = decimal_arg(args[1])
        if base is None:
            return UNDEFINED
        return finite(math.log(number, base))
    except (ValueError, ZeroDivisionError):
        return UNDEFINED


def _bitwise(operation: Callable[[int, int], int]) -> Callable[[EvalContext, Sequence[Value]], Value]:
    """Int/Decimal/String arguments rounded down to Ints; other types Undefined."""

    def call(ctx: EvalContext, args: Sequence[Value]) -> Value:
        left, right = floor_arg(args[0]), floor_arg(args[1])
        if left is None or right is None:
            return UNDEFINED
        return operation(left, right)

    return call


def _bitnot(ctx: EvalContext, args: Sequence[Value]) -> Value:
    number = floor_arg(args[0])
    return UNDEFINED if number is None else ~number


def _rounding(operation: Callable[[float], int]) -> Callable[[EvalContext, Sequence[Value]], Value]:
    """Int → the argument; Decimal → Int; String → converted then rounded; others Undefined."""

    def call(ctx: EvalContext, args: Sequence[Value]) -> Value:
        number = number_arg(args[0])
        if number is None:
            return UNDEFINED
        if type(number) is int:
            return number
        if not math.isfinite(number):
            return UNDEFINED
        return operation(number)

    return call


def _round_half_up(number: float) -> int:
    """Halves away from zero: the examples give round(1.5) = 2 and round(-1.5) = -2."""
    return int(exact_decimal(number).to_integral_value(rounding=ROUND_HALF_UP))


def _sign(ctx: EvalContext, args: Sequence[Value]) -> Value:
    number = number_arg(args[0])
    if number is None:
        return UNDEFINED
    return (number > 0) - (number < 0)


def _remainder(ctx: EvalContext, args: Sequence[Value]) -> Value:
    """Int, Int → Int; with a Decimal → Decimal; the sign of the dividend; a zero divisor is Undefined."""
    left, right = number_arg(args[0]), number_arg(args[1])
    if left is None or right is None or right == 0:
        return UNDEFINED
    if type(left) is int and type(right) is int:
        magnitude = abs(left) % abs(right)
        return -magnitude if left < 0 else magnitude
    return finite(math.fmod(left, right))


def _sqrt(number: float) -> float:
    return math.sqrt(number) if number >= 0 else math.nan


def _trunc(ctx: EvalContext, args: Sequence[Value]) -> Value:
    """Truncated to the second argument's decimal places (clamped to 0..34), trailing zeroes stripped."""
    number = number_arg(args[0])
    places = floor_arg(args[1])
    if number is None or places is None:
        return UNDEFINED
    if type(number) is int:
        return number
    if not math.isfinite(number):
        return UNDEFINED
    places = min(max(places, 0), TRUNC_PLACES_MAX)
    truncated = exact_decimal(number).quantize(Decimal(1).scaleb(-places), ROUND_DOWN, _WIDE)
    if truncated == truncated.to_integral_value() and truncated.adjusted() < TRUNC_PLACES_MAX:
        return int(truncated)
    return float(truncated.normalize())


def _nanvl(ctx: EvalContext, args: Sequence[Value]) -> Value:
    """The first argument unless it is Undefined, Null or a NaN Decimal; then the second."""
    first = args[0]
    if first is UNDEFINED or first is None or (type(first) is float and math.isnan(first)):
        return args[1]
    return first


def _rand(ctx: EvalContext, args: Sequence[Value]) -> Value:
    return random.random()


FUNCTIONS: Final = (
    fixed("abs", 1, _abs),
    fixed("acos", 1, _double(math.acos)),
    fixed("asin", 1, _double(math.asin)),
    fixed("atan", 1, _double(math.atan)),
    fixed("atan2", 2, _atan2),
    fixed("bitand", 2, _bitwise(lambda a, b: a & b)),
    fixed("bitor", 2, _bitwise(lambda a, b: a | b)),
    fixed("bitxor", 2, _bitwise(lambda a, b: a ^ b)),
    fixed("bitnot", 1, _bitnot),
    fixed("ceil", 1, _rounding(math.ceil)),
    fixed("cos", 1, _double(math.cos)),
    fixed("cosh", 1, _double(math.cosh)),
    fixed("exp", 1, _double(math.exp)),
    fixed("floor", 1, _rounding(math.floor)),
    fixed("ln", 1, _double(math.log)),
    SqlFunction("log", 1, 2, _log),
    fixed("mod", 2, _remainder),
    fixed("nanvl", 2, _nanvl),
    fixed("power", 2, _power),
    fixed("rand", 0, _rand),
    fixed("remainder", 2, _remainder),
    fixed("round", 1, _rounding(_round_half_up)),
    fixed("sign", 1, _sign),
    fixed("sin", 1, _double(math.sin)),
    fixed("sinh", 1, _double(math.sinh)),
    fixed("sqrt", 1, _double(_sqrt)),
    fixed("tan", 1, _double(math.tan)),
    fixed("tanh", 1, _double(math.tanh)),
    fixed("trunc", 2, _trunc),
)
