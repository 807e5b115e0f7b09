"""Table definitions: CreateTable's checks, with DynamoDB's messages, and the key schema of a table."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from corral.services.dynamodb.errors import ValidationException, invalid_parameter
from corral.services.dynamodb.keys import encode_key
from corral.services.dynamodb.values import AttributeValue, Item, type_of


@dataclass(frozen=True, slots=True)
class KeySchema:
    hash_name: str
    hash_type: str
    range_name: str | None
    range_type: str | None

    @property
    def names(self) -> tuple[str, ...]:
        return (self.hash_name,) if self.range_name is None else (self.hash_name, self.range_name)

    def type_of(self, name: str) -> str:
        return self.hash_type if name == self.hash_name else str(self.range_type)

    @classmethod
    def of(cls, definition: dict[str, Any]) -> KeySchema:
        types = {d["AttributeName"]: d["AttributeType"] for d in definition["AttributeDefinitions"]}
        elements = definition["KeySchema"]
        hash_name = elements[0]["AttributeName"]
        range_name = elements[1]["AttributeName"] if len(elements) > 1 else None
        return cls(hash_name, types[hash_name], range_name, types[range_name] if range_name else None)

    # -- keys of items and requests -------------------------------------------------------------------

    def item_key(self, item: Item) -> tuple[str, str]:
        """The stored key of an item to write; refuses a missing, mistyped or empty key attribute."""
        for name in self.names:
            value = item.get(name)
            if value is None:
                raise invalid_parameter(f"Missing the key {name} in the item")
            self._check(name, value)
        return self._encode(item)

    def request_key(self, key: Item, *, starting: bool = False) -> tuple[str, str]:
        """The stored key named by a request's ``Key`` (or ``ExclusiveStartKey``)."""
        mismatch = "The provided key element does not match the schema"
        if starting:
            mismatch = "The provided starting key is invalid: " + mismatch
        if set(key) != set(self.names) and not starting:
            raise ValidationException(mismatch)
        for name in self.names:
            value = key.get(name)
            if value is None or type_of(value) != self.type_of(name):
                raise ValidationException(mismatch)
            self._check(name, value)
        return self._encode(key)

    def _check(self, name: str, value: AttributeValue) -> None:
        expected = self.type_of(name)
        actual = type_of(value)
        if actual != expected:
            raise invalid_parameter(f"Type mismatch for key {name} expected: {expected} actual: {actual}")
        if actual in ("S", "B") and len(value[actual]) == 0:
            raise ValidationException(
                "One or more parameter values are not valid. The AttributeValue for a key attribute cannot "
                f"contain an empty {'string' if actual == 'S' else 'binary'} value. Key: {name}"
            )

    def _encode(self, item: Item) -> tuple[str, str]:
        hash_key = encode_key(item[self.hash_name])
        range_key = encode_key(item[self.range_name]) if self.range_name is not None else ""
        return hash_key, range_key

    def key_of(self, item: Item) -> Item:
        return {name: item[name] for name in self.names}


def check_definition(params: dict[str, Any]) -> dict[str, Any]:
    """The definition Corral keeps for a CreateTable request, after DynamoDB's checks."""
    key_schema = params["KeySchema"]
    definitions = params["AttributeDefinitions"]
    if key_schema[0]["KeyType"] != "HASH":
        raise ValidationException("Invalid KeySchema: The first KeySchemaElement is not a HASH key type")
    if len(key_schema) > 1 and key_schema[1]["KeyType"] != "RANGE":
        raise ValidationException("Invalid KeySchema: The second KeySchemaElement is not a RANGE key type")
    if len(key_schema) > 1 and key_schema[0]["AttributeName"] == key_schema[1]["AttributeName"]:
        raise invalid_parameter(
            "Both the Hash Key and the Range Key element in the KeySchema have the same name"
        )
    defined = [d["AttributeName"] for d in definitions]
    if len(set(defined)) != len(defined):
        raise invalid_parameter("Duplicate AttributeName in AttributeDefinitions")
    key_names = [k["AttributeName"] for k in key_schema]
    missing = [name for name in key_names if name not in defined]
    if missing:
        raise invalid_parameter(
            "Some index key attributes are not defined in AttributeDefinitions. Keys: "
            f"[{', '.join(missing)}], AttributeDefinitions: [{', '.join(defined)}]"
        )
    if params.get("GlobalSecondaryIndexes") or params.get("LocalSecondaryIndexes"):
        raise ValidationException("Corral's DynamoDB does not offer secondary indexes")
    if len(defined) != len(key_names):
        raise invalid_parameter(
            "Number of attributes in KeySchema does not exactly match number of attributes defined in "
            "AttributeDefinitions"
        )
    billing = params.get("BillingMode", "PROVISIONED")
    throughput = params.get("ProvisionedThroughput")
    if billing == "PROVISIONED" and throughput is None:
        raise invalid_parameter(
            "ReadCapacityUnits and WriteCapacityUnits must both be specified when BillingMode is PROVISIONED"
        )
    if billing == "PAY_PER_REQUEST" and throughput is not None:
        raise invalid_parameter(
            "Neither ReadCapacityUnits nor WriteCapacityUnits can be specified when BillingMode is "
            "PAY_PER_REQUEST"
        )
    return {
        "KeySchema": key_schema,
        "AttributeDefinitions": definitions,
        "BillingMode": billing,
        "ProvisionedThroughput": throughput or {"ReadCapacityUnits": 0, "WriteCapacityUnits": 0},
        "Tags": params.get("Tags") or [],
    }
