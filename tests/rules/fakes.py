"""A tiny stand-in for the IoT SQL engine, so the runner, templates and API are tested on their own.

It understands ``SELECT * FROM 'f' [WHERE attr = number]``, ``SELECT VALUE topic(n) FROM '#'``,
``SELECT VALUE attr FROM '#'``, ``SELECT VALUE clientid() FROM '#'``, ``SELECT VALUE external(name) FROM '#'``
(calls ``ctx.external``) and refuses ``SELECT bad`` (parse error) and ``unsupported()`` (unsupported
function).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson

from corral.rules.engine import SqlEngine, SqlRefused
from corral.rules.sql.context import EvalContext
from corral.rules.sql.values import NO_MATCH, UNDEFINED

_STAR = re.compile(r"SELECT \* FROM '([^']*)'(?: WHERE (\w+) = (\d+))?$")
_VALUE = re.compile(r"SELECT VALUE (.+) FROM '#'$")


@dataclass(frozen=True)
class FakeStatement:
    topic_filter: str | None
    fn: Callable[[EvalContext], Any]
    uses_external: bool = False

    def evaluate(self, ctx: EvalContext) -> Any:
        return self.fn(ctx)


def _payload(ctx: EvalContext) -> Any:
    try:
        return orjson.loads(ctx.payload)
    except orjson.JSONDecodeError:
        return ctx.payload


class FakeEngine(SqlEngine):
    def __init__(self) -> None:
        self.compiled: list[str] = []

    def compile(self, sql: str, sql_version: str) -> FakeStatement:
        self.compiled.append(sql)
        if "unsupported(" in sql:
            raise SqlRefused("InvalidRequestException", "Function unsupported is not supported by Corral")
        star = _STAR.match(sql)
        if star is not None:
            topic_filter, attr, number = star.groups()

            def select_all(ctx: EvalContext) -> Any:
                body = _payload(ctx)
                if attr is not None and (not isinstance(body, dict) or body.get(attr) != int(number)):
                    return NO_MATCH
                return body

            return FakeStatement(topic_filter, select_all)
        value = _VALUE.match(sql)
        if value is not None:
            return self._value(value.group(1))
        raise SqlRefused("SqlParseException", f"Line 1:1 no viable alternative at input '{sql}'")

    def _value(self, expr: str) -> FakeStatement:
        topic_level = re.fullmatch(r"topic\((\d+)\)", expr)
        if topic_level is not None:
            n = int(topic_level.group(1))
            return FakeStatement("#", lambda ctx: _level(ctx.topic, n))
        if expr == "clientid()":
            return FakeStatement("#", lambda ctx: ctx.client_id if ctx.client_id is not None else UNDEFINED)
        external = re.fullmatch(r"external\((\w+)\)", expr)
        if external is not None:
            name = external.group(1)

            def call(ctx: EvalContext) -> Any:
                assert ctx.external is not None
                return ctx.external(name, ["thing", "arn:aws:iam::123456789012:role/r"])

            return FakeStatement("#", call, uses_external=True)
        if re.fullmatch(r"\w+", expr):
            return FakeStatement("#", lambda ctx: _field(ctx, expr))
        raise SqlRefused("SqlParseException", f"cannot parse {expr}")

    def output_payload(self, value: Any) -> bytes:
        return value if isinstance(value, bytes) else orjson.dumps(value)


def _level(topic: str, n: int) -> Any:
    levels = topic.split("/")
    return levels[n - 1] if 0 < n <= len(levels) else UNDEFINED


def _field(ctx: EvalContext, name: str) -> Any:
    body = _payload(ctx)
    return body.get(name, UNDEFINED) if isinstance(body, dict) else UNDEFINED
