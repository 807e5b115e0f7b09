"""AWS IoT SQL: parsed with lark, compiled once per rule into Python closures (never ``eval``).

- ``compile_statement(sql, sql_version="2016-03-23") -> CompiledStatement``; raises ``SqlParseError``
  (with ``line`` and ``column``; the topic-rule API answers it as ``SqlParseException``) or
  ``UnsupportedFunction`` (a function that needs an AWS service Corral does not host: the API answers
  ``InvalidRequestException`` naming it).
- ``CompiledStatement.topic_filter``: the FROM clause's MQTT topic filter (None without FROM: a rule
  activated by Basic Ingest only); ``.variables`` (the SET clause's); ``.sql_version``;
  ``.uses_external`` (True when evaluation calls ``EvalContext.external``: the runner then evaluates off the
  event loop); ``.evaluate(ctx) -> Value | NoMatch``: the statement's output for one message, or
  ``NO_MATCH`` when the WHERE clause is not true; ``.evaluate_with_variables(ctx)`` also returns the SET
  clause's variables (substitution templates may use them).
- ``output_payload(value) -> bytes``: the bytes an action sends for a statement output (JSON, or the raw
  bytes of a binary payload selected with ``*``).

The grammar is ``grammar.lark`` (package data); the SQL version differences are listed in ``compiler.py``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson
from lark import Token, Tree

from corral.rules.sql import functions as _functions
from corral.rules.sql.compiler import (
    _VERSION_ALIASES,
    SQL_VERSIONS,
    V2016,
    Compiler,
    Scope,
    Select,
    parse_payload,
)
from corral.rules.sql.context import EvalContext
from corral.rules.sql.errors import SqlError, SqlParseError, UnsupportedFunction
from corral.rules.sql.functions import SqlFunction
from corral.rules.sql.parser import parse
from corral.rules.sql.values import NO_MATCH, UNDEFINED, NoMatch, Value, without_undefined

__all__ = [
    "NO_MATCH",
    "SQL_VERSIONS",
    "UNDEFINED",
    "CompiledStatement",
    "EvalContext",
    "NoMatch",
    "SqlError",
    "SqlParseError",
    "UnsupportedFunction",
    "Value",
    "compile_statement",
    "output_payload",
]


@dataclass(frozen=True, slots=True)
class CompiledStatement:
    sql: str
    sql_version: str
    topic_filter: str | None
    """The FROM clause's topic filter; None for a statement without FROM (activated by Basic Ingest only,
    as the SQL reference allows)."""
    uses_external: bool
    functions: frozenset[str]
    """The (canonical) names of the functions the statement calls."""
    _select: Select = field(repr=False)
    _assignments: tuple[tuple[str, Any], ...] = field(default=(), repr=False)
    _set_uses_payload: bool = field(default=False, repr=False)

    @property
    def uses_payload(self) -> bool:
        """Whether evaluation reads the payload (by ``*`` or by name); if not, it is never parsed."""
        return self._select.uses_payload or self._set_uses_payload

    @property
    def variables(self) -> tuple[str, ...]:
        """The SET clause's variable names, in assignment order."""
        return tuple(name for name, _ in self._assignments)

    def evaluate(self, ctx: EvalContext) -> Value | NoMatch:
        return self.evaluate_with_variables(ctx)[0]

    def evaluate_with_variables(self, ctx: EvalContext) -> tuple[Value | NoMatch, dict[str, Value]]:
        """The output and the SET clause's variables (substitution templates may use them too)."""
        select = self._select
        scope = Scope(ctx, parse_payload(ctx.payload) if self.uses_payload else UNDEFINED)
        for name, fn in self._assignments:
            scope.variables[name] = fn(scope)
        if select.where is not None and not select.where(scope):
            return NO_MATCH, scope.variables
        return select.output(scope), scope.variables


def compile_statement(
    sql: str, sql_version: str = V2016, *, functions: Mapping[str, SqlFunction] | None = None
) -> CompiledStatement:
    """Parse and compile one rule's SQL statement. ``functions`` replaces the function library (tests)."""
    version = _VERSION_ALIASES.get(sql_version, sql_version)
    if version not in SQL_VERSIONS:
        raise SqlParseError(f"Unsupported SQL version: {sql_version}", 1, 1)
    tree = parse(sql)
    compiler = Compiler(version, _functions.FUNCTIONS if functions is None else functions)
    clauses = {child.data: child for child in tree.children if isinstance(child, Tree)}
    select_tree = next(c for c in tree.children if isinstance(c, Tree) and c.data.startswith("select_"))
    set_tree, from_tree, where_tree = (clauses.get(n) for n in ("set_clause", "from_clause", "where_clause"))
    assignments = compiler.assignments(set_tree) if set_tree is not None else ()
    topic_filter = _topic_filter(compiler, from_tree) if from_tree is not None else None
    select = compiler.select(select_tree, where_tree)
    return CompiledStatement(
        sql=sql,
        sql_version=version,
        topic_filter=topic_filter,
        uses_external=compiler.uses_external,
        functions=frozenset(compiler.function_names),
        _select=select,
        _assignments=assignments,
        _set_uses_payload=compiler.set_uses_payload,
    )


def _topic_filter(compiler: Compiler, from_tree: Any) -> str:
    source = from_tree.children[-1]
    if isinstance(source, Tree) and source.data == "call" and str(source.children[0]).lower() == "mqtt":
        # The 2016 guide's `FROM mqtt('com.example/sensors/+')`: the same as the quoted filter alone.
        arguments = source.children[1]
        if arguments is not None and len(arguments.children) == 1:
            source = arguments.children[0]
    token: Any = source.children[0] if isinstance(source, Tree) and source.data == "string" else None
    if not (isinstance(token, Token) and token.type == "STRING"):
        raise compiler.error("FROM needs a topic filter in single quotes", source)
    topic = compiler.expr(source).value
    problem = _topic_filter_problem(topic)
    if problem is not None:
        raise SqlParseError(f"Invalid topic filter {topic!r}: {problem}", token.line or 1, token.column or 1)
    return str(topic)


def _topic_filter_problem(topic: str) -> str | None:
    if not topic:
        return "it is empty"
    if "\x00" in topic:
        return "it holds a null character"
    levels = topic.split("/")
    for position, level in enumerate(levels):
        if "#" in level and (level != "#" or position != len(levels) - 1):
            return "'#' must be a whole level, the last one"
        if "+" in level and level != "+":
            return "'+' must be a whole level"
    return None


def _default(obj: Any) -> Any:
    raise TypeError


def output_payload(value: Value) -> bytes:
    """The bytes an action sends: the raw bytes of a Binary output, an empty payload for Undefined (the
    Data types page: Undefined "is converted to an empty string when serialized by itself"), JSON
    otherwise."""
    if type(value) is bytes:
        return value
    if value is UNDEFINED:
        return b""
    if value is NO_MATCH:
        raise ValueError("a statement that did not match has no output")
    try:
        return orjson.dumps(value, default=_default)
    except TypeError:
        # Undefined inside a container (from a function), bytes inside a container, or an Int beyond 64 bits.
        cleaned = without_undefined(value)
        return json.dumps(
            cleaned,
            separators=(",", ":"),
            ensure_ascii=False,
            default=lambda o: o.decode(errors="replace") if isinstance(o, bytes) else None,
        ).encode()
