"""SnsService: topics and subscriptions in the store; Publish fans a message out to every confirmed
subscription as :class:`~corral.services.sns.delivery.Delivery` data run by
:class:`~corral.services.sns.delivery.Deliveries`.

Invariants:

- A subscription is confirmed at once for ``sqs``, ``lambda`` and ``sms`` (as on AWS); ``email``,
  ``email-json``, ``http`` and ``https`` stay pending, holding a token, until ConfirmSubscription or the
  confirmation link (``GET /_corral/sns/confirm``) presents it. Pending subscriptions get nothing else.
- A topic's ARN is ``arn:aws:sns:{region}:{account}:{name}``; a subscription's is the topic's ARN, ``:``
  and its id. ListSubscriptions shows a pending one as ``PendingConfirmation``.
- Publish commits nothing about the message itself: it is handed to background deliveries, whose outcome
  is recorded on each subscription.

The parts, each a mixin over :class:`~corral.services.sns.rows.SnsBase` (settings, names, rows): topics.py,
subscriptions.py, publish.py, outbox.py (the documents each protocol is sent); delivery.py runs deliveries,
transports.py sends them per protocol, envelope.py signs.

Rule actions and other domains call :meth:`SnsService.publish`.
"""

from __future__ import annotations

from corral.services.sns.publish import PublishMixin
from corral.services.sns.rows import Subscription
from corral.services.sns.subscriptions import SubscriptionsMixin
from corral.services.sns.topics import TopicsMixin

__all__ = ["SnsService", "Subscription"]


class SnsService(TopicsMixin, SubscriptionsMixin, PublishMixin):
    """The one object the API, the rules engine and 1-Click call; its constructor is ``SnsService(store,
    account_id, region, public_url, signer, sqs=None, *, smtp_url=None, sms_gateway_url=None, functions=None,
    clock=system_clock, https_verify=True, retry_backoff=BACKOFF)``."""
