"""Scalar conversions shared by every protocol: timestamps, numbers and booleans as text, blobs.

Reading is lenient (a timestamp is accepted as epoch seconds, ISO 8601 or RFC 822 wherever it appears,
as AWS services do); writing follows the model's ``timestampFormat`` or the protocol's default exactly,
because that is what the clients' parsers expect.
"""

from __future__ import annotations

import base64
import binascii
import math
import re
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from typing import Any

from botocore.model import Shape

_ISO8601 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?)?"
    r"\s*(Z|z|[+-]\d{2}:?\d{2})?"
)


class ValueConversionError(ValueError):
    """A text value that is not of the member's type; the protocol turns it into its own error."""


def parse_timestamp(value: Any) -> datetime:
    """A timezone-aware UTC datetime from epoch seconds, ISO 8601, RFC 822 or a datetime."""
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    if isinstance(value, bool):
        raise ValueConversionError(f"not a timestamp: {value!r}")
    if isinstance(value, int | float):
        return _from_epoch(float(value))
    if not isinstance(value, str):
        raise ValueConversionError(f"not a timestamp: {value!r}")
    text = value.strip()
    try:
        return _from_epoch(float(text))
    except ValueError:
        pass
    match = _ISO8601.fullmatch(text)
    if match:
        return _from_iso(match)
    try:
        parsed = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError) as exc:
        raise ValueConversionError(f"not a timestamp: {value!r}") from exc
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _from_epoch(seconds: float) -> datetime:
    if not math.isfinite(seconds):
        raise ValueConversionError(f"not a timestamp: {seconds!r}")
    try:
        return datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, OSError, ValueError) as exc:
        raise ValueConversionError(f"timestamp out of range: {seconds!r}") from exc


def _from_iso(match: re.Match[str]) -> datetime:
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    micro = int((fraction or "0")[:6].ljust(6, "0"))
    try:
        result = datetime(
            int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0), micro, UTC
        )
    except ValueError as exc:
        raise ValueConversionError(f"not a timestamp: {match.group(0)!r}") from exc
    if zone and zone not in ("Z", "z"):
        sign = 1 if zone[0] == "+" else -1
        digits = zone[1:].replace(":", "")
        offset = sign * (int(digits[:2]) * 3600 + int(digits[2:]) * 60)
        result = datetime.fromtimestamp(result.timestamp() - offset, UTC)
    return result


def format_timestamp(value: Any, fmt: str) -> str | int | float:
    """``value`` (datetime, epoch seconds or text) in ``fmt``: unixTimestamp, iso8601 or rfc822."""
    moment = parse_timestamp(value)
    kind = fmt.lower()
    if kind == "unixtimestamp":
        millis = round(moment.timestamp() * 1000)
        return millis // 1000 if millis % 1000 == 0 else millis / 1000
    if kind == "iso8601":
        text = moment.strftime("%Y-%m-%dT%H:%M:%S")
        if moment.microsecond:
            text += f".{moment.microsecond // 1000:03d}"
        return text + "Z"
    if kind == "rfc822":
        return format_datetime(moment.replace(microsecond=0), usegmt=True)
    raise ValueError(f"unknown timestampFormat {fmt!r}")


def parse_boolean(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered == "true":
        return True
    if lowered == "false":
        return False
    raise ValueConversionError(f"not a boolean: {text!r}")


def parse_integer(text: str) -> int:
    try:
        return int(text.strip())
    except ValueError as exc:
        raise ValueConversionError(f"not an integer: {text!r}") from exc


def parse_float(text: str) -> float:
    try:
        return float(text.strip())
    except ValueError as exc:
        raise ValueConversionError(f"not a number: {text!r}") from exc


def decode_base64(text: str) -> bytes:
    try:
        return base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError) as exc:
        raise ValueConversionError("not valid base64") from exc


def encode_base64(value: bytes | bytearray | str) -> str:
    raw = value.encode("utf-8") if isinstance(value, str) else bytes(value)
    return base64.b64encode(raw).decode("ascii")


def float_to_wire(value: float) -> float | str:
    """JSON has no NaN or infinities: AWS protocols send them as strings."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return value


def scalar_from_text(shape: Shape, text: str) -> Any:
    """A member bound to a path label, query parameter or header, read as the shape's type.

    Raises ``ValueConversionError`` when the text is not of that type.
    """
    type_name = shape.type_name
    if type_name in ("integer", "long", "short", "byte", "bigInteger"):
        return parse_integer(text)
    if type_name in ("float", "double", "bigDecimal"):
        return parse_float(text)
    if type_name == "boolean":
        return parse_boolean(text)
    if type_name == "timestamp":
        return parse_timestamp(text)
    if type_name == "blob":
        return decode_base64(text)
    return text


def scalar_to_text(shape: Shape, value: Any, default_timestamp_format: str) -> str:
    """The text of a member bound to a header or query parameter."""
    type_name = shape.type_name
    if type_name == "boolean":
        return "true" if value else "false"
    if type_name == "timestamp":
        fmt = shape.serialization.get("timestampFormat", default_timestamp_format)
        return str(format_timestamp(value, fmt))
    if type_name in ("float", "double"):
        return str(float_to_wire(float(value)))
    if type_name == "blob":
        return encode_base64(value)
    return str(value)
