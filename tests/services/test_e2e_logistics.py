"""The seed's logistics dispatch architecture end to end, with clients we did not write: an IoT button (the
AWS IoT Device SDK v2 with a certificate from CreateKeysAndCertificate, the classic button payload) -> a rule
(``clickType = 'SINGLE'``) -> a function created with boto3's Lambda client, whose code would run on AWS
unchanged (boto3 clients without endpoint arguments) -> a work order in DynamoDB, a message on SQS and an SNS
e-mail (to aiosmtpd) -> the dispatch app, a boto3 consumer long-polling the queue."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterator
from typing import Any

import pytest
from awscrt import mqtt

from tests.broker.clients import sdk_connection
from tests.harness import RunningServer
from tests.mail_support import WAIT, Inbox, confirm_subscription, server_with_mail, text_of

SERIAL = "WH-B101"
ROLE = "arn:aws:iam::000000000000:role/pickup"
FUNCTION = """
import json
import os
import uuid

import boto3

dynamodb = boto3.client("dynamodb")
sqs = boto3.client("sqs")
sns = boto3.client("sns")


def handler(event, context):
    order = {"orderId": str(uuid.uuid4()), "button": event["serialNumber"], "click": event["clickType"],
             "battery": event["batteryVoltage"]}
    dynamodb.put_item(TableName="WorkOrders", Item={k: {"S": v} for k, v in order.items()})
    sqs.send_message(QueueUrl=os.environ["QUEUE_URL"], MessageBody=json.dumps(order))
    sns.publish(TopicArn=os.environ["TOPIC_ARN"], Subject="Pallet ready for pickup",
                Message="Work order " + order["orderId"] + " for button " + order["button"])
    return order
"""
POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Action": "iot:Connect", "Resource": f"arn:aws:iot:*:*:client/{SERIAL}"},
        {
            "Effect": "Allow",
            "Action": "iot:Publish",
            "Resource": "arn:aws:iot:*:*:topic/iotbutton/${iot:ClientId}",
        },
    ],
}


@pytest.fixture
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[RunningServer, Inbox]]:
    yield from server_with_mail(tmp_path_factory.mktemp("logistics"))


def _zip(source: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("pickup.py", source)
    return buffer.getvalue()


def test_button_to_dispatch_app(setup: tuple[RunningServer, Inbox]) -> None:
    server, inbox = setup
    ddb, sqs, sns, lam, iot = (server.client(s) for s in ("dynamodb", "sqs", "sns", "lambda", "iot"))
    ddb.create_table(
        TableName="WorkOrders",
        KeySchema=[{"AttributeName": "orderId", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "orderId", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    queue_url = sqs.create_queue(QueueName="DispatchWorkOrders")["QueueUrl"]
    topic = sns.create_topic(Name="WarehousePickupAlerts")["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="email", Endpoint="dispatch@example.com")
    confirm_subscription(server, inbox.messages.get(timeout=WAIT))

    function = lam.create_function(
        FunctionName="WarehousePalletPickup", Runtime="python3.11", Handler="pickup.handler", Role=ROLE,
        Code={"ZipFile": _zip(FUNCTION)},
        Environment={"Variables": {"QUEUE_URL": queue_url, "TOPIC_ARN": topic}},
    )["FunctionArn"]  # fmt: skip
    iot.create_topic_rule(
        ruleName="ButtonRule_Pickup",
        topicRulePayload={
            "sql": "SELECT * FROM 'iotbutton/+' WHERE clickType = 'SINGLE'",
            "awsIotSqlVersion": "2016-03-23",
            "actions": [{"lambda": {"functionArn": function}}],
        },
    )
    button = server.issue_certificate("iot-button", policy=json.dumps(POLICY))

    connection = sdk_connection(server, button, SERIAL)
    connection.connect().result(WAIT)
    try:
        for click in ("DOUBLE", "SINGLE"):  # the double click is not a pickup: the rule filters it out
            payload = {"serialNumber": SERIAL, "batteryVoltage": "1668mV", "clickType": click}
            done, _ = connection.publish(f"iotbutton/{SERIAL}", json.dumps(payload), mqtt.QoS.AT_LEAST_ONCE)
            done.result(WAIT)
    finally:
        connection.disconnect().result(WAIT)

    # The dispatch app: long polls (the first invocation starts the function's worker process).
    messages: list[dict[str, Any]] = []
    for _ in range(3):
        messages = sqs.receive_message(QueueUrl=queue_url, WaitTimeSeconds=20).get("Messages", [])
        if messages:
            break
    [message] = messages
    order = json.loads(message["Body"])
    assert (order["button"], order["click"], order["battery"]) == (SERIAL, "SINGLE", "1668mV")
    sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])

    stored = ddb.get_item(TableName="WorkOrders", Key={"orderId": {"S": order["orderId"]}})["Item"]
    assert {k: v["S"] for k, v in stored.items()} == order
    assert ddb.scan(TableName="WorkOrders")["Count"] == 1
    alert = inbox.messages.get(timeout=WAIT)
    assert alert["To"] == "dispatch@example.com" and alert["Subject"] == "Pallet ready for pickup"
    assert text_of(alert).startswith(f"Work order {order['orderId']} for button {SERIAL}")
    assert "Traceback" not in server.log()
