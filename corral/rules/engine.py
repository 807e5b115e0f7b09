"""The rules engine's one door to the IoT SQL compiler (``corral.rules.sql``).

Everything outside ``sql/`` that compiles or evaluates a statement (the topic-rule API, the runner, the
substitution templates) goes through :class:`SqlEngine`, so the SQL package can be swapped for a fake in tests
and its contract is named in one place: ``compile_statement(sql, sql_version)`` returning an object with
``topic_filter``, ``sql_version``, ``uses_external`` and ``evaluate(ctx)``; ``SqlParseError`` and
``UnsupportedFunction`` for refused statements; ``output_payload(value)`` for the bytes an action sends.
"""

from __future__ import annotations

from typing import Any, Protocol

from corral.rules.sql import SqlParseError, UnsupportedFunction, compile_statement, output_payload
from corral.rules.sql.context import EvalContext
from corral.rules.sql.values import NO_MATCH

DEFAULT_SQL_VERSION = "2015-10-08"
"""What a rule created without ``awsIotSqlVersion`` runs with, as on AWS."""
SQL_VERSIONS = ("2015-10-08", "2016-03-23", "beta")


class Statement(Protocol):
    @property
    def topic_filter(self) -> str | None: ...

    @property
    def uses_external(self) -> bool: ...

    def evaluate(self, ctx: EvalContext) -> Any: ...


class SqlRefused(Exception):
    """A statement the engine will not compile; ``code`` is the API's answer (``SqlParseException`` for a
    syntax error, ``InvalidRequestException`` for a function Corral does not host)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class SqlEngine:
    """The compiler behind the rules engine: ``corral.rules.sql`` (tests substitute a fake)."""

    no_match: object = NO_MATCH

    def compile(self, sql: str, sql_version: str) -> Statement:
        """The compiled statement, or :class:`SqlRefused` with the compiler's message."""
        try:
            return compile_statement(sql, sql_version)
        except UnsupportedFunction as exc:
            raise SqlRefused("InvalidRequestException", str(exc)) from exc
        except SqlParseError as exc:
            raise SqlRefused("SqlParseException", str(exc)) from exc

    def output_payload(self, value: Any) -> bytes:
        return output_payload(value)


def iot_sql() -> SqlEngine:
    """The IoT SQL engine of ``corral.rules.sql``."""
    return SqlEngine()
