"""The subscription operations of SnsService: Subscribe (confirmed at once for sqs, lambda and sms; a
confirmation sent to e-mail and HTTP(S) endpoints), ConfirmSubscription, Unsubscribe (an
UnsubscribeConfirmation to HTTP(S) endpoints), attributes and listing."""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping

from sqlalchemy import RowMapping, delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from corral.services.common import iso_millis, new_message_id, parse_arn
from corral.services.sns import filter_policy
from corral.services.sns.errors import InvalidParameter, NotFound
from corral.services.sns.outbox import OutboxMixin
from corral.services.sns.rows import PAGE, Subscription, decode_token, encode_token, subscription_from_row
from corral.store.schema import sns_subscriptions

PROTOCOLS = ("email", "email-json", "http", "https", "sms", "lambda", "sqs")
CONFIRMED_AT_ONCE = ("sms", "lambda", "sqs")
SUBSCRIPTION_ATTRIBUTES = (
    "RawMessageDelivery",
    "FilterPolicy",
    "FilterPolicyScope",
    "DeliveryPolicy",
    "RedrivePolicy",
    "SubscriptionRoleArn",
)
_PHONE = re.compile(r"^\+?[0-9]{5,15}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")


class SubscriptionsMixin(OutboxMixin):
    async def subscribe(
        self, topic_arn: str, protocol: str, endpoint: str | None, attributes: Mapping[str, str] | None = None
    ) -> tuple[Subscription, str]:
        """The subscription and what Subscribe answers as its ARN (``pending confirmation`` while pending,
        unless the caller asked for the ARN)."""
        name = self._topic_name(topic_arn, "Subscribe")
        protocol = (protocol or "").lower()
        if protocol not in PROTOCOLS:
            raise InvalidParameter(
                "Invalid parameter: Amazon SNS does not support this protocol string: " + protocol
            )
        endpoint = self._check_endpoint(protocol, endpoint or "")
        attributes = dict(attributes or {})
        for key in attributes:
            if key not in SUBSCRIPTION_ATTRIBUTES:
                raise InvalidParameter(f"Invalid parameter: Attributes Reason: Unknown attribute {key}")
        _check_filter(attributes)
        async with self.store.begin() as conn:
            await self._topic(conn, name)
            existing = (
                (
                    await conn.execute(
                        select(sns_subscriptions).where(
                            self._subscriptions_of(name),
                            sns_subscriptions.c.protocol == protocol,
                            sns_subscriptions.c.endpoint == endpoint,
                        )
                    )
                )
                .mappings()
                .first()
            )
            if existing is not None:
                subscription = subscription_from_row(existing)
                if subscription.confirmed or subscription.token is None:
                    return subscription, self.subscription_arn(subscription)
            else:
                confirmed = protocol in CONFIRMED_AT_ONCE
                subscription = Subscription(
                    new_message_id(),
                    name,
                    protocol,
                    endpoint,
                    attributes,
                    confirmed,
                    None if confirmed else secrets.token_hex(64),
                )
                await conn.execute(
                    insert(sns_subscriptions).values(
                        account_id=self.account_id,
                        subscription_id=subscription.id,
                        topic_name=name,
                        protocol=protocol,
                        endpoint=endpoint,
                        attributes=attributes,
                        confirmed=confirmed,
                        token=subscription.token,
                        created_at=self.clock(),
                        deliveries=0,
                        delivery_failures=0,
                        last_failure=None,
                        last_failure_at=None,
                    )
                )
            outgoing = [] if subscription.confirmed else [self._confirmation_delivery(subscription)]
            await self._enqueue(conn, outgoing)
        self._start(outgoing)
        if not subscription.confirmed:
            return subscription, "pending confirmation"
        return subscription, self.subscription_arn(subscription)

    def _check_endpoint(self, protocol: str, endpoint: str) -> str:
        if protocol in ("email", "email-json"):
            ok = bool(_EMAIL.match(endpoint))
        elif protocol in ("http", "https"):
            ok = endpoint.lower().startswith(f"{protocol}://")
        elif protocol == "sms":
            ok = bool(_PHONE.match(endpoint.replace("-", "").replace(" ", "")))
        else:
            ok = parse_arn(endpoint, protocol) is not None
        if not ok:
            raise InvalidParameter(
                "Invalid parameter: SQS endpoint ARN" if protocol == "sqs" else "Invalid parameter: Endpoint"
            )
        return endpoint

    async def confirm_subscription(self, topic_arn: str, token: str) -> str:
        name = self._topic_name(topic_arn, "ConfirmSubscription")
        async with self.store.begin() as conn:
            await self._topic(conn, name)
            row = (
                (
                    await conn.execute(
                        select(sns_subscriptions).where(
                            self._subscriptions_of(name), sns_subscriptions.c.token == token
                        )
                    )
                )
                .mappings()
                .first()
            )
            if row is None:
                raise InvalidParameter("Invalid token")
            subscription = subscription_from_row(row)
            await conn.execute(
                update(sns_subscriptions)
                .where(self._subscription_key(subscription.id))
                .values(confirmed=True, token=None)
            )
        return self.subscription_arn(subscription)

    async def _subscription_row(self, conn: AsyncConnection, subscription_id: str) -> RowMapping:
        """The subscription's row; NotFound when there is none."""
        query = select(sns_subscriptions).where(self._subscription_key(subscription_id))
        row = (await conn.execute(query)).mappings().first()
        if row is None:
            raise NotFound("Subscription does not exist")
        return row

    async def unsubscribe(self, subscription_arn: str) -> None:
        subscription_id = self._subscription_id(subscription_arn)
        async with self.store.begin() as conn:
            row = await self._subscription_row(conn, subscription_id)
            await conn.execute(delete(sns_subscriptions).where(self._subscription_key(subscription_id)))
            subscription = subscription_from_row(row)
            outgoing = []
            if subscription.protocol in ("http", "https") and subscription.confirmed:
                token = secrets.token_hex(64)
                outgoing.append(self._confirmation_delivery(subscription, "UnsubscribeConfirmation", token))
            await self._enqueue(conn, outgoing)
        self._start(outgoing)

    async def get_subscription_attributes(self, subscription_arn: str) -> dict[str, str]:
        subscription_id = self._subscription_id(subscription_arn)
        async with self.store.read() as conn:
            row = await self._subscription_row(conn, subscription_id)
        subscription = subscription_from_row(row)
        values = {
            "SubscriptionArn": self.subscription_arn(subscription),
            "TopicArn": self.topic_arn(subscription.topic_name),
            "Owner": self.account_id,
            "Protocol": subscription.protocol,
            "Endpoint": subscription.endpoint,
            "ConfirmationWasAuthenticated": "true" if subscription.confirmed else "false",
            "PendingConfirmation": "false" if subscription.confirmed else "true",
            "RawMessageDelivery": "false",
            "SubscriptionPrincipal": f"arn:aws:iam::{self.account_id}:root",
            **subscription.attributes,
            # Corral's own: what became of the deliveries to this subscriber.
            "CorralDeliveries": str(row["deliveries"]),
            "CorralDeliveryFailures": str(row["delivery_failures"]),
        }
        if row["last_failure"] is not None:
            values["CorralLastDeliveryFailure"] = row["last_failure"]
            values["CorralLastDeliveryFailureTime"] = iso_millis(row["last_failure_at"])
        return values

    async def set_subscription_attributes(self, subscription_arn: str, name: str, value: str | None) -> None:
        subscription_id = self._subscription_id(subscription_arn)
        if name not in SUBSCRIPTION_ATTRIBUTES:
            raise InvalidParameter("Invalid parameter: AttributeName")
        if name == "RawMessageDelivery" and (value or "").lower() not in ("true", "false"):
            raise InvalidParameter("Invalid parameter: Attributes Reason: RawMessageDelivery: Invalid value")
        async with self.store.begin() as conn:
            row = await self._subscription_row(conn, subscription_id)
            attributes = dict(row["attributes"])
            if value:
                attributes[name] = value.lower() if name == "RawMessageDelivery" else value
            else:
                attributes.pop(name, None)
            _check_filter(attributes)
            await conn.execute(
                update(sns_subscriptions)
                .where(self._subscription_key(subscription_id))
                .values(attributes=attributes)
            )

    async def list_subscriptions(
        self, topic_arn: str | None = None, next_token: str | None = None
    ) -> tuple[list[dict[str, str]], str | None]:
        query = select(sns_subscriptions).where(sns_subscriptions.c.account_id == self.account_id)
        if topic_arn is not None:
            name = self._topic_name(topic_arn, "ListSubscriptionsByTopic")
            async with self.store.read() as conn:
                await self._topic(conn, name)
            query = query.where(sns_subscriptions.c.topic_name == name)
        after = decode_token(next_token)
        if after:
            query = query.where(sns_subscriptions.c.subscription_id > after)
        async with self.store.read() as conn:
            rows = (
                (await conn.execute(query.order_by(sns_subscriptions.c.subscription_id).limit(PAGE + 1)))
                .mappings()
                .all()
            )
        entries = []
        for row in rows[:PAGE]:
            subscription = subscription_from_row(row)
            entries.append(
                {
                    "SubscriptionArn": self.subscription_arn(subscription)
                    if subscription.confirmed
                    else "PendingConfirmation",
                    "Owner": self.account_id,
                    "Protocol": subscription.protocol,
                    "Endpoint": subscription.endpoint,
                    "TopicArn": self.topic_arn(subscription.topic_name),
                }
            )
        token = encode_token(rows[PAGE - 1]["subscription_id"]) if len(rows) > PAGE else None
        return entries, token


def _check_filter(attributes: Mapping[str, str]) -> None:
    """A FilterPolicy must be valid in its FilterPolicyScope (MessageAttributes unless said otherwise)."""
    scope = attributes.get("FilterPolicyScope", "MessageAttributes")
    if scope not in filter_policy.SCOPES:
        raise InvalidParameter("Invalid parameter: Attributes Reason: FilterPolicyScope: Invalid value")
    if attributes.get("FilterPolicy"):
        filter_policy.parse(attributes["FilterPolicy"], scope)
