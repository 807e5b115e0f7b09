"""DynamoDbService on both stores: tables, items, expressions, queries and scans, with DynamoDB's errors."""

from __future__ import annotations

from typing import Any

import pytest

from corral.services.dynamodb.errors import (
    ConditionalCheckFailedException,
    ResourceInUseException,
    ResourceNotFoundException,
    ValidationException,
)
from corral.services.dynamodb.service import DynamoDbService


def S(text: str) -> dict[str, Any]:
    return {"S": text}


def N(number: str | int) -> dict[str, Any]:
    return {"N": str(number)}


async def make_table(
    db: DynamoDbService, name: str = "t", range_type: str | None = "N", hash_type: str = "S"
) -> None:
    schema = [{"AttributeName": "pk", "KeyType": "HASH"}]
    definitions = [{"AttributeName": "pk", "AttributeType": hash_type}]
    if range_type is not None:
        schema.append({"AttributeName": "sk", "KeyType": "RANGE"})
        definitions.append({"AttributeName": "sk", "AttributeType": range_type})
    await db.create_table(
        {
            "TableName": name,
            "KeySchema": schema,
            "AttributeDefinitions": definitions,
            "BillingMode": "PAY_PER_REQUEST",
        }
    )


# -- tables --------------------------------------------------------------------------------------------


async def test_create_describe_list_delete(dynamodb: DynamoDbService) -> None:
    created = await dynamodb.create_table(
        {
            "TableName": "readings",
            "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
            "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
            "ProvisionedThroughput": {"ReadCapacityUnits": 5, "WriteCapacityUnits": 5},
        }
    )
    description = created["TableDescription"]
    assert description["TableStatus"] == "ACTIVE"
    assert description["TableArn"] == "arn:aws:dynamodb:us-east-1:000000000000:table/readings"
    assert description["ProvisionedThroughput"]["ReadCapacityUnits"] == 5
    await dynamodb.put_item_simple("readings", {"pk": S("a"), "v": N(1)})
    table = (await dynamodb.describe_table({"TableName": "readings"}))["Table"]
    assert table["ItemCount"] == 1 and table["KeySchema"] == description["KeySchema"]
    with pytest.raises(ResourceInUseException, match="Table already exists: readings"):
        await make_table(dynamodb, "readings")
    deleted = await dynamodb.delete_table({"TableName": "readings"})
    assert deleted["TableDescription"]["TableStatus"] == "DELETING"
    with pytest.raises(ResourceNotFoundException, match="Table: readings not found"):
        await dynamodb.describe_table({"TableName": "readings"})
    with pytest.raises(ResourceNotFoundException, match=r"^Requested resource not found$"):
        await dynamodb.get_item({"TableName": "readings", "Key": {"pk": S("a")}})


async def test_list_tables_pages_in_name_order(dynamodb: DynamoDbService) -> None:
    for name in ("c-table", "a-table", "b-table"):
        await make_table(dynamodb, name)
    first = await dynamodb.list_tables({"Limit": 2})
    assert first == {"TableNames": ["a-table", "b-table"], "LastEvaluatedTableName": "b-table"}
    second = await dynamodb.list_tables({"Limit": 2, "ExclusiveStartTableName": "b-table"})
    assert second == {"TableNames": ["c-table"]}


@pytest.mark.parametrize(
    ("params", "message"),
    [
        (
            {"KeySchema": [{"AttributeName": "pk", "KeyType": "RANGE"}]},
            "Invalid KeySchema: The first KeySchemaElement is not a HASH key type",
        ),
        (
            {"AttributeDefinitions": [{"AttributeName": "x", "AttributeType": "S"}]},
            "Some index key attributes are not defined in AttributeDefinitions. Keys: [pk], "
            "AttributeDefinitions: [x]",
        ),
        (
            {
                "AttributeDefinitions": [
                    {"AttributeName": "pk", "AttributeType": "S"},
                    {"AttributeName": "x", "AttributeType": "S"},
                ]
            },
            "Number of attributes in KeySchema does not exactly match number of attributes defined",
        ),
        (
            {"BillingMode": "PROVISIONED"},
            "ReadCapacityUnits and WriteCapacityUnits must both be specified when BillingMode is PROVISIONED",
        ),
    ],
)
async def test_create_table_errors(dynamodb: DynamoDbService, params: dict[str, Any], message: str) -> None:
    request = {
        "TableName": "bad",
        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
        "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
        "BillingMode": "PAY_PER_REQUEST",
        **params,
    }
    with pytest.raises(ValidationException) as caught:
        await dynamodb.create_table(request)
    assert message in caught.value.message


