"""SNS end to end with clients we did not write: the aws CLI, boto3's errors, FIFO topics and PublishBatch,
a real local Lambda function receiving its SNS event (it publishes the event through boto3's iot-data to a
paho subscriber), an UnsubscribeConfirmation to an HTTP endpoint, and deliveries resumed after a restart."""

from __future__ import annotations

import json
import queue
import subprocess
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest
from botocore.config import Config as BotoConfig

from tests.aws_cli import aws
from tests.broker.clients import V311, ClientPool, uid
from tests.functions.function_support import ROLE, package
from tests.harness import RunningServer, make_server, serving

WAIT = 60.0
ACCOUNT = "000000000000"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    yield from serving(make_server(tmp_path_factory.mktemp("sns-clients"), insecure=True))


def sns_cli(server: RunningServer, *args: str) -> subprocess.CompletedProcess[str]:
    """The aws CLI with only `corral env`'s exports."""
    return aws(server, "sns", *args)


def test_the_aws_cli(server: RunningServer) -> None:
    created = sns_cli(server, "create-topic", "--name", "cli-topic")
    assert created.returncode == 0, created.stderr
    topic = json.loads(created.stdout)["TopicArn"]
    assert topic == f"arn:aws:sns:us-east-1:{ACCOUNT}:cli-topic"
    sqs = server.client("sqs")
    queue_url = sqs.create_queue(QueueName="cli-topic-queue")["QueueUrl"]
    queue_arn = f"arn:aws:sqs:us-east-1:{ACCOUNT}:cli-topic-queue"
    subscribed = sns_cli(
        server, "subscribe", "--topic-arn", topic, "--protocol", "sqs", "--notification-endpoint", queue_arn
    )
    assert subscribed.returncode == 0, subscribed.stderr
    subscription = json.loads(subscribed.stdout)["SubscriptionArn"]
    assert subscription.startswith(topic + ":")
    listed = sns_cli(server, "list-subscriptions-by-topic", "--topic-arn", topic)
    assert [s["Endpoint"] for s in json.loads(listed.stdout)["Subscriptions"]] == [queue_arn]

    published = sns_cli(
        server, "publish", "--topic-arn", topic, "--message", "from the cli", "--subject", "Hi"
    )
    assert published.returncode == 0, published.stderr
    message_id = json.loads(published.stdout)["MessageId"]
    [delivered] = sqs.receive_message(QueueUrl=queue_url, WaitTimeSeconds=20)["Messages"]
    envelope = json.loads(delivered["Body"])
    assert (envelope["MessageId"], envelope["Message"], envelope["Subject"]) == (
        message_id,
        "from the cli",
        "Hi",
    )

    assert sns_cli(server, "unsubscribe", "--subscription-arn", subscription).returncode == 0
    listed = sns_cli(server, "list-subscriptions-by-topic", "--topic-arn", topic)
    assert json.loads(listed.stdout)["Subscriptions"] == []

    missing = sns_cli(server, "get-topic-attributes", "--topic-arn", topic + "-absent")
    assert (
        missing.returncode != 0
        and "(NotFound)" in missing.stderr
        and "Topic does not exist" in missing.stderr
    )
    bad = sns_cli(
        server, "subscribe", "--topic-arn", topic, "--protocol", "pigeon", "--notification-endpoint", "x"
    )
    assert bad.returncode != 0 and "(InvalidParameter)" in bad.stderr
    gone = sns_cli(server, "unsubscribe", "--subscription-arn", subscription)
    assert gone.returncode != 0 and "(NotFound)" in gone.stderr
    assert sns_cli(server, "delete-topic", "--topic-arn", topic).returncode == 0


