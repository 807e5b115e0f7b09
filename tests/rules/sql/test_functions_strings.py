"""String, collection, encoding and hashing functions, called directly through ``FUNCTIONS``.

Each case cites its row or example of AWS's *Functions* page
(https://docs.aws.amazon.com/iot/latest/developerguide/iot-sql-functions.html).
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Sequence

import pytest

from corral.rules.sql.context import EvalContext
from corral.rules.sql.functions import FUNCTIONS
from corral.rules.sql.values import UNDEFINED, Value

CONTEXT = EvalContext(
    topic="a/b", payload=b"{}", timestamp_ms=1_481_825_251_155, account_id="123456789012", region="us-east-1"
)


def call(name: str, *args: Value) -> Value:
    return FUNCTIONS[name].call(CONTEXT, args)


@pytest.mark.parametrize(
    ("arg", "expected"),
    [
        (65, "A"),  # example
        (49, "1"),  # example
        (65.9, "A"),  # Decimal "rounded down to the nearest Int"
        ("65", "A"),  # String converted to a Decimal, rounded down
        (128, UNDEFINED),  # "not a valid ASCII value"
        (-1, UNDEFINED),
        (True, UNDEFINED),  # Boolean row
        ([65], UNDEFINED),
        (None, UNDEFINED),
        (UNDEFINED, UNDEFINED),
    ],
)
def test_chr(arg: Value, expected: Value) -> None:
    assert call("chr", arg) == expected


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ((), UNDEFINED),  # examples
        ((1,), "1"),
        (([1, 2, 3], 4), [1, 2, 3, 4]),
        (([1, 2, 3], "hello"), [1, 2, 3, "hello"]),
        (("con", "cat"), "concat"),
        ((1, "hello"), "1hello"),
        (("he", "is", "man"), "heisman"),
        (([1, 2, 3], "hello", [4, 5, 6]), [1, 2, 3, "hello", 4, 5, 6]),
        ((["a"],), ["a"]),  # 1 argument: "returned unmodified"
        (("a", {"b": 1}), 'a{"b":1}'),  # standard conversions to String
        (("a", 1.5, True), "a1.5true"),
        (("a", None), UNDEFINED),  # Null has no String conversion
        (("a", UNDEFINED), UNDEFINED),
    ],
)
def test_concat(args: Sequence[Value], expected: Value) -> None:
    assert call("concat", *args) == expected


@pytest.mark.parametrize(
    ("name", "args", "expected"),
    [
        ("endswith", ("cat", "at"), True),  # example
        ("endswith", ("cat", "ca"), False),
        ("endswith", (123, 3), True),  # Other value: "converted to strings using the standard conversion …"
        ("endswith", (None, "a"), UNDEFINED),  # "If either argument is Null or Undefined, … Undefined"
        ("endswith", ("a", UNDEFINED), UNDEFINED),
        ("startswith", ("ranger", "ran"), True),  # example
        ("startswith", ("ranger", "ger"), False),
        ("startswith", (1.5, "1."), True),
        ("startswith", (UNDEFINED, "a"), UNDEFINED),
        ("startswith", ("a", None), UNDEFINED),
        ("indexof", ("abcd", "bc"), 1),  # example
        ("indexof", ("abcd", "x"), -1),
        ("indexof", (12345, 34), 2),  # "Arguments that are not strings are subjected to standard conversion"
        ("indexof", (None, "a"), UNDEFINED),
        ("length", ("hi",), 2),  # example
        ("length", (False,), 5),  # example
        ("length", ([1, 2],), 5),  # "[1,2]"
        ("length", (None,), UNDEFINED),
        ("numbytes", ("hi",), 2),  # example
        ("numbytes", ("€",), 3),  # example
        ("numbytes", (UNDEFINED,), UNDEFINED),
        ("lower", ("HELLO",), "hello"),  # example
        ("lower", (["HELLO"],), '["hello"]'),  # example
        ("upper", ("hello",), "HELLO"),  # example
        ("upper", (["hello"],), '["HELLO"]'),  # example
        ("upper", (None,), UNDEFINED),
        ("replace", ("abcd", "bc", "x"), "axd"),  # example
        ("replace", ("abcdabcd", "b", "x"), "axcdaxcd"),  # example
        ("replace", (1231, 1, True), "true23true"),  # "All arguments": standard String conversions
        ("replace", ("abc", None, "x"), UNDEFINED),  # Null row
    ],
)
def test_string_functions(name: str, args: Sequence[Value], expected: Value) -> None:
    assert call(name, *args) == expected


@pytest.mark.parametrize(
    ("name", "args", "expected"),
    [
        ("lpad", ("hello", 2), "  hello"),  # example
        ("lpad", (1, 3), "   1"),  # example
        ("lpad", ("a", 2.9), "  a"),  # String, Decimal: rounded down
        ("lpad", ("a", "2"), "  a"),  # String, String: converted to a Decimal, rounded down
        ("lpad", ("a", "two"), UNDEFINED),  # "cannot be converted … Undefined"
        ("lpad", ("a", -5), "a"),  # "set to the nearest valid value (0 or 1000)"
        ("lpad", ("a", True), UNDEFINED),  # Any value, Other value
        ("lpad", (None, 2), UNDEFINED),  # the first value cannot be converted
        ("rpad", ("hello", 2), "hello  "),  # example
        ("rpad", (1, 3), "1   "),  # example
        ("rpad", ("a", 1.5), "a "),
        ("rpad", ("a", [1]), UNDEFINED),
    ],
)
def test_pad(name: str, args: Sequence[Value], expected: Value) -> None:
    assert call(name, *args) == expected


def test_pad_is_clamped_to_1000() -> None:
    assert call("lpad", "a", 5000) == " " * 1000 + "a"
    assert call("rpad", "a", "1e9") == "a" + " " * 1000


@pytest.mark.parametrize(
    ("name", "arg", "expected"),
    [
        ("ltrim", " h i ", "h i "),  # example
        ("ltrim", "\t\tx", "x"),  # tabs and spaces
        ("ltrim", 5, "5"),  # Int row: the String representation
        ("ltrim", None, UNDEFINED),  # Null row
        ("rtrim", " h i ", " h i"),  # example
        ("rtrim", [1], "[1]"),  # Array row
        ("rtrim", UNDEFINED, UNDEFINED),
        ("trim", " hi ", "hi"),  # example
        ("trim", "\t hi \t", "hi"),
        ("trim", True, "true"),  # Boolean row
        ("trim", {"a": " b "}, '{"a":" b "}'),  # Object row: the JSON text
        ("trim", None, UNDEFINED),
    ],
)
def test_trim(name: str, arg: Value, expected: Value) -> None:
    assert call(name, arg) == expected


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("012345", 0), "012345"),  # examples
        (("012345", 2), "2345"),
        (("012345", 2.745), "2345"),
        ((123, 2), "3"),
        (("012345", -1), "012345"),
        ((True, 1.2), "rue"),
        ((False, -2.411e247), "false"),
        (("012345", 1, 3), "12"),
        (("012345", -50, 50), "012345"),
        (("012345", 3, 1), ""),
        (("012345", "2"), "2345"),  # standard conversions of the indices
        (("012345", "x"), UNDEFINED),  # "If the types cannot be converted, … Undefined"
        (("012345", 1, None), UNDEFINED),
        ((None, 1), UNDEFINED),
        (("012345", 9), ""),  # a start past the end is clamped to the length
    ],
)
def test_substring(args: Sequence[Value], expected: Value) -> None:
    assert call("substring", *args) == expected


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ((["a", "b", "c"], 1), "b"),  # example
        (({"a": "b"}, "a"), "b"),  # example
        (("abc", 1), "b"),  # the page's example prints "a": that is index 0; index 1 is "b"
        ((["a", "b"], "1"), "b"),  # Array, Any type converted to Int
        ((["a", "b"], 2), UNDEFINED),  # "outside the bounds … Undefined"
        ((["a", "b"], -1), UNDEFINED),
        (("abc", 3), UNDEFINED),
        ((["a"], "x"), UNDEFINED),  # "If the conversion is unsuccessful, the result is Undefined"
        (({"1": "b"}, 1), UNDEFINED),  # Object: "String (no conversion is applied)"
        (({"a": "b"}, "z"), UNDEFINED),
        ((5, 0), UNDEFINED),  # Other value
        ((None, 0), UNDEFINED),
    ],
)
def test_get(args: Sequence[Value], expected: Value) -> None:
    assert call("get", *args) == expected


@pytest.mark.parametrize(
    ("arg", "is_null", "is_undefined"),
    [
        (5, False, False),  # examples: isNull(5) = false, isUndefined(5) = false
        (1.5, False, False),
        (True, False, False),
        ("", False, False),
        ([], False, False),
        ({}, False, False),
        (None, True, False),  # Null row
        (UNDEFINED, False, True),  # Undefined row
    ],
)
def test_is_null_and_is_undefined(arg: Value, is_null: bool, is_undefined: bool) -> None:
    assert call("isnull", arg) is is_null
    assert call("isundefined", arg) is is_undefined


def test_is_undefined_of_floor_of_an_array() -> None:
    # Example: isUndefined(floor([1,2,3])) = true.
    assert call("isundefined", call("floor", [1, 2, 3])) is True


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ((5, 0), 5),
        (({"a": 1}, 0), {"a": 1}),
        ((None, "default"), "default"),
        ((UNDEFINED, "default"), "default"),
        ((UNDEFINED,), UNDEFINED),  # no default: Undefined
        ((False, "default"), False),
    ],
)
def test_get_or_default(args: Sequence[Value], expected: Value) -> None:
    assert call("get_or_default", *args) == expected


# --- transform --------------------------------------------------------------------------------------------


def test_transform_enrich_array() -> None:
    # Transform function example 1.
    values = [{"a": 3}, {"b": 4}, {"c": 5}]
    assert call("transform", "enrichArray", {"data1": 1, "data2": 2}, values) == [
        {"a": 3, "data1": 1, "data2": 2},
        {"b": 4, "data1": 1, "data2": 2},
        {"c": 5, "data1": 1, "data2": 2},
    ]
    assert values == [{"a": 3}, {"b": 4}, {"c": 5}]  # the argument is not modified


@pytest.mark.parametrize(
    "args",
    [
        ("enrichMap", {"a": 1}, [{}]),  # "Any other value | Any value | Any value | Undefined"
        ("enrichArray", [1], [{}]),
        ("enrichArray", {"a": 1}, {"b": 2}),
        ("enrichArray", {"a": 1}, [1, 2]),  # not an array of objects
        (None, {"a": 1}, [{}]),
    ],
)
def test_transform_other_values_are_undefined(args: Sequence[Value]) -> None:
    assert call("transform", *args) is UNDEFINED


def test_transform_result_is_limited_to_128_kib() -> None:
    # "The array returned by this function is limited to 128 KiB."
    assert call("transform", "enrichArray", {"pad": "x" * 1000}, [{}] * 100) == [{"pad": "x" * 1000}] * 100
    assert call("transform", "enrichArray", {"pad": "x" * 1400}, [{}] * 100) is UNDEFINED


# --- hashing, encode, decode --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "arg", "expected"),
    [
        ("md2", "hello", "a9046c73e00331af68917d3804f70655"),  # example
        ("md5", "hello", "5d41402abc4b2a76b9719d911017c592"),  # example
        ("md2", "", "8350e5a3e24c153df2275c9f80692773"),  # RFC 1319's test suite
        ("md2", "abc", "da853b0d3f88d99b30283a69e6ded6bb"),
        ("md2", "abcdefghijklmnopqrstuvwxyz", "4e8ddff3650292ab5a4108c3aa47940b"),
        ("md5", "iot123", "e37f81fb397e595c4aeb5645b8cbbbd1"),  # the JSON extensions page's md5(deviceid)
        ("sha1", "hello", hashlib.sha1(b"hello").hexdigest()),
        ("sha224", "hello", hashlib.sha224(b"hello").hexdigest()),
        ("sha256", "hello", hashlib.sha256(b"hello").hexdigest()),
        ("sha384", "hello", hashlib.sha384(b"hello").hexdigest()),
        ("sha512", "hello", hashlib.sha512(b"hello").hexdigest()),
        ("md5", 5, hashlib.md5(b"5").hexdigest()),  # "Standard string conversions apply"
        ("sha256", b"\x00\xff", hashlib.sha256(b"\x00\xff").hexdigest()),  # a Binary payload's bytes
        ("md5", None, UNDEFINED),
        ("sha1", UNDEFINED, UNDEFINED),
    ],
)
def test_hashes(name: str, arg: Value, expected: Value) -> None:
    assert call(name, arg) == expected


def test_md2_of_messages_over_several_blocks() -> None:
    # RFC 1319's longest test vector (80 digits: five 16-byte blocks).
    digits = "1234567890" * 8
    assert call("md2", digits) == "d5976f79d83d3a0dc9806c3c66f3efd8"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("hello", "aGVsbG8="),
        ({"a": 1}, base64.b64encode(b'{"a":1}').decode()),  # "converted to a string before it is encoded"
        (b"\x00\x01\xff", "AAH/"),  # `*` on a Binary payload: its bytes
        (12, "MTI="),
        (None, UNDEFINED),
    ],
)
def test_encode_base64(value: Value, expected: Value) -> None:
    assert call("encode", value, "base64") == expected


def test_encode_knows_only_base64() -> None:
    assert call("encode", "hello", "hex") is UNDEFINED  # "Currently, only 'base64' is supported"


def test_decode_base64() -> None:
    # The page's example: the encoded value decodes to a JSON document, an addressable object.
    assert call("decode", "eyAidGVtcGVyYXR1cmUiOiAzMyB9Cg==", "base64") == {"temperature": 33}
    assert call("decode", base64.b64encode(b"[1, 2]").decode(), "base64") == [1, 2]
    # "If the decoded value was not a valid JSON document, the decoded value would be returned as a string."
    assert call("decode", "aGVsbG8=", "base64") == "hello"
    assert call("decode", base64.b64encode(b"42").decode(), "base64") == "42"
    # "The function returns NULL if the string cannot be decoded."
    assert call("decode", "not base64!", "base64") is None
    assert call("decode", base64.b64encode(b"\xff\xfe").decode(), "base64") is None
    assert call("decode", None, "base64") is UNDEFINED


def test_decode_proto_is_not_offered() -> None:
    args = ("CgNhYmM=", "proto", "bucket", "file.desc", "file.proto", "Message")
    assert call("decode", *args) is UNDEFINED
