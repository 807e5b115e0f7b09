"""The String, collection, encoding and hashing functions of AWS's *Functions* page.

Non-String arguments go through the standard conversion to String (``values.to_string``: numbers as AWS
prints them, Arrays and Objects as JSON text); Null and Undefined then make the result Undefined, as the
tables say. Lengths and indices count Unicode code points; AWS's engine (Java) counts UTF-16 units, which
differs only for characters outside the Basic Multilingual Plane (emoji).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Callable, Sequence
from typing import Final

import orjson

from corral.rules.sql.context import EvalContext
from corral.rules.sql.functions_base import (
    SQL_2016,
    SqlFunction,
    fixed,
    floor_arg,
    string_arg,
)
from corral.rules.sql.functions_md2 import md2_hexdigest
from corral.rules.sql.values import UNDEFINED, Value, to_int

PAD_MAX: Final = 1000
ASCII_MAX: Final = 127
TRANSFORM_RESULT_MAX: Final = 128 * 1024
"""transform(): "The array returned by this function is limited to 128 KiB"."""

_JAVA_TRIMMED: Final = "".join(chr(c) for c in range(0x21))
"""What Java's ``String.trim`` removes: every character up to and including the space (tabs, newlines …)."""

_Call = Callable[[EvalContext, Sequence[Value]], Value]


def _string_function(operation: Callable[[str], Value]) -> _Call:
    def call(ctx: EvalContext, args: Sequence[Value]) -> Value:
        text = string_arg(args[0])
        return UNDEFINED if text is None else operation(text)

    return call


def _strings_function(operation: Callable[..., Value]) -> _Call:
    """Every argument converted to String; any Null or Undefined makes the result Undefined."""

    def call(ctx: EvalContext, args: Sequence[Value]) -> Value:
        texts = [string_arg(arg) for arg in args]
        if any(text is None for text in texts):
            return UNDEFINED
        return operation(*texts)

    return call


def _chr(ctx: EvalContext, args: Sequence[Value]) -> Value:
    code = floor_arg(args[0])
    if code is None or not 0 <= code <= ASCII_MAX:
        return UNDEFINED
    return chr(code)


def _concat(ctx: EvalContext, args: Sequence[Value]) -> Value:
    """0 arguments: Undefined. Any Array among them: one Array of the Arrays' items and the other
    arguments. Otherwise the concatenation of their String conversions (``concat(1)`` = "1")."""
    if not args or any(arg is UNDEFINED for arg in args):
        return UNDEFINED
    if any(type(arg) is list for arg in args):
        items: list[Value] = []
        for arg in args:
            if type(arg) is list:
                items.extend(arg)
            else:
                items.append(arg)
        return items
    texts = [string_arg(arg) for arg in args]
    return "".join(text for text in texts if text is not None) if None not in texts else UNDEFINED


def _pad(left: bool) -> _Call:
    """The String padded with spaces; the count rounded down and clamped to 0..1000."""

    def call(ctx: EvalContext, args: Sequence[Value]) -> Value:
        text = string_arg(args[0])
        count = floor_arg(args[1])
        if text is None or count is None:
            return UNDEFINED
        padding = " " * min(max(count, 0), PAD_MAX)
        return padding + text if left else text + padding

    return call


def _substring(ctx: EvalContext, args: Sequence[Value]) -> Value:
    """From the first index (inclusive) to the second (exclusive) or the end; indices clamped to the
    String; a start at or past the end is the empty String."""
    text = string_arg(args[0])
    start = floor_arg(args[1])
    if text is None or start is None:
        return UNDEFINED
    length = len(text)
    start = min(max(start, 0), length)
    end = length
    if len(args) == 3:
        given_end = floor_arg(args[2])
        if given_end is None:
            return UNDEFINED
        end = min(max(given_end, 0), length)
    return text[start:end] if start < end else ""


def _get(ctx: EvalContext, args: Sequence[Value]) -> Value:
    """Array or String by a 0-based index (converted to Int), Object by a String key (not converted)."""
    collection, key = args
    kind = type(collection)
    if kind is dict:
        if type(key) is not str:
            return UNDEFINED
        return collection.get(key, UNDEFINED)
    if kind is list or kind is str:
        index = to_int(key)
        if not isinstance(index, int) or not 0 <= index < len(collection):
            return UNDEFINED
        return collection[index]
    return UNDEFINED


def _is_null(ctx: EvalContext, args: Sequence[Value]) -> Value:
    return args[0] is None


def _is_undefined(ctx: EvalContext, args: Sequence[Value]) -> Value:
    return args[0] is UNDEFINED


def _get_or_default(ctx: EvalContext, args: Sequence[Value]) -> Value:
    """The expression's value, unless it is Null or Undefined: then the default (Undefined without one)."""
    value = args[0]
    if value is None or value is UNDEFINED:
        return args[1] if len(args) > 1 else UNDEFINED
    return value


