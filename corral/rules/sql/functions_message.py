"""Functions about the message and the rule: who sent it, where, when, and with which MQTT 5 properties.

Plus the functions that call a service: those Corral hosts (shadows, local functions, the embedded DynamoDB,
the registry) are ``external`` and go through ``EvalContext.external``; those needing an AWS service Corral
does not host are ``refused`` when a rule using them is created.
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Callable, Sequence
from typing import Final

from corral.rules.sql.context import EvalContext
from corral.rules.sql.functions_base import SQL_2016, SqlFunction, fixed, floor_arg
from corral.rules.sql.values import UNDEFINED, Value

BASIC_INGEST_PREFIX: Final = "$aws/rules/"
NOT_MQTT_CLIENT_ID: Final = "n/a"
"""clientid(): "or n/a if the message wasn't sent over MQTT"."""

UTF8_DATA: Final = "UTF8_DATA"
UNSPECIFIED_BYTES: Final = "UNSPECIFIED_BYTES"
_HEADER_KEYS: Final = {"content_type": "contentType", "response_topic": "responseTopic"}
"""get_mqtt_property's names of the String headers, and their keys in ``EvalContext.properties``."""


def _accountid(ctx: EvalContext, args: Sequence[Value]) -> Value:
    return ctx.account_id


def _clientid(ctx: EvalContext, args: Sequence[Value]) -> Value:
    return ctx.client_id if ctx.client_id is not None else NOT_MQTT_CLIENT_ID


def _principal(ctx: EvalContext, args: Sequence[Value]) -> Value:
    return ctx.principal if ctx.principal is not None else UNDEFINED


def _sourceip(ctx: EvalContext, args: Sequence[Value]) -> Value:
    """The publisher's IP address, when the message came from a client."""
    address = ctx.source_ip
    return address if isinstance(address, str) and address else UNDEFINED


def _traceid(ctx: EvalContext, args: Sequence[Value]) -> Value:
    return ctx.trace_id or UNDEFINED


def _timestamp(ctx: EvalContext, args: Sequence[Value]) -> Value:
    return ctx.timestamp_ms


def _sql_version(ctx: EvalContext, args: Sequence[Value]) -> Value:
    return ctx.sql_version


def _newuuid(ctx: EvalContext, args: Sequence[Value]) -> Value:
    return str(uuid.uuid4())


def rule_topic(topic: str) -> str:
    """The topic as ``topic()`` sees it: Basic Ingest's ``$aws/rules/{rule}/`` prefix is not part of it."""
    if topic.startswith(BASIC_INGEST_PREFIX):
        rest = topic[len(BASIC_INGEST_PREFIX) :]
        _, slash, remainder = rest.partition("/")
        return remainder if slash else ""
    return topic


def _topic(ctx: EvalContext, args: Sequence[Value]) -> Value:
    """The whole topic, or its n-th segment (1-based); a segment that does not exist is Undefined."""
    topic = rule_topic(ctx.topic)
    if not args:
        return topic
    index = floor_arg(args[0])
    segments = topic.split("/")
    if index is None or not 1 <= index <= len(segments):
        return UNDEFINED
    return segments[index - 1]


def _format_indicator(value: object) -> str:
    if value in (1, True, UTF8_DATA, "1"):
        return UTF8_DATA
    return UNSPECIFIED_BYTES


def _correlation_data(value: object) -> Value:
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    return value if isinstance(value, str) else UNDEFINED


def _get_mqtt_property(ctx: EvalContext, args: Sequence[Value]) -> Value:
    """An MQTT 5 header by its name in the SQL reference: ``content_type``, ``format_indicator``
    (UTF8_DATA or UNSPECIFIED_BYTES, the latter also when absent), ``response_topic``, ``correlation_data``
    (base64); a header the message does not carry, and any other name, is Undefined."""
    name = args[0]
    properties = ctx.properties
    if name == "format_indicator":
        return _format_indicator(properties.get("payloadFormatIndicator"))
    if name == "correlation_data":
        return _correlation_data(properties.get("correlationData"))
    key = _HEADER_KEYS.get(name) if type(name) is str else None
    if key is None:
        return UNDEFINED
    value = properties.get(key)
    return value if isinstance(value, str) else UNDEFINED


def _user_properties(ctx: EvalContext) -> list[tuple[str, str]]:
    pairs: list[tuple[str, str]] = []
    for pair in ctx.properties.get("userProperties") or ():
        if isinstance(pair, (list, tuple)) and len(pair) == 2:
            pairs.append((str(pair[0]), str(pair[1])))
        elif isinstance(pair, dict) and "key" in pair and "value" in pair:
            pairs.append((str(pair["key"]), str(pair["value"])))
    return pairs


def _get_user_properties(ctx: EvalContext, args: Sequence[Value]) -> Value:
    """Without a key: every user property as a one-member Object, in order. With a key: the Array of that
    key's values (MQTT 5 allows a key more than once); Undefined when the message has none."""
    pairs = _user_properties(ctx)
    if not args:
        return [{key: value} for key, value in pairs] if pairs else UNDEFINED
    wanted = args[0]
    if type(wanted) is not str:
        return UNDEFINED
    values = [value for key, value in pairs if key == wanted]
    return values if values else UNDEFINED


def _external(name: str, valid: Callable[[int], bool] = lambda _: True) -> Callable[..., Value]:
    """Delegate to the service the runner provides; without one (or with an argument count AWS does not
    accept) the result is Undefined."""

    def call(ctx: EvalContext, args: Sequence[Value]) -> Value:
        if ctx.external is None or not valid(len(args)):
            return UNDEFINED
        return ctx.external(name, list(args))

    return call


def _refused(name: str) -> Callable[..., Value]:
    def call(ctx: EvalContext, args: Sequence[Value]) -> Value:
        return UNDEFINED  # never compiled: the compiler refuses the rule

    return call


def _external_function(
    name: str, low: int, high: int, valid: Callable[[int], bool] = lambda _: True
) -> SqlFunction:
    return SqlFunction(name, low, high, _external(name, valid), external=True, since=SQL_2016)


FUNCTIONS: Final = (
    fixed("accountid", 0, _accountid),
    fixed("clientid", 0, _clientid),
    SqlFunction("get_mqtt_property", 1, 1, _get_mqtt_property),
    SqlFunction("get_user_properties", 0, 1, _get_user_properties),
    fixed("newuuid", 0, _newuuid),
    fixed("principal", 0, _principal),
    fixed("sourceip", 0, _sourceip, since=SQL_2016),
    fixed("sql_version", 0, _sql_version),
    fixed("timestamp", 0, _timestamp),
    SqlFunction("topic", 0, 1, _topic),
    fixed("traceid", 0, _traceid),
    # Hosted by Corral: local functions, the embedded DynamoDB, the registry, shadows.
    SqlFunction("aws_lambda", 2, 2, _external("aws_lambda"), external=True),
    _external_function("get_dynamodb", 4, 6, lambda count: count != 5),
    _external_function("get_registry_data", 3, 3),
    _external_function("get_thing_shadow", 2, 3),
    # Services Corral does not host.
    SqlFunction(
        "get_secret",
        3,
        4,
        _refused("get_secret"),
        refused="get_secret() reads AWS Secrets Manager, which Corral does not host",
    ),
    SqlFunction(
        "machinelearning_predict",
        3,
        3,
        _refused("machinelearning_predict"),
        refused="machinelearning_predict() calls Amazon Machine Learning, which Corral does not host",
    ),
)
