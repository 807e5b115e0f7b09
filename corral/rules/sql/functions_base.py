"""What every IoT SQL function module shares: ``SqlFunction`` and the argument readings of AWS's tables.

The tables of AWS's *Functions* page (https://docs.aws.amazon.com/iot/latest/developerguide/iot-sql-functions.html)
read the arguments in a handful of ways, named here once: a number where Booleans, Null and containers are
Undefined (``number_arg``), an Int "rounded down" from a Decimal or a numeric String (``floor_arg``), and a
String by the standard conversion where Null and Undefined are Undefined (``string_arg``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Final

from corral.rules.sql.context import EvalContext
from corral.rules.sql.values import (
    UNDEFINED,
    Undefined,
    Value,
    parse_decimal_string,
    to_number,
    to_string,
)

SQL_2015: Final = "2015-10-08"
SQL_2016: Final = "2016-03-23"

Call = Callable[[EvalContext, Sequence[Value]], Value]


@dataclass(frozen=True, slots=True)
class SqlFunction:
    name: str
    min_args: int
    max_args: int | None
    """None: any number of arguments from ``min_args``."""
    call: Call
    """Arguments already evaluated (possibly Undefined); returns a Value (Undefined when AWS says so)."""
    external: bool = False
    """Evaluated by ``EvalContext.external`` (a service Corral hosts elsewhere): the statement runs
    off-loop."""
    refused: str | None = None
    """Why a rule using it is refused at creation (it needs an AWS service Corral does not host)."""
    since: str = SQL_2015
    """The first SQL version that has it ("Supported by SQL version … and later" on AWS's page)."""


def number_arg(value: Value) -> int | float | None:
    """Int or Decimal as is, a numeric String parsed; None (the result is Undefined) for Boolean, Null,
    Array, Object, Binary and Undefined."""
    if value is True or value is False:
        return None
    number = to_number(value)
    return None if isinstance(number, Undefined) else number


def decimal_arg(value: Value) -> float | None:
    """A number as a double ("Decimal arguments are rounded to double precision"), or None."""
    number = number_arg(value)
    if number is None:
        return None
    try:
        return float(number)
    except OverflowError:
        return None


def floor_arg(value: Value) -> int | None:
    """An Int; a Decimal "rounded down to the nearest Int"; a String "converted to a Decimal and rounded
    down"; None for anything else."""
    if value is True or value is False:
        return None
    kind = type(value)
    if kind is int:
        return value  # type: ignore[no-any-return]
    if kind is float:
        return math.floor(value) if math.isfinite(value) else None
    if kind is str:
        parsed = parse_decimal_string(value)
        if parsed is None:
            return None
        return int(parsed.to_integral_value(rounding="ROUND_FLOOR"))
    return None


def exact_decimal(value: int | float) -> Decimal:
    """The Decimal a number is written as (``2.3`` is 2.3, not the binary double nearest to it)."""
    return Decimal(value) if type(value) is int else Decimal(repr(value))


def string_arg(value: Value) -> str | None:
    """The standard conversion to String; None for Null and Undefined (and undecodable Binary)."""
    text = to_string(value)
    return None if isinstance(text, Undefined) else text


def finite(number: float) -> float | Undefined:
    """A double result; NaN ("imaginary results") and infinities are Undefined (JSON has neither)."""
    return number if math.isfinite(number) else UNDEFINED


def fixed(name: str, arity: int, call: Call, *, since: str = SQL_2015) -> SqlFunction:
    return SqlFunction(name, arity, arity, call, since=since)
