"""SQS end to end against a real ``corral serve``, with boto3 and the aws CLI."""

from __future__ import annotations

import json
import subprocess
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from tests.aws_cli import aws
from tests.harness import RunningServer, make_server, serving


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    yield from serving(make_server(tmp_path_factory.mktemp("sqs")))


def test_queue_lifecycle_and_errors_with_boto3(server: RunningServer) -> None:
    sqs = server.client("sqs")
    url = sqs.create_queue(QueueName="life", Attributes={"VisibilityTimeout": "5"}, tags={"team": "x"})[
        "QueueUrl"
    ]
    assert url == f"http://{server.endpoints['http']}/000000000000/life"
    assert sqs.get_queue_url(QueueName="life")["QueueUrl"] == url
    assert url in sqs.list_queues(QueueNamePrefix="li")["QueueUrls"]
    with pytest.raises(sqs.exceptions.QueueDoesNotExist) as missing:
        sqs.get_queue_url(QueueName="nope")
    assert missing.value.response["Error"]["Code"] == "AWS.SimpleQueueService.NonExistentQueue"
    with pytest.raises(sqs.exceptions.QueueNameExists):
        sqs.create_queue(QueueName="life", Attributes={"VisibilityTimeout": "6"})
    attributes: dict[str, dict[str, Any]] = {
        "City": {"DataType": "String", "StringValue": "Any City"},
        "PostalCode": {"DataType": "String", "StringValue": "ABC123"},
    }
    sent = sqs.send_message(
        QueueUrl=url,
        MessageBody="Information about the largest city in Any Region.",
        MessageAttributes=attributes,
    )
    assert sent["MD5OfMessageBody"] == "51b0a3256d59467f973009b739163aa0"
    assert sent["MD5OfMessageAttributes"] == "9424c491ff2bbec06ecbc9d226bc3ae7"
    got = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert got["ApproximateNumberOfMessages"] == "1" and got["QueueArn"].endswith(":life")
    [message] = sqs.receive_message(QueueUrl=url, MessageAttributeNames=["All"], AttributeNames=["All"])[
        "Messages"
    ]
    assert message["MessageAttributes"] == attributes
    assert message["Attributes"]["ApproximateReceiveCount"] == "1"
    with pytest.raises(sqs.exceptions.ReceiptHandleIsInvalid):
        sqs.delete_message(QueueUrl=url, ReceiptHandle="not-a-handle")
    sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=10)
    sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    batch = sqs.send_message_batch(
        QueueUrl=url,
        Entries=[{"Id": "a", "MessageBody": "1"}, {"Id": "b", "MessageBody": "2", "DelaySeconds": 901}],
    )
    assert [e["Id"] for e in batch["Successful"]] == ["a"] and batch["Failed"][0][
        "Code"
    ] == "InvalidParameterValue"
    with pytest.raises(sqs.exceptions.BatchEntryIdsNotDistinct):
        sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": "a", "MessageBody": "1"}] * 2)
    sqs.purge_queue(QueueUrl=url)
    sqs.delete_queue(QueueUrl=url)
    with pytest.raises(sqs.exceptions.QueueDoesNotExist):
        sqs.send_message(QueueUrl=url, MessageBody="x")


def test_long_poll_returns_when_a_message_arrives(server: RunningServer) -> None:
    sqs = server.client("sqs")
    url = sqs.create_queue(QueueName="poll")["QueueUrl"]
    answer: dict[str, Any] = {}
    started = threading.Event()

    def consumer() -> None:
        client = server.client("sqs")
        started.set()
        answer.update(client.receive_message(QueueUrl=url, WaitTimeSeconds=20))

    thread = threading.Thread(target=consumer)
    thread.start()
    assert started.wait(10)
    sqs.send_message(QueueUrl=url, MessageBody="wake up")
    thread.join(30)
    assert [m["Body"] for m in answer["Messages"]] == ["wake up"]


def test_fifo_order_dedup_and_dead_letters(server: RunningServer) -> None:
    sqs = server.client("sqs")
    url = sqs.create_queue(QueueName="f.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
    first = sqs.send_message(QueueUrl=url, MessageBody="1", MessageGroupId="g", MessageDeduplicationId="d1")
    again = sqs.send_message(QueueUrl=url, MessageBody="1", MessageGroupId="g", MessageDeduplicationId="d1")
    assert again["MessageId"] == first["MessageId"] and first["SequenceNumber"]
    sqs.send_message(QueueUrl=url, MessageBody="2", MessageGroupId="g", MessageDeduplicationId="d2")
    received = sqs.receive_message(
        QueueUrl=url, MaxNumberOfMessages=10, MessageSystemAttributeNames=["SequenceNumber"]
    )
    assert [m["Body"] for m in received["Messages"]] == ["1", "2"]
    dead = sqs.create_queue(QueueName="dead")["QueueUrl"]
    dead_arn = sqs.get_queue_attributes(QueueUrl=dead, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    policy = json.dumps({"deadLetterTargetArn": dead_arn, "maxReceiveCount": 1})
    work = sqs.create_queue(QueueName="work", Attributes={"RedrivePolicy": policy})["QueueUrl"]
    sqs.send_message(QueueUrl=work, MessageBody="poison")
    assert len(sqs.receive_message(QueueUrl=work, VisibilityTimeout=0)["Messages"]) == 1
    assert "Messages" not in sqs.receive_message(QueueUrl=work, VisibilityTimeout=0)
    assert [m["Body"] for m in sqs.receive_message(QueueUrl=dead)["Messages"]] == ["poison"]


def sqs_cli(server: RunningServer, *args: str) -> subprocess.CompletedProcess[str]:
    """The aws CLI with `corral env`'s exports, plus ``--endpoint-url``: aws CLI v1 sets an explicit endpoint
    for ``sqs`` (awscli/customizations/overridesslcommonname.py: ``queue.amazonaws.com`` names) unless
    ``--endpoint-url`` is given, and an explicit endpoint wins over AWS_ENDPOINT_URL and
    AWS_ENDPOINT_URL_SQS. boto3 has no such override and follows AWS_ENDPOINT_URL."""
    return aws(server, "sqs", "--endpoint-url", f"http://{server.endpoints['http']}", *args)


def test_the_aws_cli(server: RunningServer) -> None:
    created = sqs_cli(server, "create-queue", "--queue-name", "cli")
    assert created.returncode == 0, created.stderr
    url = json.loads(created.stdout)["QueueUrl"]
    sent = sqs_cli(server, "send-message", "--queue-url", url, "--message-body", "hello")
    assert sent.returncode == 0, sent.stderr
    received = sqs_cli(server, "receive-message", "--queue-url", url)
    assert json.loads(received.stdout)["Messages"][0]["Body"] == "hello"
    missing = sqs_cli(server, "get-queue-url", "--queue-name", "absent")
    assert missing.returncode != 0 and "NonExistentQueue" in missing.stderr
