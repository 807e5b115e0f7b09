"""The topic operations of SnsService: create (idempotent with the same attributes; FIFO topics end in
``.fifo``), delete (with its subscriptions), list with paging, attributes and tags."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

import orjson
from sqlalchemy import delete, func, insert, select, update

from corral.services.sns.errors import InvalidParameter, NotFound
from corral.services.sns.rows import PAGE, SnsBase, decode_token, encode_token
from corral.store.schema import sns_subscriptions, sns_topics

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
_TOPIC_NAME = re.compile(r"^[A-Za-z0-9_-]{1,256}$")


class TopicsMixin(SnsBase):
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
        name = self._topic_name(topic_arn, "DeleteTopic")
        async with self.store.begin() as conn:
            await conn.execute(delete(sns_subscriptions).where(self._subscriptions_of(name)))
            await conn.execute(delete(sns_topics).where(self._topic_key(name)))

    async def list_topics(self, next_token: str | None = None) -> tuple[list[str], str | None]:
        after = decode_token(next_token)
        query = select(sns_topics.c.topic_name).where(sns_topics.c.account_id == self.account_id)
        if after:
            query = query.where(sns_topics.c.topic_name > after)
        async with self.store.read() as conn:
            names = list(
                (await conn.execute(query.order_by(sns_topics.c.topic_name).limit(PAGE + 1))).scalars()
            )
        token = encode_token(names[PAGE - 1]) if len(names) > PAGE else None
        return [self.topic_arn(n) for n in names[:PAGE]], token

    async def get_topic_attributes(self, topic_arn: str) -> dict[str, str]:
        name = self._topic_name(topic_arn, "GetTopicAttributes")
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
        topic = self._topic_name(topic_arn, "SetTopicAttributes")
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
        name = self._topic_name(resource_arn, "TagResource")
        async with self.store.begin() as conn:
            row = (await conn.execute(select(sns_topics.c.tags).where(self._topic_key(name)))).first()
            if row is None:
                raise NotFound("Resource does not exist")
            await conn.execute(
                update(sns_topics).where(self._topic_key(name)).values(tags={**row[0], **tags})
            )

    async def untag_resource(self, resource_arn: str, keys: Sequence[str]) -> None:
        name = self._topic_name(resource_arn, "UntagResource")
        async with self.store.begin() as conn:
            row = (await conn.execute(select(sns_topics.c.tags).where(self._topic_key(name)))).first()
            if row is None:
                raise NotFound("Resource does not exist")
            remaining = {k: v for k, v in row[0].items() if k not in keys}
            await conn.execute(update(sns_topics).where(self._topic_key(name)).values(tags=remaining))

    async def list_tags(self, resource_arn: str) -> dict[str, str]:
        name = self._topic_name(resource_arn, "ListTagsForResource")
        async with self.store.read() as conn:
            row = (await conn.execute(select(sns_topics.c.tags).where(self._topic_key(name)))).first()
        if row is None:
            raise NotFound("Resource does not exist")
        return dict(row[0])
