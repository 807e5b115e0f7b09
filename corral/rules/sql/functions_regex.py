"""``regexp_matches``, ``regexp_replace``, ``regexp_substr``: Java's regular expressions on Python's ``re``.

AWS's rules engine evaluates these with ``java.util.regex``; a rule's patterns are written for it. The
translation below keeps Java's meaning where the two differ:

- ``\\d``, ``\\w``, ``\\s``, ``\\b`` and case-insensitive matching are ASCII-only in Java by default
  (``re.ASCII`` here); ``\\p{Lower}``, ``\\p{Alpha}``, ``\\p{Digit}`` … (the POSIX classes), ``\\h``,
  ``\\v``, ``\\R``, ``\\e``, ``\\cX``, ``\\0ooo``, ``\\x{h…h}``, ``\\Q…\\E``, ``\\z``/``\\Z`` and named groups
  ``(?<name>…)`` / ``\\k<name>`` are rewritten into Python's spelling.
- Inside a character class Java nests classes (``[a[b]]``) and intersects them (``[a-z&&[^b]]``); Python
  does neither: such patterns are refused (the result is Undefined, as for an invalid pattern).
- Replacements use Java's syntax: ``$1``, ``${name}``, ``\\$`` for a literal dollar sign.
- Not translated (Undefined): Unicode script and category classes (``\\p{L}``, ``\\p{IsLatin}``), ``\\G``,
  ``\\X``, and the flags ``(?u)``/``(?U)``/``(?d)``. Java's ``.`` also stops at ``\\r``, ``\\u0085``,
  ``\\u2028`` and ``\\u2029``; Python's only at ``\\n``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Final

from corral.rules.sql.context import EvalContext
from corral.rules.sql.functions_base import fixed, string_arg
from corral.rules.sql.values import UNDEFINED, Value


class _Unsupported(ValueError):
    """A Java pattern construct with no Python translation (the function answers Undefined)."""


_POSIX_CLASSES: Final = {
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
_HORIZONTAL_SPACE: Final = " \\t\\xa0\\u1680\\u180e\\u2000-\\u200a\\u202f\\u205f\\u3000"
_VERTICAL_SPACE: Final = "\\n\\x0b\\f\\r\\x85\\u2028\\u2029"
_SET_OPERATORS: Final = ("--", "~~", "||")
"""Pairs Python warns about inside a class (future set operations) and Java reads as two literal chars."""


def _class_escape(pattern: str, i: int) -> tuple[str, int, str | None]:
    """A class-content escape at ``pattern[i] == '\\'``: (content, next index, negated content or None)."""
    letter = pattern[i + 1] if i + 1 < len(pattern) else ""
    if letter in ("p", "P"):
        if pattern.startswith("{", i + 2):
            close = pattern.find("}", i + 3)
            if close < 0:
                raise _Unsupported("unclosed \\p{")
            name, end = pattern[i + 3 : close], close + 1
        else:
            name, end = pattern[i + 2 : i + 3], i + 3
        name = name.removeprefix("Is") if name.removeprefix("Is") in _POSIX_CLASSES else name
        if name not in _POSIX_CLASSES:
            raise _Unsupported(f"\\p{{{name}}}")
        content = _POSIX_CLASSES[name]
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
            raise _Unsupported("\\c at the end")
        return re.escape(chr(ord(pattern[i + 2]) ^ 64)), i + 3, None
    if letter == "0":
        end = i + 2
        while end < len(pattern) and end < i + 5 and pattern[end] in "01234567":
            end += 1
        digits = pattern[i + 2 : end]
        if not digits or int(digits, 8) > 0o377:
            raise _Unsupported("bad octal escape")
        return re.escape(chr(int(digits, 8))), end, None
    if letter == "x" and pattern.startswith("{", i + 2):
        close = pattern.find("}", i + 3)
        if close < 0:
            raise _Unsupported("unclosed \\x{")
        try:
            return re.escape(chr(int(pattern[i + 3 : close], 16))), close + 1, None
        except ValueError as error:
            raise _Unsupported("bad \\x{}") from error
    if letter in ("G", "X", "R", "k", "Q", "E", "z", "Z"):
        return "", -1, None  # not a class escape: the caller handles (or refuses) it
    return pattern[i : i + 2], i + 2, None


def translate(pattern: str) -> str:
    """A Java regular expression in Python's ``re`` syntax; raises ``_Unsupported``."""
    out: list[str] = []
    i, n = 0, len(pattern)
    while i < n:
        c = pattern[i]
        if c == "\\":
            if i + 1 >= n:
                raise _Unsupported("trailing backslash")
            letter = pattern[i + 1]
            if letter == "Q":
                end = pattern.find("\\E", i + 2)
                literal = pattern[i + 2 :] if end < 0 else pattern[i + 2 : end]
                out.append(re.escape(literal))
                i = n if end < 0 else end + 2
                continue
            if letter == "E":
                i += 2
                continue
            if letter == "z":
                out.append("\\Z")
                i += 2
                continue
            if letter == "Z":
                out.append("(?=\\n?\\Z)")
                i += 2
                continue
            if letter == "R":
                out.append(f"(?:\\r\\n|[{_VERTICAL_SPACE}])")
                i += 2
                continue
            if letter == "k":
                match = re.match(r"<([A-Za-z][A-Za-z0-9]*)>", pattern[i + 2 :])
                if match is None:
                    raise _Unsupported("bad \\k<name>")
                out.append(f"(?P={match.group(1)})")
                i += 2 + match.end()
                continue
            if letter in ("G", "X"):
                raise _Unsupported(f"\\{letter}")
            content, end, negated = _class_escape(pattern, i)
            if negated is not None:
                out.append(f"[^{negated}]")
            elif content.startswith("\\") and len(content) == 2:
                out.append(content)
            else:
                out.append(f"[{content}]" if len(content) > 1 and letter in "pPhHvV" else content)
            i = end
            continue
        if c == "[":
            i = _translate_class(pattern, i, out)
            continue
        if c == "(" and pattern.startswith("(?<", i) and not pattern.startswith(("(?<=", "(?<!"), i):
            out.append("(?P<")
            i += 3
            continue
        if c == "(" and re.match(r"\(\?[a-zA-Z-]*[udU]", pattern[i:]):
            flags = re.match(r"\(\?([a-zA-Z-]*)[:)]", pattern[i:])
            if flags is not None and any(f in flags.group(1) for f in "udU"):
                raise _Unsupported("flags u, d and U")
        out.append(c)
        i += 1
    return "".join(out)


