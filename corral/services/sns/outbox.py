"""What SNS sends each subscriber, as :class:`~corral.services.sns.delivery.Delivery` data: the signed JSON
documents (Notification, SubscriptionConfirmation, UnsubscribeConfirmation), their HTTP headers, e-mail
texts, the Lambda event and SQS messages, per protocol and RawMessageDelivery."""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any

import orjson

from corral.services.common import iso_millis, new_message_id
from corral.services.sns.delivery import Delivery
from corral.services.sns.rows import SnsBase, Subscription
from corral.services.sqs.messages import to_store

CONFIRMATION_SUBJECT = "AWS Notification - Subscription Confirmation"


class OutboxMixin(SnsBase):
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

    def _notification_delivery(
        self,
        subscription: Subscription,
        message_id: str,
        text: str,
        subject: str | None,
        attributes: Mapping[str, Mapping[str, Any]],
        now: float,
        topic: Mapping[str, str],
        group_id: str | None,
        sequence_number: str | None = None,
    ) -> Delivery:
        document = self._notification(
            subscription, message_id, text, subject, attributes, now, topic.get("SignatureVersion", "1")
        )
        raw = subscription.attributes.get("RawMessageDelivery") == "true"
        protocol, endpoint = subscription.protocol, subscription.endpoint
        delivery = Delivery(subscription.id, protocol, endpoint, orjson.dumps(document).decode())
        if protocol in ("http", "https"):
            delivery.headers = self._http_headers("Notification", message_id, subscription, raw)
            if raw:
                delivery.body = text
        elif protocol in ("email", "email-json"):
            delivery.subject = subject or "AWS Notification Message"
            delivery.sender_name = topic.get("DisplayName")
            if protocol == "email":
                delivery.body = text + (
                    "\n\n--\nIf you wish to stop receiving notifications from this topic, "
                    "please click or visit "
                    f"the link below to unsubscribe:\n{document['UnsubscribeURL']}\n"
                )
        elif protocol == "sms":
            display = topic.get("DisplayName")
            delivery.body = f"{display}> {text}" if display else text
        elif protocol == "lambda":
            delivery.body = self._lambda_event(document, self.subscription_arn(subscription))
        else:
            if raw:
                delivery.body = text
                delivery.message_attributes = to_store(attributes) if attributes else None
            if endpoint.endswith(".fifo"):
                delivery.group_id, delivery.deduplication_id = group_id, message_id
                delivery.sequence_number = sequence_number
        return delivery

    @staticmethod
    def _lambda_event(document: Mapping[str, Any], subscription_arn: str) -> str:
        renamed = {"SigningCertURL": "SigningCertUrl", "UnsubscribeURL": "UnsubscribeUrl"}
        sns = {renamed.get(k, k): v for k, v in document.items()}
        sns.setdefault("Subject", None)
        sns.setdefault("MessageAttributes", {})
        record = {
            "EventSource": "aws:sns",
            "EventVersion": "1.0",
            "EventSubscriptionArn": subscription_arn,
            "Sns": sns,
        }
        return orjson.dumps({"Records": [record]}).decode()

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

    def _confirmation_delivery(
        self, subscription: Subscription, kind: str = "SubscriptionConfirmation", token: str | None = None
    ) -> Delivery:
        """A SubscriptionConfirmation (HTTP(S), e-mail, e-mail-json) or UnsubscribeConfirmation (HTTP(S))."""
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
        protocol = subscription.protocol
        delivery = Delivery(
            subscription.id, protocol, subscription.endpoint, orjson.dumps(document).decode(), kind
        )
        if protocol in ("http", "https"):
            delivery.headers = self._http_headers(kind, message_id, subscription, False)
        else:
            delivery.subject = CONFIRMATION_SUBJECT
            if protocol == "email":
                delivery.body = (
                    f"You have chosen to subscribe to the topic:\n{topic_arn}\n\n"
                    "To confirm this subscription, "
                    f"click or visit the link below (If this was in error no action is necessary):\n"
                    f"Confirm subscription: {url}\n"
                )
        return delivery
