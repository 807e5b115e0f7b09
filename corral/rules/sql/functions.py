"""The AWS IoT SQL function library: every function of AWS's *Functions* page.

``FUNCTIONS`` maps each function's lower-case name to its ``SqlFunction``; the compiler checks arity when a
rule is created and refuses ``refused`` functions by name. ``cast`` is syntax (the compiler's), not here.
The functions live by family in ``functions_math`` (numbers), ``functions_string`` (strings, collections,
encodings, hashes), ``functions_regex`` (Java regular expressions), ``functions_time`` (Joda-Time and
java.time patterns) and ``functions_message`` (the message, its MQTT 5 properties, and the functions that
call a service).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from corral.rules.sql import (
    functions_math,
    functions_message,
    functions_regex,
    functions_string,
    functions_time,
)
from corral.rules.sql.functions_base import SQL_2015, SQL_2016, SqlFunction

__all__ = ["FUNCTIONS", "SQL_2015", "SQL_2016", "SqlFunction"]


def _library() -> Mapping[str, SqlFunction]:
    library: dict[str, SqlFunction] = {}
    for family in (functions_math, functions_string, functions_regex, functions_time, functions_message):
        for function in family.FUNCTIONS:
            if function.name in library:
                raise RuntimeError(f"IoT SQL function {function.name} defined twice")
            library[function.name] = function
    return MappingProxyType(dict(sorted(library.items())))


FUNCTIONS: Mapping[str, SqlFunction] = _library()
