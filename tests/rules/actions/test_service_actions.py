"""The service actions on the fake SQL engine and in-memory services: AWS's JSON shapes, templates, what each
service receives, and failures reaching the error action."""

from __future__ import annotations

import base64
from typing import Any

import orjson
import pytest

from corral.broker.message import Message
from corral.rules.actions import ActionSpecError
from tests.rules.actions.fakes import (
    FakeCloudWatch,
    FakeDynamoDb,
    FakeFirehose,
    FakeKinesis,
    FakeLogs,
    FakeS3,
    FakeSns,
    FakeSqs,
)
from tests.rules.support import ROLE, Harness, make_harness, republish

QUEUE = "https://sqs.us-east-1.amazonaws.com/123456789012/orders"
TOPIC = "arn:aws:sns:us-east-1:123456789012:alerts"


def harness(**services: Any) -> Harness:
    h = make_harness(action_retries=1)
    for name, service in services.items():
        setattr(h.services, name, service)
    return h


def failures(h: Harness) -> list[dict[str, str]]:
    [report] = [m for m in h.published if m.topic == "errors"]
    found: list[dict[str, str]] = orjson.loads(report.payload)["failures"]
    return found


async def test_sqs_sends_the_output_to_the_templated_queue() -> None:
    h = harness(sqs=(sqs := FakeSqs()))
    h.rule("r", "SELECT * FROM 'in/+'", [{"sqs": {"queueUrl": QUEUE[:-6] + "${topic(2)}", "roleArn": ROLE}}])
    await h.send(Message("in/orders", b'{"n": 1}', 0))
    assert sqs.calls == [(QUEUE, '{"n":1}')]


async def test_sqs_use_base64_encodes_the_output() -> None:
    h = harness(sqs=(sqs := FakeSqs()))
    h.rule("r", "SELECT * FROM 'in'", [{"sqs": {"queueUrl": QUEUE, "roleArn": ROLE, "useBase64": True}}])
    await h.send(Message("in", b'{"n": 1}', 0))
    assert sqs.calls == [(QUEUE, base64.b64encode(b'{"n":1}').decode())]


async def test_sns_raw_and_json_message_formats() -> None:
    h = harness(sns=(sns := FakeSns()))
    h.rule("raw", "SELECT * FROM 'in'", [{"sns": {"targetArn": TOPIC, "roleArn": ROLE}}])
    h.rule(
        "json", "SELECT * FROM 'in'",
        [{"sns": {"targetArn": TOPIC, "roleArn": ROLE, "messageFormat": "JSON"}}],
    )  # fmt: skip
    await h.send(Message("in", b'{"default": "hi"}', 0))
    assert sorted(sns.calls, key=str) == sorted(
        [(TOPIC, '{"default":"hi"}', None, None), (TOPIC, '{"default":"hi"}', None, "json")], key=str
    )


def dynamo(**extra: Any) -> dict[str, Any]:
    spec = {
        "tableName": "events", "roleArn": ROLE, "hashKeyField": "device", "hashKeyValue": "${topic(2)}",
        "rangeKeyField": "seq", "rangeKeyValue": "${seq}", "rangeKeyType": "NUMBER",
    }  # fmt: skip
    return {"dynamoDB": {**spec, **extra}}


async def test_dynamodb_inserts_the_output_as_a_map_under_payload() -> None:
    h = harness(dynamodb=(db := FakeDynamoDb()))
    h.rule("r", "SELECT * FROM 'button/+'", [dynamo()])
    await h.send(Message("button/b1", b'{"seq": 7, "ok": true, "tags": ["a"], "x": null, "f": 1.5}', 0))
    payload = {
        "M": {
            "seq": {"N": "7"}, "ok": {"BOOL": True}, "tags": {"L": [{"S": "a"}]}, "x": {"NULL": True},
            "f": {"N": "1.5"},
        }
    }  # fmt: skip
    assert db.calls == [("put", "events", {"payload": payload, "device": {"S": "b1"}, "seq": {"N": "7"}})]


