"""Patterns of the policy language: ``*`` and ``?`` wildcards, ``${...}`` variables, ARN segments.

A pattern string is read once into a *template* (literal text, wildcards, variables). Substituting a
connection's variables gives *tokens* (literal text and wildcards): a substituted value is always
literal, so a client id holding ``*`` matches only itself. ``${*}``, ``${?}`` and ``${$}`` are the
literal characters. Tokens become one regular expression (the compiled path) or are matched by
:func:`reference_match`, a direct backtracking matcher kept as the specification the tests compare
the compiled path against.

ARN rules (IAM's "Using wildcards in resource ARNs"): in the first five colon-separated segments
``*`` and ``?`` stay inside their segment, except that a ``*`` ending a segment may run past colons;
in the resource part (after the fifth colon) they match anything, ``/`` and ``:`` included. MQTT's
``+`` and ``#`` are ordinary characters here.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from functools import lru_cache


class Wild(Enum):
    STAR = "*"
    QMARK = "?"


@dataclass(frozen=True, slots=True)
class Var:
    name: str


Part = str | Wild | Var
Token = str | Wild
Template = tuple[Part, ...]
Tokens = tuple[Token, ...]

_ESCAPES = {"*": "*", "?": "?", "$": "$"}


@lru_cache(maxsize=4096)
def parse_template(text: str, *, variables: bool = True, wildcards: bool = True) -> Template:
    """Read a pattern into literal runs, (when ``wildcards``) ``*``/``?`` and (when ``variables``)
    ``${name}`` references. An unclosed ``${`` is literal text."""
    parts: list[Part] = []
    buf: list[str] = []
    i = 0
    n = len(text)
    while i < n:
        ch = text[i]
        if variables and ch == "$" and text.startswith("${", i):
            end = text.find("}", i + 2)
            if end != -1:
                name = text[i + 2 : end]
                if name in _ESCAPES:
                    buf.append(_ESCAPES[name])
                else:
                    _flush(parts, buf)
                    parts.append(Var(name))
                i = end + 1
                continue
        if wildcards and (ch == "*" or ch == "?"):
            _flush(parts, buf)
            parts.append(Wild(ch))
        else:
            buf.append(ch)
        i += 1
    _flush(parts, buf)
    return tuple(parts)


def _flush(parts: list[Part], buf: list[str]) -> None:
    if buf:
        parts.append("".join(buf))
        buf.clear()


def has_variables(template: Template) -> bool:
    return any(isinstance(part, Var) for part in template)


def plain_tokens(text: str) -> Tokens:
    """Tokens of a pattern without variables (Action elements)."""
    return tuple(part for part in parse_template(text, variables=False) if not isinstance(part, Var))


def substitute(template: Template, resolve: Callable[[str], str | None]) -> Tokens | None:
    """The template with every variable replaced by its literal value; None if one is not resolved."""
    out: list[Token] = []
    for part in template:
        if isinstance(part, Var):
            value = resolve(part.name)
            if value is None:
                return None
            part = value
        if isinstance(part, str) and out and isinstance(out[-1], str):
            out[-1] = out[-1] + part
        elif part != "":
            out.append(part)
    return tuple(out)


def literal(tokens: Tokens) -> str | None:
    """The exact string the tokens match, when they hold no wildcard."""
    if all(isinstance(token, str) for token in tokens):
        return "".join(token for token in tokens if isinstance(token, str))
    return None


def _segment_info(tokens: Tokens, arn: bool) -> list[tuple[bool, bool]]:
    """For each token: (inside the first five ARN segments, is a ``*`` that ends its segment)."""
    info: list[tuple[bool, bool]] = []
    colons = 0
    for i, token in enumerate(tokens):
        bounded = arn and colons < 5
        ends_segment = False
        if token is Wild.STAR and bounded:
            nxt = tokens[i + 1] if i + 1 < len(tokens) else None
            ends_segment = nxt is None or (isinstance(nxt, str) and nxt.startswith(":"))
        info.append((bounded, ends_segment))
        if isinstance(token, str):
            colons += token.count(":")
    return info


def regex_source(tokens: Tokens, *, arn: bool, extend: bool = True) -> str:
    """A regular expression (for ``fullmatch`` with DOTALL) matching what the tokens match.

    ``arn`` applies the segment rules; ``extend`` lets a segment-ending ``*`` run past colons
    (Resource elements do; ArnLike conditions compare segment by segment and do not).
    """
    out: list[str] = []
    for token, (bounded, ends_segment) in zip(tokens, _segment_info(tokens, arn), strict=True):
        if isinstance(token, str):
            out.append(re.escape(token))
        elif token is Wild.STAR:
            out.append("[^:]*" if bounded and not (extend and ends_segment) else ".*")
        else:
            out.append("[^:]" if bounded else ".")
    return "".join(out)


def compile_tokens(tokens: Tokens, *, arn: bool, extend: bool = True) -> re.Pattern[str]:
    return re.compile(regex_source(tokens, arn=arn, extend=extend), re.DOTALL)


def reference_match(tokens: Tokens, text: str, *, arn: bool, extend: bool = True) -> bool:
    """Match ``text`` against the tokens by dynamic programming over (token, position); no regex."""
    info = _segment_info(tokens, arn)
    n = len(text)
    # reachable[j]: the tokens so far can consume exactly text[:j]
    reachable = [False] * (n + 1)
    reachable[0] = True
    for token, (bounded, ends_segment) in zip(tokens, info, strict=True):
        nxt = [False] * (n + 1)
        if isinstance(token, str):
            size = len(token)
            for j in range(n + 1):
                if reachable[j] and text.startswith(token, j):
                    nxt[j + size] = True
        elif token is Wild.STAR:
            anything = not bounded or (extend and ends_segment)
            carry = False
            for j in range(n + 1):
                carry = carry or reachable[j]
                nxt[j] = carry
                if carry and not anything and j < n and text[j] == ":":
                    carry = False
        else:
            for j in range(n):
                if reachable[j] and (not bounded or text[j] != ":"):
                    nxt[j + 1] = True
        reachable = nxt
    return reachable[n]
