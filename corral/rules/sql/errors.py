"""What compiling an IoT SQL statement can fail with."""

from __future__ import annotations


class SqlError(Exception):
    """The root of the SQL engine's errors: the statement is at fault, never the engine."""


class SqlParseError(SqlError):
    """The statement is not valid IoT SQL (the topic-rule API answers ``SqlParseException``)."""

    def __init__(self, message: str, line: int, column: int) -> None:
        super().__init__(f"{message} (line {line}, column {column})")
        self.message = message
        self.line = line
        self.column = column


class UnsupportedFunction(SqlError):
    """A function that needs an AWS service Corral does not host (the API answers
    ``InvalidRequestException`` naming it)."""

    def __init__(self, name: str, reason: str) -> None:
        super().__init__(f"The function {name}() is not supported: {reason}")
        self.name = name
        self.reason = reason
