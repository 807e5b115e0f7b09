"""The AWS IoT SQL function library.

INTERFACE STUB (being implemented). ``FUNCTIONS`` maps each function's lower-case name to its
``SqlFunction``; the compiler checks arity when a rule is created and refuses ``refused`` functions by name.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from corral.rules.sql.context import EvalContext
from corral.rules.sql.values import Value


@dataclass(frozen=True, slots=True)
class SqlFunction:
    name: str
    min_args: int
    max_args: int | None
    """None: any number of arguments from ``min_args``."""
    call: Callable[[EvalContext, Sequence[Value]], Value]
    """Arguments already evaluated (possibly Undefined); returns a Value (Undefined when AWS says so)."""
    external: bool = False
    """Evaluated by ``EvalContext.external`` (a service Corral hosts elsewhere): the statement runs off-loop."""
    refused: str | None = None
    """Why a rule using it is refused at creation (it needs an AWS service Corral does not host)."""


FUNCTIONS: Mapping[str, SqlFunction] = {}