async def test_dynamodb_payload_field_update_and_delete() -> None:
    h = harness(dynamodb=(db := FakeDynamoDb()))
    h.rule("u", "SELECT * FROM 'in/+'", [dynamo(operation="${op}", payloadField="data")])
    await h.send(Message("in/d", b'{"seq": 1, "op": "UPDATE"}', 0))
    await h.send(Message("in/d", b'{"seq": 2, "op": "DELETE"}', 0))
    key = {"device": {"S": "d"}, "seq": {"N": "1"}}
    value = {"M": {"seq": {"N": "1"}, "op": {"S": "UPDATE"}}}
    assert db.calls == [
        ("update", "events", key, "SET #payload = :payload", {"#payload": "data"}, {":payload": value}),
        ("delete", "events", {"device": {"S": "d"}, "seq": {"N": "2"}}),
    ]


async def test_dynamodb_writes_non_json_output_as_binary() -> None:
    h = harness(dynamodb=(db := FakeDynamoDb()))
    h.rule("r", "SELECT * FROM 'in/+'", [{"dynamoDB": {**dynamo()["dynamoDB"], "rangeKeyValue": "1"}}])
    await h.send(Message("in/d", b"\x00\xffraw", 0))
    assert db.calls[0][2]["payload"] == {"B": b"\x00\xffraw"}


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (b'{"seq": "x", "op": "INSERT"}', "The key value 'x' of seq is not a NUMBER"),
        (b'{"seq": 1, "op": "UPSERT"}', "Invalid operation 'UPSERT': must be INSERT, UPDATE or DELETE"),
    ],
)
async def test_dynamodb_bad_values_fail(payload: bytes, message: str) -> None:
    h = harness(dynamodb=FakeDynamoDb())
    h.rule("r", "SELECT * FROM 'in/+'", [dynamo(operation="${op}")], error_action=republish("errors"))
    await h.send(Message("in/d", payload, 0))
    assert failures(h) == [
        {"failedAction": "DynamoDBAction", "failedResource": "events", "errorMessage": message}
    ]


async def test_a_missing_table_reaches_the_error_action_after_the_retries() -> None:
    db = FakeDynamoDb(missing={"events"})
    h = harness(dynamodb=db)
    h.rule("r", "SELECT * FROM 'in/+'", [dynamo()], error_action=republish("errors"))
    await h.send(Message("in/d", b'{"seq": 1}', 0))
    assert failures(h) == [
        {
            "failedAction": "DynamoDBAction",
            "failedResource": "events",
            "errorMessage": "ResourceNotFoundException: Requested resource not found: events",
        }
    ]


async def test_dynamodbv2_puts_every_attribute_as_a_column() -> None:
    h = harness(dynamodb=(db := FakeDynamoDb()))
    h.rule(
        "r", "SELECT * FROM 'in/+'",
        [{"dynamoDBv2": {"roleArn": ROLE, "putItem": {"tableName": "t_${topic(2)}"}}}],
        error_action=republish("errors"),
    )  # fmt: skip
    await h.send(Message("in/a", b'{"id": "x", "n": 2, "m": {"k": "v"}}', 0))
    assert db.calls == [("put", "t_a", {"id": {"S": "x"}, "n": {"N": "2"}, "m": {"M": {"k": {"S": "v"}}}})]
    await h.send(Message("in/a", b"[1, 2]", 0))
    assert (
        failures(h)[0]["errorMessage"] == "The message payload must be a JSON object to be written as an item"
    )


