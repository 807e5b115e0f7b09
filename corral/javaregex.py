"""Java's regular expressions (``java.util.regex``) on Python's ``re``: the one translator Corral has.

AWS evaluates regular expressions with Java in two places Corral imitates: the ``pattern`` constraints of
the service models (``api/protocol/patterns.py``, matched whole) and IoT SQL's ``regexp_*`` functions
(``rules/sql/functions_regex.py``, which search). ``translate`` rewrites a Java pattern in Python's spelling,
keeping Java's meaning where the two differ; ``compile_java`` compiles that with the caller's flags, or
answers None; ``replacer`` reads Java's replacement syntax (``Matcher.appendReplacement``).

Rewritten:

- ``\\p{name}``, ``\\P{name}``, ``\\pL``, ``\\PL``, with or without ``Is`` before the name: Java's POSIX
  classes (``Lower``, ``Upper``, ``ASCII``, ``Alpha``, ``Digit``, ``Alnum``, ``Punct``, ``Graph``, ``Print``,
  ``Blank``, ``Cntrl``, ``XDigit``, ``Space``: US-ASCII, as in Java without ``UNICODE_CHARACTER_CLASS``) and
  the Unicode general categories (``L``, ``Lu``, ``N``, ``Nd``, ``Z``, ``C``, …, from ``unicodedata``), as
  explicit ranges; a negated one inside a class becomes the ranges of its complement.
- A surrogate pair ``\\uD83D\\uDE00`` is the one code point it encodes (also as a range's end).
- ``\\h`` ``\\H`` (horizontal whitespace), ``\\v`` ``\\V`` (vertical whitespace: Python's ``\\v`` is one
  character), ``\\R`` (any line break), ``\\e``, ``\\cX``, ``\\0ooo``, ``\\x{h…h}``, ``\\Q…\\E``, ``\\z``, and
  ``\\Z`` (which in Java allows a final line terminator).
- Named groups ``(?<name>…)`` and ``\\k<name>``.
- ``--``, ``~~`` and ``||`` inside a class: two literal characters in Java (future set operations Python
  warns about).

Refused (``UnsupportedPattern``; ``compile_java`` answers None):

- Nested classes (``[a[b]]``) and intersections (``[a-z&&[^b]]``): Python's classes do neither.
- Unicode scripts, blocks and binary properties (``\\p{IsLatin}``, ``\\p{InGreek}``, ``\\p{IsAlphabetic}``)
  and ``\\p{javaLowerCase}``: ``unicodedata`` knows no scripts.
- ``\\G``, ``\\X``, the flags ``(?u)``, ``(?U)`` and ``(?d)``; ``\\R``, ``\\k``, ``\\Q``, ``\\E``, ``\\z``,
  ``\\Z`` inside a class.

Left as Python has them: Java's ``.`` also stops at ``\\r``, ``\\u0085``, ``\\u2028`` and ``\\u2029``,
Python's only at ``\\n``; ``\\d``, ``\\w``, ``\\s``, ``\\b`` and case-insensitive matching are ASCII-only in
Java, Unicode in Python unless the caller passes ``re.ASCII``.
"""

from __future__ import annotations

import re
import sys
import unicodedata
from collections.abc import Callable
from functools import cache, lru_cache
from typing import Final


class UnsupportedPattern(ValueError):
    """A Java pattern construct with no Python translation."""


