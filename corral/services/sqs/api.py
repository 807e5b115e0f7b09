"""The SQS API (botocore's ``sqs`` model, JSON protocol, query-compatible errors) on top of SqsService.

Each handler turns the parsed parameters into a service call and its answer into the model's output shape.
Batch operations check the batch as a whole here (empty, too many entries, ids) before each entry succeeds or
fails on its own.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from corral.services.sqs.errors import (
    BatchEntryIdsNotDistinct,
    EmptyBatchRequest,
    InvalidBatchEntryId,
    SqsError,
    TooManyEntriesInBatchRequest,
)
from corral.services.sqs.service import SqsService

Handler = Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]

_BATCH_ID = re.compile(r"^[A-Za-z0-9_-]{1,80}$")


def check_batch(entries: Sequence[Mapping[str, Any]], entry_shape: str) -> None:
    if not entries:
        raise EmptyBatchRequest(f"There should be at least one {entry_shape} in the request.")
    if len(entries) > 10:
        raise TooManyEntriesInBatchRequest(
            f"Maximum number of entries per request are 10. You have sent {len(entries)}."
        )
    seen: set[str] = set()
    for entry in entries:
        entry_id = entry.get("Id", "")
        if not _BATCH_ID.match(entry_id):
            raise InvalidBatchEntryId(
                "A batch entry id can only contain alphanumeric characters, hyphens and underscores. "
                "It can be "
                "at most 80 letters long."
            )
        if entry_id in seen:
            raise BatchEntryIdsNotDistinct(f"Id {entry_id} repeated.")
        seen.add(entry_id)


class SqsAPI:
    def __init__(self, service: SqsService) -> None:
        self.service = service
        self._handlers: dict[str, Handler] = {
            "CreateQueue": self.create_queue,
            "GetQueueUrl": self.get_queue_url,
            "ListQueues": self.list_queues,
            "DeleteQueue": self.delete_queue,
            "PurgeQueue": self.purge_queue,
            "GetQueueAttributes": self.get_queue_attributes,
            "SetQueueAttributes": self.set_queue_attributes,
            "TagQueue": self.tag_queue,
            "UntagQueue": self.untag_queue,
            "ListQueueTags": self.list_queue_tags,
            "ListDeadLetterSourceQueues": self.list_dead_letter_source_queues,
            "SendMessage": self.send_message,
            "SendMessageBatch": self.send_message_batch,
            "ReceiveMessage": self.receive_message,
            "DeleteMessage": self.delete_message,
            "DeleteMessageBatch": self.delete_message_batch,
            "ChangeMessageVisibility": self.change_message_visibility,
            "ChangeMessageVisibilityBatch": self.change_message_visibility_batch,
        }

    def handler(self, operation_name: str) -> Handler | None:
        return self._handlers.get(operation_name)

    async def create_queue(self, params: dict[str, Any]) -> dict[str, Any]:
        url = await self.service.create_queue(
            params["QueueName"], params.get("Attributes"), params.get("tags")
        )
        return {"QueueUrl": url}

    async def get_queue_url(self, params: dict[str, Any]) -> dict[str, Any]:
        url = await self.service.get_queue_url(params["QueueName"], params.get("QueueOwnerAWSAccountId"))
        return {"QueueUrl": url}

    async def list_queues(self, params: dict[str, Any]) -> dict[str, Any]:
        urls, token = await self.service.list_queues(
            params.get("QueueNamePrefix"), params.get("MaxResults"), params.get("NextToken")
        )
        result: dict[str, Any] = {}
        if urls:
            result["QueueUrls"] = urls
        if token:
            result["NextToken"] = token
        return result

    async def delete_queue(self, params: dict[str, Any]) -> dict[str, Any]:
        await self.service.delete_queue(params["QueueUrl"])
        return {}

    async def purge_queue(self, params: dict[str, Any]) -> dict[str, Any]:
        await self.service.purge_queue(params["QueueUrl"])
        return {}

    async def get_queue_attributes(self, params: dict[str, Any]) -> dict[str, Any]:
        values = await self.service.get_queue_attributes(params["QueueUrl"], params.get("AttributeNames"))
        return {"Attributes": values} if values else {}

    async def set_queue_attributes(self, params: dict[str, Any]) -> dict[str, Any]:
        await self.service.set_queue_attributes(params["QueueUrl"], params.get("Attributes") or {})
        return {}

    async def tag_queue(self, params: dict[str, Any]) -> dict[str, Any]:
        await self.service.tag_queue(params["QueueUrl"], params.get("Tags") or {})
        return {}

    async def untag_queue(self, params: dict[str, Any]) -> dict[str, Any]:
        await self.service.untag_queue(params["QueueUrl"], params.get("TagKeys") or [])
        return {}

    async def list_queue_tags(self, params: dict[str, Any]) -> dict[str, Any]:
        tags = await self.service.list_queue_tags(params["QueueUrl"])
        return {"Tags": tags} if tags else {}

    async def list_dead_letter_source_queues(self, params: dict[str, Any]) -> dict[str, Any]:
        return {"queueUrls": await self.service.list_dead_letter_source_queues(params["QueueUrl"])}

    async def send_message(self, params: dict[str, Any]) -> dict[str, Any]:
        result = await self.service.send_message(
            params["QueueUrl"],
            params["MessageBody"],
            delay_seconds=params.get("DelaySeconds"),
            message_attributes=params.get("MessageAttributes"),
            system_attributes=params.get("MessageSystemAttributes"),
            group_id=params.get("MessageGroupId"),
            deduplication_id=params.get("MessageDeduplicationId"),
        )
        return result.output()

    async def send_message_batch(self, params: dict[str, Any]) -> dict[str, Any]:
        entries = params.get("Entries") or []
        check_batch(entries, "SendMessageBatchRequestEntry")
        successful, failed = await self.service.send_message_batch(params["QueueUrl"], entries)
        return {"Successful": successful, "Failed": failed}

    async def receive_message(self, params: dict[str, Any]) -> dict[str, Any]:
        names = [*(params.get("AttributeNames") or []), *(params.get("MessageSystemAttributeNames") or [])]
        messages = await self.service.receive_message(
            params["QueueUrl"],
            max_messages=params.get("MaxNumberOfMessages"),
            visibility_timeout=params.get("VisibilityTimeout"),
            wait_seconds=params.get("WaitTimeSeconds"),
            system_attribute_names=names,
            message_attribute_names=params.get("MessageAttributeNames") or [],
        )
        return {"Messages": messages} if messages else {}

    async def delete_message(self, params: dict[str, Any]) -> dict[str, Any]:
        await self.service.delete_message(params["QueueUrl"], params["ReceiptHandle"])
        return {}

    async def delete_message_batch(self, params: dict[str, Any]) -> dict[str, Any]:
        entries = params.get("Entries") or []
        check_batch(entries, "DeleteMessageBatchRequestEntry")
        return await self._each(
            entries, lambda e: self.service.delete_message(params["QueueUrl"], e["ReceiptHandle"])
        )

    async def change_message_visibility(self, params: dict[str, Any]) -> dict[str, Any]:
        await self.service.change_message_visibility(
            params["QueueUrl"], params["ReceiptHandle"], params["VisibilityTimeout"]
        )
        return {}

    async def change_message_visibility_batch(self, params: dict[str, Any]) -> dict[str, Any]:
        entries = params.get("Entries") or []
        check_batch(entries, "ChangeMessageVisibilityBatchRequestEntry")
        return await self._each(
            entries,
            lambda e: self.service.change_message_visibility(
                params["QueueUrl"], e["ReceiptHandle"], e.get("VisibilityTimeout", 0)
            ),
        )

    @staticmethod
    async def _each(
        entries: Sequence[Mapping[str, Any]], action: Callable[[Mapping[str, Any]], Awaitable[None]]
    ) -> dict[str, Any]:
        successful: list[dict[str, Any]] = []
        failed: list[dict[str, Any]] = []
        for entry in entries:
            try:
                await action(entry)
            except SqsError as exc:
                if exc.code == "QueueDoesNotExist":
                    raise
                failed.append(
                    {"Id": entry["Id"], "SenderFault": True, "Code": exc.code, "Message": exc.message}
                )
            else:
                successful.append({"Id": entry["Id"]})
        return {"Successful": successful, "Failed": failed}
