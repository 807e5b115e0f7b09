"""The models' ``pattern`` constraints, which are Java regular expressions, as Python ones.

AWS validates with ``java.util.regex`` and whole-value matching (``[a-zA-Z0-9:_-]+`` refuses "a b"), so a
pattern is compiled for ``fullmatch``. Python's ``re`` lacks Java's ``\\p{...}`` classes and its
surrogate-pair escapes; both are rewritten into explicit character ranges here. A pattern that still does
not compile is not checked (``compile_pattern`` returns None), rather than refusing valid input.
"""

from __future__ import annotations

import re
import sys
import unicodedata
from collections.abc import Callable
from functools import cache, lru_cache

# Java's POSIX classes (US-ASCII only, as in java.util.regex without UNICODE_CHARACTER_CLASS).
_POSIX: dict[str, str] = {
    "Lower": "a-z",
    "Upper": "A-Z",
    "ASCII": "\\x00-\\x7f",
    "Alpha": "a-zA-Z",
    "Digit": "0-9",
    "Alnum": "a-zA-Z0-9",
    "Punct": "!-/:-@\\[-`{-~",
    "Graph": "!-~",
    "Print": " -~",
    "Blank": " \\t",
    "Cntrl": "\\x00-\\x1f\\x7f",
    "XDigit": "0-9a-fA-F",
    "Space": " \\t\\n\\x0b\\f\\r",
}


def _ranges_where(test: Callable[[str], bool]) -> str:
    """Character-class text (``\\U...-\\U...`` ranges) for every code point ``test`` accepts."""
    ranges: list[str] = []
    start: int | None = None
    for code in range(sys.maxunicode + 2):
        inside = code <= sys.maxunicode and test(chr(code))
        if inside and start is None:
            start = code
        elif not inside and start is not None:
            end = code - 1
            ranges.append(_escape(start) if start == end else f"{_escape(start)}-{_escape(end)}")
            start = None
    return "".join(ranges)


def _escape(code: int) -> str:
    return f"\\U{code:08x}"


@lru_cache(maxsize=1)
def _category_runs() -> tuple[tuple[int, int, str], ...]:
    """Every code point in runs of one Unicode general category: (first, last, category), one pass."""
    runs: list[tuple[int, int, str]] = []
    start, current = 0, unicodedata.category(chr(0))
    for code in range(1, sys.maxunicode + 1):
        category = unicodedata.category(chr(code))
        if category != current:
            runs.append((start, code - 1, current))
            start, current = code, category
    runs.append((start, sys.maxunicode, current))
    return tuple(runs)


@cache
def _class_text(name: str, negate: bool) -> str:
    """Character-class text for Java's ``\\p{name}`` (or ``\\P{name}`` when ``negate``)."""
    name = name.removeprefix("Is")
    if name in _POSIX:
        if not negate:
            return _POSIX[name]
        compiled = re.compile(f"[{_POSIX[name]}]")
        return _ranges_where(lambda ch: compiled.match(ch) is None)
    # A Unicode general category (L, Lu, N, Z, C...).
    if not any(category.startswith(name) for _, _, category in _category_runs()):
        raise KeyError(name)
    parts = []
    for first, last, category in _category_runs():
        if category.startswith(name) != negate:
            parts.append(_escape(first) if first == last else f"{_escape(first)}-{_escape(last)}")
    return "".join(parts)


_PROPERTY = re.compile(r"\\([pP])\{(\w+)\}|\\p(\w)")
_SURROGATE_PAIR = re.compile(r"\\u(d[89ab][0-9a-f]{2})\\u(d[c-f][0-9a-f]{2})", re.IGNORECASE)


def _combine_surrogates(match: re.Match[str]) -> str:
    high, low = int(match.group(1), 16), int(match.group(2), 16)
    return _escape(0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00))


def translate(pattern: str) -> str:
    """A Java regular expression rewritten for Python's ``re``."""
    pattern = _SURROGATE_PAIR.sub(_combine_surrogates, pattern)
    out: list[str] = []
    in_class = False
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\":
            match = _PROPERTY.match(pattern, i)
            if match:
                negate = match.group(1) == "P"
                name = match.group(2) or match.group(3)
                text = _class_text(name, negate)
                out.append(text if in_class else f"[{text}]")
                i = match.end()
                continue
            out.append(pattern[i : i + 2])
            i += 2
            continue
        if ch == "[" and not in_class:
            in_class = True
            out.append(ch)
            # A ']' right after '[' or '[^' is a literal in both dialects.
            if pattern.startswith("^", i + 1):
                out.append("^")
                i += 1
            i += 1
            continue
        if ch == "]" and in_class:
            in_class = False
        out.append(ch)
        i += 1
    return "".join(out)


@lru_cache(maxsize=4096)
def compile_pattern(pattern: str) -> re.Pattern[str] | None:
    """The compiled form of a model pattern, for ``fullmatch``; None if it cannot be expressed."""
    try:
        return re.compile(translate(pattern))
    except (re.error, KeyError, ValueError):
        return None
