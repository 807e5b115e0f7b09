"""SqsService on SQLite and PostgreSQL: queues, attributes, FIFO order and deduplication, visibility, redrive.

Time is a fake clock the tests move, so visibility timeouts and delays expire without waiting.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from corral.services.sqs import SqsService
from corral.services.sqs.errors import (
    InvalidAttributeValue,
    InvalidParameterValue,
    MessageNotInflight,
    MissingParameter,
    PurgeQueueInProgress,
    QueueDoesNotExist,
    QueueNameExists,
    ReceiptHandleIsInvalid,
)
from corral.services.sqs.messages import md5_of_attributes, md5_of_body
from corral.store import Store

ACCOUNT = "000000000000"


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def sqs(database_url: str | None, tmp_path: Path, clock: FakeClock) -> AsyncIterator[SqsService]:
    async with await Store.open(database_url, tmp_path) as store:
        yield SqsService(store, ACCOUNT, "us-east-1", "http://127.0.0.1:9999", clock)


async def test_create_is_idempotent_and_conflicts_on_other_attributes(sqs: SqsService) -> None:
    url = await sqs.create_queue("jobs", {"VisibilityTimeout": "10"})
    assert url == f"http://127.0.0.1:9999/{ACCOUNT}/jobs"
    assert await sqs.create_queue("jobs", {"VisibilityTimeout": "10"}) == url
    with pytest.raises(QueueNameExists):
        await sqs.create_queue("jobs", {"VisibilityTimeout": "11"})
    assert await sqs.get_queue_url("jobs") == url
    with pytest.raises(QueueDoesNotExist):
        await sqs.get_queue_url("nope")
    with pytest.raises(InvalidAttributeValue):
        await sqs.create_queue("bad", {"DelaySeconds": "901"})
    with pytest.raises(InvalidParameterValue):
        await sqs.create_queue("has space")


async def test_list_queues_pages_by_prefix(sqs: SqsService) -> None:
    for name in ("a1", "a2", "a3", "b1"):
        await sqs.create_queue(name)
    urls, token = await sqs.list_queues("a", 2)
    assert [u.rsplit("/", 1)[1] for u in urls] == ["a1", "a2"] and token
    urls, token = await sqs.list_queues("a", 2, token)
    assert [u.rsplit("/", 1)[1] for u in urls] == ["a3"] and token is None
    urls, token = await sqs.list_queues()
    assert len(urls) == 4 and token is None


async def test_counts_visibility_and_receipts(sqs: SqsService, clock: FakeClock) -> None:
    url = await sqs.create_queue("q", {"VisibilityTimeout": "30"})
    await sqs.send_message(url, "one")
    await sqs.send_message(url, "later", delay_seconds=60)
    attributes = await sqs.get_queue_attributes(url, ["All"])
    assert attributes["ApproximateNumberOfMessages"] == "1"
    assert attributes["ApproximateNumberOfMessagesDelayed"] == "1"
    assert attributes["QueueArn"] == f"arn:aws:sqs:us-east-1:{ACCOUNT}:q"
    [first] = await sqs.receive_message(url, system_attribute_names=["All"], wait_seconds=0)
    assert first["Body"] == "one" and first["MD5OfBody"] == md5_of_body("one")
    assert first["Attributes"]["ApproximateReceiveCount"] == "1"
    assert await sqs.receive_message(url, wait_seconds=0) == []
    counts = await sqs.get_queue_attributes(url, ["ApproximateNumberOfMessagesNotVisible"])
    assert counts == {"ApproximateNumberOfMessagesNotVisible": "1"}
    clock.now += 31
    again = await sqs.receive_message(
        url, max_messages=10, system_attribute_names=["ApproximateReceiveCount"]
    )
    assert [m["Body"] for m in again] == ["one"]
    assert again[0]["Attributes"] == {"ApproximateReceiveCount": "2"}
    # The first receipt handle is stale: deleting with it does nothing, changing visibility is refused.
    await sqs.delete_message(url, first["ReceiptHandle"])
    with pytest.raises(InvalidParameterValue):
        await sqs.change_message_visibility(url, first["ReceiptHandle"], 0)
    await sqs.change_message_visibility(url, again[0]["ReceiptHandle"], 0)
    with pytest.raises(MessageNotInflight):
        await sqs.change_message_visibility(url, again[0]["ReceiptHandle"], 10)
    third = await sqs.receive_message(url)
    await sqs.delete_message(url, third[0]["ReceiptHandle"])
    clock.now += 60
    assert [m["Body"] for m in await sqs.receive_message(url, max_messages=10)] == ["later"]
    with pytest.raises(ReceiptHandleIsInvalid):
        await sqs.delete_message(url, "garbage")


async def test_message_attributes_and_their_digest(sqs: SqsService) -> None:
    url = await sqs.create_queue("attrs")
    attributes: dict[str, dict[str, Any]] = {
        "City": {"DataType": "String", "StringValue": "Any City"},
        "PostalCode": {"DataType": "String", "StringValue": "ABC123"},
        "Blob": {"DataType": "Binary", "BinaryValue": b"\x00\x01"},
    }
    sent = await sqs.send_message(url, "body", message_attributes=attributes)
    assert sent.md5_of_attributes == md5_of_attributes(attributes)
    [message] = await sqs.receive_message(url, message_attribute_names=["PostalCode", "City"])
    assert set(message["MessageAttributes"]) == {"PostalCode", "City"}
    # AWS's published example digests (the SQS receive-message examples of the aws CLI).
    assert message["MD5OfMessageAttributes"] == "9424c491ff2bbec06ecbc9d226bc3ae7"
    only = {"PostalCode": attributes["PostalCode"]}
    assert md5_of_attributes(only).startswith("b8e89563") and md5_of_attributes(only).endswith("e088e74f")
    with pytest.raises(InvalidParameterValue):
        await sqs.send_message(
            url, "x", message_attributes={"n": {"DataType": "Number", "StringValue": "abc"}}
        )


async def test_fifo_order_groups_and_deduplication(sqs: SqsService, clock: FakeClock) -> None:
    url = await sqs.create_queue("orders.fifo", {"FifoQueue": "true", "ContentBasedDeduplication": "true"})
    with pytest.raises(MissingParameter):
        await sqs.send_message(url, "no group")
    a1 = await sqs.send_message(url, "a1", group_id="a")
    await sqs.send_message(url, "b1", group_id="b")
    await sqs.send_message(url, "a2", group_id="a")
    duplicate = await sqs.send_message(url, "a1", group_id="a")
    assert duplicate.message_id == a1.message_id and duplicate.sequence_number == a1.sequence_number
    explicit = await sqs.send_message(url, "a1", group_id="a", deduplication_id="other")
    assert explicit.message_id != a1.message_id
    assert a1.sequence_number is not None and explicit.sequence_number is not None
    assert int(explicit.sequence_number) > int(a1.sequence_number)
    [first] = await sqs.receive_message(url)
    assert first["Body"] == "a1"
    # Group a is blocked while a1 is in flight; b is not.
    rest = await sqs.receive_message(url, max_messages=10)
    assert [m["Body"] for m in rest] == ["b1"]
    await sqs.delete_message(url, first["ReceiptHandle"])
    after = await sqs.receive_message(url, max_messages=10, system_attribute_names=["All"])
    assert [m["Body"] for m in after] == ["a2", "a1"]
    assert after[0]["Attributes"]["MessageGroupId"] == "a"
    # The deduplication window is five minutes.
    clock.now += 301
    again = await sqs.send_message(url, "a1", group_id="a")
    assert again.message_id != a1.message_id


async def test_dead_letter_redrive(sqs: SqsService) -> None:
    dead = await sqs.create_queue("dead")
    arn = (await sqs.get_queue_attributes(dead, ["QueueArn"]))["QueueArn"]
    policy = orjson.dumps({"deadLetterTargetArn": arn, "maxReceiveCount": 2}).decode()
    source = await sqs.create_queue("work", {"RedrivePolicy": policy})
    await sqs.send_message(source, "poison")
    for _ in range(2):
        assert len(await sqs.receive_message(source, visibility_timeout=0)) == 1
    assert await sqs.receive_message(source, visibility_timeout=0) == []
    [moved] = await sqs.receive_message(dead)
    assert moved["Body"] == "poison"
    assert await sqs.list_dead_letter_source_queues(dead) == [source]
    with pytest.raises(InvalidAttributeValue):
        bad = orjson.dumps({"deadLetterTargetArn": arn + "x", "maxReceiveCount": 2}).decode()
        await sqs.set_queue_attributes(source, {"RedrivePolicy": bad})


async def test_purge_delete_and_names(sqs: SqsService) -> None:
    url = await sqs.create_queue("p")
    await sqs.send_message("p", "by name")
    await sqs.purge_queue(url)
    with pytest.raises(PurgeQueueInProgress):
        await sqs.purge_queue(url)
    assert (await sqs.get_queue_attributes(url, ["ApproximateNumberOfMessages"]))[
        "ApproximateNumberOfMessages"
    ] == "0"
    await sqs.delete_queue(url)
    with pytest.raises(QueueDoesNotExist):
        await sqs.send_message(url, "gone")
    with pytest.raises(QueueDoesNotExist):
        await sqs.send_message("https://sqs.us-east-1.amazonaws.com/111111111111/p", "other account")


async def test_batches_succeed_and_fail_per_entry(sqs: SqsService) -> None:
    url = await sqs.create_queue("batch")
    ok, failed = await sqs.send_message_batch(
        url, [{"Id": "a", "MessageBody": "1"}, {"Id": "b", "MessageBody": "2", "DelaySeconds": 1000}]
    )
    assert [e["Id"] for e in ok] == ["a"]
    assert (
        failed[0]["Id"] == "b" and failed[0]["Code"] == "InvalidParameterValue" and failed[0]["SenderFault"]
    )
    received = await sqs.receive_message(url, max_messages=10)
    assert [m["Body"] for m in received] == ["1"]