# -- items ---------------------------------------------------------------------------------------------


async def test_every_type_round_trips_and_numbers_are_canonical(dynamodb: DynamoDbService) -> None:
    await make_table(dynamodb)
    item = {
        "pk": S("a"),
        "sk": N("1.50"),
        "s": S(""),
        "n": N("-0012.3400e2"),
        "big": N("12345678901234567890123456789012345678"),
        "b": {"B": b"\x00\xff"},
        "t": {"BOOL": True},
        "z": {"NULL": True},
        "m": {"M": {"inner": {"L": [N(1), S("x")]}}},
        "ss": {"SS": ["a", "b"]},
        "ns": {"NS": ["1", "2.0"]},
        "bs": {"BS": [b"x", b"y"]},
    }
    await dynamodb.put_item({"TableName": "t", "Item": item})
    got = (await dynamodb.get_item({"TableName": "t", "Key": {"pk": S("a"), "sk": N("1.5")}}))["Item"]
    assert got["sk"] == N("1.5") and got["n"] == N("-1234") and got["ns"] == {"NS": ["1", "2"]}
    assert got["b"] == {"B": b"\x00\xff"} and got["bs"] == {"BS": [b"x", b"y"]}
    assert got["big"] == item["big"] and got["m"] == item["m"] and got["s"] == S("")


@pytest.mark.parametrize(
    ("item", "message"),
    [
        ({"sk": N(1)}, "One or more parameter values were invalid: Missing the key pk in the item"),
        (
            {"pk": N(1), "sk": N(1)},
            "One or more parameter values were invalid: Type mismatch for key pk expected: S actual: N",
        ),
        (
            {"pk": S(""), "sk": N(1)},
            "The AttributeValue for a key attribute cannot contain an empty string value. Key: pk",
        ),
        ({"pk": S("a"), "sk": N("1e126")}, "Number overflow."),
        ({"pk": S("a"), "sk": N("x")}, "A value provided cannot be converted into a number"),
        (
            {"pk": S("a"), "sk": N("1.23456789012345678901234567890123456789")},
            "Attempting to store more than 38 significant digits in a Number",
        ),
        ({"pk": S("a"), "sk": N(1), "e": {"SS": []}}, "An string set  may not be empty"),
        ({"pk": S("a"), "sk": N(1), "d": {"SS": ["a", "a"]}}, "Input collection [a, a] contains duplicates."),
        ({"pk": S("a"), "sk": N(1), "x": {}}, "Supplied AttributeValue is empty"),
        ({"pk": S("a"), "sk": N(1), "x": {"S": "a", "N": "1"}}, "more than one datatypes set"),
    ],
)
async def test_put_item_validation(dynamodb: DynamoDbService, item: dict[str, Any], message: str) -> None:
    await make_table(dynamodb)
    with pytest.raises(ValidationException) as caught:
        await dynamodb.put_item({"TableName": "t", "Item": item})
    assert message in caught.value.message


async def test_key_must_match_the_schema(dynamodb: DynamoDbService) -> None:
    await make_table(dynamodb)
    for key in ({"pk": S("a")}, {"pk": S("a"), "sk": S("1")}, {"pk": S("a"), "sk": N(1), "x": N(1)}):
        with pytest.raises(ValidationException, match="The provided key element does not match the schema"):
            await dynamodb.get_item({"TableName": "t", "Key": key})


