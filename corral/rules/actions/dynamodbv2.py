"""The dynamoDBv2 action: the statement's output written as a whole DynamoDB item, one column per attribute.

AWS (developerguide/dynamodb-v2-rule-action.html, API DynamoDBv2Action): ``putItem.tableName`` (required,
templates), ``roleArn`` (required, kept, unused). The output must be a JSON object holding the table's key
attributes; each of its attributes becomes a column of DynamoDB's type (string S, number N, boolean BOOL, null
NULL, array L, object M), and PutItem replaces any item with that key. An output that is not a JSON object, a
missing key attribute or a missing table is a failed action.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from corral.rules.actions.base import ActionContext, ActionError, ActionServices, ActionSpecError
from corral.rules.actions.calls import call, missing
from corral.rules.actions.common import role_arn, scoped, template
from corral.rules.actions.dynamodb import attribute
from corral.rules.templates import Template, TemplateCompiler


@dataclass(frozen=True, slots=True)
class DynamoDbV2Action:
    table: Template
    services: ActionServices
    failed_action: str = "DynamoDBv2Action"

    async def run(self, payload: bytes, ctx: ActionContext) -> None:
        table = await ctx.render(self.table)
        try:
            document = orjson.loads(payload)
        except orjson.JSONDecodeError:
            document = None
        if not isinstance(document, dict):
            raise ActionError("The message payload must be a JSON object to be written as an item", table)
        item = {str(name): attribute(value) for name, value in document.items()}
        dynamodb = self.services.dynamodb
        if dynamodb is None:
            raise missing("DynamoDB", table)
        await call(dynamodb.put_item_simple(table, item), table)


def build(spec: Mapping[str, Any], compile: TemplateCompiler, services: ActionServices) -> DynamoDbV2Action:
    role_arn(spec, "dynamoDBv2")
    services = scoped(services, "dynamoDBv2")
    put_item = spec.get("putItem")
    if not isinstance(put_item, Mapping):
        raise ActionSpecError("The dynamoDBv2 action requires putItem")
    return DynamoDbV2Action(template(put_item, "tableName", "dynamoDBv2", compile), services)
