"""The dynamoDB action: the statement's output written into one column of a DynamoDB item.

AWS (developerguide/dynamodb-rule-action.html, API DynamoDBAction): ``tableName``, ``hashKeyField``,
``hashKeyValue`` (required), ``hashKeyType`` ``STRING`` (default) or ``NUMBER``, ``rangeKeyField``,
``rangeKeyValue``, ``rangeKeyType`` (optional, together), ``operation`` ``INSERT`` (default), ``UPDATE`` or
``DELETE`` (a template that must render to one of them), ``payloadField`` (the column the output goes to,
``payload`` by default), ``roleArn`` (required, kept, unused). Every name and value is a template
(``"hashKeyValue": "${topic(2)}"``, ``"rangeKeyValue": "${timestamp()}"``).

INSERT is PutItem of the key and the output; UPDATE is UpdateItem setting the output column on the item with
that key (creating it if absent); DELETE is DeleteItem of that key. A JSON output is written as DynamoDB
types (an object is a map); anything else is binary, as AWS does. A missing table, a key that does not match
the table's schema or a NUMBER key that is not a number is a failed action.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

import orjson

from corral.rules.actions.base import ActionContext, ActionError, ActionServices, ActionSpecError
from corral.rules.actions.calls import call, missing
from corral.rules.actions.common import choice, optional_template, role_arn, scoped, template
from corral.rules.actions.ports import Item
from corral.rules.templates import Template, TemplateCompiler

KEY_TYPES = ("STRING", "NUMBER")
OPERATIONS = ("INSERT", "UPDATE", "DELETE")


def attribute(value: Any) -> dict[str, Any]:
    """A JSON value as a DynamoDB attribute value (numbers keep their JSON text)."""
    if value is None:
        return {"NULL": True}
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, int | float):
        return {"N": repr(value)}
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, list):
        return {"L": [attribute(v) for v in value]}
    if isinstance(value, dict):
        return {"M": {str(k): attribute(v) for k, v in value.items()}}
    raise TypeError(f"not a JSON value: {value!r}")


def plain(value: Mapping[str, Any]) -> Any:
    """A DynamoDB attribute value as JSON (what ``get_dynamodb()`` answers): numbers as Int or Decimal, sets
    as arrays, binary as base64 text."""
    ((kind, content),) = value.items()
    if kind == "NULL":
        return None
    if kind in ("S", "BOOL"):
        return content
    if kind == "N":
        number = Decimal(content)
        return int(number) if number == number.to_integral_value() else float(number)
    if kind == "B":
        return base64.b64encode(content).decode("ascii") if isinstance(content, bytes) else content
    if kind == "L":
        return [plain(item) for item in content]
    if kind == "M":
        return {name: plain(item) for name, item in content.items()}
    if kind in ("SS", "NS", "BS"):
        member = kind[0]
        return [plain({member: item}) for item in content]
    raise ValueError(f"not a DynamoDB attribute value: {value!r}")


def payload_attribute(payload: bytes) -> dict[str, Any]:
    """The statement output as one attribute: its JSON value, or binary when it is not JSON."""
    try:
        return attribute(orjson.loads(payload))
    except orjson.JSONDecodeError:
        return {"B": payload}


@dataclass(frozen=True, slots=True)
class KeyPart:
    field: Template
    value: Template
    type: str

    async def render(self, ctx: ActionContext, table: str) -> tuple[str, dict[str, Any]]:
        name = await ctx.render(self.field)
        value = await ctx.render(self.value)
        if self.type == "NUMBER":
            try:
                Decimal(value)
            except InvalidOperation as exc:
                raise ActionError(f"The key value {value!r} of {name} is not a NUMBER", table) from exc
            return name, {"N": value}
        return name, {"S": value}


@dataclass(frozen=True, slots=True)
class DynamoDbAction:
    table: Template
    hash_key: KeyPart
    range_key: KeyPart | None
    operation: Template
    payload_field: str
    services: ActionServices
    failed_action: str = "DynamoDBAction"

    async def run(self, payload: bytes, ctx: ActionContext) -> None:
        table = await ctx.render(self.table)
        operation = await ctx.render(self.operation)
        if operation not in OPERATIONS:
            raise ActionError(f"Invalid operation {operation!r}: must be INSERT, UPDATE or DELETE", table)
        key: Item = dict([await self.hash_key.render(ctx, table)])
        if self.range_key is not None:
            name, value = await self.range_key.render(ctx, table)
            key[name] = value
        dynamodb = self.services.dynamodb
        if dynamodb is None:
            raise missing("DynamoDB", table)
        if operation == "DELETE":
            await call(dynamodb.delete_item_simple(table, key), table)
        elif operation == "UPDATE":
            update = dynamodb.update_item_simple(
                table, key, "SET #payload = :payload",
                names={"#payload": self.payload_field}, values={":payload": payload_attribute(payload)},
            )  # fmt: skip
            await call(update, table)
        else:
            item = {self.payload_field: payload_attribute(payload), **key}
            await call(dynamodb.put_item_simple(table, item), table)


def _key_part(spec: Mapping[str, Any], prefix: str, compile: TemplateCompiler) -> KeyPart:
    key_type = choice(spec, f"{prefix}Type", "dynamoDB", KEY_TYPES, "STRING")
    return KeyPart(
        template(spec, f"{prefix}Field", "dynamoDB", compile),
        template(spec, f"{prefix}Value", "dynamoDB", compile),
        key_type,
    )


def build(spec: Mapping[str, Any], compile: TemplateCompiler, services: ActionServices) -> DynamoDbAction:
    role_arn(spec, "dynamoDB")
    services = scoped(services, "dynamoDB")
    has_range = any(spec.get(f"rangeKey{part}") is not None for part in ("Field", "Value", "Type"))
    range_key = _key_part(spec, "rangeKey", compile) if has_range else None
    operation = optional_template(spec, "operation", "dynamoDB", compile) or compile("INSERT")
    if operation.is_constant and operation.source not in OPERATIONS:
        raise ActionSpecError("The dynamoDB action's operation must be INSERT, UPDATE or DELETE")
    payload_field = spec.get("payloadField") or "payload"
    if not isinstance(payload_field, str):
        raise ActionSpecError("The dynamoDB action's payloadField must be a string")
    return DynamoDbAction(
        template(spec, "tableName", "dynamoDB", compile),
        _key_part(spec, "hashKey", compile),
        range_key,
        operation,
        payload_field,
        services,
    )