def _transform(ctx: EvalContext, args: Sequence[Value]) -> Value:
    """``enrichArray``: each object of the Array with the Object's attributes added; anything else is
    Undefined, and so is a result over 128 KiB."""
    mode, attributes, array = args
    if mode != "enrichArray" or type(attributes) is not dict or type(array) is not list:
        return UNDEFINED
    if any(type(item) is not dict for item in array):
        return UNDEFINED
    result = [{**item, **attributes} for item in array]
    try:
        size = len(orjson.dumps(result, default=lambda _: None))
    except TypeError:
        return UNDEFINED
    return UNDEFINED if size > TRANSFORM_RESULT_MAX else result


def _bytes_of(value: Value) -> bytes | None:
    """A Binary value's bytes, or a value's String conversion in UTF-8; None when it has none."""
    if type(value) is bytes:
        return value
    text = string_arg(value)
    return None if text is None else text.encode()


def _hash(algorithm: Callable[[bytes], str]) -> _Call:
    def call(ctx: EvalContext, args: Sequence[Value]) -> Value:
        data = _bytes_of(args[0])
        return UNDEFINED if data is None else algorithm(data)

    return call


def _hashlib(name: str) -> Callable[[bytes], str]:
    return lambda data: hashlib.new(name, data).hexdigest()


def _scheme(value: Value) -> str | None:
    return value.lower() if type(value) is str else None


def _encode(ctx: EvalContext, args: Sequence[Value]) -> Value:
    """base64 of the value (a Binary payload's bytes as they are, anything else as its String's UTF-8)."""
    if _scheme(args[1]) != "base64":
        return UNDEFINED
    data = _bytes_of(args[0])
    return UNDEFINED if data is None else base64.b64encode(data).decode("ascii")


def _decode(ctx: EvalContext, args: Sequence[Value]) -> Value:
    """base64: a decoded JSON document (Object or Array) as that value, other text as a String; Null when
    the value cannot be decoded. The ``proto`` scheme (a descriptor in S3, the protobuf library) is not
    offered: Undefined."""
    if _scheme(args[1]) != "base64" or len(args) != 2:
        return UNDEFINED
    text = string_arg(args[0])
    if text is None:
        return UNDEFINED
    try:
        decoded = base64.b64decode(text, validate=True).decode()
    except (binascii.Error, ValueError):
        return None
    try:
        document = orjson.loads(decoded)
    except orjson.JSONDecodeError:
        return decoded
    return document if type(document) in (dict, list) else decoded


FUNCTIONS: Final = (
    fixed("chr", 1, _chr),
    SqlFunction("concat", 0, None, _concat),
    SqlFunction("decode", 2, 6, _decode, since=SQL_2016),
    fixed("encode", 2, _encode, since=SQL_2016),
    fixed("endswith", 2, _strings_function(lambda text, suffix: text.endswith(suffix))),
    fixed("get", 2, _get),
    SqlFunction("get_or_default", 1, 2, _get_or_default, since=SQL_2016),
    fixed("indexof", 2, _strings_function(lambda text, part: text.find(part)), since=SQL_2016),
    fixed("isnull", 1, _is_null),
    fixed("isundefined", 1, _is_undefined, since=SQL_2016),
    fixed("length", 1, _string_function(len), since=SQL_2016),
    fixed("lower", 1, _string_function(str.lower)),
    fixed("lpad", 2, _pad(left=True)),
    fixed("ltrim", 1, _string_function(lambda text: text.lstrip(_JAVA_TRIMMED))),
    fixed("md2", 1, _hash(md2_hexdigest)),
    fixed("md5", 1, _hash(_hashlib("md5"))),
    fixed("numbytes", 1, _string_function(lambda text: len(text.encode())), since=SQL_2016),
    fixed("replace", 3, _strings_function(lambda text, old, new: text.replace(old, new))),
    fixed("rpad", 2, _pad(left=False)),
    fixed("rtrim", 1, _string_function(lambda text: text.rstrip(_JAVA_TRIMMED))),
    fixed("sha1", 1, _hash(_hashlib("sha1"))),
    fixed("sha224", 1, _hash(_hashlib("sha224"))),
    fixed("sha256", 1, _hash(_hashlib("sha256"))),
    fixed("sha384", 1, _hash(_hashlib("sha384"))),
    fixed("sha512", 1, _hash(_hashlib("sha512"))),
    fixed("startswith", 2, _strings_function(lambda text, prefix: text.startswith(prefix))),
    SqlFunction("substring", 2, 3, _substring),
    fixed("transform", 3, _transform, since=SQL_2016),
    fixed("trim", 1, _string_function(lambda text: text.strip(_JAVA_TRIMMED))),
    fixed("upper", 1, _string_function(str.upper)),
)
