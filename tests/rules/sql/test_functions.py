"""The function library's shape, and the numeric functions, called directly through ``FUNCTIONS``.

Each case cites its row of the "Argument type → Result" table of AWS's *Functions* page
(https://docs.aws.amazon.com/iot/latest/developerguide/iot-sql-functions.html).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import pytest

from corral.rules.sql.context import EvalContext
from corral.rules.sql.functions import FUNCTIONS, SqlFunction
from corral.rules.sql.values import UNDEFINED, Value

CONTEXT = EvalContext(
    topic="a/b", payload=b"{}", timestamp_ms=1_481_825_251_155, account_id="123456789012", region="us-east-1"
)

# The table of contents of the current Functions page, less cast() (syntax: the compiler's), with the
# "Hashing functions" section's seven names.
DOCUMENTED = set(
    [
        "abs",
        "accountid",
        "acos",
        "asin",
        "atan",
        "atan2",
        "aws_lambda",
        "bitand",
        "bitor",
        "bitxor",
        "bitnot",
        "ceil",
        "chr",
        "clientid",
        "concat",
        "cos",
        "cosh",
        "decode",
        "encode",
        "endswith",
        "exp",
        "floor",
        "get",
        "get_dynamodb",
        "get_mqtt_property",
        "get_or_default",
        "get_registry_data",
        "get_secret",
        "get_thing_shadow",
        "get_user_properties",
        "indexof",
        "isnull",
        "isundefined",
        "length",
        "ln",
        "log",
        "lower",
        "lpad",
        "ltrim",
        "machinelearning_predict",
        "mod",
        "nanvl",
        "newuuid",
        "numbytes",
        "parse_time",
        "power",
        "principal",
        "rand",
        "regexp_matches",
        "regexp_replace",
        "regexp_substr",
        "remainder",
        "replace",
        "rpad",
        "round",
        "rtrim",
        "sign",
        "sin",
        "sinh",
        "sourceip",
        "substring",
        "sql_version",
        "sqrt",
        "startswith",
        "tan",
        "tanh",
        "time_to_epoch",
        "timestamp",
        "topic",
        "traceid",
        "transform",
        "trim",
        "trunc",
        "upper",
        "md2",
        "md5",
        "sha1",
        "sha224",
        "sha256",
        "sha384",
        "sha512",
    ]
)
OTHER_TYPES = [True, [1], {"a": 1}, None, UNDEFINED]
"""Boolean, Array, Object, Null, Undefined: the "Other value" rows of most tables."""


def call(name: str, *args: Value) -> Value:
    function = FUNCTIONS[name]
    assert function.min_args <= len(args) and (function.max_args is None or len(args) <= function.max_args)
    return function.call(CONTEXT, args)


def test_the_library_is_the_functions_page() -> None:
    assert set(FUNCTIONS) == DOCUMENTED
    assert "cast" not in FUNCTIONS
    assert all(isinstance(f, SqlFunction) and f.name == name for name, f in FUNCTIONS.items())


def test_services_corral_hosts_are_external_and_the_others_refused() -> None:
    external = {name for name, f in FUNCTIONS.items() if f.external}
    assert external == {"aws_lambda", "get_dynamodb", "get_registry_data", "get_thing_shadow"}
    refused = {name: f.refused for name, f in FUNCTIONS.items() if f.refused}
    assert set(refused) == {"get_secret", "machinelearning_predict"}
    assert "Secrets Manager" in (refused["get_secret"] or "")
    assert "Machine Learning" in (refused["machinelearning_predict"] or "")


@pytest.mark.parametrize(
    ("name", "low", "high"),
    [
        ("concat", 0, None),  # "This function accepts any number of arguments"
        ("substring", 2, 3),  # substring(String, Int[, Int])
        ("parse_time", 2, 3),  # parse_time(String, Long[, String])
        ("topic", 0, 1),  # "If no parameter is specified, the entire topic is returned"
        ("get_thing_shadow", 2, 3),  # shadowName is optional
        ("get_dynamodb", 4, 6),  # sortKeyName and sortKeyValue are optional
        ("get_secret", 3, 4),  # key is optional
        ("get_user_properties", 0, 1),
        ("rand", 0, 0),
        ("transform", 3, 3),
    ],
)
def test_arity(name: str, low: int, high: int | None) -> None:
    assert (FUNCTIONS[name].min_args, FUNCTIONS[name].max_args) == (low, high)


def test_sql_2016_only_functions_say_so() -> None:
    # "Supported by SQL version 2016-03-23 and later."
    for name in ("decode", "encode", "indexof", "isundefined", "length", "numbytes", "parse_time"):
        assert FUNCTIONS[name].since == "2016-03-23", name
    for name in ("time_to_epoch", "transform", "get_dynamodb", "get_thing_shadow"):
        assert FUNCTIONS[name].since == "2016-03-23", name
    assert FUNCTIONS["abs"].since == "2015-10-08"


# --- abs: Int → Int; Decimal → Decimal; String → Decimal or Undefined; others Undefined ---------------------


@pytest.mark.parametrize(
    ("arg", "expected"),
    [(-5, 5), (5, 5), (-2.5, 2.5), ("-5", 5.0), ("-1.5", 1.5), ("x", UNDEFINED)],
)
def test_abs(arg: Value, expected: Value) -> None:
    result = call("abs", arg)
    assert result == expected and type(result) is type(expected)


@pytest.mark.parametrize("arg", OTHER_TYPES)
def test_abs_other_types_are_undefined(arg: Value) -> None:
    assert call("abs", arg) is UNDEFINED


# --- the double-precision functions: Int/Decimal/String → Decimal; imaginary results and others Undefined ---


@pytest.mark.parametrize(
    ("name", "arg", "expected"),
    [
        ("acos", 0, 1.5707963267948966),  # example
        ("asin", 0, 0.0),  # example
        ("atan", 0, 0.0),  # example
        ("cos", 0, 1.0),  # example
        ("cosh", 2.3, 5.037220649268761),  # example
        ("exp", 1, math.e),  # example: e
        ("ln", math.e, 1.0),  # example
        ("log", 100, 2.0),  # example
        ("sin", 0, 0.0),  # example
        ("sinh", 2.3, 4.936961805545957),  # example
        ("sqrt", 9, 3.0),  # example
        ("tan", 3, -0.1425465430742778),  # example
        ("tanh", 2.3, 0.9800963962661914),  # example
        ("cos", "0", 1.0),  # String row: converted to Decimal
        ("sqrt", "6.25", 2.5),
    ],
)
def test_double_functions(name: str, arg: Value, expected: float) -> None:
    result = call(name, arg)
    assert type(result) is float and result == pytest.approx(expected, rel=1e-15)


@pytest.mark.parametrize(
    ("name", "arg"),
    [
        ("acos", 2),  # "Imaginary results are returned as Undefined"
        ("asin", -1.5),
        ("sqrt", -1),
        ("ln", 0),
        ("ln", -1),
        ("log", 0),
        ("cosh", 1000),  # overflows a double: JSON has no infinity
        ("exp", 1e6),
        ("sin", "sine"),  # "If the string cannot be converted, the result is Undefined"
    ],
)
def test_double_functions_without_a_real_result_are_undefined(name: str, arg: Value) -> None:
    assert call(name, arg) is UNDEFINED


@pytest.mark.parametrize("name", ["acos", "asin", "atan", "cos", "cosh", "exp", "ln", "log", "sin", "sinh"])
@pytest.mark.parametrize("arg", OTHER_TYPES)
def test_double_functions_other_types_are_undefined(name: str, arg: Value) -> None:
    assert call(name, arg) is UNDEFINED


def test_log_with_a_base_as_the_2016_guide_documents() -> None:
    assert call("log", 8, 2) == pytest.approx(3.0)
    assert call("log", 8, "two") is UNDEFINED


def test_atan2() -> None:
    assert call("atan2", 1, 0) == pytest.approx(1.5707963267948966)  # example
    assert call("atan2", "-1", "0") == pytest.approx(-math.pi / 2)  # Int/Decimal/String row
    assert call("atan2", 1, True) is UNDEFINED  # "Other value" row
    assert call("atan2", None, 1) is UNDEFINED


def test_power() -> None:
    assert call("power", 2, 5) == 32.0  # example
    assert type(call("power", 2, 5)) is float  # "A Decimal (with double precision)"
    assert call("power", "2", "0.5") == pytest.approx(math.sqrt(2))  # strings converted
    assert call("power", "two", 2) is UNDEFINED  # "If any String fails to be converted … Undefined"
    assert call("power", -8, 1 / 3) is UNDEFINED  # imaginary
    assert call("power", 10, 400) is UNDEFINED  # overflow
    assert call("power", [2], 2) is UNDEFINED  # Other value


# --- bitand, bitor, bitxor, bitnot: Int/Decimal/String rounded down to Int ----------------------------------


@pytest.mark.parametrize(
    ("name", "args", "expected"),
    [
        ("bitand", (13, 5), 5),  # example
        ("bitor", (8, 5), 13),  # example
        ("bitxor", (13, 5), 8),  # example (printed as bitor(13, 5) on the page)
        ("bitand", (13.9, 5.2), 5),  # "non-Int numbers are rounded down to the nearest Int"
        ("bitor", ("8.7", "5"), 13),  # "strings are converted to decimals and rounded down"
        ("bitxor", (-1.5, 0), -2),  # rounded down, not towards zero
        ("bitand", ("x", 1), UNDEFINED),  # "If the conversion fails, the result is Undefined"
        ("bitor", (True, 1), UNDEFINED),  # Other value
        ("bitxor", (1, None), UNDEFINED),
    ],
)
def test_bitwise(name: str, args: Sequence[Value], expected: Value) -> None:
    assert call(name, *args) == expected


def test_bitnot() -> None:
    # The page's example says bitnot(13) = 2 (a 4-bit NOT); a bitwise NOT of AWS's 64-bit Int is -14.
    assert call("bitnot", 13) == -14
    assert call("bitnot", 13.7) == -14  # "The Decimal value is rounded down"
    assert call("bitnot", "13") == -14  # "Strings are converted to decimals and rounded down"
    assert call("bitnot", "x") is UNDEFINED
    assert call("bitnot", [13]) is UNDEFINED


# --- ceil, floor, round, sign: Int → the argument; Decimal/String → Int ----------------------------------


@pytest.mark.parametrize(
    ("name", "arg", "expected"),
    [
        ("ceil", 1.2, 2),  # example
        ("ceil", -1.2, -1),  # example
        ("ceil", 7, 7),  # Int: the argument value
        ("ceil", "1.2", 2),  # String: converted to Decimal and rounded up
        ("floor", 1.2, 1),  # example
        ("floor", -1.2, -2),  # example
        ("floor", "-1.2", -2),
        ("round", 1.2, 1),  # examples
        ("round", 1.5, 2),
        ("round", 1.7, 2),
        ("round", -1.1, -1),
        ("round", -1.5, -2),
        ("round", 2.5, 3),  # "equidistant … rounded up" (away from zero), not to even
        ("round", "2.5", 3),
        ("round", 4, 4),
        ("sign", -7, -1),  # examples
        ("sign", 0, 0),
        ("sign", 13, 1),
        ("sign", -0.5, -1),  # Decimal → Int
        ("sign", "0.0", 0),  # String → the sign of the Decimal value
    ],
)
def test_rounding_and_sign(name: str, arg: Value, expected: int) -> None:
    result = call(name, arg)
    assert result == expected and type(result) is int


@pytest.mark.parametrize("name", ["ceil", "floor", "round", "sign"])
@pytest.mark.parametrize("arg", [*OTHER_TYPES, "one"])
def test_rounding_other_values_are_undefined(name: str, arg: Value) -> None:
    assert call(name, arg) is UNDEFINED


# --- mod and remainder -----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["mod", "remainder"])
def test_mod_and_remainder(name: str) -> None:
    assert call(name, 8, 3) == 2  # example
    assert type(call(name, 8, 3)) is int  # Int, Int → Int
    assert call(name, 8.5, 3) == 2.5  # Int/Decimal → Decimal
    assert type(call(name, 8, 3.0)) is float
    assert call(name, "8", "3") == 2  # "If all strings convert to decimals …"
    assert call(name, "8", "x") is UNDEFINED  # "Otherwise, Undefined"
    assert call(name, -8, 3) == -2  # the dividend's sign (Java's remainder), not Python's floored -8 % 3
    assert call(name, 8, -3) == 2
    assert call(name, -8.5, 3) == -2.5
    assert call(name, 8, 0) is UNDEFINED
    assert call(name, True, 2) is UNDEFINED  # Other value


# --- nanvl: the first argument unless Undefined, Null or NaN ----------------------------------------------


@pytest.mark.parametrize(
    ("first", "expected"),
    [
        (8, 8),  # example: Nanvl(8, 3) = 8
        (UNDEFINED, 3),  # Undefined → the second argument
        (None, 3),  # Null → the second argument
        (math.nan, 3),  # Decimal (NaN) → the second argument
        (1.5, 1.5),  # Decimal (not NaN) → the first
        ("text", "text"),  # Other value → the first
    ],
)
def test_nanvl(first: Value, expected: Value) -> None:
    assert call("nanvl", first, 3) == expected


# --- trunc -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ((2.3, 0), 2),  # examples
        ((2.3123, 2), 2.31),
        ((2.888, 2), 2.88),
        ((2.00, 5), 2),  # "Trailing zeroes are stripped from the result"
        ((7, 2), 7),  # Int, Int: the source value
        ((-2.888, 1), -2.8),  # truncated towards zero
        ((2.888, 1.9), 2.8),  # "The second argument, if not an Int, is rounded down"
        ((2.888, -3), 2),  # "less than zero, it is set to zero"
        (("2.888", 2), 2.88),  # "A String is converted to a Decimal value"
        (("x", 2), UNDEFINED),  # "If the string conversion fails, the result is Undefined"
        (([1], 2), UNDEFINED),  # Other value
        ((2.5, None), UNDEFINED),
    ],
)
def test_trunc(args: Sequence[Value], expected: Value) -> None:
    assert call("trunc", *args) == expected


def test_trunc_clamps_places_to_34() -> None:
    assert call("trunc", 0.1, 1000) == 0.1


def test_rand_is_between_0_and_1() -> None:
    values = {call("rand") for _ in range(20)}
    assert all(type(v) is float and 0.0 <= v < 1.0 for v in values)
    assert len(values) > 1
