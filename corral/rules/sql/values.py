"""The values IoT SQL computes with, and AWS's conversion rules between its types.

INTERFACE STUB (being implemented). JSON values are plain Python values: ``dict`` (Object), ``list`` (Array),
``str`` (String), ``int`` (Int), ``float`` (Decimal), ``bool`` (Boolean), ``None`` (Null), plus ``bytes``
(Binary: a payload that is not JSON) and the ``UNDEFINED`` singleton (AWS's Undefined: a missing attribute,
the result of a failed conversion; left out of the output).
"""

from __future__ import annotations

from typing import Any, Final, TypeAlias


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


def type_name(value: Value) -> str:
    """AWS's name of a value's type: Int, Decimal, Boolean, String, Array, Object, Null, Undefined, Binary."""
    raise NotImplementedError


def to_boolean(value: Value) -> bool | Undefined:
    """AWS's conversion to Boolean (as in WHERE, AND/OR/NOT, and ``cast(… as Boolean)``)."""
    raise NotImplementedError


def to_int(value: Value) -> int | Undefined:
    raise NotImplementedError


def to_decimal(value: Value) -> float | Undefined:
    raise NotImplementedError


def to_number(value: Value) -> int | float | Undefined:
    """Int stays Int, Decimal stays Decimal, a String parses as whichever it spells; else Undefined."""
    raise NotImplementedError


def to_string(value: Value) -> str | Undefined:
    """AWS's conversion to String (numbers as AWS prints them, objects and arrays as JSON text)."""
    raise NotImplementedError
