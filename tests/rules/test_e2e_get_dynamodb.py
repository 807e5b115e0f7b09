"""``get_dynamodb()`` in a rule reads the embedded DynamoDB (SQL reference, Functions: get_dynamodb), on a
real ``corral serve``: a table written with boto3, a rule that enriches a device's message with the item
named by the topic and the payload, a paho publisher and subscriber."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal

import pytest
from boto3.dynamodb.types import TypeSerializer

from corral.rules.actions.dynamodb import plain
from tests.broker.clients import PahoClient, uid
from tests.harness import RunningServer, make_server, serving

ROLE = "arn:aws:iam::000000000000:role/corral-rules"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    yield from serving(make_server(tmp_path_factory.mktemp("get-dynamodb")))


def test_a_rule_enriches_a_message_with_an_item(server: RunningServer) -> None:
    table = uid("orders")
    dynamodb = server.client("dynamodb")
    dynamodb.create_table(
        TableName=table,
        KeySchema=[
            {"AttributeName": "customer", "KeyType": "HASH"},
            {"AttributeName": "id", "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[
            {"AttributeName": "customer", "AttributeType": "S"},
            {"AttributeName": "id", "AttributeType": "N"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    item = {"customer": "c1", "id": 7, "bins": [1, 2], "address": {"street": "1st Ave"}, "paid": True}
    serializer = TypeSerializer()  # boto3's own, as an application would write the item
    dynamodb.put_item(TableName=table, Item={k: serializer.serialize(v) for k, v in item.items()})

    prefix = uid("orders")
    sql = (
        f"SELECT id, get_dynamodb('{table}', 'customer', topic(2), 'id', id, '{ROLE}') AS order "
        f"FROM '{prefix}/+/lookup'"
    )
    server.iot().create_topic_rule(
        ruleName=uid("enrich").replace("-", "_"),
        topicRulePayload={
            "sql": sql,
            "awsIotSqlVersion": "2016-03-23",
            "actions": [{"republish": {"topic": f"{prefix}/found", "roleArn": ROLE}}],
        },
    )
    subscriber = PahoClient(server, uid("sub"))
    subscriber.connect()
    subscriber.subscribe(f"{prefix}/found")
    publisher = PahoClient(server, uid("dev"))
    publisher.connect()
    try:
        publisher.publish(f"{prefix}/c1/lookup", json.dumps({"id": 7}).encode(), qos=1)
        found = json.loads(subscriber.next_message().payload)
        assert found == {"id": 7, "order": item}
        publisher.publish(f"{prefix}/c2/lookup", json.dumps({"id": 7}).encode(), qos=1)
        missing = json.loads(subscriber.next_message().payload)
        assert missing == {"id": 7}  # no such item: Undefined, left out of the output
    finally:
        publisher.close()
        subscriber.close()


def test_attribute_values_become_json() -> None:
    serializer = TypeSerializer()
    value = {"n": Decimal("1.5"), "i": 3, "s": {"a", "b"}, "ns": {Decimal(1)}, "null": None, "b": b"\x00"}
    typed = serializer.serialize(value)
    converted = plain(typed)
    assert converted["n"] == 1.5 and converted["i"] == 3 and converted["null"] is None
    assert sorted(converted["s"]) == ["a", "b"] and converted["ns"] == [1] and converted["b"] == "AA=="
