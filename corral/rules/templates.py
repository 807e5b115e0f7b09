"""Substitution templates: ``${expression}`` in a rule action's fields, evaluated per message.

AWS's rules (developerguide/iot-substitution-templates.html and each action's page):

- ``${expr}`` holds any expression of a SELECT or WHERE clause (functions, operators, the payload's
  attributes). It is evaluated on its own, against the incoming message, not against the statement's output:
  an ``AS`` alias of the SELECT clause cannot be referenced.
- ``$$`` is a literal ``$`` (``$$aws/things/${topic(3)}/shadow/update`` republishes to a shadow topic);
  any other ``$`` not followed by ``{`` is literal too.
- Which fields accept templates is each action's business (``actions/``): republish's ``topic`` and every
  MQTT 5 header, lambda's ``functionArn``, http's ``url`` and header values; ``roleArn`` and ``qos`` never.

Each expression is compiled once, when the rule is created, as ``SELECT VALUE <expr> FROM '#'``; its value
becomes text by AWS's conversion to String (an object or array as JSON), and Undefined becomes the empty
string (as does Null). A field without ``${`` costs nothing per message, and one whose expressions call
no external function renders synchronously (``uses_external`` is False).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from corral.rules.engine import SqlEngine, SqlRefused, Statement
from corral.rules.sql.context import EvalContext
from corral.rules.sql.values import to_string


class TemplateError(ValueError):
    """A template that cannot be compiled (an unterminated ``${``, an empty or invalid expression)."""


def split_template(text: str) -> list[str | tuple[str]]:
    """The template's pieces in order: literal text (``$$`` already unescaped) and ``(expression,)``.

    The closing brace of ``${`` is found by counting braces outside quoted strings, so an expression may hold
    an object literal or a string with a ``}`` in it."""
    pieces: list[str | tuple[str]] = []
    literal: list[str] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch == "$" and i + 1 < n and text[i + 1] == "$":
            literal.append("$")
            i += 2
            continue
        if ch == "$" and i + 1 < n and text[i + 1] == "{":
            end = _closing_brace(text, i + 2)
            expression = text[i + 2 : end].strip()
            if not expression:
                raise TemplateError(f"Empty substitution template at position {i} of {text!r}")
            if literal:
                pieces.append("".join(literal))
                literal = []
            pieces.append((expression,))
            i = end + 1
            continue
        literal.append(ch)
        i += 1
    if literal:
        pieces.append("".join(literal))
    return pieces


def _closing_brace(text: str, start: int) -> int:
    depth = 0
    quote: str | None = None
    i = start
    while i < len(text):
        ch = text[i]
        if quote is not None:
            if ch == "\\":
                i += 2
                continue
            if ch == quote:
                quote = None
        elif ch in ("'", '"', "`"):
            quote = ch
        elif ch == "{":
            depth += 1
        elif ch == "}":
            if depth == 0:
                return i
            depth -= 1
        i += 1
    raise TemplateError(f"Unterminated substitution template in {text!r}")


@dataclass(frozen=True, slots=True)
class Template:
    """A compiled action field: ``render(ctx)`` gives its text for one message.

    ``render`` is a closure built once from the pieces (a constant's text, a lone expression's conversion, or
    the pieces joined), and ``is_constant`` and ``uses_external`` are worked out once too: an action asks them
    per message."""

    source: str
    pieces: tuple[str | Statement, ...]
    to_text: Callable[[Any], str]
    is_constant: bool = field(init=False)
    uses_external: bool = field(init=False)
    """An expression calls a function Corral hosts elsewhere: render off the event loop."""
    render: Callable[[EvalContext], str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        statements = [piece for piece in self.pieces if not isinstance(piece, str)]
        object.__setattr__(self, "is_constant", not statements)
        object.__setattr__(self, "uses_external", any(s.uses_external for s in statements))
        object.__setattr__(self, "render", _renderer(self.pieces, self.to_text))


def _renderer(
    pieces: tuple[str | Statement, ...], to_text: Callable[[Any], str]
) -> Callable[[EvalContext], str]:
    """``Template.render``: the fewest calls per message for the template's shape."""
    if all(isinstance(piece, str) for piece in pieces):
        return _literal("".join(piece for piece in pieces if isinstance(piece, str)))
    if len(pieces) == 1 and not isinstance(pieces[0], str):
        return _expression(pieces[0], to_text)
    parts = [_literal(piece) if isinstance(piece, str) else _expression(piece, to_text) for piece in pieces]
    return lambda ctx: "".join([part(ctx) for part in parts])


def _literal(text: str) -> Callable[[EvalContext], str]:
    return lambda _ctx: text


def _expression(statement: Statement, to_text: Callable[[Any], str]) -> Callable[[EvalContext], str]:
    evaluate = statement.evaluate
    return lambda ctx: to_text(evaluate(ctx))


class TemplateCompiler:
    """Compiles templates with the rule's SQL version; one per rule being created."""

    def __init__(self, engine: SqlEngine, sql_version: str) -> None:
        self.engine = engine
        self.sql_version = sql_version

    def __call__(self, text: str) -> Template:
        pieces: list[str | Statement] = []
        for piece in split_template(text):
            if isinstance(piece, str):
                pieces.append(piece)
                continue
            (expression,) = piece
            try:
                statement = self.engine.compile(f"SELECT VALUE {expression} FROM '#'", self.sql_version)
            except SqlRefused as exc:
                raise TemplateError(
                    f"Invalid substitution template ${{{expression}}}: {exc.message}"
                ) from exc
            pieces.append(statement)
        return Template(text, tuple(pieces), self._to_text)

    def _to_text(self, value: Any) -> str:
        return "" if value is self.engine.no_match else value_text(value)


def value_text(value: Any) -> str:
    """AWS's String conversion of a template's value; Null and Undefined become the empty string."""
    text = to_string(value)
    return text if isinstance(text, str) else ""