async def test_conditions_on_put_and_delete(dynamodb: DynamoDbService) -> None:
    await make_table(dynamodb)
    put = {
        "TableName": "t",
        "Item": {"pk": S("a"), "sk": N(1), "state": S("new"), "tags": {"SS": ["x", "y"]}},
        "ConditionExpression": "attribute_not_exists(pk)",
    }
    assert await dynamodb.put_item(put) == {}
    with pytest.raises(ConditionalCheckFailedException, match="The conditional request failed"):
        await dynamodb.put_item(put)
    key = {"pk": S("a"), "sk": N(1)}
    cases = [
        ("#s = :v", {":v": S("new")}, True),
        ("#s <> :v", {":v": S("new")}, False),
        ("begins_with(#s, :v)", {":v": S("ne")}, True),
        ("contains(tags, :v)", {":v": S("y")}, True),
        ("contains(#s, :v)", {":v": S("ew")}, True),
        ("size(tags) = :v", {":v": N(2)}, True),
        ("attribute_type(#s, :v)", {":v": S("S")}, True),
        ("#s IN (:a, :b)", {":a": S("old"), ":b": S("new")}, True),
        ("sk BETWEEN :a AND :b", {":a": N(0), ":b": N(1)}, True),
        ("NOT (#s = :v) OR sk > :n", {":v": S("new"), ":n": N(0)}, True),
        ("#s = :v AND sk > :n", {":v": S("new"), ":n": N(1)}, False),
        ("missing <> :v", {":v": S("x")}, True),
        ("missing = :v", {":v": S("x")}, False),
    ]
    for expression, values, expected in cases:
        request = {
            "TableName": "t",
            "Item": {"pk": S("a"), "sk": N(1), "state": S("new"), "tags": {"SS": ["x", "y"]}},
            "ConditionExpression": expression,
            "ExpressionAttributeValues": values,
        }
        if "#s" in expression:
            request["ExpressionAttributeNames"] = {"#s": "state"}
        if expected:
            await dynamodb.put_item(request)
        else:
            with pytest.raises(ConditionalCheckFailedException):
                await dynamodb.put_item(request)
    old = await dynamodb.delete_item(
        {
            "TableName": "t",
            "Key": key,
            "ConditionExpression": "attribute_exists(pk)",
            "ReturnValues": "ALL_OLD",
        }
    )
    assert old["Attributes"]["state"] == S("new")
    with pytest.raises(ConditionalCheckFailedException):
        await dynamodb.delete_item(
            {"TableName": "t", "Key": key, "ConditionExpression": "attribute_exists(pk)"}
        )


async def test_update_expressions(dynamodb: DynamoDbService) -> None:
    await make_table(dynamodb)
    key = {"pk": S("d1"), "sk": N(0)}
    created = await dynamodb.update_item(
        {
            "TableName": "t",
            "Key": key,
            "UpdateExpression": "SET n = if_not_exists(n, :zero) + :one, l = list_append(:first, :rest), "
            "m = :m ADD c :five, tags :tags",
            "ExpressionAttributeValues": {
                ":zero": N(0),
                ":one": N("1.1"),
                ":first": {"L": [N(1)]},
                ":rest": {"L": [N(2)]},
                ":m": {"M": {"a": {"M": {}}}},
                ":five": N(5),
                ":tags": {"SS": ["x", "y"]},
            },
            "ReturnValues": "ALL_NEW",
        }
    )
    assert created["Attributes"] == {
        "pk": S("d1"),
        "sk": N(0),
        "n": N("1.1"),
        "l": {"L": [N(1), N(2)]},
        "m": {"M": {"a": {"M": {}}}},
        "c": N(5),
        "tags": {"SS": ["x", "y"]},
    }
    updated = await dynamodb.update_item(
        {
            "TableName": "t",
            "Key": key,
            "UpdateExpression": "SET n = n - :one, m.a.b = :one, l[5] = :one REMOVE l[0] "
            "ADD c :five DELETE tags :x",
            "ConditionExpression": "n > :zero",
            "ExpressionAttributeValues": {
                ":one": N(1),
                ":zero": N(0),
                ":five": N(-5),
                ":x": {"SS": ["x"]},
            },
            "ReturnValues": "UPDATED_NEW",
        }
    )
    assert updated["Attributes"] == {
        "n": N("0.1"),
        "m": {"M": {"a": {"M": {"b": N(1)}}}},
        "l": {"L": [N(2)]},  # the updated paths as they are now: l[0] is 2, there is no l[5]
        "c": N(0),
        "tags": {"SS": ["y"]},
    }
    current = (await dynamodb.get_item({"TableName": "t", "Key": key}))["Item"]
    assert current["l"] == {"L": [N(2), N(1)]}  # l[5] = 1 appended; then l[0] removed
    old = await dynamodb.update_item(
        {
            "TableName": "t",
            "Key": key,
            "UpdateExpression": "REMOVE m, l DELETE tags :y",
            "ExpressionAttributeValues": {":y": {"SS": ["y"]}},
            "ReturnValues": "UPDATED_OLD",
        }
    )
    assert set(old["Attributes"]) == {"m", "l", "tags"}
    item = (await dynamodb.get_item({"TableName": "t", "Key": key}))["Item"]
    assert set(item) == {"pk", "sk", "n", "c"}


