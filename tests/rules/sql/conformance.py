"""Run one IoT SQL statement against one message, the way the conformance tables need it.

``run(sql, payload, topic="a/b", **ctx)`` compiles ``sql`` and evaluates it for a message published on
``topic``; ``payload`` is the payload as published: ``bytes`` or ``str`` (its UTF-8 text) as they are, any
other value serialized as JSON. Keyword arguments: ``sql_version`` and ``functions`` go to
``compile_statement``; the rest (``timestamp_ms``, ``account_id``, ``region``, ``client_id``, ``principal``,
``trace_id``, ``properties``, ``external``, ``rule_name``) to ``EvalContext``. It returns the statement's
output (a value, or ``NO_MATCH``); ``run_bytes`` returns the bytes an action would send.
"""

from __future__ import annotations

from typing import Any

import orjson

from corral.rules.sql import EvalContext, NoMatch, Value, compile_statement, output_payload

DEFAULTS: dict[str, Any] = {
    "timestamp_ms": 1_481_825_251_155,
    "account_id": "123456789012",
    "region": "us-east-1",
}


def payload_bytes(payload: Any) -> bytes:
    if isinstance(payload, bytes):
        return payload
    if isinstance(payload, str):
        return payload.encode()
    return orjson.dumps(payload)


def run(sql: str, payload: Any = b"{}", topic: str = "a/b", **ctx: Any) -> Value | NoMatch:
    compile_args = {key: ctx.pop(key) for key in ("sql_version", "functions") if key in ctx}
    statement = compile_statement(sql, **compile_args)
    context = EvalContext(topic=topic, payload=payload_bytes(payload), **{**DEFAULTS, **ctx})
    return statement.evaluate(context)


def run_bytes(sql: str, payload: Any = b"{}", topic: str = "a/b", **ctx: Any) -> bytes:
    result = run(sql, payload, topic, **ctx)
    assert not isinstance(result, NoMatch), "the statement did not match"
    return output_payload(result)
