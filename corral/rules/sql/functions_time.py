"""``parse_time`` (Joda-Time patterns, formatting) and ``time_to_epoch`` (java.time patterns, parsing).

AWS's engine is Java: ``parse_time(pattern, millis[, zone])`` formats with Joda-Time's ``DateTimeFormat``
and ``time_to_epoch(text, pattern)`` parses with JDK 11's ``DateTimeFormatter``. Both pattern languages are
translated here, by letter:

- Formatting (Joda): ``G`` era, ``C`` century, ``Y``/``y``/``x`` year (``yy``: two digits), ``M`` month
  (``MMM`` "Jan", ``MMMM`` "January"), ``w`` ISO week, ``e``/``E`` day of week, ``D`` day of year, ``d``,
  ``a``, ``K``/``h``/``H``/``k``, ``m``, ``s``, ``S`` fraction of second, ``z`` zone name, ``Z`` offset
  (``Z`` "+0100", ``ZZ`` "+01:00", ``ZZZ`` zone id), ``'quoted text'``; any other letter is Undefined.
- Parsing (java.time): the same numeric letters plus ``u``, ``L``, ``n``; ``E`` and ``G`` are read and not
  checked; zones by ``VV`` (id: ``America/Los_Angeles``, ``UTC+01:00``, ``Z``), ``z`` (id or abbreviation),
  ``Z``, ``X``, ``x``, ``O`` (offsets); ``[…]`` optional sections. A timestamp without a zone is UTC; one
  without a date or time takes 1970-01-01 and midnight. Month and day names are English and matched
  without regard to case (java.time's default formatter is case-sensitive).

Differences from Java: ``zzzz`` (a zone's long name) prints Python's abbreviation except for a few common
zones; zone abbreviations in parsed text are resolved through a small table (``PST`` → Los Angeles …); zone
rules come from the system's tz database (Debian's ``tzdata``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from functools import lru_cache
from typing import Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from corral.rules.sql.context import EvalContext
from corral.rules.sql.functions_base import SQL_2016, SqlFunction, fixed, floor_arg, string_arg
from corral.rules.sql.values import UNDEFINED, Value

EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
MONTHS: Final = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
DAYS: Final = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
LONG_ZONE_NAMES: Final = {
    "UTC": "Coordinated Universal Time",
    "GMT": "Greenwich Mean Time",
    "EST": "Eastern Standard Time",
    "EDT": "Eastern Daylight Time",
    "CST": "Central Standard Time",
    "CDT": "Central Daylight Time",
    "MST": "Mountain Standard Time",
    "MDT": "Mountain Daylight Time",
    "PST": "Pacific Standard Time",
    "PDT": "Pacific Daylight Time",
    "CET": "Central European Time",
    "CEST": "Central European Summer Time",
}
ZONE_ABBREVIATIONS: Final = {
    "UTC": "UTC",
    "GMT": "GMT",
    "Z": "UTC",
    "EST": "America/New_York",
    "EDT": "America/New_York",
    "CST": "America/Chicago",
    "CDT": "America/Chicago",
    "MST": "America/Denver",
    "MDT": "America/Denver",
    "PST": "America/Los_Angeles",
    "PDT": "America/Los_Angeles",
    "AKST": "America/Anchorage",
    "HST": "Pacific/Honolulu",
    "CET": "Europe/Paris",
    "CEST": "Europe/Paris",
    "BST": "Europe/London",
    "JST": "Asia/Tokyo",
}


class PatternError(ValueError):
    """A pattern letter or construct that the function does not know (the result is Undefined)."""


@dataclass(frozen=True, slots=True)
class Token:
    letter: str
    """A pattern letter, or "" for literal text."""
    count: int
    text: str = ""


def tokenize(pattern: str, *, optional_sections: bool = False) -> list[Token]:
    """Pattern letters (runs of one ASCII letter) and literal text (quoted, or any other character)."""
    tokens: list[Token] = []
    i, n = 0, len(pattern)
    while i < n:
        c = pattern[i]
        if c == "'":
            end = i + 1
            text: list[str] = []
            while True:
                if end >= n:
                    raise PatternError("unterminated quote")
                if pattern[end] == "'":
                    if end + 1 < n and pattern[end + 1] == "'":
                        text.append("'")
                        end += 2
                        continue
                    break
                text.append(pattern[end])
                end += 1
            tokens.append(Token("", 0, "".join(text) if end > i + 1 else "'"))
            i = end + 1
        elif c.isascii() and c.isalpha():
            end = i
            while end < n and pattern[end] == c:
                end += 1
            tokens.append(Token(c, end - i))
            i = end
        elif optional_sections and c in "[]":
            tokens.append(Token(c, 1))
            i += 1
        else:
            tokens.append(Token("", 0, c))
            i += 1
    return tokens


# --- parse_time: Joda-Time formatting ---------------------------------------------------------------------


def _padded(number: int, count: int) -> str:
    sign = "-" if number < 0 else ""
    return sign + str(abs(number)).zfill(count)


def _offset(moment: datetime, colon: bool) -> str:
    delta = moment.utcoffset() or timedelta(0)
    minutes = int(delta.total_seconds()) // 60
    sign = "-" if minutes < 0 else "+"
    hours, minutes = divmod(abs(minutes), 60)
    return f"{sign}{hours:02d}{':' if colon else ''}{minutes:02d}"


def _zone_id(moment: datetime) -> str:
    zone = moment.tzinfo
    if isinstance(zone, ZoneInfo):
        return zone.key
    return "UTC" if moment.utcoffset() == timedelta(0) else _offset(moment, colon=True)


def _year_text(year: int, count: int) -> str:
    return _padded(year % 100, 2) if count == 2 else _padded(year, count)


def _format_field(moment: datetime, millisecond: int, letter: str, count: int) -> str:
    iso_year, iso_week, iso_day = moment.isocalendar()
    if letter == "G":
        return "AD"
    if letter == "C":
        return _padded(moment.year // 100, count)
    if letter in "Yy":
        return _year_text(moment.year, count)
    if letter == "x":
        return _year_text(iso_year, count)
    if letter == "M":
        if count >= 3:
            name = MONTHS[moment.month - 1]
            return name if count >= 4 else name[:3]
        return _padded(moment.month, count)
    if letter == "w":
        return _padded(iso_week, count)
    if letter == "e":
        return _padded(iso_day, count)
    if letter == "E":
        name = DAYS[iso_day - 1]
        return name if count >= 4 else name[:3]
    if letter == "D":
        return _padded(moment.timetuple().tm_yday, count)
    if letter == "d":
        return _padded(moment.day, count)
    if letter == "a":
        return "AM" if moment.hour < 12 else "PM"
    if letter == "K":
        return _padded(moment.hour % 12, count)
    if letter == "h":
        return _padded(moment.hour % 12 or 12, count)
    if letter == "H":
        return _padded(moment.hour, count)
    if letter == "k":
        return _padded(moment.hour or 24, count)
    if letter == "m":
        return _padded(moment.minute, count)
    if letter == "s":
        return _padded(moment.second, count)
    if letter == "S":
        return f"{millisecond:03d}"[:count].ljust(count, "0")
    if letter == "z":
        short = moment.tzname() or _zone_id(moment)
        return LONG_ZONE_NAMES.get(short, short) if count >= 4 else short
    if letter == "Z":
        if count >= 3:
            return _zone_id(moment)
        return _offset(moment, colon=count == 2)
    raise PatternError(f"illegal pattern component: {letter * count}")


@lru_cache(maxsize=64)
def _joda_tokens(pattern: str) -> tuple[Token, ...]:
    return tuple(tokenize(pattern))


def joda_format(pattern: str, millis: int, zone: tzinfo) -> str:
    """``millis`` since the epoch formatted by a Joda-Time pattern in ``zone``; raises PatternError."""
    moment = (EPOCH + timedelta(milliseconds=millis)).astimezone(zone)
    millisecond = millis % 1000
    parts = [
        token.text if not token.letter else _format_field(moment, millisecond, token.letter, token.count)
        for token in _joda_tokens(pattern)
    ]
    return "".join(parts)


_FIXED_OFFSET: Final = re.compile(r"(?:UTC|GMT|UT)?([+-])(\d{1,2})(?::?(\d{2}))?(?::?(\d{2}))?")


@lru_cache(maxsize=256)
def zone_for(name: str) -> tzinfo | None:
    """A zone id as Joda-Time and java.time read it: ``UTC``, ``Z``, an offset (``+01:00``, ``-0800``,
    ``UTC+01:00``, ``GMT+1``), or a tz database id; None when it names no zone."""
    if name in ("UTC", "Z", "GMT", "UT"):
        return UTC
    offset = _FIXED_OFFSET.fullmatch(name)
    if offset is not None:
        sign, hours, minutes, seconds = offset.groups()
        delta = timedelta(hours=int(hours), minutes=int(minutes or 0), seconds=int(seconds or 0))
        if delta > timedelta(hours=18):
            return None
        if not delta:
            return UTC
        # Named as Joda-Time names a fixed-offset zone: its id, "+05:00".
        hours_part, rest = divmod(int(delta.total_seconds()), 3600)
        name = f"{sign}{hours_part:02d}:{rest // 60:02d}" + (f":{rest % 60:02d}" if rest % 60 else "")
        return timezone(-delta if sign == "-" else delta, name)
    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_+\-]*(?:/[A-Za-z0-9_+\-]+)*", name):
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return None


def _parse_time(ctx: EvalContext, args: Sequence[Value]) -> Value:
    """``parse_time(pattern, timestamp[, timezone])``: the timestamp (ms since the epoch) as text; the
    zone defaults to UTC; an unknown zone, pattern letter or out-of-range time is Undefined."""
    pattern = string_arg(args[0])
    millis = floor_arg(args[1])
    zone_name = string_arg(args[2]) if len(args) > 2 else "UTC"
    if pattern is None or millis is None or zone_name is None:
        return UNDEFINED
    zone = zone_for(zone_name)
    if zone is None:
        return UNDEFINED
    try:
        return joda_format(pattern, millis, zone)
    except (PatternError, OverflowError, ValueError):
        return UNDEFINED


# --- time_to_epoch: java.time parsing ---------------------------------------------------------------------

_NUMERIC: Final = "yuYMLdDHhKkmsSnwe"
_NAMES_ALTERNATION: Final = "|".join(sorted((*MONTHS, *(m[:3] for m in MONTHS)), key=len, reverse=True))
_DAY_ALTERNATION: Final = "|".join(sorted((*DAYS, *(d[:3] for d in DAYS)), key=len, reverse=True))
_ZONE_ID: Final = r"[A-Za-z][A-Za-z0-9_/+\-:]*|[+-]\d{2}(?::?\d{2})?"


def _numeric_regex(letter: str, count: int, adjacent: bool) -> str:
    if letter in "yuY":
        if count == 2:
            return r"(\d{2})"
        return rf"(\d{{{count}}})" if adjacent else rf"([+-]?\d{{{max(count, 1)},9}})"
    if letter in "SN":
        return rf"(\d{{{count}}})"
    if letter == "n":
        return r"(\d{1,9})"
    if count == 1:
        return r"(\d{1,2})" if not adjacent else r"(\d)"
    return rf"(\d{{{count}}})"


def _parse_regex(token: Token, next_is_numeric: bool) -> str:
    letter, count = token.letter, token.count
    if letter in "ML" and count >= 3:
        return f"({_NAMES_ALTERNATION})"
    if letter in "Ee" and (letter == "E" or count >= 3):
        return f"(?:{_DAY_ALTERNATION})"
    if letter in _NUMERIC:
        return _numeric_regex(letter, count, next_is_numeric)
    if letter == "a":
        return "(AM|PM)"
    if letter == "G":
        return "(?:AD|BC|Anno Domini|Before Christ)"
    if letter == "V" and count == 2:
        return f"({_ZONE_ID})"
    if letter == "z":
        return f"({_ZONE_ID})"
    if letter == "O":
        return r"(GMT(?:[+-]\d{1,2}(?::\d{2})?)?)"
    if letter in "XxZ":
        return r"(Z|[+-]\d{2}(?::?\d{2})?|GMT[+-]\d{1,2}(?::\d{2})?)"
    raise PatternError(f"unknown pattern letter {letter}")


@dataclass(frozen=True, slots=True)
class _Parser:
    regex: re.Pattern[str]
    fields: tuple[Token, ...]


@lru_cache(maxsize=64)
def _java_parser(pattern: str) -> _Parser:
    tokens = tokenize(pattern, optional_sections=True)
    parts: list[str] = []
    fields: list[Token] = []
    depth = 0
    for index, token in enumerate(tokens):
        if token.letter == "[":
            parts.append("(?:")
            depth += 1
        elif token.letter == "]":
            if depth == 0:
                raise PatternError("unbalanced ]")
            parts.append(")?")
            depth -= 1
        elif not token.letter:
            parts.append(re.escape(token.text))
        else:
            following = tokens[index + 1] if index + 1 < len(tokens) else None
            adjacent = following is not None and following.letter in _NUMERIC and following.count < 3
            regex = _parse_regex(token, adjacent)
            if regex.startswith("(") and not regex.startswith("(?:"):
                fields.append(token)
            parts.append(regex)
    parts.extend(")?" for _ in range(depth))
    return _Parser(re.compile("".join(parts), re.IGNORECASE), tuple(fields))


def _month_number(text: str) -> int:
    lowered = text.lower()
    for number, name in enumerate(MONTHS, start=1):
        if lowered in (name.lower(), name[:3].lower()):
            return number
    raise ValueError(text)


def java_parse_epoch_millis(text: str, pattern: str) -> int:
    """Milliseconds since the epoch of ``text`` read by a java.time pattern; raises ValueError."""
    parser = _java_parser(pattern)
    match = parser.regex.fullmatch(text)
    if match is None:
        raise ValueError("text does not match the pattern")
    year, month, day, day_of_year = 1970, 1, 1, 0
    hour = minute = second = micros = 0
    half: str | None = None
    half_hour: int | None = None
    zone: tzinfo = UTC
    for token, value in zip(parser.fields, match.groups(), strict=True):
        if value is None:
            continue
        letter, count = token.letter, token.count
        if letter in "yuY":
            year = 2000 + int(value) if count == 2 else int(value)
        elif letter in "ML":
            month = _month_number(value) if count >= 3 else int(value)
        elif letter == "d":
            day = int(value)
        elif letter == "D":
            day_of_year = int(value)
        elif letter == "H":
            hour = int(value)
        elif letter == "k":
            hour = int(value) % 24
        elif letter in "hK":
            half_hour = int(value) % 12
        elif letter == "a":
            half = value.upper()
        elif letter == "m":
            minute = int(value)
        elif letter == "s":
            second = int(value)
        elif letter in "Sn":
            digits = value if letter == "S" else value.zfill(9)
            micros = int(digits[:6].ljust(6, "0"))
        elif letter in "VzOXxZ":
            found = zone_for(ZONE_ABBREVIATIONS.get(value.upper(), value) if letter == "z" else value)
            if found is None:
                raise ValueError(f"unknown zone {value}")
            zone = found
    if half_hour is not None:
        hour = half_hour + (12 if half == "PM" else 0)
    if day_of_year:
        local = datetime(year, 1, 1) + timedelta(days=day_of_year - 1)
        month, day = local.month, local.day
    moment = datetime(year, month, day, hour, minute, second, micros, tzinfo=zone)
    return (moment - EPOCH) // timedelta(milliseconds=1)


def _time_to_epoch(ctx: EvalContext, args: Sequence[Value]) -> Value:
    """``time_to_epoch(timestamp, pattern)``: ms since the epoch; Undefined for text the pattern cannot
    read."""
    text, pattern = string_arg(args[0]), string_arg(args[1])
    if text is None or pattern is None:
        return UNDEFINED
    try:
        return java_parse_epoch_millis(text, pattern)
    except (PatternError, ValueError, OverflowError, re.error):
        return UNDEFINED


FUNCTIONS: Final = (
    SqlFunction("parse_time", 2, 3, _parse_time, since=SQL_2016),
    fixed("time_to_epoch", 2, _time_to_epoch, since=SQL_2016),
)
