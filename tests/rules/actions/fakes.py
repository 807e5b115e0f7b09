"""In-memory stand-ins for the services the service actions write to: they record each call and raise the
embedded services' own errors when told to."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from corral.errors import AWSServiceError


class NotFound(AWSServiceError):
    code = "ResourceNotFoundException"
    status = 400


@dataclass
class Recorder:
    calls: list[tuple[Any, ...]] = field(default_factory=list)
    missing: set[str] = field(default_factory=set)

    def record(self, resource: str, *call: Any) -> None:
        if resource in self.missing:
            raise NotFound(f"Requested resource not found: {resource}")
        self.calls.append(call)


class FakeSqs(Recorder):
    async def send_message(self, queue_url_or_name: str, body: str) -> Any:
        self.record(queue_url_or_name, queue_url_or_name, body)


class FakeSns(Recorder):
    async def publish(
        self, topic_arn: str, message: str, subject: str | None = None, message_structure: str | None = None
    ) -> Any:
        self.record(topic_arn, topic_arn, message, subject, message_structure)


class FakeDynamoDb(Recorder):
    async def put_item_simple(self, table: str, item: dict[str, dict[str, Any]]) -> None:
        self.record(table, "put", table, item)

    async def update_item_simple(
        self,
        table: str,
        key: dict[str, dict[str, Any]],
        update_expression: str,
        *,
        names: dict[str, str] | None = None,
        values: dict[str, dict[str, Any]] | None = None,
    ) -> Any:
        self.record(table, "update", table, key, update_expression, names, values)

    async def delete_item_simple(self, table: str, key: dict[str, dict[str, Any]]) -> None:
        self.record(table, "delete", table, key)


class FakeS3(Recorder):
    async def put_object(self, bucket: str, key: str, body: bytes, content_type: str | None = None) -> Any:
        self.record(bucket, bucket, key, body)


class FakeKinesis(Recorder):
    async def put_record(self, stream: str, data: bytes, partition_key: str) -> Any:
        self.record(stream, stream, data, partition_key)


class FakeFirehose(Recorder):
    failed: int = 0

    async def put_record(self, delivery_stream: str, data: bytes) -> Any:
        self.record(delivery_stream, "one", delivery_stream, data)

    async def put_record_batch(self, delivery_stream: str, records: Sequence[bytes]) -> Any:
        self.record(delivery_stream, "batch", delivery_stream, list(records))
        return {"FailedPutCount": self.failed}


class FakeCloudWatch(Recorder):
    async def put_metric_data_batch(self, namespace: str, data: Sequence[Mapping[str, Any]]) -> Any:
        self.record(namespace, "metric", namespace, [dict(d) for d in data])

    async def set_alarm_state(self, alarm_name: str, state_value: str, state_reason: str) -> Any:
        self.record(alarm_name, "alarm", alarm_name, state_value, state_reason)


class FakeLogs(Recorder):
    streams: set[tuple[str, str]]

    async def create_log_stream(self, group: str, stream: str) -> Any:
        if not hasattr(self, "streams"):
            self.streams = set()
        self.record(group, "create", group, stream)
        self.streams.add((group, stream))

    async def put_log_events(self, group: str, stream: str, events: Sequence[Mapping[str, Any]]) -> Any:
        if (group, stream) not in getattr(self, "streams", set()):
            raise NotFound(f"The specified log stream does not exist: {stream}")
        self.record(group, group, stream, [dict(e) for e in events])
