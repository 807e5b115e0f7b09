"""The DynamoDB JSON API (``DynamoDB_20120810.*``): each implemented operation goes to the service method of
the same name; the others answer as DynamoDB answers an operation it does not know."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any

from corral.services.dynamodb.service import DynamoDbService

Handler = Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]

OPERATIONS = (
    "CreateTable",
    "DescribeTable",
    "ListTables",
    "DeleteTable",
    "PutItem",
    "GetItem",
    "UpdateItem",
    "DeleteItem",
    "Query",
    "Scan",
    "BatchWriteItem",
    "BatchGetItem",
)


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


class DynamoDbAPI:
    def __init__(self, service: DynamoDbService) -> None:
        self._handlers: dict[str, Handler] = {name: getattr(service, _snake(name)) for name in OPERATIONS}

    def handler(self, operation_name: str) -> Handler | None:
        return self._handlers.get(operation_name)
