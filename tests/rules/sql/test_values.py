"""AWS's conversion tables (Data types page, "Conversions"; Functions page, cast's "Casting rules")."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from corral.rules.sql.values import (
    NO_MATCH,
    UNDEFINED,
    Value,
    cast_to_boolean,
    cast_to_decimal,
    cast_to_int,
    cast_to_string,
    format_decimal,
    to_boolean,
    to_decimal,
    to_int,
    to_json_text,
    to_number,
    to_string,
    type_name,
    whole_decimal_as_int,
    without_undefined,
)

DATA_TYPES = "https://docs.aws.amazon.com/iot/latest/developerguide/iot-sql-data-types.html"


@pytest.mark.parametrize(
    ("value", "name"),
    [
        (1, "Int"),
        (1.5, "Decimal"),
        (True, "Boolean"),
        ("a", "String"),
        ([1], "Array"),
        ({"a": 1}, "Object"),
        (None, "Null"),
        (UNDEFINED, "Undefined"),
        (b"\x00", "Binary"),
    ],
)
def test_type_name(value: Value, name: str) -> None:
    assert type_name(value) == name


def test_singletons() -> None:
    assert repr(UNDEFINED) == "Undefined"
    assert not UNDEFINED
    assert repr(NO_MATCH) == "NoMatch"
    assert type(UNDEFINED)() is UNDEFINED
    assert type(NO_MATCH)() is NO_MATCH


# To Decimal (Data types page).
@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (5, 5.0),
        (1.25, 1.25),
        (True, UNDEFINED),
        ("0", 0.0),
        ("-1.2", -1.2),
        ("5E-12", 5e-12),
        ("5e3", 5000.0),
        ("+1", UNDEFINED),
        (".5", UNDEFINED),
        ("5.", UNDEFINED),
        (" 5", UNDEFINED),
        ("abc", UNDEFINED),
        ([1], UNDEFINED),
        ({"a": 1}, UNDEFINED),
        (None, None),
        (UNDEFINED, UNDEFINED),
        (b"5", UNDEFINED),
    ],
)
def test_to_decimal(value: Value, expected: Value) -> None:
    result = to_decimal(value)
    assert result == expected
    assert type(result) is type(expected)


# To Int (Data types page): Decimal rounded to nearest, String parsed as Decimal then truncated.
@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (7, 7),
        (1.4, 1),
        (1.5, 2),
        (1.6, 2),
        (-1.5, -2),
        (-1.4, -1),
        (False, UNDEFINED),
        ("0", 0),
        ("-1.2", -1),
        ("1.9", 1),
        ("-1.9", -1),
        ("5E-12", 0),
        ("2E3", 2000),
        ("12345678901234567890", 12345678901234567890),
        ("1E40", UNDEFINED),
        ("x", UNDEFINED),
        ([1], UNDEFINED),
        ({}, UNDEFINED),
        (None, None),
        (UNDEFINED, UNDEFINED),
    ],
)
def test_to_int(value: Value, expected: Value) -> None:
    result = to_int(value)
    assert result == expected
    assert type(result) is type(expected)


# To Boolean (Data types page).
@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1, UNDEFINED),
        (0.0, UNDEFINED),
        (True, True),
        (False, False),
        ("true", True),
        ("TRUE", True),
        ("False", False),
        ("yes", UNDEFINED),
        ([True], UNDEFINED),
        ({}, UNDEFINED),
        (None, UNDEFINED),
        (UNDEFINED, UNDEFINED),
    ],
)
def test_to_boolean(value: Value, expected: Value) -> None:
    assert to_boolean(value) is expected


# To String (Data types page).
@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (42, "42"),
        (-3, "-3"),
        (1.5, "1.5"),
        (5e-12, "5E-12"),
        (1.5e20, "1.5E20"),
        (True, "true"),
        (False, "false"),
        ("abc", "abc"),
        ([1, "a", True, None, 1.5], '[1,"a",true,null,1.5]'),
        ({"a": "b", "n": 1}, '{"a":"b","n":1}'),
        (None, UNDEFINED),
        (UNDEFINED, UNDEFINED),
        (b"text", "text"),
        (b"\xff", UNDEFINED),
    ],
)
def test_to_string(value: Value, expected: Value) -> None:
    assert to_string(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [(3, 3), (2.5, 2.5), ("12", 12), ("1.5", 1.5), ("1E2", 100.0), ("x", UNDEFINED), (None, UNDEFINED)],
)
def test_to_number(value: Value, expected: Value) -> None:
    result = to_number(value)
    assert result == expected
    assert type(result) is type(expected)


# cast() "Casting rules" (Functions page).
@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (True, 1),
        (False, 0),
        (1.9, 1),
        (-1.1, -2),
        ("-1.2", -2),
        ("7", 7),
        (None, UNDEFINED),
        ([1], UNDEFINED),
    ],
)
def test_cast_to_int(value: Value, expected: Value) -> None:
    assert cast_to_int(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [(True, 1.0), (False, 0.0), (3, 3.0), ("5E-12", 5e-12), (None, UNDEFINED), ({}, UNDEFINED)],
)
def test_cast_to_decimal(value: Value, expected: Value) -> None:
    assert cast_to_decimal(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [(0, False), (2, True), (0.0, False), (-0.5, True), ("TrUe", True), ("no", UNDEFINED), (None, UNDEFINED)],
)
def test_cast_to_boolean(value: Value, expected: Value) -> None:
    assert cast_to_boolean(value) is expected


def test_cast_to_string() -> None:
    assert cast_to_string(10) == "10"
    assert cast_to_string(None) is UNDEFINED


def test_whole_decimal_as_int() -> None:
    assert type(whole_decimal_as_int(10.0)) is int
    assert whole_decimal_as_int(10.5) == 10.5
    assert whole_decimal_as_int("10.0") == "10.0"


def test_without_undefined() -> None:
    value = {"foo": None, "bar": UNDEFINED, "arr": [1, UNDEFINED, {"x": UNDEFINED}]}
    assert without_undefined(value) == {"foo": None, "arr": [1, {}]}
    # The Data types page's example: {"foo":null, "bar":undefined} serializes as {"foo":null}.
    assert to_json_text({"foo": None, "bar": UNDEFINED}) == '{"foo":null}'


@given(st.integers(min_value=-(10**33), max_value=10**33))
def test_int_string_round_trip(number: int) -> None:
    assert to_int(to_string(number)) == number
    assert to_number(str(number)) == number


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_decimal_string_round_trip(number: float) -> None:
    text = to_string(number)
    assert isinstance(text, str)
    back = to_decimal(text)
    assert back == number
    assert format_decimal(number).upper() == text


@given(st.floats(allow_nan=False, allow_infinity=False, min_value=-1e30, max_value=1e30))
def test_to_int_is_nearest(number: float) -> None:
    result = to_int(number)
    assert isinstance(result, int)
    assert abs(result - number) <= 0.5
    cast = cast_to_int(number)
    assert cast == math.floor(number)