POSIX_CLASSES: Final = {
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
"""Java's POSIX classes (``\\p{Lower}``…) as class contents."""

_HORIZONTAL_SPACE: Final = " \\t\\xa0\\u1680\\u180e\\u2000-\\u200a\\u202f\\u205f\\u3000"
_VERTICAL_SPACE: Final = "\\n\\x0b\\f\\r\\x85\\u2028\\u2029"
_SET_OPERATORS: Final = ("--", "~~", "||")
"""Pairs Python warns about inside a class (future set operations) and Java reads as two literal chars."""
_SURROGATE_PAIR: Final = re.compile(r"\\u([dD][89abAB][0-9a-fA-F]{2})\\u([dD][c-fC-F][0-9a-fA-F]{2})")
_FLAGS: Final = re.compile(r"\(\?([a-zA-Z-]*)[:)]")
_GROUP_REFERENCE: Final = re.compile(r"\\k<([A-Za-z][A-Za-z0-9]*)>")
_NOT_IN_CLASS: Final = "GXRkQEzZ"
"""Escapes that stand for no set of characters: handled (or refused) outside a class, refused inside."""


def _code_point(code: int) -> str:
    return f"\\U{code:08x}"


def _range(first: int, last: int) -> str:
    return _code_point(first) if first == last else f"{_code_point(first)}-{_code_point(last)}"


@cache
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
def _property(name: str) -> str:
    """Class contents for Java's ``\\p{name}``: a POSIX class or a Unicode general category."""
    bare = name.removeprefix("Is")
    if bare in POSIX_CLASSES:
        return POSIX_CLASSES[bare]
    spans: list[list[int]] = []
    for first, last, category in _category_runs():
        if bare and category.startswith(bare):
            if spans and spans[-1][1] == first - 1:
                spans[-1][1] = last  # runs of two categories of the class that touch: one range
            else:
                spans.append([first, last])
    if not spans:
        raise UnsupportedPattern(f"\\p{{{name}}}")
    return "".join(_range(first, last) for first, last in spans)


@cache
def _complement(content: str) -> str:
    """Class contents for every code point that ``[content]`` does not match."""
    every = "".join(map(chr, range(sys.maxunicode + 1)))
    runs = re.finditer(f"[^{content}]+", every)
    return "".join(_range(run.start(), run.end() - 1) for run in runs)


def _escape(pattern: str, i: int) -> tuple[str, int, str | None]:
    """The escape at ``pattern[i] == '\\'`` as class contents: (contents, next index, negated contents or
    None); the index is -1 for an escape that is no set of characters (``_NOT_IN_CLASS``)."""
    pair = _SURROGATE_PAIR.match(pattern, i)
    if pair is not None:
        high, low = int(pair.group(1), 16), int(pair.group(2), 16)
        return _code_point(0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00)), pair.end(), None
    letter = pattern[i + 1] if i + 1 < len(pattern) else ""
    if letter in ("p", "P"):
        if pattern.startswith("{", i + 2):
            close = pattern.find("}", i + 3)
            if close < 0:
                raise UnsupportedPattern("unclosed \\p{")
            name, end = pattern[i + 3 : close], close + 1
        else:
            name, end = pattern[i + 2 : i + 3], i + 3
        content = _property(name)
        return (content, end, None) if letter == "p" else ("", end, content)
    if letter == "h":
        return _HORIZONTAL_SPACE, i + 2, None
    if letter == "H":
        return "", i + 2, _HORIZONTAL_SPACE
    if letter == "v":
        return _VERTICAL_SPACE, i + 2, None
    if letter == "V":
        return "", i + 2, _VERTICAL_SPACE
    if letter == "e":
        return "\\x1b", i + 2, None
    if letter == "c":
        if i + 2 >= len(pattern):
            raise UnsupportedPattern("\\c at the end")
        return re.escape(chr(ord(pattern[i + 2]) ^ 64)), i + 3, None
    if letter == "0":
        end = i + 2
        while end < len(pattern) and end < i + 5 and pattern[end] in "01234567":
            end += 1
        digits = pattern[i + 2 : end]
        if not digits or int(digits, 8) > 0o377:
            raise UnsupportedPattern("bad octal escape")
        return re.escape(chr(int(digits, 8))), end, None
    if letter == "x" and pattern.startswith("{", i + 2):
        close = pattern.find("}", i + 3)
        if close < 0:
            raise UnsupportedPattern("unclosed \\x{")
        try:
            return re.escape(chr(int(pattern[i + 3 : close], 16))), close + 1, None
        except ValueError as error:
            raise UnsupportedPattern("bad \\x{}") from error
    if letter and letter in _NOT_IN_CLASS:
        return "", -1, None
    return pattern[i : i + 2], i + 2, None


def translate(pattern: str) -> str:
    """A Java regular expression in Python's ``re`` syntax; raises ``UnsupportedPattern``."""
    out: list[str] = []
    i, n = 0, len(pattern)
    while i < n:
        c = pattern[i]
        if c == "\\":
            i = _translate_escape(pattern, i, out)
            continue
        if c == "[":
            i = _translate_class(pattern, i, out)
            continue
        if c == "(" and pattern.startswith("(?<", i) and not pattern.startswith(("(?<=", "(?<!"), i):
            out.append("(?P<")
            i += 3
            continue
        if c == "(":
            flags = _FLAGS.match(pattern, i)
            if flags is not None and any(flag in flags.group(1) for flag in "udU"):
                raise UnsupportedPattern("flags u, d and U")
        out.append(c)
        i += 1
    return "".join(out)


