"""What the service actions call: one small interface per service, met by the embedded service objects of
``corral/services`` and, in external mode, by the boto3 adapters of :mod:`corral.rules.actions.external`.

Each method raises :class:`corral.errors.AWSServiceError` (embedded) or botocore's errors (external) when the
service refuses; :func:`corral.rules.actions.calls.call` turns either into the action's ``ActionError``.
Values are in the services' API form (DynamoDB items as ``{"S": ...}`` attribute values, bodies as bytes).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

Item = dict[str, dict[str, Any]]


class SqsPort(Protocol):
    async def send_message(self, queue_url_or_name: str, body: str) -> Any: ...


class SnsPort(Protocol):
    async def publish(
        self,
        topic_arn: str,
        message: str,
        subject: str | None = None,
        message_structure: str | None = None,
    ) -> Any: ...


class DynamoDbPort(Protocol):
    async def put_item_simple(self, table: str, item: Item) -> None: ...

    async def update_item_simple(
        self,
        table: str,
        key: Item,
        update_expression: str,
        *,
        names: dict[str, str] | None = None,
        values: Item | None = None,
    ) -> Any: ...

    async def delete_item_simple(self, table: str, key: Item) -> None: ...

    async def get_item_simple(self, table: str, key: Item) -> Item | None: ...


class S3Port(Protocol):
    async def put_object(
        self, bucket: str, key: str, body: bytes, content_type: str | None = None
    ) -> Any: ...


class KinesisPort(Protocol):
    async def put_record(self, stream: str, data: bytes, partition_key: str) -> Any: ...


class FirehosePort(Protocol):
    async def put_record(self, delivery_stream: str, data: bytes) -> Any: ...

    async def put_record_batch(self, delivery_stream: str, records: Sequence[bytes]) -> Any: ...


class CloudWatchPort(Protocol):
    async def put_metric_data_batch(self, namespace: str, data: Sequence[Mapping[str, Any]]) -> Any: ...

    async def set_alarm_state(self, alarm_name: str, state_value: str, state_reason: str) -> Any: ...


class LogsPort(Protocol):
    async def create_log_stream(self, group: str, stream: str) -> Any: ...

    async def put_log_events(self, group: str, stream: str, events: Sequence[Mapping[str, Any]]) -> Any: ...
