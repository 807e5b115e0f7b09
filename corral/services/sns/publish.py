"""Publish and PublishBatch's entries: AWS's checks of the message, its structure and attributes, FIFO
topics' groups, deduplication and sequence numbers, then one delivery per confirmed subscription."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from typing import Any, Final

import orjson
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from corral.services.common import new_message_id
from corral.services.sns import filter_policy
from corral.services.sns.delivery import Delivery
from corral.services.sns.errors import InvalidParameter
from corral.services.sns.outbox import OutboxMixin
from corral.services.sns.rows import Subscription, subscription_from_row
from corral.services.sqs import fifo
from corral.store.schema import sns_subscriptions, sns_topics

MAX_MESSAGE_BYTES = 262144


E164: Final = re.compile(r"\+[1-9][0-9]{1,14}")
"""A phone number as SNS takes it for SMS: E.164, a plus and up to 15 digits."""


class PublishMixin(OutboxMixin):
    async def publish(
        self,
        topic_arn: str,
        message: str,
        subject: str | None = None,
        message_structure: str | None = None,
        message_attributes: Mapping[str, Mapping[str, Any]] | None = None,
        *,
        group_id: str | None = None,
        deduplication_id: str | None = None,
    ) -> dict[str, str]:
        """Publish to a topic, as Publish does; the interface the IoT rule action uses.

        ``message_attributes`` in the API's form (``{"name": {"DataType": "String", "StringValue": "v"}}``).
        Returns ``{"MessageId": ...}`` (and ``SequenceNumber`` for a FIFO topic). Raises the ``SnsError`` AWS
        would answer with; deliveries happen afterwards, in the background.
        """
        name = self._topic_name(topic_arn, "Publish")
        per_protocol = self._check_message(message, subject, message_structure)
        attributes = dict(message_attributes or {})
        self._check_attributes(attributes)
        result = {"MessageId": new_message_id()}
        async with self.store.begin() as conn:
            topic = await self._topic(conn, name)
            if topic.get("FifoTopic") == "true":
                earlier = await self._fifo_order(
                    conn, name, topic, message, group_id, deduplication_id, result
                )
                if earlier is not None:
                    return earlier  # a duplicate within five minutes: accepted, not delivered again
            elif group_id is not None or deduplication_id is not None:
                raise InvalidParameter(
                    "Invalid parameter: The request includes MessageGroupId or MessageDeduplicationId "
                    "parameter that is not valid for this topic type"
                )
            rows = (
                (
                    await conn.execute(
                        select(sns_subscriptions).where(
                            self._subscriptions_of(name), sns_subscriptions.c.confirmed
                        )
                    )
                )
                .mappings()
                .all()
            )
            now = self.clock()
            deliveries = []
            for row in rows:
                subscription = subscription_from_row(row)
                text = per_protocol.get(subscription.protocol, per_protocol["default"])
                if not _wanted(subscription, text, attributes):
                    continue
                sequence = result.get("SequenceNumber")
                message_id = result["MessageId"]
                deliveries.append(
                    self._notification_delivery(
                        subscription, message_id, text, subject, attributes, now, topic, group_id, sequence
                    )
                )
            await self._enqueue(conn, deliveries)
        self._start(deliveries)
        return result

    async def publish_to_phone(
        self,
        phone_number: str,
        message: str,
        subject: str | None = None,
        message_structure: str | None = None,
        message_attributes: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> dict[str, str]:
        """Publish with ``PhoneNumber``: one SMS, straight to the number (no topic, no subscription), through
        the configured SMS gateway; durable and retried like a subscription's delivery."""
        if not E164.fullmatch(phone_number):
            raise InvalidParameter("Invalid parameter: PhoneNumber Reason: input incorrectly formatted")
        per_protocol = self._check_message(message, subject, message_structure)
        self._check_attributes(dict(message_attributes or {}))
        result = {"MessageId": new_message_id()}
        delivery = Delivery(
            subscription_id="",
            protocol="sms",
            endpoint=phone_number,
            body=per_protocol.get("sms", per_protocol["default"]),
        )
        async with self.store.begin() as conn:
            await self._enqueue(conn, [delivery])
        self._start([delivery])
        return result

    async def _fifo_order(
        self,
        conn: AsyncConnection,
        name: str,
        topic: Mapping[str, str],
        message: str,
        group_id: str | None,
        deduplication_id: str | None,
        result: dict[str, str],
    ) -> dict[str, str] | None:
        """Gives ``result`` its SequenceNumber; answers the first message's ids for a duplicate instead."""
        if not group_id:
            raise InvalidParameter(
                "Invalid parameter: The MessageGroupId parameter is required for FIFO topics"
            )
        if deduplication_id is None:
            if topic.get("ContentBasedDeduplication") != "true":
                raise InvalidParameter(
                    "Invalid parameter: The topic should either have ContentBasedDeduplication enabled or "
                    "MessageDeduplicationId provided explicitly"
                )
            deduplication_id = hashlib.sha256(message.encode()).hexdigest()
        now = self.clock()
        target = f"sns:{name}"
        earlier = await fifo.deduplicated(conn, self.account_id, target, deduplication_id, now)
        if earlier is not None:
            message_id, sequence = earlier
            return {"MessageId": message_id, **({"SequenceNumber": sequence} if sequence else {})}
        number = (
            await conn.execute(
                update(sns_topics)
                .where(self._topic_key(name))
                .values(last_sequence=sns_topics.c.last_sequence + 1)
                .returning(sns_topics.c.last_sequence)
            )
        ).scalar_one()
        result["SequenceNumber"] = fifo.sequence_number(int(number))
        await fifo.remember(
            conn,
            self.account_id,
            target,
            deduplication_id,
            result["MessageId"],
            result["SequenceNumber"],
            now,
        )
        return None

    @staticmethod
    def _check_message(message: str, subject: str | None, structure: str | None) -> dict[str, str]:
        if message is None or message == "":
            raise InvalidParameter("Invalid parameter: Empty message")
        if len(message.encode()) > MAX_MESSAGE_BYTES:
            raise InvalidParameter("Invalid parameter: Message too long")
        if subject is not None and (
            not subject or len(subject) > 100 or not subject.isprintable() or not subject.isascii()
        ):
            raise InvalidParameter("Invalid parameter: Subject")
        if structure is None:
            return {"default": message}
        if structure != "json":
            raise InvalidParameter("Invalid parameter: MessageStructure")
        try:
            document = orjson.loads(message)
        except orjson.JSONDecodeError:
            raise InvalidParameter(
                "Invalid parameter: Message Structure - JSON message body failed to parse"
            ) from None
        if not isinstance(document, dict) or not isinstance(document.get("default"), str):
            raise InvalidParameter(
                "Invalid parameter: Message Structure - No default entry in JSON message body"
            )
        return {k: v for k, v in document.items() if isinstance(v, str)}

    @staticmethod
    def _check_attributes(attributes: Mapping[str, Mapping[str, Any]]) -> None:
        if len(attributes) > 10:
            raise InvalidParameter(
                "Invalid parameter: Number of message attributes exceeds the allowed maximum 10"
            )
        for key, value in attributes.items():
            data_type = value.get("DataType", "")
            if data_type.split(".", 1)[0] not in ("String", "Number", "Binary"):
                raise InvalidParameter(
                    f"Invalid parameter: MessageAttributes Reason: The message attribute '{key}' "
                    "has an invalid "
                    "message attribute type, the set of supported type prefixes is Binary, Number, "
                    "and String."
                )
            if value.get("StringValue") is None and value.get("BinaryValue") is None:
                raise InvalidParameter(
                    f"Invalid parameter: MessageAttributes Reason: The message attribute '{key}' "
                    "must contain "
                    "non-empty message attribute value"
                )


def _wanted(subscription: Subscription, text: str, attributes: Mapping[str, Mapping[str, Any]]) -> bool:
    """Whether the subscription's FilterPolicy (if any) lets this message through."""
    document = subscription.attributes.get("FilterPolicy")
    if not document:
        return True
    scope = subscription.attributes.get("FilterPolicyScope", "MessageAttributes")
    policy = filter_policy.parse(document, scope)
    if scope == "MessageBody":
        return filter_policy.matches_body(policy, text)
    return filter_policy.matches_attributes(policy, attributes)