async def test_s3_puts_the_output_at_the_templated_key() -> None:
    h = harness(s3=(s3 := FakeS3(missing={"gone"})))
    h.rule(
        "r", "SELECT * FROM 'in/+'",
        [{"s3": {"bucketName": "${topic(2)}", "key": "k/${topic(1)}", "roleArn": ROLE,
                 "cannedAcl": "private"}}],
        error_action=republish("errors"),
    )  # fmt: skip
    await h.send(Message("in/logs", b"body", 0))
    assert s3.calls == [("logs", "k/in", b"body")]
    await h.send(Message("in/gone", b"body", 0))
    [failure] = failures(h)
    assert failure["failedAction"] == "S3Action" and failure["failedResource"] == "gone/k/in"


async def test_kinesis_partition_key_template_and_default() -> None:
    h = harness(kinesis=(kinesis := FakeKinesis()))
    h.rule(
        "a",
        "SELECT * FROM 'in/+'",
        [{"kinesis": {"streamName": "s", "roleArn": ROLE, "partitionKey": "${topic(2)}"}}],
    )
    h.rule("b", "SELECT * FROM 'in/+'", [{"kinesis": {"streamName": "s", "roleArn": ROLE}}])
    await h.send(Message("in/p", b"{}", 0))
    keys = sorted(call[2] for call in kinesis.calls)
    assert "p" in keys and len(keys) == 2 and len(next(k for k in keys if k != "p")) == 36


async def test_firehose_separator_and_batch_mode() -> None:
    h = harness(firehose=(firehose := FakeFirehose()))
    h.rule(
        "one",
        "SELECT * FROM 'one'",
        [{"firehose": {"deliveryStreamName": "d", "roleArn": ROLE, "separator": "\n"}}],
    )
    h.rule(
        "batch", "SELECT * FROM 'batch'",
        [{"firehose": {"deliveryStreamName": "d", "roleArn": ROLE, "separator": ",", "batchMode": True}}],
        error_action=republish("errors"),
    )  # fmt: skip
    await h.send(Message("one", b'{"a": 1}', 0))
    await h.send(Message("batch", b'[{"a": 1}, "b", 3]', 0))
    assert firehose.calls == [
        ("one", "d", b'{"a":1}\n'),
        ("batch", "d", [b'{"a":1},', b'"b",', b"3,"]),
    ]
    await h.send(Message("batch", b'{"a": 1}', 0))
    assert (
        failures(h)[0]["errorMessage"] == "In batch mode the message payload must be a non-empty JSON array"
    )


async def test_cloudwatch_metric_and_alarm() -> None:
    h = harness(cloudwatch=(cw := FakeCloudWatch()))
    metric = {
        "roleArn": ROLE, "metricNamespace": "Buttons", "metricName": "${topic(2)}", "metricValue": "${n}",
        "metricUnit": "Count", "metricTimestamp": "1456821314",
    }  # fmt: skip
    alarm = {"roleArn": ROLE, "alarmName": "hot", "stateReason": "r ${n}", "stateValue": "${state}"}
    h.rule("m", "SELECT * FROM 'in/+'", [{"cloudwatchMetric": metric}, {"cloudwatchAlarm": alarm}])
    await h.send(Message("in/clicks", b'{"n": 3, "state": "ALARM"}', 0))
    [(_, namespace, [datum])] = [c for c in cw.calls if c[0] == "metric"]
    assert namespace == "Buttons"
    assert (datum["MetricName"], datum["Value"], datum["Unit"]) == ("clicks", 3.0, "Count")
    assert datum["Timestamp"].timestamp() == 1456821314
    assert ("alarm", "hot", "ALARM", "r 3") in cw.calls


