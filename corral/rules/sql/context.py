"""What a statement is evaluated against: one message and where it came from."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from corral.rules.sql.values import Value


@dataclass(slots=True)
class EvalContext:
    topic: str
    payload: bytes
    timestamp_ms: int
    """When the broker accepted the message (``timestamp()``)."""
    account_id: str
    region: str
    rule_name: str = ""
    sql_version: str = "2016-03-23"
    client_id: str | None = None
    """The publisher's MQTT client id (``clientid()``); None for messages from HTTP or the broker itself."""
    principal: str | None = None
    """``principal()``: the certificate id for certificate-authenticated publishers, an access key id for
    SigV4 callers."""
    source_ip: str | None = None
    """``sourceip()``: the publisher's IP address; None for messages from the broker itself."""
    trace_id: str = ""
    """``traceid()``: the MQTT message's trace id (a UUID per message)."""
    properties: Mapping[str, Any] = field(default_factory=dict)
    """The MQTT 5 properties (``get_mqtt_property``): contentType, payloadFormatIndicator, responseTopic,
    correlationData (base64), messageExpiry, userProperties ([[name, value], …])."""
    external: Callable[[str, Sequence[Value]], Value] | None = None
    """Functions Corral hosts outside the SQL engine (``get_thing_shadow``, ``aws_lambda``,
    ``get_registry_data``, ``get_dynamodb`` …): a blocking call the runner provides when the statement
    ``uses_external``; the evaluation then runs in a worker thread, never on the event loop."""