@pytest.mark.parametrize(
    ("expression", "values", "message"),
    [
        ("SET pk = :v", {":v": S("x")}, "Cannot update attribute pk. This attribute is part of the key"),
        ("SET a = :v + :v", {":v": S("x")}, "An operand in the update expression has an incorrect data type"),
        ("SET a = nothere", None, "The provided expression refers to an attribute that does not exist"),
        ("SET a.b = :v", {":v": S("x")}, "The document path provided in the update expression is invalid"),
        ("ADD a :v", {":v": S("x")}, "operator: ADD, operand type: STRING"),
        ("SET a = :v", {":v": S("x"), ":w": S("y")}, "unused in expressions: keys: {:w}"),
        ("SET a = :q", {":v": S("x")}, "attribute value: :q"),
        (
            "SET #a = :v",
            {":v": S("x")},
            "An expression attribute name used in the document path is not defined",
        ),
        ("SET a = :v, a = :v", {":v": S("x")}, "Two document paths conflict with each other"),
        ("SET a = :v REMOVE a.b", {":v": S("x")}, "Two document paths overlap with each other"),
        ("SET a :v", {":v": S("x")}, 'Invalid UpdateExpression: Syntax error; token: ":v"'),
        ("", None, "Invalid UpdateExpression: The expression can not be empty;"),
    ],
)
async def test_update_errors(
    dynamodb: DynamoDbService, expression: str, values: dict[str, Any] | None, message: str
) -> None:
    await make_table(dynamodb)
    params: dict[str, Any] = {
        "TableName": "t",
        "Key": {"pk": S("a"), "sk": N(1)},
        "UpdateExpression": expression,
    }
    if values is not None:
        params["ExpressionAttributeValues"] = values
    with pytest.raises(ValidationException) as caught:
        await dynamodb.update_item(params)
    assert message in caught.value.message


async def test_projection(dynamodb: DynamoDbService) -> None:
    await make_table(dynamodb)
    item = {"pk": S("a"), "sk": N(1), "m": {"M": {"x": N(1), "y": N(2)}}, "l": {"L": [N(1), N(2), N(3)]}}
    await dynamodb.put_item({"TableName": "t", "Item": item})
    got = await dynamodb.get_item(
        {
            "TableName": "t",
            "Key": {"pk": S("a"), "sk": N(1)},
            "ProjectionExpression": "#m.y, l[2], l[0], nothere",
            "ExpressionAttributeNames": {"#m": "m"},
        }
    )
    assert got["Item"] == {"m": {"M": {"y": N(2)}}, "l": {"L": [N(1), N(3)]}}


# -- queries and scans ---------------------------------------------------------------------------------


