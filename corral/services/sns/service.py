"""SnsService: topics and subscriptions in the store; Publish fans a message out to every confirmed
subscription through :class:`~corral.services.sns.delivery.Deliveries`.

Invariants:

- A subscription is confirmed at once for ``sqs``, ``lambda`` and ``sms`` (as on AWS); ``email``,
  ``email-json``, ``http`` and ``https`` stay pending, holding a token, until ConfirmSubscription or the
  confirmation link (``GET /_corral/sns/confirm``) presents it. Pending subscriptions get nothing else.
- A topic's ARN is ``arn:aws:sns:{region}:{account}:{name}``; a subscription's is the topic's ARN, ``:``
  and its id. ListSubscriptions shows a pending one as ``PendingConfirmation``.
- Publish commits nothing about the message itself: it is handed to background deliveries, whose outcome
  is recorded on each subscription.

Rule actions and other domains call :meth:`SnsService.publish`.
"""

from __future__ import annotations

import base64
import binascii
import re
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import orjson
from sqlalchemy import and_, delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from corral.services.common import Clock, arn, iso_millis, new_message_id, parse_arn, system_clock
from corral.services.sns import delivery
from corral.services.sns.delivery import Deliveries, FunctionInvoker, PermanentFailure, SmtpSettings
from corral.services.sns.envelope import Signer
from corral.services.sns.errors import InvalidParameter, NotFound
from corral.services.sqs.errors import SqsError
from corral.services.sqs.service import SqsService
from corral.store.engine import Store
from corral.store.schema import sns_subscriptions, sns_topics

PROTOCOLS = ("email", "email-json", "http", "https", "sms", "lambda", "sqs")
CONFIRMED_AT_ONCE = ("sms", "lambda", "sqs")
TOPIC_ATTRIBUTES = (
    "DisplayName",
    "Policy",
    "DeliveryPolicy",
    "KmsMasterKeyId",
    "SignatureVersion",
    "TracingConfig",
    "FifoTopic",
    "ContentBasedDeduplication",
    "ArchivePolicy",
)
SUBSCRIPTION_ATTRIBUTES = (
    "RawMessageDelivery",
    "FilterPolicy",
    "FilterPolicyScope",
    "DeliveryPolicy",
    "RedrivePolicy",
    "SubscriptionRoleArn",
)
_TOPIC_NAME = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
_PHONE = re.compile(r"^\+?[0-9]{5,15}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")
MAX_MESSAGE_BYTES = 262144
PAGE = 100


@dataclass(slots=True)
class Subscription:
    id: str
    topic_name: str
    protocol: str
    endpoint: str
    attributes: dict[str, str]
    confirmed: bool
    token: str | None


