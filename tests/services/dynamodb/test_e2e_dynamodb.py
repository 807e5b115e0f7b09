"""DynamoDB of a real `corral serve`, driven by boto3 (client and resource APIs) and the aws CLI."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import boto3
import botocore.exceptions
import pytest
from boto3.dynamodb.conditions import Attr, Key
from botocore.config import Config as BotoConfig

from tests.aws_cli import aws
from tests.harness import RunningServer, make_server, serving


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    yield from serving(make_server(tmp_path_factory.mktemp("dynamodb")))


def client(server: RunningServer) -> Any:
    return server.client("dynamodb", config=BotoConfig(retries={"max_attempts": 1}))


def resource(server: RunningServer) -> Any:
    low = client(server)
    return boto3.resource(
        "dynamodb",
        endpoint_url=low.meta.endpoint_url,
        region_name=server.endpoints["region"],
        aws_access_key_id=low._request_signer._credentials.access_key,
        aws_secret_access_key=low._request_signer._credentials.secret_key,
        config=BotoConfig(retries={"max_attempts": 1}),
    )


def create_readings(server: RunningServer, name: str) -> None:
    client(server).create_table(
        TableName=name,
        KeySchema=[
            {"AttributeName": "device", "KeyType": "HASH"},
            {"AttributeName": "ts", "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[
            {"AttributeName": "device", "AttributeType": "S"},
            {"AttributeName": "ts", "AttributeType": "N"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )


def test_client_operations_and_errors(server: RunningServer) -> None:
    ddb = client(server)
    create_readings(server, "client-table")
    assert ddb.describe_table(TableName="client-table")["Table"]["TableStatus"] == "ACTIVE"
    assert "client-table" in ddb.list_tables()["TableNames"]
    ddb.put_item(TableName="client-table", Item={"device": {"S": "d1"}, "ts": {"N": "1"}, "t": {"N": "20.5"}})
    with pytest.raises(ddb.exceptions.ConditionalCheckFailedException):
        ddb.put_item(
            TableName="client-table",
            Item={"device": {"S": "d1"}, "ts": {"N": "1"}},
            ConditionExpression="attribute_not_exists(device)",
        )
    with pytest.raises(ddb.exceptions.ResourceInUseException):
        create_readings(server, "client-table")
    with pytest.raises(ddb.exceptions.ResourceNotFoundException):
        ddb.get_item(TableName="missing", Key={"device": {"S": "d1"}})
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        ddb.put_item(TableName="client-table", Item={"device": {"S": "d1"}})
    error = caught.value.response["Error"]
    assert error["Code"] == "ValidationException"
    assert error["Message"] == "One or more parameter values were invalid: Missing the key ts in the item"
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        ddb.update_item(
            TableName="client-table",
            Key={"device": {"S": "d1"}, "ts": {"N": "1"}},
            UpdateExpression="SET t = t +",
        )
    assert caught.value.response["Error"]["Message"].startswith("Invalid UpdateExpression: Syntax error")
    updated = ddb.update_item(
        TableName="client-table",
        Key={"device": {"S": "d1"}, "ts": {"N": "1"}},
        UpdateExpression="SET t = t + :d, seen = list_append(if_not_exists(seen, :empty), :one) ADD n :one_n",
        ExpressionAttributeValues={
            ":d": {"N": "0.25"},
            ":empty": {"L": []},
            ":one": {"L": [{"B": b"\x01"}]},
            ":one_n": {"N": "1"},
        },
        ReturnValues="UPDATED_NEW",
    )
    assert updated["Attributes"] == {"t": {"N": "20.75"}, "seen": {"L": [{"B": b"\x01"}]}, "n": {"N": "1"}}
    got = ddb.get_item(
        TableName="client-table",
        Key={"device": {"S": "d1"}, "ts": {"N": "1"}},
        ProjectionExpression="t, seen[0]",
    )
    assert got["Item"] == {"t": {"N": "20.75"}, "seen": {"L": [{"B": b"\x01"}]}}
    ddb.batch_write_item(
        RequestItems={
            "client-table": [
                {"PutRequest": {"Item": {"device": {"S": "d2"}, "ts": {"N": str(i)}}}} for i in range(5)
            ]
        }
    )
    batch = ddb.batch_get_item(
        RequestItems={"client-table": {"Keys": [{"device": {"S": "d2"}, "ts": {"N": "3"}}]}}
    )
    assert batch["Responses"]["client-table"] == [{"device": {"S": "d2"}, "ts": {"N": "3"}}]
    paginator = ddb.get_paginator("scan")
    pages = list(paginator.paginate(TableName="client-table", PaginationConfig={"PageSize": 2}))
    assert sum(page["Count"] for page in pages) == 6 and len(pages) == 3
    deleted = ddb.delete_item(
        TableName="client-table", Key={"device": {"S": "d2"}, "ts": {"N": "0"}}, ReturnValues="ALL_OLD"
    )
    assert deleted["Attributes"] == {"device": {"S": "d2"}, "ts": {"N": "0"}}
    ddb.delete_table(TableName="client-table")
    with pytest.raises(ddb.exceptions.ResourceNotFoundException):
        ddb.describe_table(TableName="client-table")


def test_resource_api_with_conditions(server: RunningServer) -> None:
    create_readings(server, "resource-table")
    table = resource(server).Table("resource-table")
    with table.batch_writer() as writer:
        for ts in range(10):
            writer.put_item(Item={"device": "d1", "ts": ts, "temp": Decimal("20.5") + ts, "tags": {"a", "b"}})
    result = table.query(
        KeyConditionExpression=Key("device").eq("d1") & Key("ts").between(3, 6),
        FilterExpression=Attr("temp").gt(Decimal("24")) & Attr("tags").contains("a"),
        ScanIndexForward=False,
    )
    assert [item["ts"] for item in result["Items"]] == [6, 5, 4]
    assert result["ScannedCount"] == 4
    assert result["Items"][0]["tags"] == {"a", "b"} and result["Items"][0]["temp"] == Decimal("26.5")
    count = table.query(KeyConditionExpression=Key("device").eq("d1") & Key("ts").lt(5), Select="COUNT")
    assert count["Count"] == 5 and "Items" not in count
    table.update_item(
        Key={"device": "d1", "ts": 0},
        UpdateExpression="REMOVE tags SET #s = :s",
        ConditionExpression=Attr("temp").exists() & ~Attr("status").exists(),
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":s": "ok"},
    )
    assert table.get_item(Key={"device": "d1", "ts": 0})["Item"] == {
        "device": "d1",
        "ts": 0,
        "temp": Decimal("20.5"),
        "status": "ok",
    }
    with pytest.raises(table.meta.client.exceptions.ConditionalCheckFailedException):
        table.delete_item(Key={"device": "d1", "ts": 0}, ConditionExpression=Attr("status").eq("bad"))


def test_aws_cli_queries_a_table_written_by_boto3(server: RunningServer) -> None:
    made = aws(
        server, "dynamodb", "create-table", "--table-name", "cli-table",
        "--attribute-definitions", "AttributeName=device,AttributeType=S", "AttributeName=ts,AttributeType=N",
        "--key-schema", "AttributeName=device,KeyType=HASH", "AttributeName=ts,KeyType=RANGE",
        "--billing-mode", "PAY_PER_REQUEST",
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    assert json.loads(made.stdout)["TableDescription"]["TableStatus"] == "ACTIVE"
    table = resource(server).Table("cli-table")
    for ts in (5, 50, 500, -5):
        table.put_item(Item={"device": "d9", "ts": ts, "v": f"reading {ts}"})
    put = aws(
        server, "dynamodb", "put-item", "--table-name", "cli-table",
        "--item", '{"device": {"S": "d9"}, "ts": {"N": "7.5"}}',
    )  # fmt: skip
    assert put.returncode == 0, put.stderr
    queried = aws(
        server, "dynamodb", "query", "--table-name", "cli-table",
        "--key-condition-expression", "device = :d AND ts >= :t",
        "--expression-attribute-values", '{":d": {"S": "d9"}, ":t": {"N": "6"}}',
    )  # fmt: skip
    assert queried.returncode == 0, queried.stderr
    assert [item["ts"]["N"] for item in json.loads(queried.stdout)["Items"]] == ["7.5", "50", "500"]
    missing = aws(server, "dynamodb", "describe-table", "--table-name", "nope")
    assert missing.returncode != 0 and "ResourceNotFoundException" in missing.stderr