async def test_query_orders_numbers_numerically(dynamodb: DynamoDbService) -> None:
    await make_table(dynamodb)
    numbers = ["-100", "-1.5", "-1.25", "-1", "0", "0.001", "1", "1.25", "2", "10", "100", "1e20"]
    for number in reversed(numbers):
        await dynamodb.put_item_simple("t", {"pk": S("dev"), "sk": N(number), "v": N(number)})
    await dynamodb.put_item_simple("t", {"pk": S("other"), "sk": N(5)})

    async def query(condition: str, **values: Any) -> list[str]:
        result = await dynamodb.query(
            {
                "TableName": "t",
                "KeyConditionExpression": condition,
                "ExpressionAttributeValues": {f":{k}": v for k, v in values.items()},
            }
        )
        return [item["sk"]["N"] for item in result["Items"]]

    canonical = [
        "-100",
        "-1.5",
        "-1.25",
        "-1",
        "0",
        "0.001",
        "1",
        "1.25",
        "2",
        "10",
        "100",
        "100000000000000000000",
    ]
    assert await query("pk = :p", p=S("dev")) == canonical
    assert await query("pk = :p AND sk < :x", p=S("dev"), x=N("-1.25")) == ["-100", "-1.5"]
    assert await query("pk = :p AND sk <= :x", p=S("dev"), x=N("-1.25")) == ["-100", "-1.5", "-1.25"]
    assert await query("sk > :x AND pk = :p", p=S("dev"), x=N(2)) == canonical[-3:]
    assert await query("pk = :p AND sk >= :x", p=S("dev"), x=N(2)) == canonical[-4:]
    assert await query("pk = :p AND sk = :x", p=S("dev"), x=N("1.250")) == ["1.25"]
    assert await query("pk = :p AND sk BETWEEN :a AND :b", p=S("dev"), a=N(-1), b=N(1)) == [
        "-1",
        "0",
        "0.001",
        "1",
    ]
    backwards = await dynamodb.query(
        {
            "TableName": "t",
            "KeyConditionExpression": "pk = :p",
            "ExpressionAttributeValues": {":p": S("dev")},
            "ScanIndexForward": False,
            "Limit": 2,
        }
    )
    assert [i["sk"]["N"] for i in backwards["Items"]] == canonical[::-1][:2]
    assert backwards["LastEvaluatedKey"] == {"pk": S("dev"), "sk": N(100)}


async def test_query_strings_by_bytes_begins_with_filter_pages_and_count(dynamodb: DynamoDbService) -> None:
    await make_table(dynamodb, range_type="S")
    keys = ["a", "aa", "ab", "b", "B", "é", "z", "ä", "2026-01-01", "2026-01-02", "2026-02-01"]
    for index, key in enumerate(keys):
        await dynamodb.put_item_simple("t", {"pk": S("p"), "sk": S(key), "i": N(index)})
    everything = await dynamodb.query(
        {"TableName": "t", "KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": {":p": S("p")}}
    )
    assert [i["sk"]["S"] for i in everything["Items"]] == sorted(keys, key=lambda k: k.encode())
    january = await dynamodb.query(
        {
            "TableName": "t",
            "KeyConditionExpression": "pk = :p AND begins_with(sk, :m)",
            "ExpressionAttributeValues": {":p": S("p"), ":m": S("2026-01")},
        }
    )
    assert [i["sk"]["S"] for i in january["Items"]] == ["2026-01-01", "2026-01-02"]
    # Limit counts the items evaluated, before the filter; pages continue from LastEvaluatedKey.
    seen: list[str] = []
    start: dict[str, Any] | None = None
    pages = 0
    while True:
        params: dict[str, Any] = {
            "TableName": "t",
            "KeyConditionExpression": "pk = :p",
            "FilterExpression": "i >= :two",
            "ExpressionAttributeValues": {":p": S("p"), ":two": N(2)},
            "Limit": 3,
        }
        if start is not None:
            params["ExclusiveStartKey"] = start
        page = await dynamodb.query(params)
        pages += 1
        assert page["ScannedCount"] <= 3
        seen += [i["sk"]["S"] for i in page["Items"]]
        start = page.get("LastEvaluatedKey")
        if start is None:
            break
    assert pages == 4
    assert seen == [k for k in sorted(keys, key=lambda k: k.encode()) if keys.index(k) >= 2]
    counted = await dynamodb.query(
        {
            "TableName": "t",
            "KeyConditionExpression": "pk = :p",
            "ExpressionAttributeValues": {":p": S("p")},
            "Select": "COUNT",
        }
    )
    assert counted == {"Count": len(keys), "ScannedCount": len(keys)}