def _translate_escape(pattern: str, i: int, out: list[str]) -> int:
    """Translate the escape at ``pattern[i] == '\\'`` outside a class; return the index after it."""
    n = len(pattern)
    if i + 1 >= n:
        raise UnsupportedPattern("trailing backslash")
    letter = pattern[i + 1]
    if letter == "Q":
        end = pattern.find("\\E", i + 2)
        out.append(re.escape(pattern[i + 2 :] if end < 0 else pattern[i + 2 : end]))
        return n if end < 0 else end + 2
    if letter == "E":
        return i + 2
    if letter == "z":
        out.append("\\Z")
        return i + 2
    if letter == "Z":
        out.append("(?=\\n?\\Z)")
        return i + 2
    if letter == "R":
        out.append(f"(?:\\r\\n|[{_VERTICAL_SPACE}])")
        return i + 2
    if letter == "k":
        match = _GROUP_REFERENCE.match(pattern, i)
        if match is None:
            raise UnsupportedPattern("bad \\k<name>")
        out.append(f"(?P={match.group(1)})")
        return match.end()
    if letter in ("G", "X"):
        raise UnsupportedPattern(f"\\{letter}")
    content, end, negated = _escape(pattern, i)
    if negated is not None:
        out.append(f"[^{negated}]")
    elif letter in ("p", "h", "v"):
        out.append(f"[{content}]")
    else:
        out.append(content)
    return end


def _translate_class(pattern: str, start: int, out: list[str]) -> int:
    """Translate the character class at ``pattern[start] == '['``; return the index after its ``]``."""
    out.append("[")
    i, n = start + 1, len(pattern)
    if i < n and pattern[i] == "^":
        out.append("^")
        i += 1
    first = True  # a ']' right after '[' or '[^' is a literal in both dialects
    while i < n:
        c = pattern[i]
        if c == "]" and not first:
            out.append("]")
            return i + 1
        first = False
        if c == "[":
            raise UnsupportedPattern("nested character class")
        if pattern.startswith("&&", i):
            raise UnsupportedPattern("character class intersection")
        if pattern.startswith(_SET_OPERATORS, i):
            out.append(re.escape(c) + re.escape(pattern[i + 1]))
            i += 2
            continue
        if c == "\\":
            if i + 1 >= n:
                raise UnsupportedPattern("trailing backslash")
            content, end, negated = _escape(pattern, i)
            if end < 0:
                raise UnsupportedPattern("escape not allowed in a class")
            out.append(content if negated is None else _complement(negated))
            i = end
            continue
        out.append(c)
        i += 1
    raise UnsupportedPattern("unclosed character class")


@lru_cache(maxsize=4096)
def compile_java(pattern: str, flags: int = 0) -> re.Pattern[str] | None:
    """The compiled translation of a Java pattern with ``flags``, or None when it is invalid or not
    translatable."""
    try:
        return re.compile(translate(pattern), flags)
    except (re.error, ValueError, OverflowError, RecursionError):
        return None


Replacement = tuple[str | int, ...]
"""Literal text (str) and group references (int, or a name tagged by ``_NamedGroup``)."""


class _NamedGroup(str):
    """A ``${name}`` reference in a parsed replacement (a str subclass, told apart by type)."""


@lru_cache(maxsize=256)
def parse_replacement(replacement: str, groups: int, names: frozenset[str]) -> Replacement | None:
    """Java's ``Matcher.appendReplacement`` syntax (``$1``, ``${name}``, ``\\$``), or None when it is invalid
    for a pattern with ``groups`` groups named ``names``."""
    parts: list[str | int] = []
    literal: list[str] = []
    i, n = 0, len(replacement)
    while i < n:
        c = replacement[i]
        if c == "\\":
            if i + 1 >= n:
                return None
            literal.append(replacement[i + 1])
            i += 2
            continue
        if c != "$":
            literal.append(c)
            i += 1
            continue
        if i + 1 >= n:
            return None
        if replacement[i + 1] == "{":
            close = replacement.find("}", i + 2)
            name = replacement[i + 2 : close] if close > 0 else ""
            if name not in names:
                return None
            parts.extend(["".join(literal), _NamedGroup(name)])
            literal.clear()
            i = close + 1
            continue
        if not replacement[i + 1].isdigit() or not replacement[i + 1].isascii():
            return None
        number = int(replacement[i + 1])
        if number > groups:
            return None
        i += 2
        # Java keeps taking digits while the longer number is still a group of the pattern.
        while i < n and replacement[i].isascii() and replacement[i].isdigit():
            longer = number * 10 + int(replacement[i])
            if longer > groups:
                break
            number, i = longer, i + 1
        parts.extend(["".join(literal), number])
        literal.clear()
    parts.append("".join(literal))
    return tuple(part for part in parts if part != "")


def replacer(replacement: str, compiled: re.Pattern[str]) -> Callable[[re.Match[str]], str] | None:
    """A function for ``compiled.sub`` that expands Java's ``replacement``; None when it is invalid."""
    parts = parse_replacement(replacement, compiled.groups, frozenset(compiled.groupindex))
    if parts is None:
        return None

    def expand(match: re.Match[str]) -> str:
        return "".join(part if type(part) is str else (match.group(part) or "") for part in parts)

    return expand
