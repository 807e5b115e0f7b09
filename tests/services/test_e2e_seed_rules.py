"""The developer guide's rule actions end to end against a real ``corral serve``: rules created with the aws
CLI, messages published by paho-mqtt over mutual TLS, and what the actions wrote read back as an application
would (the aws CLI, boto3, a real SMTP server).

- dynamoDB with ``hashKeyValue ${topic(2)}`` and ``rangeKeyValue ${timestamp()}``, read with ``aws dynamodb
  query``; dynamoDBv2 with the whole output as the item;
- s3 with the key ``${topic()}/${timestamp()}``, read with ``aws s3api list-objects-v2`` and ``get-object``;
- sqs into a queue a boto3 consumer long-polls;
- sns to a topic with a confirmed e-mail subscription, the notification arriving at aiosmtpd;
- a dynamoDB action on a missing table, reaching the rule's errorAction;
- external mode: the s3 and sqs actions pointed at a second ``corral serve`` standing in for an external
  AWS-compatible endpoint (a MinIO, an ElasticMQ), through ``[actions.s3]`` and ``[services.sqs]``.

Tables, buckets and objects appear some time after the publish: the tests poll them with the clients
themselves (each poll is a request), with a deadline.
"""

from __future__ import annotations

import base64
import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.aws_cli import aws, ok
from tests.broker.clients import ClientPool, PahoClient, uid
from tests.harness import RunningServer, eventually, make_server, serving
from tests.mail_support import Inbox, confirm_subscription, smtp_server, text_of
from tests.rules.e2e_support import QUICK_RETRIES, ROLE, new_rule

WAIT = 30.0
CLICK = {"serialNumber": "G030JF0512345678", "batteryVoltage": "2000mV", "clickType": "SINGLE"}


@pytest.fixture(scope="module")
def inbox() -> Iterator[tuple[Inbox, int]]:
    with smtp_server() as smtp:
        yield smtp


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, inbox: tuple[Inbox, int]) -> Iterator[RunningServer]:
    yield from serving(
        make_server(
            tmp_path_factory.mktemp("seed-rules"),
            config_toml=QUICK_RETRIES,
            extra_args=("--smtp-url", f"smtp://127.0.0.1:{inbox[1]}"),
        )
    )


@pytest.fixture
def button(server: RunningServer, pool: ClientPool) -> PahoClient:
    return pool.connected(server, uid("button"))