def test_errors_through_boto3(server: RunningServer) -> None:
    sns = server.client("sns", config=BotoConfig(retries={"max_attempts": 1}))
    topic = sns.create_topic(Name="errors")["TopicArn"]

    with pytest.raises(sns.exceptions.NotFoundException) as missing:
        sns.publish(TopicArn=topic + "-absent", Message="x")
    assert missing.value.response["Error"]["Message"] == "Topic does not exist"
    assert missing.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404

    cases: list[tuple[dict[str, Any], str]] = [
        ({"Name": "has space"}, "Invalid parameter: Topic Name"),
        ({"Name": "plain", "Attributes": {"FifoTopic": "true"}}, "Invalid parameter: Topic Name"),
    ]
    for arguments, message in cases:
        with pytest.raises(sns.exceptions.InvalidParameterException) as invalid:
            sns.create_topic(**arguments)
        assert invalid.value.response["Error"]["Message"] == message
    with pytest.raises(sns.exceptions.InvalidParameterException) as empty:
        sns.publish(TopicArn=topic, Message="")
    assert empty.value.response["Error"]["Message"] == "Invalid parameter: Empty message"
    with pytest.raises(sns.exceptions.InvalidParameterException) as structure:
        sns.publish(TopicArn=topic, Message='{"sms": "x"}', MessageStructure="json")
    assert "No default entry in JSON message body" in structure.value.response["Error"]["Message"]
    with pytest.raises(sns.exceptions.InvalidParameterException) as policy:
        sns.subscribe(
            TopicArn=topic,
            Protocol="sqs",
            Endpoint=f"arn:aws:sqs:us-east-1:{ACCOUNT}:q",
            Attributes={"FilterPolicy": '{"color": "red"}'},
        )
    assert (
        policy.value.response["Error"]["Message"]
        == 'Invalid parameter: FilterPolicy: "color" must be an array'
    )

    foreign = "arn:aws:sns:us-east-1:111111111111:errors"
    with pytest.raises(sns.exceptions.AuthorizationErrorException) as refused:
        sns.publish(TopicArn=foreign, Message="x")
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert "is not authorized to perform: SNS:Publish on resource: " + foreign in str(refused.value)


