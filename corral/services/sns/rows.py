"""What every part of SnsService shares: its settings, topic and subscription names and links, the rows.

:class:`SnsBase` holds the store, the account, the signer, the transports' settings and the deliveries; the
parts (topics.py, subscriptions.py, publish.py) are mixins over it that
:class:`~corral.services.sns.service.SnsService` composes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from sqlalchemy import and_, delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from corral import paging
from corral.services.common import Clock, arn, parse_arn, system_clock
from corral.services.sns.delivery import BACKOFF, Deliveries, Delivery
from corral.services.sns.envelope import Signer
from corral.services.sns.errors import AuthorizationError, InvalidParameter, NotFound
from corral.services.sns.transports import FunctionInvoker, SmtpSettings, Transports
from corral.services.sqs.service import SqsService
from corral.store.engine import Store
from corral.store.schema import sns_deliveries, sns_subscriptions, sns_topics

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


class SnsBase:
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
        retry_backoff: tuple[float, ...] = BACKOFF,
    ) -> None:
        self.store = store
        self.account_id = account_id
        self.region = region
        self.public_url = public_url.rstrip("/")
        self.signer = signer
        self.sqs = sqs
        self.clock = clock
        self.transports = Transports(
            SmtpSettings.from_url(smtp_url) if smtp_url else None,
            sms_gateway_url,
            functions,
            sqs,
            https_verify,
        )
        self.deliveries = Deliveries(self.transports.send, self._record, retry_backoff)

    # -- names ----------------------------------------------------------------------------------------

    def topic_arn(self, name: str) -> str:
        return arn("sns", self.region, self.account_id, name)

    def _topic_name(self, topic_arn: str, action: str) -> str:
        """The name of a topic of this account and region. Another account's topic is refused as AWS refuses
        a caller whom no topic policy allows ``SNS:{action}`` (Corral has no cross-account policies)."""
        parsed = parse_arn(topic_arn or "", "sns")
        if parsed is None or ":" in parsed[2]:
            raise InvalidParameter("Invalid parameter: TopicArn")
        if parsed[1] != self.account_id:
            raise AuthorizationError(
                f"User: arn:aws:iam::{self.account_id}:root is not authorized to perform: SNS:{action} on "
                f"resource: {topic_arn} because no resource-based policy allows the SNS:{action} action"
            )
        if parsed[0] != self.region:
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

    # -- deliveries: rows of sns_deliveries until delivered or abandoned --------------------------------

    async def _enqueue(self, conn: AsyncConnection, deliveries: Sequence[Delivery]) -> None:
        """Store deliveries in the transaction that decides them; :meth:`_start` them once it commits."""
        if deliveries:
            now = self.clock()
            await conn.execute(
                insert(sns_deliveries),
                [
                    {
                        "account_id": self.account_id,
                        "delivery_id": d.id,
                        "subscription_id": d.subscription_id,
                        "delivery": d.to_json(),
                        "created_at": now,
                    }
                    for d in deliveries
                ],
            )

    def _start(self, deliveries: Sequence[Delivery]) -> None:
        for delivery in deliveries:
            self.deliveries.submit(delivery)

    async def resume(self) -> int:
        """Start the deliveries a previous run left undone (``corral serve`` calls it at start)."""
        async with self.store.read() as conn:
            rows = (
                await conn.execute(
                    select(sns_deliveries.c.delivery)
                    .where(sns_deliveries.c.account_id == self.account_id)
                    .order_by(sns_deliveries.c.created_at)
                )
            ).scalars()
            deliveries = [Delivery.from_json(dict(row)) for row in rows]
        # Stable: creation order, and a FIFO group's messages by their sequence numbers.
        deliveries.sort(key=lambda d: d.sequence_number or "")
        self._start(deliveries)
        return len(deliveries)

    async def _record(self, delivery: Delivery, ok: bool, failure: str | None, finished: bool) -> None:
        """One attempt's outcome on the subscription; the delivery's row forgotten once it is finished,
        else its attempt count kept."""
        key = self._subscription_key(delivery.subscription_id)
        row = and_(
            sns_deliveries.c.account_id == self.account_id, sns_deliveries.c.delivery_id == delivery.id
        )
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
            if finished:
                await conn.execute(delete(sns_deliveries).where(row))
            else:
                await conn.execute(update(sns_deliveries).where(row).values(delivery=delivery.to_json()))

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


def subscription_from_row(row: Any) -> Subscription:
    return Subscription(
        row["subscription_id"],
        row["topic_name"],
        row["protocol"],
        row["endpoint"],
        dict(row["attributes"]),
        bool(row["confirmed"]),
        row["token"],
    )


def encode_token(value: str) -> str:
    return paging.encode_token(value)


def decode_token(token: str | None) -> str | None:
    try:
        return paging.decode_token(token)
    except paging.BadToken:
        raise InvalidParameter("Invalid parameter: NextToken") from None
