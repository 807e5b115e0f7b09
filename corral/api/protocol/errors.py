"""The errors the protocol layer raises when a request is not one the service model allows.

Every one of them is "the peer did wrong": each carries the AWS error code, HTTP status and message the
service answers with, already resolved for the service the request was routed to (see ``profiles.py``), so
the server only hands it to ``serialize_error``. A bug of ours (for example a domain service returning a
member the output shape does not have) is a ``ValueError``/``TypeError``, never one of these.
"""

from __future__ import annotations


class ProtocolError(Exception):
    """A request the service refuses before any domain code runs."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.code!r}, {self.message!r}, {self.status})"


class ValidationError(ProtocolError):
    """Input that breaks the model's constraints (required, length, range, pattern, enum).

    ``problems`` holds each "Value ... at '...' failed to satisfy constraint: ..." clause; ``message`` is
    AWS's sentence built from them ("1 validation error detected: ...").
    """

    def __init__(self, code: str, problems: list[str], status: int = 400) -> None:
        count = len(problems)
        noun = "error" if count == 1 else "errors"
        super().__init__(code, f"{count} validation {noun} detected: " + "; ".join(problems), status)
        self.problems = problems


class SerializationError(ProtocolError):
    """A body, query parameter, header or path label that cannot be read as the member's type."""


class UnknownOperationError(ProtocolError):
    """No operation of the service matches the request.

    ``code``/``status``/``message`` are what the service answers (see ``profiles.py``); ``describe()`` is
    the line the server logs so an operator can see which operation was asked for.
    """

    def __init__(
        self,
        code: str,
        message: str,
        status: int,
        *,
        service: str,
        method: str,
        path: str,
        target: str | None = None,
    ) -> None:
        super().__init__(code, message, status)
        self.service = service
        self.method = method
        self.path = path
        self.target = target

    def describe(self) -> str:
        asked = f"{self.method} {self.path}"
        if self.target:
            asked += f" ({self.target})"
        return f"unsupported {self.service} operation: {asked}"