def test_fifo_topic_publish_batch_and_filter_policy_with_boto3(server: RunningServer) -> None:
    sns, sqs = server.client("sns"), server.client("sqs")
    topic = sns.create_topic(Name="orders.fifo", Attributes={"FifoTopic": "true"})["TopicArn"]
    queue_url = sqs.create_queue(QueueName="orders.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
    sns.subscribe(
        TopicArn=topic,
        Protocol="sqs",
        Endpoint=f"arn:aws:sqs:us-east-1:{ACCOUNT}:orders.fifo",
        Attributes={"RawMessageDelivery": "true", "FilterPolicy": '{"kind": [{"anything-but": "test"}]}'},
    )

    def entry(number: int, kind: str = "real") -> dict[str, Any]:
        return {
            "Id": f"e{number}",
            "Message": f"order {number}",
            "MessageGroupId": "shop",
            "MessageDeduplicationId": f"d{number}",
            "MessageAttributes": {"kind": {"DataType": "String", "StringValue": kind}},
        }

    batch = sns.publish_batch(
        TopicArn=topic,
        PublishBatchRequestEntries=[entry(1), entry(2, "test"), entry(3), {**entry(4), "MessageGroupId": ""}],
    )
    assert [e["Id"] for e in batch["Successful"]] == ["e1", "e2", "e3"]
    numbers = [int(e["SequenceNumber"]) for e in batch["Successful"]]
    assert numbers == sorted(numbers)
    [failed] = batch["Failed"]
    assert failed["Id"] == "e4" and failed["SenderFault"] and failed["Code"] == "InvalidParameter"
    again = sns.publish(TopicArn=topic, Message="order 1", MessageGroupId="shop", MessageDeduplicationId="d1")
    assert again["MessageId"] == batch["Successful"][0]["MessageId"]  # deduplicated, not delivered again
    with pytest.raises(sns.exceptions.InvalidParameterException):
        sns.publish(TopicArn=topic, Message="no group")
    with pytest.raises(sns.exceptions.BatchEntryIdsNotDistinctException):
        sns.publish_batch(TopicArn=topic, PublishBatchRequestEntries=[entry(5), entry(5)])

    bodies: list[str] = []
    while len(bodies) < 2:
        answer = sqs.receive_message(QueueUrl=queue_url, WaitTimeSeconds=20, MaxNumberOfMessages=10)
        for message in answer.get("Messages", []):
            bodies.append(message["Body"])
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    assert bodies == ["order 1", "order 3"]  # in order; the test order was filtered out
    assert "Messages" not in sqs.receive_message(QueueUrl=queue_url, WaitTimeSeconds=1)


RECORDER = """
    import json
    import boto3

    iot_data = boto3.client("iot-data")

    def handler(event, context):
        iot_data.publish(topic="sns-events/" + context.function_name, qos=1, payload=json.dumps(event))
        return "ok"
"""


def test_a_lambda_subscriber_gets_the_sns_event(server: RunningServer, pool: ClientPool) -> None:
    lam = server.client("lambda", config=BotoConfig(retries={"max_attempts": 1}, read_timeout=120))
    name = f"sns-recorder-{uuid.uuid4().hex[:6]}"
    function_arn = lam.create_function(
        FunctionName=name, Runtime="python3.12", Handler="app.handler", Role=ROLE,
        Code={"ZipFile": package({"app.py": RECORDER})},
    )["FunctionArn"]  # fmt: skip
    sns = server.client("sns")
    topic = sns.create_topic(Name="to-lambda")["TopicArn"]
    subscription = sns.subscribe(TopicArn=topic, Protocol="lambda", Endpoint=function_arn)["SubscriptionArn"]
    subscriber = pool.connected(server, uid("sns"), transport="insecure", version=V311)
    subscriber.subscribe(f"sns-events/{name}")
    published = sns.publish(
        TopicArn=topic,
        Message="to the function",
        Subject="Event",
        MessageAttributes={"n": {"DataType": "Number", "StringValue": "7"}},
    )
    event = json.loads(subscriber.next_message(timeout=WAIT).payload)
    [record] = event["Records"]
    assert record["EventSource"] == "aws:sns" and record["EventSubscriptionArn"] == subscription
    sns_part = record["Sns"]
    assert sns_part["Type"] == "Notification" and sns_part["MessageId"] == published["MessageId"]
    assert (sns_part["Message"], sns_part["Subject"], sns_part["TopicArn"]) == (
        "to the function",
        "Event",
        topic,
    )
    assert sns_part["MessageAttributes"] == {"n": {"Type": "Number", "Value": "7"}}
    assert sns_part["SigningCertUrl"].endswith("/_corral/sns/SimpleNotificationService.pem")


class Hook(BaseHTTPRequestHandler):
    """An HTTP subscriber; while ``fail`` is set it answers 500 (and keeps what it refused in ``refused``)."""

    received: queue.Queue[tuple[dict[str, str], dict[str, Any]]] = queue.Queue()
    refused: queue.Queue[dict[str, Any]] = queue.Queue()
    fail = False

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if self.fail:
            self.refused.put(body)
            self.send_response(500)
        else:
            self.received.put((dict(self.headers.items()), body))
            self.send_response(200)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def hook() -> Iterator[str]:
    http_server = HTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=http_server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{http_server.server_address[1]}/hook"
    http_server.shutdown()
    http_server.server_close()


def test_unsubscribe_confirmation_reaches_an_http_endpoint(server: RunningServer, hook: str) -> None:
    sns = server.client("sns")
    topic = sns.create_topic(Name="http-goodbye")["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="http", Endpoint=hook)
    _, confirmation = Hook.received.get(timeout=WAIT)
    assert confirmation["Type"] == "SubscriptionConfirmation"
    subscription = sns.confirm_subscription(TopicArn=topic, Token=confirmation["Token"])["SubscriptionArn"]
    sns.unsubscribe(SubscriptionArn=subscription)
    headers, goodbye = Hook.received.get(timeout=WAIT)
    assert headers["x-amz-sns-message-type"] == "UnsubscribeConfirmation"
    assert headers["x-amz-sns-subscription-arn"] == subscription
    assert goodbye["Type"] == "UnsubscribeConfirmation" and goodbye["TopicArn"] == topic
    assert goodbye["Message"].startswith(f"You have chosen to deactivate subscription {subscription}.")
    assert goodbye["Signature"] and goodbye["SigningCertURL"].startswith("https://")


def test_a_delivery_left_undone_is_made_after_a_restart(
    tmp_path_factory: pytest.TempPathFactory, hook: str
) -> None:
    """A subscriber that is down answers 500; the server stops while the delivery waits to retry, and the
    next start delivers it."""
    running = make_server(tmp_path_factory.mktemp("sns-restart")).start()
    try:
        sns = running.client("sns")
        topic = sns.create_topic(Name="kept")["TopicArn"]
        Hook.fail = True
        sns.subscribe(TopicArn=topic, Protocol="http", Endpoint=hook)
        confirmation = Hook.refused.get(timeout=WAIT)  # answered 500: SNS will try again
        running.restart()
        Hook.fail = False  # only the new process can be answered 200
        _, resumed = Hook.received.get(timeout=WAIT)
        assert resumed["Type"] == "SubscriptionConfirmation" and resumed["Token"] == confirmation["Token"]
    finally:
        Hook.fail = False
        running.stop()