class SnsService:
    def __init__(
        self,
        store: Store,
        account_id: str,
        region: str,
        public_url: str,
        signer: Signer,
        sqs: SqsService | None = None,
        *,
        smtp_url: str | None = None,
        sms_gateway_url: str | None = None,
        functions: FunctionInvoker | None = None,
        clock: Clock = system_clock,
        https_verify: Any = True,
    ) -> None:
        self.store = store
        self.account_id = account_id
        self.region = region
        self.public_url = public_url.rstrip("/")
        self.signer = signer
        self.sqs = sqs
        self.smtp = SmtpSettings.from_url(smtp_url) if smtp_url else None
        self.sms_gateway_url = sms_gateway_url
        self.functions = functions
        self.clock = clock
        self.https_verify = https_verify
        self.deliveries = Deliveries(self._record)

    # -- names ----------------------------------------------------------------------------------------

    def topic_arn(self, name: str) -> str:
        return arn("sns", self.region, self.account_id, name)

    def _topic_name(self, topic_arn: str) -> str:
        parsed = parse_arn(topic_arn or "", "sns")
        if parsed is None or ":" in parsed[2]:
            raise InvalidParameter("Invalid parameter: TopicArn")
        if parsed[1] != self.account_id or parsed[0] != self.region:
            raise NotFound("Topic does not exist")
        return parsed[2]

    def _subscription_id(self, subscription_arn: str) -> str:
        parsed = parse_arn(subscription_arn or "", "sns")
        if parsed is None or ":" not in parsed[2]:
            raise InvalidParameter("Invalid parameter: SubscriptionArn")
        return parsed[2].split(":", 1)[1]

    def subscription_arn(self, subscription: Subscription) -> str:
        return f"{self.topic_arn(subscription.topic_name)}:{subscription.id}"

    @property
    def signing_cert_url(self) -> str:
        return f"{self.public_url}/_corral/sns/SimpleNotificationService.pem"

    def confirm_url(self, topic_arn: str, token: str) -> str:
        return f"{self.public_url}/_corral/sns/confirm?TopicArn={quote(topic_arn)}&Token={token}"

    def unsubscribe_url(self, subscription_arn: str) -> str:
        return f"{self.public_url}/_corral/sns/unsubscribe?SubscriptionArn={quote(subscription_arn)}"

    # -- topics ---------------------------------------------------------------------------------------

    async def create_topic(
        self, name: str, attributes: Mapping[str, str] | None = None, tags: Mapping[str, str] | None = None
    ) -> str:
        attributes = dict(attributes or {})
        fifo = attributes.get("FifoTopic", "false").lower() == "true"
        base = name[: -len(".fifo")] if fifo and name.endswith(".fifo") else name
        if not _TOPIC_NAME.match(base) or fifo != name.endswith(".fifo"):
            raise InvalidParameter("Invalid parameter: Topic Name")
        self._check_topic_attributes(attributes, fifo)
        async with self.store.begin() as conn:
            row = await self._find_topic(conn, name)
            if row is not None:
                if any(row.get(k) != v for k, v in attributes.items() if k != "Policy"):
                    raise InvalidParameter(
                        "Invalid parameter: Attributes Reason: Topic already exists with different attributes"
                    )
                return self.topic_arn(name)
            await conn.execute(
                insert(sns_topics).values(
                    account_id=self.account_id,
                    topic_name=name,
                    attributes=attributes,
                    tags=dict(tags or {}),
                    last_sequence=0,
                    created_at=self.clock(),
                )
            )
        return self.topic_arn(name)

    @staticmethod
    def _check_topic_attributes(attributes: Mapping[str, str], fifo: bool) -> None:
        for key, value in attributes.items():
            if key not in TOPIC_ATTRIBUTES:
                raise InvalidParameter(f"Invalid parameter: AttributeName Reason: Unknown attribute {key}")
            if key in ("FifoTopic", "ContentBasedDeduplication") and value.lower() not in ("true", "false"):
                raise InvalidParameter(f"Invalid parameter: Attributes Reason: {key} must be true or false")
            if key == "ContentBasedDeduplication" and not fifo and value.lower() == "true":
                raise InvalidParameter(
                    "Invalid parameter: Attributes Reason: Content-based deduplication can only be set for "
                    "FIFO topics"
                )

    async def delete_topic(self, topic_arn: str) -> None:
        name = self._topic_name(topic_arn)
        async with self.store.begin() as conn:
            await conn.execute(delete(sns_subscriptions).where(self._subscriptions_of(name)))
            await conn.execute(delete(sns_topics).where(self._topic_key(name)))

    async def list_topics(self, next_token: str | None = None) -> tuple[list[str], str | None]:
        after = _decode_token(next_token)
        query = select(sns_topics.c.topic_name).where(sns_topics.c.account_id == self.account_id)
        if after:
            query = query.where(sns_topics.c.topic_name > after)
        async with self.store.read() as conn:
            names = list(
                (await conn.execute(query.order_by(sns_topics.c.topic_name).limit(PAGE + 1))).scalars()
            )
        token = _encode_token(names[PAGE - 1]) if len(names) > PAGE else None
        return [self.topic_arn(n) for n in names[:PAGE]], token

    async def get_topic_attributes(self, topic_arn: str) -> dict[str, str]:
        name = self._topic_name(topic_arn)
        async with self.store.read() as conn:
            stored = await self._topic(conn, name)
            rows = (
                await conn.execute(
                    select(sns_subscriptions.c.confirmed, func.count())
                    .where(self._subscriptions_of(name))
                    .group_by(sns_subscriptions.c.confirmed)
                )
            ).all()
        counts = {bool(confirmed): int(n) for confirmed, n in rows}
        values = {
            "TopicArn": self.topic_arn(name),
            "Owner": self.account_id,
            "DisplayName": "",
            "Policy": self._default_policy(name),
            "SubscriptionsConfirmed": str(counts.get(True, 0)),
            "SubscriptionsPending": str(counts.get(False, 0)),
            "SubscriptionsDeleted": "0",
            "EffectiveDeliveryPolicy": orjson.dumps(
                {"http": {"defaultHealthyRetryPolicy": {"numRetries": 3, "backoffFunction": "exponential"}}}
            ).decode(),
            **stored,
        }
        if stored.get("FifoTopic") == "true":
            values.setdefault("ContentBasedDeduplication", "false")
        return values

    def _default_policy(self, name: str) -> str:
        statement = {
            "Sid": "__default_statement_ID",
            "Effect": "Allow",
            "Principal": {"AWS": "*"},
            "Action": ["SNS:Publish", "SNS:Subscribe", "SNS:GetTopicAttributes", "SNS:SetTopicAttributes"],
            "Resource": self.topic_arn(name),
            "Condition": {"StringEquals": {"AWS:SourceOwner": self.account_id}},
        }
        document = {"Version": "2008-10-17", "Id": "__default_policy_ID", "Statement": [statement]}
        return orjson.dumps(document).decode()

    async def set_topic_attributes(self, topic_arn: str, name: str, value: str | None) -> None:
        topic = self._topic_name(topic_arn)
        if name in ("FifoTopic",) or name not in TOPIC_ATTRIBUTES:
            raise InvalidParameter("Invalid parameter: AttributeName")
        async with self.store.begin() as conn:
            stored = await self._topic(conn, topic)
            self._check_topic_attributes(
                {name: value or ""} if name != "DisplayName" else {}, stored.get("FifoTopic") == "true"
            )
            if value:
                stored[name] = value
            else:
                stored.pop(name, None)
            await conn.execute(update(sns_topics).where(self._topic_key(topic)).values(attributes=stored))

    async def tag_resource(self, resource_arn: str, tags: Mapping[str, str]) -> None:
        name = self._topic_name(resource_arn)
        async with self.store.begin() as conn:
            row = (await conn.execute(select(sns_topics.c.tags).where(self._topic_key(name)))).first()
            if row is None:
                raise NotFound("Resource does not exist")
            await conn.execute(
                update(sns_topics).where(self._topic_key(name)).values(tags={**row[0], **tags})
            )

    async def untag_resource(self, resource_arn: str, keys: Sequence[str]) -> None:
        name = self._topic_name(resource_arn)
        async with self.store.begin() as conn:
            row = (await conn.execute(select(sns_topics.c.tags).where(self._topic_key(name)))).first()
            if row is None:
                raise NotFound("Resource does not exist")
            remaining = {k: v for k, v in row[0].items() if k not in keys}
            await conn.execute(update(sns_topics).where(self._topic_key(name)).values(tags=remaining))

    async def list_tags(self, resource_arn: str) -> dict[str, str]:
        name = self._topic_name(resource_arn)
        async with self.store.read() as conn:
            row = (await conn.execute(select(sns_topics.c.tags).where(self._topic_key(name)))).first()
        if row is None:
            raise NotFound("Resource does not exist")
        return dict(row[0])

    # -- subscriptions --------------------------------------------------------------------------------

    async def subscribe(
        self, topic_arn: str, protocol: str, endpoint: str | None, attributes: Mapping[str, str] | None = None
    ) -> tuple[Subscription, str]:
        """The subscription and what Subscribe answers as its ARN (``pending confirmation`` while pending,
        unless the caller asked for the ARN)."""
        name = self._topic_name(topic_arn)
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
                subscription = _subscription(existing)
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
        if not subscription.confirmed:
            self._send_confirmation(subscription)
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
        name = self._topic_name(topic_arn)
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
            subscription = _subscription(row)
            await conn.execute(
                update(sns_subscriptions)
                .where(self._subscription_key(subscription.id))
                .values(confirmed=True, token=None)
            )
        return self.subscription_arn(subscription)

    async def unsubscribe(self, subscription_arn: str) -> None:
        subscription_id = self._subscription_id(subscription_arn)
        async with self.store.begin() as conn:
            row = (
                (await conn.execute(select(sns_subscriptions).where(self._subscription_key(subscription_id))))
                .mappings()
                .first()
            )
            if row is None:
                raise NotFound("Subscription does not exist")
            await conn.execute(delete(sns_subscriptions).where(self._subscription_key(subscription_id)))
        subscription = _subscription(row)
        if subscription.protocol in ("http", "https") and subscription.confirmed:
            self._send_confirmation(subscription, "UnsubscribeConfirmation", secrets.token_hex(64))

    async def get_subscription_attributes(self, subscription_arn: str) -> dict[str, str]:
        subscription_id = self._subscription_id(subscription_arn)
        async with self.store.read() as conn:
            row = (
                (await conn.execute(select(sns_subscriptions).where(self._subscription_key(subscription_id))))
                .mappings()
                .first()
            )
        if row is None:
            raise NotFound("Subscription does not exist")
        subscription = _subscription(row)
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
            row = (
                await conn.execute(
                    select(sns_subscriptions.c.attributes).where(self._subscription_key(subscription_id))
                )
            ).first()
            if row is None:
                raise NotFound("Subscription does not exist")
            attributes = dict(row[0])
            if value:
                attributes[name] = value.lower() if name == "RawMessageDelivery" else value
            else:
                attributes.pop(name, None)
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
            name = self._topic_name(topic_arn)
            async with self.store.read() as conn:
                await self._topic(conn, name)
            query = query.where(sns_subscriptions.c.topic_name == name)
        after = _decode_token(next_token)
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
            subscription = _subscription(row)
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
        token = _encode_token(rows[PAGE - 1]["subscription_id"]) if len(rows) > PAGE else None
        return entries, token

    # -- publishing -----------------------------------------------------------------------------------

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
        name = self._topic_name(topic_arn)
        per_protocol = self._check_message(message, subject, message_structure)
        attributes = dict(message_attributes or {})
        self._check_attributes(attributes)
        result = {"MessageId": new_message_id()}
        async with self.store.begin() as conn:
            topic = await self._topic(conn, name)
            if topic.get("FifoTopic") == "true":
                if not group_id:
                    raise InvalidParameter(
                        "Invalid parameter: The MessageGroupId parameter is required for FIFO topics"
                    )
                if deduplication_id is None and topic.get("ContentBasedDeduplication") != "true":
                    raise InvalidParameter(
                        "Invalid parameter: The topic should either have ContentBasedDeduplication "
                        "enabled or "
                        "MessageDeduplicationId provided explicitly"
                    )
                sequence = (
                    await conn.execute(
                        update(sns_topics)
                        .where(self._topic_key(name))
                        .values(last_sequence=sns_topics.c.last_sequence + 1)
                        .returning(sns_topics.c.last_sequence)
                    )
                ).scalar_one()
                result["SequenceNumber"] = str(10**19 + int(sequence))
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
        for row in rows:
            subscription = _subscription(row)
            text = per_protocol.get(subscription.protocol, per_protocol["default"])
            self._deliver(subscription, result["MessageId"], text, subject, attributes, now, topic, group_id)
        return result

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

    # -- deliveries -----------------------------------------------------------------------------------

    def _notification(
        self,
        subscription: Subscription,
        message_id: str,
        text: str,
        subject: str | None,
        attributes: Mapping[str, Mapping[str, Any]],
        now: float,
        version: str,
    ) -> dict[str, Any]:
        document: dict[str, Any] = {
            "Type": "Notification",
            "MessageId": message_id,
            "TopicArn": self.topic_arn(subscription.topic_name),
        }
        if subject is not None:
            document["Subject"] = subject
        document["Message"] = text
        document["Timestamp"] = iso_millis(now)
        self.signer.sign(document, version)
        document["SigningCertURL"] = self.signing_cert_url
        document["UnsubscribeURL"] = self.unsubscribe_url(self.subscription_arn(subscription))
        if attributes:
            document["MessageAttributes"] = {
                key: {
                    "Type": value["DataType"],
                    "Value": value["StringValue"]
                    if value.get("StringValue") is not None
                    else base64.b64encode(bytes(value["BinaryValue"])).decode(),
                }
                for key, value in attributes.items()
            }
        return document

    def _deliver(
        self,
        subscription: Subscription,
        message_id: str,
        text: str,
        subject: str | None,
        attributes: Mapping[str, Mapping[str, Any]],
        now: float,
        topic: Mapping[str, str],
        group_id: str | None,
    ) -> None:
        version = topic.get("SignatureVersion", "1")
        document = self._notification(subscription, message_id, text, subject, attributes, now, version)
        raw = subscription.attributes.get("RawMessageDelivery") == "true"
        arn_ = self.subscription_arn(subscription)
        protocol, endpoint = subscription.protocol, subscription.endpoint
        what = f"{protocol}:{endpoint} ({arn_})"

        async def attempt() -> None:
            if protocol in ("http", "https"):
                headers = self._http_headers("Notification", message_id, subscription, raw)
                body = text if raw else orjson.dumps(document).decode()
                await delivery.post_http(endpoint, body, headers, self.https_verify)
            elif protocol == "email":
                footer = (
                    "\n\n--\nIf you wish to stop receiving notifications from this topic, "
                    "please click or visit "
                    f"the link below to unsubscribe:\n{document['UnsubscribeURL']}\n"
                )
                await delivery.send_email(
                    self.smtp,
                    endpoint,
                    subject or "AWS Notification Message",
                    text + footer,
                    topic.get("DisplayName"),
                )
            elif protocol == "email-json":
                await delivery.send_email(
                    self.smtp,
                    endpoint,
                    subject or "AWS Notification Message",
                    orjson.dumps(document).decode(),
                    topic.get("DisplayName"),
                )
            elif protocol == "sms":
                display = topic.get("DisplayName")
                await delivery.send_sms(
                    self.sms_gateway_url, endpoint, f"{display}> {text}" if display else text
                )
            elif protocol == "lambda":
                await delivery.invoke_function(self.functions, endpoint, self._lambda_event(document, arn_))
            else:
                await self._to_queue(endpoint, text, document, attributes, raw, group_id, message_id)

        self.deliveries.submit(subscription.id, what, attempt)

    async def _to_queue(
        self,
        queue_arn: str,
        text: str,
        document: Mapping[str, Any],
        attributes: Mapping[str, Mapping[str, Any]],
        raw: bool,
        group_id: str | None,
        message_id: str,
    ) -> None:
        if self.sqs is None:
            raise PermanentFailure("Corral's SQS service is not running")
        queue_attributes = dict(attributes) if raw else None
        body = text if raw else orjson.dumps(document).decode()
        fifo = queue_arn.endswith(".fifo")
        try:
            await self.sqs.send_message(
                queue_arn,
                body,
                message_attributes=queue_attributes,
                group_id=group_id if fifo else None,
                deduplication_id=message_id if fifo else None,
            )
        except SqsError as exc:
            if exc.code == "QueueDoesNotExist":
                raise PermanentFailure(f"the queue {queue_arn} does not exist") from exc
            raise

    @staticmethod
    def _lambda_event(document: Mapping[str, Any], subscription_arn: str) -> bytes:
        sns = {
            (
                "SigningCertUrl"
                if k == "SigningCertURL"
                else "UnsubscribeUrl"
                if k == "UnsubscribeURL"
                else k
            ): v
            for k, v in document.items()
        }
        sns.setdefault("Subject", None)
        sns.setdefault("MessageAttributes", {})
        record = {
            "EventSource": "aws:sns",
            "EventVersion": "1.0",
            "EventSubscriptionArn": subscription_arn,
            "Sns": sns,
        }
        return orjson.dumps({"Records": [record]})

    def _http_headers(
        self, kind: str, message_id: str, subscription: Subscription, raw: bool
    ) -> dict[str, str]:
        headers = {
            "x-amz-sns-message-type": kind,
            "x-amz-sns-message-id": message_id,
            "x-amz-sns-topic-arn": self.topic_arn(subscription.topic_name),
            "Content-Type": "text/plain; charset=UTF-8",
            "User-Agent": "Amazon Simple Notification Service Agent",
        }
        if kind != "SubscriptionConfirmation":
            headers["x-amz-sns-subscription-arn"] = self.subscription_arn(subscription)
        if raw:
            headers["x-amz-sns-rawdelivery"] = "true"
        return headers

    def _send_confirmation(
        self, subscription: Subscription, kind: str = "SubscriptionConfirmation", token: str | None = None
    ) -> None:
        token = token or subscription.token or ""
        topic_arn = self.topic_arn(subscription.topic_name)
        message_id = new_message_id()
        url = self.confirm_url(topic_arn, token)
        if kind == "SubscriptionConfirmation":
            text = (
                f"You have chosen to subscribe to the topic {topic_arn}.\n"
                "To confirm the subscription, visit the "
                "SubscribeURL included in this message."
            )
        else:
            text = (
                f"You have chosen to deactivate subscription {self.subscription_arn(subscription)}.\n"
                "To cancel "
                "this operation and restore the subscription, "
                "visit the SubscribeURL included in this message."
            )
        document: dict[str, Any] = {
            "Type": kind,
            "MessageId": message_id,
            "Token": token,
            "TopicArn": topic_arn,
            "Message": text,
            "SubscribeURL": url,
            "Timestamp": iso_millis(self.clock()),
        }
        self.signer.sign(document)
        document["SigningCertURL"] = self.signing_cert_url
        protocol, endpoint = subscription.protocol, subscription.endpoint

        async def attempt() -> None:
            if protocol in ("http", "https"):
                headers = self._http_headers(kind, message_id, subscription, False)
                await delivery.post_http(
                    endpoint, orjson.dumps(document).decode(), headers, self.https_verify
                )
            elif protocol == "email":
                body = (
                    f"You have chosen to subscribe to the topic:\n{topic_arn}\n\n"
                    "To confirm this subscription, "
                    f"click or visit the link below (If this was in error no action is necessary):\n"
                    f"Confirm subscription: {url}\n"
                )
                await delivery.send_email(
                    self.smtp, endpoint, "AWS Notification - Subscription Confirmation", body, None
                )
            else:
                await delivery.send_email(
                    self.smtp,
                    endpoint,
                    "AWS Notification - Subscription Confirmation",
                    orjson.dumps(document).decode(),
                    None,
                )

        self.deliveries.submit(subscription.id, f"{kind} to {protocol}:{endpoint}", attempt)

    async def _record(self, subscription_id: str, ok: bool, failure: str | None) -> None:
        key = self._subscription_key(subscription_id)
        async with self.store.begin() as conn:
            if ok:
                await conn.execute(
                    update(sns_subscriptions).where(key).values(deliveries=sns_subscriptions.c.deliveries + 1)
                )
            else:
                await conn.execute(
                    update(sns_subscriptions)
                    .where(key)
                    .values(
                        delivery_failures=sns_subscriptions.c.delivery_failures + 1,
                        last_failure=failure,
                        last_failure_at=self.clock(),
                    )
                )

    # -- rows -----------------------------------------------------------------------------------------

    async def _find_topic(self, conn: AsyncConnection, name: str) -> dict[str, str] | None:
        row = (await conn.execute(select(sns_topics.c.attributes).where(self._topic_key(name)))).first()
        return None if row is None else dict(row[0])

    async def _topic(self, conn: AsyncConnection, name: str) -> dict[str, str]:
        found = await self._find_topic(conn, name)
        if found is None:
            raise NotFound("Topic does not exist")
        return found

    def _topic_key(self, name: str) -> Any:
        return and_(sns_topics.c.account_id == self.account_id, sns_topics.c.topic_name == name)

    def _subscriptions_of(self, name: str) -> Any:
        return and_(sns_subscriptions.c.account_id == self.account_id, sns_subscriptions.c.topic_name == name)

    def _subscription_key(self, subscription_id: str) -> Any:
        return and_(
            sns_subscriptions.c.account_id == self.account_id,
            sns_subscriptions.c.subscription_id == subscription_id,
        )


def _subscription(row: Any) -> Subscription:
    return Subscription(
        row["subscription_id"],
        row["topic_name"],
        row["protocol"],
        row["endpoint"],
        dict(row["attributes"]),
        bool(row["confirmed"]),
        row["token"],
    )


def _encode_token(value: str) -> str:
    return base64.urlsafe_b64encode(value.encode()).decode()


def _decode_token(token: str | None) -> str | None:
    if not token:
        return None
    try:
        return base64.urlsafe_b64decode(token.encode()).decode()
    except (binascii.Error, UnicodeDecodeError):
        raise InvalidParameter("Invalid parameter: NextToken") from None