def _translate_class(pattern: str, start: int, out: list[str]) -> int:
    """Copy the character class at ``pattern[start] == '['``; return the index after its ``]``."""
    out.append("[")
    i, n = start + 1, len(pattern)
    if i < n and pattern[i] == "^":
        out.append("^")
        i += 1
    first = True
    while i < n:
        c = pattern[i]
        if c == "]" and not first:
            out.append("]")
            return i + 1
        first = False
        if c == "[":
            raise _Unsupported("nested character class")
        if pattern.startswith("&&", i):
            raise _Unsupported("character class intersection")
        if pattern.startswith(_SET_OPERATORS, i):
            out.append(re.escape(c) + re.escape(pattern[i + 1]))
            i += 2
            continue
        if c == "\\":
            if i + 1 >= n:
                raise _Unsupported("trailing backslash")
            content, end, negated = _class_escape(pattern, i)
            if end < 0 or negated is not None:
                raise _Unsupported("escape not allowed in a class")
            out.append(content)
            i = end
            continue
        out.append(c)
        i += 1
    raise _Unsupported("unclosed character class")


@lru_cache(maxsize=256)
def compile_java(pattern: str) -> re.Pattern[str] | None:
    """The compiled translation of a Java pattern, or None when it is invalid or not translatable."""
    try:
        return re.compile(translate(pattern), re.ASCII)
    except (_Unsupported, re.error, OverflowError, RecursionError):
        return None


Replacement = tuple[str | int, ...]
"""Literal text (str) and group references (int, or a name tagged by ``_NamedGroup``)."""


class _NamedGroup(str):
    """A ``${name}`` reference in a parsed replacement (a str subclass, told apart by type)."""


@lru_cache(maxsize=256)
def parse_replacement(replacement: str, groups: int, names: frozenset[str]) -> Replacement | None:
    """Java's ``Matcher.appendReplacement`` syntax, or None when it is invalid for this pattern."""
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


def _expand(parts: Replacement) -> Callable[[re.Match[str]], str]:
    def expand(match: re.Match[str]) -> str:
        out: list[str] = []
        for part in parts:
            if type(part) is str:
                out.append(part)
            else:
                out.append(match.group(part) or "")
        return "".join(out)

    return expand


def _pattern_args(args: Sequence[Value]) -> tuple[str, re.Pattern[str]] | None:
    text, pattern = string_arg(args[0]), string_arg(args[1])
    if text is None or pattern is None:
        return None
    compiled = compile_java(pattern)
    return None if compiled is None else (text, compiled)


def _regexp_matches(ctx: EvalContext, args: Sequence[Value]) -> Value:
    """True when the String contains a match (Java's ``Matcher.find``, not a whole-string match)."""
    found = _pattern_args(args)
    return UNDEFINED if found is None else found[1].search(found[0]) is not None


def _regexp_replace(ctx: EvalContext, args: Sequence[Value]) -> Value:
    found = _pattern_args(args)
    replacement = string_arg(args[2])
    if found is None or replacement is None:
        return UNDEFINED
    text, compiled = found
    parts = parse_replacement(replacement, compiled.groups, frozenset(compiled.groupindex))
    if parts is None:
        return UNDEFINED
    return compiled.sub(_expand(parts), text)


def _regexp_substr(ctx: EvalContext, args: Sequence[Value]) -> Value:
    """The first match; Undefined when there is none (AWS's page does not say)."""
    found = _pattern_args(args)
    if found is None:
        return UNDEFINED
    match = found[1].search(found[0])
    return UNDEFINED if match is None else match.group(0)


FUNCTIONS: Final = (
    fixed("regexp_matches", 2, _regexp_matches),
    fixed("regexp_replace", 3, _regexp_replace),
    fixed("regexp_substr", 2, _regexp_substr),
)
