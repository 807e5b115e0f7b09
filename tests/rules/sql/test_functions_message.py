"""The functions about the message and the rule, MQTT 5 properties, and the functions that call a service.

Examples from AWS's *Functions* page (https://docs.aws.amazon.com/iot/latest/developerguide/iot-sql-functions.html).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace

import pytest

from corral.rules.sql.context import EvalContext
from corral.rules.sql.functions import FUNCTIONS
from corral.rules.sql.values import UNDEFINED, Value

CONTEXT = EvalContext(
    topic="things/myThings/thingOne",
    payload=b"{}",
    timestamp_ms=1_481_825_251_155,
    account_id="123456789012",
    region="us-east-1",
    client_id="sensor-7",
    principal="ba67293af50bf2506f5f93469686da660c7c844e7b3950bfb16813e0d31e9373",
    trace_id="12345678-1234-1234-1234-123456789012",
    properties={
        "contentType": "application/json",
        "payloadFormatIndicator": 1,
        "responseTopic": "replies/sensor-7",
        "correlationData": "Y2lk",
        "userProperties": [["key", "value1"], ["other", "x"], ["key", "value2"]],
    },
)
PLAIN = EvalContext(topic="a/b", payload=b"{}", timestamp_ms=0, account_id="000000000000", region="us-east-1")
"""A message from no MQTT client: HTTP, or the broker itself."""


def call(name: str, *args: Value, ctx: EvalContext = CONTEXT) -> Value:
    return FUNCTIONS[name].call(ctx, args)


def test_rule_and_message_facts() -> None:
    assert call("accountid") == "123456789012"  # "the account that owns this rule as a String"
    assert call("clientid") == "sensor-7"
    assert call("clientid", ctx=PLAIN) == "n/a"  # "or n/a if the message wasn't sent over MQTT"
    assert call("principal") == CONTEXT.principal  # "X.509 certificate thumbprint"
    assert call("principal", ctx=PLAIN) is UNDEFINED
    assert call("traceid") == "12345678-1234-1234-1234-123456789012"
    assert call("traceid", ctx=PLAIN) is UNDEFINED  # "or Undefined if the message wasn't sent over MQTT"
    assert call("timestamp") == 1481825251155  # example
    assert call("sql_version") == "2016-03-23"  # example
    assert call("sql_version", ctx=replace(PLAIN, sql_version="2015-10-08")) == "2015-10-08"


def test_sourceip_reads_the_address_the_runner_gives() -> None:
    assert call("sourceip", ctx=PLAIN) is UNDEFINED
    assert call("sourceip", ctx=replace(PLAIN, source_ip="203.0.113.7")) == "203.0.113.7"


def test_newuuid_is_a_random_uuid() -> None:
    first, second = call("newuuid"), call("newuuid")
    pattern = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")
    assert isinstance(first, str) and pattern.fullmatch(first)
    assert first != second


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ((), "things/myThings/thingOne"),  # example
        ((1,), "things"),  # example
        ((3,), "thingOne"),
        ((2.7,), "myThings"),  # the Decimal parameter, rounded down
        (("2",), "myThings"),
        ((4,), UNDEFINED),  # no such segment
        ((0,), UNDEFINED),
        ((None,), UNDEFINED),
    ],
)
def test_topic(args: Sequence[Value], expected: Value) -> None:
    assert call("topic", *args) == expected


def test_topic_under_basic_ingest() -> None:
    # "the initial prefix of the topic ($aws/rules/rule-name) is not available to the topic() function"
    ctx = replace(PLAIN, topic="$aws/rules/BuildingManager/Buildings/Building5/Floor2/Room201/Lights")
    assert call("topic", ctx=ctx) == "Buildings/Building5/Floor2/Room201/Lights"
    assert call("topic", 3, ctx=ctx) == "Floor2"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("content_type", "application/json"),
        ("format_indicator", "UTF8_DATA"),
        ("response_topic", "replies/sensor-7"),
        ("correlation_data", "Y2lk"),  # base64
        ("message_expiry", UNDEFINED),  # not one of get_mqtt_property's names
        ("contentType", UNDEFINED),
        (5, UNDEFINED),
    ],
)
def test_get_mqtt_property(name: Value, expected: Value) -> None:
    assert call("get_mqtt_property", name) == expected


def test_get_mqtt_property_without_properties() -> None:
    assert call("get_mqtt_property", "content_type", ctx=PLAIN) is UNDEFINED
    assert call("get_mqtt_property", "correlation_data", ctx=PLAIN) is UNDEFINED
    assert call("get_mqtt_property", "format_indicator", ctx=PLAIN) == "UNSPECIFIED_BYTES"
    raw = replace(PLAIN, properties={"correlationData": b"cid", "payloadFormatIndicator": 0})
    assert call("get_mqtt_property", "correlation_data", ctx=raw) == "Y2lk"
    assert call("get_mqtt_property", "format_indicator", ctx=raw) == "UNSPECIFIED_BYTES"


def test_get_user_properties() -> None:
    # MQTT 5 allows a key more than once: a key's values come as an Array.
    assert call("get_user_properties", "key") == ["value1", "value2"]
    assert call("get_user_properties", "other") == ["x"]
    assert call("get_user_properties", "missing") is UNDEFINED
    assert call("get_user_properties") == [{"key": "value1"}, {"other": "x"}, {"key": "value2"}]
    assert call("get_user_properties", ctx=PLAIN) is UNDEFINED
    keyed = replace(PLAIN, properties={"userProperties": [{"key": "k", "value": "v"}]})
    assert call("get_user_properties", "k", ctx=keyed) == ["v"]


# --- functions that call a service --------------------------------------------------------------------------


class Recorder:
    def __init__(self, answer: Value) -> None:
        self.answer = answer
        self.calls: list[tuple[str, list[Value]]] = []

    def __call__(self, name: str, args: Sequence[Value]) -> Value:
        self.calls.append((name, list(args)))
        return self.answer


@pytest.mark.parametrize(
    ("name", "args"),
    [
        ("aws_lambda", ("arn:aws:lambda:us-east-1:123456789012:function:f", {"payload": 21})),
        ("get_dynamodb", ("InServiceDevices", "deviceId", "d1", "arn:aws:iam::123456789012:role/r")),
        ("get_dynamodb", ("T", "pk", 1, "sk", 2, "arn:aws:iam::123456789012:role/r")),
        ("get_registry_data", ("DescribeThing", "MyThing", "arn:aws:iam::123456789012:role/r")),
        ("get_thing_shadow", ("MyThing", "arn:aws:iam::123456789012:role/r")),
        ("get_thing_shadow", ("MyThing", "MyThingShadow", "arn:aws:iam::123456789012:role/r")),
    ],
)
def test_hosted_services_go_through_the_context(name: str, args: Sequence[Value]) -> None:
    recorder = Recorder({"state": {"reported": {"alarm": "ON"}}})
    ctx = replace(CONTEXT, external=recorder)
    assert call(name, *args, ctx=ctx) == {"state": {"reported": {"alarm": "ON"}}}
    assert recorder.calls == [(name, list(args))]
    assert call(name, *args) is UNDEFINED  # no service: Undefined


def test_get_dynamodb_with_five_arguments_is_undefined() -> None:
    # A sort key needs both its name and its value.
    recorder = Recorder({})
    ctx = replace(CONTEXT, external=recorder)
    assert call("get_dynamodb", "T", "pk", 1, "sk", "arn:aws:iam::1:role/r", ctx=ctx) is UNDEFINED
    assert recorder.calls == []


@pytest.mark.parametrize("name", ["get_secret", "machinelearning_predict"])
def test_refused_functions_never_reach_a_service(name: str) -> None:
    recorder = Recorder({})
    ctx = replace(CONTEXT, external=recorder)
    assert call(name, "a", "b", "c", ctx=ctx) is UNDEFINED
    assert recorder.calls == []
