"""The SNS API (botocore's ``sns`` model, query protocol) on top of SnsService."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any

from corral.services.sns.errors import (
    BatchEntryIdsNotDistinct,
    EmptyBatchRequest,
    InvalidBatchEntryId,
    InvalidParameter,
    SnsError,
    TooManyEntriesInBatchRequest,
)
from corral.services.sns.service import SnsService

Handler = Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]
_BATCH_ID = re.compile(r"^[A-Za-z0-9_-]{1,80}$")


class SnsAPI:
    def __init__(self, service: SnsService) -> None:
        self.service = service
        self._handlers: dict[str, Handler] = {
            "CreateTopic": self.create_topic,
            "DeleteTopic": self.delete_topic,
            "ListTopics": self.list_topics,
            "GetTopicAttributes": self.get_topic_attributes,
            "SetTopicAttributes": self.set_topic_attributes,
            "Subscribe": self.subscribe,
            "ConfirmSubscription": self.confirm_subscription,
            "Unsubscribe": self.unsubscribe,
            "ListSubscriptions": self.list_subscriptions,
            "ListSubscriptionsByTopic": self.list_subscriptions_by_topic,
            "GetSubscriptionAttributes": self.get_subscription_attributes,
            "SetSubscriptionAttributes": self.set_subscription_attributes,
            "Publish": self.publish,
            "PublishBatch": self.publish_batch,
            "TagResource": self.tag_resource,
            "UntagResource": self.untag_resource,
            "ListTagsForResource": self.list_tags_for_resource,
        }

    def handler(self, operation_name: str) -> Handler | None:
        return self._handlers.get(operation_name)

    async def create_topic(self, params: dict[str, Any]) -> dict[str, Any]:
        tags = {t["Key"]: t["Value"] for t in params.get("Tags") or []}
        return {"TopicArn": await self.service.create_topic(params["Name"], params.get("Attributes"), tags)}

    async def delete_topic(self, params: dict[str, Any]) -> dict[str, Any]:
        await self.service.delete_topic(params["TopicArn"])
        return {}

    async def list_topics(self, params: dict[str, Any]) -> dict[str, Any]:
        arns, token = await self.service.list_topics(params.get("NextToken"))
        result: dict[str, Any] = {"Topics": [{"TopicArn": a} for a in arns]}
        if token:
            result["NextToken"] = token
        return result

    async def get_topic_attributes(self, params: dict[str, Any]) -> dict[str, Any]:
        return {"Attributes": await self.service.get_topic_attributes(params["TopicArn"])}

    async def set_topic_attributes(self, params: dict[str, Any]) -> dict[str, Any]:
        await self.service.set_topic_attributes(
            params["TopicArn"], params["AttributeName"], params.get("AttributeValue")
        )
        return {}

    async def subscribe(self, params: dict[str, Any]) -> dict[str, Any]:
        subscription, answer = await self.service.subscribe(
            params["TopicArn"], params["Protocol"], params.get("Endpoint"), params.get("Attributes")
        )
        if params.get("ReturnSubscriptionArn"):
            answer = self.service.subscription_arn(subscription)
        return {"SubscriptionArn": answer}

    async def confirm_subscription(self, params: dict[str, Any]) -> dict[str, Any]:
        arn = await self.service.confirm_subscription(params["TopicArn"], params["Token"])
        return {"SubscriptionArn": arn}

    async def unsubscribe(self, params: dict[str, Any]) -> dict[str, Any]:
        await self.service.unsubscribe(params["SubscriptionArn"])
        return {}

    async def list_subscriptions(self, params: dict[str, Any]) -> dict[str, Any]:
        entries, token = await self.service.list_subscriptions(None, params.get("NextToken"))
        return {"Subscriptions": entries, **({"NextToken": token} if token else {})}

    async def list_subscriptions_by_topic(self, params: dict[str, Any]) -> dict[str, Any]:
        entries, token = await self.service.list_subscriptions(params["TopicArn"], params.get("NextToken"))
        return {"Subscriptions": entries, **({"NextToken": token} if token else {})}

    async def get_subscription_attributes(self, params: dict[str, Any]) -> dict[str, Any]:
        return {"Attributes": await self.service.get_subscription_attributes(params["SubscriptionArn"])}

    async def set_subscription_attributes(self, params: dict[str, Any]) -> dict[str, Any]:
        await self.service.set_subscription_attributes(
            params["SubscriptionArn"], params["AttributeName"], params.get("AttributeValue")
        )
        return {}

    async def publish(self, params: dict[str, Any]) -> dict[str, Any]:
        topic = params.get("TopicArn") or params.get("TargetArn")
        phone_number = params.get("PhoneNumber")
        if phone_number is not None:
            if topic:
                raise InvalidParameter(
                    "Invalid parameter: Only one of TopicArn, TargetArn or PhoneNumber may be given"
                )
            return await self.service.publish_to_phone(
                phone_number,
                params["Message"],
                params.get("Subject"),
                params.get("MessageStructure"),
                params.get("MessageAttributes"),
            )
        if not topic:
            raise InvalidParameter(
                "Invalid parameter: TopicArn or TargetArn Reason: no value for required parameter"
            )
        return await self.service.publish(
            topic,
            params["Message"],
            params.get("Subject"),
            params.get("MessageStructure"),
            params.get("MessageAttributes"),
            group_id=params.get("MessageGroupId"),
            deduplication_id=params.get("MessageDeduplicationId"),
        )

    async def publish_batch(self, params: dict[str, Any]) -> dict[str, Any]:
        entries = params.get("PublishBatchRequestEntries") or []
        if not entries:
            raise EmptyBatchRequest("The batch request doesn't contain any entries")
        if len(entries) > 10:
            raise TooManyEntriesInBatchRequest("The batch request contains more entries than permissible")
        ids = [e.get("Id", "") for e in entries]
        if any(not _BATCH_ID.match(i) for i in ids):
            raise InvalidBatchEntryId(
                "The Id of a batch entry in a batch request doesn't abide by the specification"
            )
        if len(set(ids)) != len(ids):
            raise BatchEntryIdsNotDistinct("Two or more batch entries in the request have the same Id")
        successful: list[dict[str, Any]] = []
        failed: list[dict[str, Any]] = []
        for entry in entries:
            try:
                result = await self.service.publish(
                    params["TopicArn"],
                    entry["Message"],
                    entry.get("Subject"),
                    entry.get("MessageStructure"),
                    entry.get("MessageAttributes"),
                    group_id=entry.get("MessageGroupId"),
                    deduplication_id=entry.get("MessageDeduplicationId"),
                )
            except SnsError as exc:
                if exc.status in (403, 404):  # the topic, not the entry: the whole request fails
                    raise
                code = exc.code.removesuffix("Exception")
                failed.append({"Id": entry["Id"], "Code": code, "Message": exc.message, "SenderFault": True})
                continue
            successful.append({"Id": entry["Id"], **result})
        return {"Successful": successful, "Failed": failed}

    async def tag_resource(self, params: dict[str, Any]) -> dict[str, Any]:
        tags = {t["Key"]: t["Value"] for t in params.get("Tags") or []}
        await self.service.tag_resource(params["ResourceArn"], tags)
        return {}

    async def untag_resource(self, params: dict[str, Any]) -> dict[str, Any]:
        await self.service.untag_resource(params["ResourceArn"], params.get("TagKeys") or [])
        return {}

    async def list_tags_for_resource(self, params: dict[str, Any]) -> dict[str, Any]:
        tags = await self.service.list_tags(params["ResourceArn"])
        return {"Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}