def test_dynamodb_rule_read_back_with_the_cli(
    server: RunningServer, tmp_path: Path, button: PahoClient
) -> None:
    ddb = server.client("dynamodb")
    ddb.create_table(
        TableName="button_presses",
        KeySchema=[
            {"AttributeName": "serial", "KeyType": "HASH"},
            {"AttributeName": "ts", "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[
            {"AttributeName": "serial", "AttributeType": "S"},
            {"AttributeName": "ts", "AttributeType": "N"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    new_rule(server, tmp_path, "SELECT * FROM 'iotbutton/+'", [{"dynamoDB": {
        "tableName": "button_presses", "roleArn": ROLE,
        "hashKeyField": "serial", "hashKeyValue": "${topic(2)}",
        "rangeKeyField": "ts", "rangeKeyValue": "${timestamp()}", "rangeKeyType": "NUMBER",
    }}])  # fmt: skip
    new_rule(server, tmp_path, "SELECT *, topic(2) AS serial FROM 'iotbutton/+'", [
        {"dynamoDBv2": {"roleArn": ROLE, "putItem": {"tableName": "clicks_v2"}}}
    ])  # fmt: skip
    ddb.create_table(
        TableName="clicks_v2",
        KeySchema=[{"AttributeName": "serial", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "serial", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    before_ms = int(time.time() * 1000)
    button.publish(f"iotbutton/{CLICK['serialNumber']}", json.dumps(CLICK).encode(), qos=1)

    def query() -> list[dict[str, Any]]:
        out = ok(aws(
            server, "dynamodb", "query", "--table-name", "button_presses",
            "--key-condition-expression", "serial = :s",
            "--expression-attribute-values", json.dumps({":s": {"S": CLICK["serialNumber"]}}),
        ))  # fmt: skip
        items: list[dict[str, Any]] = json.loads(out)["Items"]
        return items

    [item] = eventually(query, "the dynamoDB action's item")
    assert item["serial"] == {"S": CLICK["serialNumber"]}
    assert int(item["ts"]["N"]) >= before_ms
    assert item["payload"] == {"M": {key: {"S": value} for key, value in CLICK.items()}}

    def v2() -> dict[str, Any] | None:
        got: dict[str, Any] | None = ddb.get_item(
            TableName="clicks_v2", Key={"serial": {"S": CLICK["serialNumber"]}}
        ).get("Item")
        return got

    assert eventually(v2, "the dynamoDBv2 action's item") == {
        key: {"S": value} for key, value in CLICK.items()
    } | {"serial": {"S": CLICK["serialNumber"]}}


def test_s3_rule_read_back_with_s3api(server: RunningServer, tmp_path: Path, button: PahoClient) -> None:
    server.client("s3").create_bucket(Bucket="button-archive")
    new_rule(server, tmp_path, "SELECT * FROM 'archive/+'", [
        {"s3": {"bucketName": "button-archive", "key": "${topic()}/${timestamp()}", "roleArn": ROLE}}
    ])  # fmt: skip
    device = uid("dev")
    body = json.dumps({"clickType": "DOUBLE", "device": device})
    button.publish(f"archive/{device}", body.encode(), qos=1)

    def listed() -> list[dict[str, Any]]:
        out = ok(
            aws(
                server,
                "s3api",
                "list-objects-v2",
                "--bucket",
                "button-archive",
                "--prefix",
                f"archive/{device}/",
            )
        )
        contents: list[dict[str, Any]] = json.loads(out).get("Contents", []) if out.strip() else []
        return contents

    [entry] = eventually(listed, "the s3 action's object")
    assert re.fullmatch(rf"archive/{device}/\d{{13}}", entry["Key"])
    ok(
        aws(
            server,
            "s3api",
            "get-object",
            "--bucket",
            "button-archive",
            "--key",
            entry["Key"],
            "object.json",
            cwd=tmp_path,
        )
    )
    assert json.loads((tmp_path / "object.json").read_text()) == json.loads(body)


def test_sqs_rule_reaches_a_long_polling_consumer(
    server: RunningServer, tmp_path: Path, button: PahoClient
) -> None:
    sqs = server.client("sqs")
    sqs.create_queue(QueueName="work-orders")
    # The queue URL a rule written for AWS carries: its path names the account and the queue.
    url = "https://sqs.us-east-1.amazonaws.com/000000000000/work-orders"
    new_rule(server, tmp_path, "SELECT clickType, topic(2) AS button FROM 'orders/+'", [
        {"sqs": {"queueUrl": url, "roleArn": ROLE, "useBase64": False}}
    ])  # fmt: skip
    new_rule(server, tmp_path, "SELECT * FROM 'orders-b64/+'", [
        {"sqs": {"queueUrl": url, "roleArn": ROLE, "useBase64": True}}
    ])  # fmt: skip
    local = sqs.get_queue_url(QueueName="work-orders")["QueueUrl"]
    button.publish("orders/WH-B101", json.dumps(CLICK).encode(), qos=1)
    [message] = sqs.receive_message(QueueUrl=local, WaitTimeSeconds=20)["Messages"]
    assert json.loads(message["Body"]) == {"clickType": "SINGLE", "button": "WH-B101"}
    sqs.delete_message(QueueUrl=local, ReceiptHandle=message["ReceiptHandle"])
    button.publish("orders-b64/WH-B101", b"\x00\x01binary", qos=1)
    [encoded] = sqs.receive_message(QueueUrl=local, WaitTimeSeconds=20)["Messages"]
    assert base64.b64decode(encoded["Body"]) == b"\x00\x01binary"


def test_sns_rule_notifies_a_confirmed_email_subscription(
    server: RunningServer, tmp_path: Path, button: PahoClient, inbox: tuple[Inbox, int]
) -> None:
    mailbox = inbox[0]
    sns = server.client("sns")
    topic = sns.create_topic(Name="pickup-alerts")["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="email", Endpoint="dispatch@example.com")
    confirm_subscription(server, mailbox.messages.get(timeout=WAIT))
    new_rule(server, tmp_path, "SELECT * FROM 'alerts/+' WHERE clickType = 'LONG'", [
        {"sns": {"targetArn": topic, "roleArn": ROLE, "messageFormat": "RAW"}}
    ])  # fmt: skip
    button.publish(
        "alerts/WH-B101", json.dumps({**CLICK, "clickType": "SINGLE"}).encode(), qos=1
    )  # filtered out
    button.publish("alerts/WH-B101", json.dumps({**CLICK, "clickType": "LONG"}).encode(), qos=1)
    mail = mailbox.messages.get(timeout=WAIT)
    assert mail["To"] == "dispatch@example.com"
    notification, _end = json.JSONDecoder().raw_decode(text_of(mail))  # then SNS's unsubscribe footer
    assert notification["clickType"] == "LONG"


def test_a_missing_table_reaches_the_error_action(
    server: RunningServer, tmp_path: Path, button: PahoClient
) -> None:
    errors = uid("errors")
    button.subscribe(f"{errors}/#")
    name = new_rule(
        server, tmp_path, "SELECT * FROM 'broken/+'",
        [{"dynamoDB": {"tableName": "no_such_table", "roleArn": ROLE, "hashKeyField": "id",
                       "hashKeyValue": "${topic(2)}"}}],
        errorAction={"republish": {"topic": f"{errors}/${{topic(2)}}", "roleArn": ROLE}},
    )  # fmt: skip
    button.publish("broken/b1", json.dumps(CLICK).encode(), qos=1)
    report = button.wait_for(lambda m: m.topic == f"{errors}/b1", timeout=WAIT)
    body = json.loads(report.payload)
    assert (body["ruleName"], body["topic"]) == (name, "broken/b1")
    [failure] = body["failures"]
    assert failure["failedAction"] == "DynamoDBAction" and failure["failedResource"] == "no_such_table"
    assert failure["errorMessage"].startswith("ResourceNotFoundException: ")


# -- external mode: a second corral serve stands in for the external endpoint -------------------------------


def test_actions_pointed_at_an_external_endpoint(
    tmp_path_factory: pytest.TempPathFactory, tmp_path: Path
) -> None:
    base = tmp_path_factory.mktemp("external")
    outside = make_server(base, name="outside").start()
    try:
        endpoint = outside.external_settings()
        config = f"{QUICK_RETRIES}\n[actions.s3]\n{endpoint}\n[services.sqs]\n{endpoint}"
        inside = make_server(base, name="inside", config_toml=config).start()
        try:
            _external_scenario(inside, outside, tmp_path)
        finally:
            inside.stop()
    finally:
        outside.stop()


def _external_scenario(inside: RunningServer, outside: RunningServer, tmp_path: Path) -> None:
    outside.client("s3").create_bucket(Bucket="offsite")
    inside.client("s3").create_bucket(Bucket="offsite")  # the embedded one exists too, and stays empty
    queue_url = outside.client("sqs").create_queue(QueueName="offsite-orders")["QueueUrl"]
    new_rule(inside, tmp_path, "SELECT * FROM 'site/+'", [
        {"s3": {"bucketName": "offsite", "key": "${topic(2)}.json", "roleArn": ROLE}},
        {"sqs": {"queueUrl": queue_url, "roleArn": ROLE}},
    ])  # fmt: skip
    device = PahoClient(inside, uid("site-device"))
    device.connect()
    try:
        device.publish("site/press1", json.dumps(CLICK).encode(), qos=1)
    finally:
        device.close()
    [message] = outside.client("sqs").receive_message(QueueUrl=queue_url, WaitTimeSeconds=20)["Messages"]
    assert json.loads(message["Body"]) == CLICK
    s3 = outside.client("s3")

    def stored() -> bytes | None:
        listed = s3.list_objects_v2(Bucket="offsite").get("Contents", [])
        return s3.get_object(Bucket="offsite", Key="press1.json")["Body"].read() if listed else None

    assert json.loads(eventually(stored, "the external s3 object")) == CLICK
    assert inside.client("s3").list_objects_v2(Bucket="offsite").get("KeyCount") == 0
    assert "Traceback" not in inside.log()
