"""The models' ``pattern`` constraints, which are Java regular expressions, as Python ones.

AWS validates with ``java.util.regex`` and whole-value matching (``[a-zA-Z0-9:_-]+`` refuses "a b"), so a
pattern is compiled for ``fullmatch``. The translation is ``corral/javaregex.py``'s, which says what it
rewrites (Java's ``\\p{...}`` classes: POSIX names and Unicode general categories; surrogate pairs; ``\\h``,
``\\v``, ``\\Q…\\E``, named groups, …) and what it refuses (nested classes and intersections, Unicode
scripts and blocks, ``\\G``, ``\\X``, the flags ``u``, ``d``, ``U``). ``\\d``, ``\\w`` and ``\\s`` keep
Python's Unicode meaning here. A pattern that cannot be translated is not checked (``compile_pattern``
returns None), rather than refusing valid input.
"""

from __future__ import annotations

import re

from corral.javaregex import compile_java


def compile_pattern(pattern: str) -> re.Pattern[str] | None:
    """The compiled form of a model pattern, for ``fullmatch``; None if it cannot be expressed."""
    return compile_java(pattern)
