"""SNS end to end against a real ``corral serve``: e-mail through a real SMTP server (aiosmtpd), an HTTP
subscriber confirming through its SubscribeURL, fan-out to SQS, and failed deliveries made visible."""

from __future__ import annotations

import json
import queue
import ssl
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import httpx
import pytest

from tests.harness import RunningServer, make_server
from tests.mail_support import WAIT, Inbox, confirm_subscription, smtp_server, text_of


class Subscriber(BaseHTTPRequestHandler):
    received: queue.Queue[tuple[dict[str, str], dict[str, Any]]] = queue.Queue()

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.put((dict(self.headers.items()), json.loads(body)))
        self.send_response(200)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


def test_sns_deliveries(tmp_path_factory: pytest.TempPathFactory) -> None:
    http_server = HTTPServer(("127.0.0.1", 0), Subscriber)
    threading.Thread(target=http_server.serve_forever, daemon=True).start()
    with smtp_server() as (inbox, smtp_port):
        running = make_server(
            tmp_path_factory.mktemp("sns"), extra_args=("--smtp-url", f"smtp://127.0.0.1:{smtp_port}")
        ).start()
        try:
            _scenario(running, inbox, http_server.server_address[1])
        finally:
            running.stop()
            http_server.shutdown()
            http_server.server_close()


def _scenario(server: RunningServer, inbox: Inbox, http_port: int) -> None:
    sns, sqs = server.client("sns"), server.client("sqs")
    ca = ssl.create_default_context(cafile=str(server.ca_file))
    topic = sns.create_topic(Name="alerts")["TopicArn"]
    assert topic == "arn:aws:sns:us-east-1:000000000000:alerts"
    assert sns.create_topic(Name="alerts")["TopicArn"] == topic
    with pytest.raises(sns.exceptions.NotFoundException):
        sns.get_topic_attributes(TopicArn=topic + "x")

    # E-mail: the confirmation arrives at the SMTP server; following its link confirms.
    pending = sns.subscribe(TopicArn=topic, Protocol="email", Endpoint="ops@example.com")
    assert pending["SubscriptionArn"] == "pending confirmation"
    confirmation = inbox.messages.get(timeout=WAIT)
    assert confirmation["Subject"] == "AWS Notification - Subscription Confirmation"
    confirm_subscription(server, confirmation)

    # HTTP: the subscriber follows the SubscribeURL it was sent.
    endpoint = f"http://127.0.0.1:{http_port}/hook"
    sns.subscribe(TopicArn=topic, Protocol="http", Endpoint=endpoint)
    headers, document = Subscriber.received.get(timeout=WAIT)
    assert headers["x-amz-sns-message-type"] == "SubscriptionConfirmation"
    assert document["Type"] == "SubscriptionConfirmation" and document["SignatureVersion"] == "1"
    assert httpx.get(document["SubscribeURL"], verify=ca).status_code == 200
    assert httpx.get(document["SigningCertURL"], verify=ca).text.startswith("-----BEGIN CERTIFICATE-----")

    # SQS fan-out, and an SMS subscription that fails visibly (no gateway configured).
    queue_url = sqs.create_queue(QueueName="fan")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
    sms = sns.subscribe(TopicArn=topic, Protocol="sms", Endpoint="+15555550100")["SubscriptionArn"]
    listed = sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]
    assert sorted(s["Protocol"] for s in listed) == ["email", "http", "sms", "sqs"]

    published = sns.publish(
        TopicArn=topic,
        Message="fire",
        Subject="Alarm",
        MessageAttributes={"level": {"DataType": "String", "StringValue": "high"}},
    )
    mail = inbox.messages.get(timeout=WAIT)
    assert mail["Subject"] == "Alarm" and text_of(mail).startswith("fire")
    headers, document = Subscriber.received.get(timeout=WAIT)
    assert headers["x-amz-sns-message-type"] == "Notification"
    assert document["MessageId"] == published["MessageId"] and document["Message"] == "fire"
    assert document["MessageAttributes"] == {"level": {"Type": "String", "Value": "high"}}
    [delivered] = sqs.receive_message(QueueUrl=queue_url, WaitTimeSeconds=20)["Messages"]
    envelope = json.loads(delivered["Body"])
    assert (
        envelope["Type"] == "Notification"
        and envelope["Message"] == "fire"
        and envelope["Subject"] == "Alarm"
    )

    failures = "0"
    for _ in range(200):  # each read is a request; the delivery task records its failure when it gives up
        attributes = sns.get_subscription_attributes(SubscriptionArn=sms)["Attributes"]
        failures = attributes["CorralDeliveryFailures"]
        if failures != "0":
            break
        Subscriber.received.empty()
    assert failures == "1"
    assert "no SMS gateway" in attributes["CorralLastDeliveryFailure"]
    health = httpx.get(f"http://{server.endpoints['http']}/health").json()
    assert health["sns_deliveries"]["failed_attempts"] >= 1
