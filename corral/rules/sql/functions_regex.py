"""``regexp_matches``, ``regexp_replace``, ``regexp_substr``: Java's regular expressions on Python's ``re``.

AWS's rules engine evaluates these with ``java.util.regex``; a rule's patterns are written for it. The
translation is ``corral/javaregex.py``'s, which keeps Java's meaning where the two differ:

- Rewritten into Python's spelling: ``\\p{...}``/``\\P{...}`` for the POSIX classes (``\\p{Lower}``,
  ``\\p{Alpha}``, ``\\p{Digit}`` …) and the Unicode general categories (``\\p{L}``, ``\\p{Lu}``, ``\\pN``,
  ``\\p{IsL}`` …), surrogate pairs (``\\uD83D\\uDE00``), ``\\h``, ``\\v``, ``\\R``, ``\\e``, ``\\cX``,
  ``\\0ooo``, ``\\x{h…h}``, ``\\Q…\\E``, ``\\z``/``\\Z`` and named groups ``(?<name>…)`` / ``\\k<name>``.
- ``\\d``, ``\\w``, ``\\s``, ``\\b`` and case-insensitive matching are ASCII-only in Java by default
  (``re.ASCII`` here).
- Inside a character class Java nests classes (``[a[b]]``) and intersects them (``[a-z&&[^b]]``); Python
  does neither: such patterns are refused (the result is Undefined, as for an invalid pattern).
- Replacements use Java's syntax: ``$1``, ``${name}``, ``\\$`` for a literal dollar sign.
- Not translated (Undefined): Unicode scripts, blocks and binary properties (``\\p{IsLatin}``,
  ``\\p{InGreek}``), ``\\G``, ``\\X``, and the flags ``(?u)``/``(?U)``/``(?d)``. Java's ``.`` also stops at
  ``\\r``, ``\\u0085``, ``\\u2028`` and ``\\u2029``; Python's only at ``\\n``.
- The first use of a Unicode category reads every code point's category once (a fraction of a second).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Final

from corral import javaregex
from corral.javaregex import translate as translate
from corral.rules.sql.context import EvalContext
from corral.rules.sql.functions_base import fixed, string_arg
from corral.rules.sql.values import UNDEFINED, Value


def compile_java(pattern: str) -> re.Pattern[str] | None:
    """A rule's Java pattern compiled with ``re.ASCII`` (Java's ``\\d``, ``\\w``, ``\\s``, ``\\b`` and
    case-insensitive matching are ASCII-only), or None when it is invalid or not translatable."""
    return javaregex.compile_java(pattern, re.ASCII)


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
    expand = javaregex.replacer(replacement, compiled)
    return UNDEFINED if expand is None else compiled.sub(expand, text)


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