@pytest.mark.parametrize(
    ("condition", "values", "message"),
    [
        ("sk = :n", {":n": N(1)}, "Query condition missed key schema element: pk"),
        (
            "pk = :p OR sk = :n",
            {":p": S("a"), ":n": N(1)},
            "Invalid operator used in KeyConditionExpression: OR",
        ),
        ("pk = :p AND other = :n", {":p": S("a"), ":n": N(1)}, "Query key condition not supported"),
        ("pk = :n", {":n": N(1)}, "Condition parameter type does not match schema type"),
        (
            "pk = :p AND begins_with(sk, :n)",
            {":p": S("a"), ":n": N(1)},
            "operator or function: begins_with, operand type: N",
        ),
        (
            "pk = :p AND sk > :n AND sk < :n",
            {":p": S("a"), ":n": N(1)},
            "KeyConditionExpressions must only contain one condition per key",
        ),
        (
            "pk = :p AND sk BETWEEN :b AND :a",
            {":p": S("a"), ":a": N(1), ":b": N(2)},
            "The BETWEEN operator requires upper bound to be greater than or equal to lower bound",
        ),
    ],
)
async def test_query_errors(
    dynamodb: DynamoDbService, condition: str, values: dict[str, Any], message: str
) -> None:
    await make_table(dynamodb)
    with pytest.raises(ValidationException) as caught:
        await dynamodb.query(
            {"TableName": "t", "KeyConditionExpression": condition, "ExpressionAttributeValues": values}
        )
    assert message in caught.value.message


async def test_scan_filters_and_pages(dynamodb: DynamoDbService) -> None:
    await make_table(dynamodb, range_type=None)
    for index in range(25):
        await dynamodb.put_item_simple("t", {"pk": S(f"k{index:02d}"), "even": {"BOOL": index % 2 == 0}})
    collected: list[str] = []
    start: dict[str, Any] | None = None
    while True:
        params: dict[str, Any] = {
            "TableName": "t",
            "FilterExpression": "even = :t",
            "ExpressionAttributeValues": {":t": {"BOOL": True}},
            "Limit": 7,
        }
        if start:
            params["ExclusiveStartKey"] = start
        page = await dynamodb.scan(params)
        collected += [item["pk"]["S"] for item in page["Items"]]
        start = page.get("LastEvaluatedKey")
        if not start:
            break
    assert sorted(collected) == [f"k{i:02d}" for i in range(0, 25, 2)]


async def test_batches(dynamodb: DynamoDbService) -> None:
    await make_table(dynamodb)
    await make_table(dynamodb, "u", range_type=None)
    await dynamodb.put_item_simple("t", {"pk": S("gone"), "sk": N(1)})
    result = await dynamodb.batch_write_item(
        {
            "RequestItems": {
                "t": [
                    {"PutRequest": {"Item": {"pk": S("a"), "sk": N(1), "v": S("x")}}},
                    {"DeleteRequest": {"Key": {"pk": S("gone"), "sk": N(1)}}},
                ],
                "u": [{"PutRequest": {"Item": {"pk": S("b")}}}],
            }
        }
    )
    assert result == {"UnprocessedItems": {}}
    got = await dynamodb.batch_get_item(
        {
            "RequestItems": {
                "t": {
                    "Keys": [{"pk": S("a"), "sk": N(1)}, {"pk": S("gone"), "sk": N(1)}],
                    "ProjectionExpression": "v",
                },
                "u": {"Keys": [{"pk": S("b")}]},
            }
        }
    )
    assert got == {"Responses": {"t": [{"v": S("x")}], "u": [{"pk": S("b")}]}, "UnprocessedKeys": {}}
    with pytest.raises(ValidationException, match="Provided list of item keys contains duplicates"):
        await dynamodb.batch_write_item(
            {"RequestItems": {"u": [{"PutRequest": {"Item": {"pk": S("b")}}}] * 2}}
        )
    with pytest.raises(ValidationException, match="Too many items requested for the BatchWriteItem call"):
        await dynamodb.batch_write_item(
            {"RequestItems": {"u": [{"PutRequest": {"Item": {"pk": S(str(i))}}} for i in range(26)]}}
        )


async def test_plain_interface_for_rule_actions(dynamodb: DynamoDbService) -> None:
    await make_table(dynamodb, range_type=None)
    await dynamodb.put_item_simple("t", {"pk": S("d"), "count": N(1)})
    new = await dynamodb.update_item_simple(
        "t", {"pk": S("d")}, "SET #c = #c + :one", names={"#c": "count"}, values={":one": N(1)}
    )
    assert new == {"pk": S("d"), "count": N(2)}
    assert await dynamodb.get_item_simple("t", {"pk": S("d")}) == new
    await dynamodb.delete_item_simple("t", {"pk": S("d")})
    assert await dynamodb.get_item_simple("t", {"pk": S("d")}) is None