@pytest.mark.parametrize(
    ("payload", "action", "message"),
    [
        (
            b'{"n": "many", "state": "OK"}',
            "CloudwatchMetricAction",
            "The metric value 'many' is not a number",
        ),
        (
            b'{"n": 1, "state": "RED"}',
            "CloudwatchAlarmAction",
            "The state value 'RED' must be OK, ALARM or INSUFFICIENT_DATA",
        ),
    ],
)
async def test_cloudwatch_bad_values_fail(payload: bytes, action: str, message: str) -> None:
    h = harness(cloudwatch=FakeCloudWatch())
    metric = {
        "roleArn": ROLE,
        "metricNamespace": "N",
        "metricName": "m",
        "metricValue": "${n}",
        "metricUnit": "None",
    }
    alarm = {"roleArn": ROLE, "alarmName": "a", "stateReason": "r", "stateValue": "${state}"}
    h.rule(
        "r", "SELECT * FROM 'in'", [{"cloudwatchMetric": metric}, {"cloudwatchAlarm": alarm}],
        error_action=republish("errors"),
    )  # fmt: skip
    await h.send(Message("in", payload, 0))
    [failure] = failures(h)
    assert (failure["failedAction"], failure["errorMessage"]) == (action, message)


async def test_cloudwatch_logs_single_event_and_batch_mode() -> None:
    h = harness(logs=(logs := FakeLogs()))
    h.rule("single", "SELECT * FROM 'one'", [{"cloudwatchLogs": {"logGroupName": "g", "roleArn": ROLE}}])
    h.rule(
        "batch", "SELECT * FROM 'many'",
        [{"cloudwatchLogs": {"logGroupName": "g", "roleArn": ROLE, "batchMode": True}}],
    )  # fmt: skip
    await h.send(Message("one", b"hello", 0))
    await h.send(Message("many", b'[{"timestamp": 2, "message": "b"}, {"timestamp": 1, "message": "a"}]', 0))
    [create_single, (group, stream, [event]), create_batch, batch] = logs.calls
    assert (create_single, create_batch) == (("create", "g", "single"), ("create", "g", "batch"))
    assert (group, stream, event["message"]) == ("g", "single", "hello")
    assert batch == ("g", "batch", [{"timestamp": 1, "message": "a"}, {"timestamp": 2, "message": "b"}])


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"sqs": {"queueUrl": QUEUE}}, "The sqs action requires roleArn"),
        (
            {"sns": {"targetArn": TOPIC, "roleArn": ROLE, "messageFormat": "XML"}},
            "messageFormat must be one of",
        ),
        ({"s3": {"bucketName": "b", "key": "k", "roleArn": ROLE, "cannedAcl": "open"}}, "cannedAcl must be"),
        (dynamo(hashKeyType="BOOL"), "hashKeyType must be one of STRING, NUMBER"),
        (dynamo(operation="UPSERT"), "operation must be INSERT, UPDATE or DELETE"),
        ({"dynamoDBv2": {"roleArn": ROLE}}, "requires putItem"),
        ({"firehose": {"deliveryStreamName": "d", "roleArn": ROLE, "separator": ";"}}, "separator must be"),
        (
            {"cloudwatchAlarm": {"roleArn": ROLE, "alarmName": "a", "stateReason": "r", "stateValue": "RED"}},
            "stateValue",
        ),
        (
            {"elasticsearch": {"roleArn": ROLE, "endpoint": "es:9200", "index": "i", "type": "t", "id": "1"}},
            "endpoint",
        ),
        ({"timestream": {"roleArn": ROLE}}, "Corral does not offer the timestream rule action"),
    ],
)
def test_malformed_actions_are_refused(spec: dict[str, Any], message: str) -> None:
    h = make_harness()
    with pytest.raises(ActionSpecError, match=message):
        h.rule("r", "SELECT * FROM 'in'", [spec])


async def test_a_service_the_server_lacks_is_a_failed_action() -> None:
    h = harness()
    h.rule(
        "r",
        "SELECT * FROM 'in'",
        [{"sqs": {"queueUrl": QUEUE, "roleArn": ROLE}}],
        error_action=republish("errors"),
    )
    await h.send(Message("in", b"{}", 0))
    assert failures(h) == [
        {
            "failedAction": "SqsAction",
            "failedResource": QUEUE,
            "errorMessage": "SQS is not available on this server",
        }
    ]
