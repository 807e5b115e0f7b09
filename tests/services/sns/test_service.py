"""SnsService on SQLite and PostgreSQL: topics, subscriptions, publish fan-out decisions, MessageStructure,
message attributes, FIFO topics, filter policies, and deliveries that survive a restart.

Deliveries to SQS go to a real SqsService on the same store; the others are caught by a recording transport
in place of the network (the end-to-end tests use real subscribers). Retries have no backoff here.
"""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from sqlalchemy import func, select

from corral.auth.ca import ensure_pki
from corral.services.sns.api import SnsAPI
from corral.services.sns.delivery import Delivery, PermanentFailure
from corral.services.sns.envelope import Signer, string_to_sign
from corral.services.sns.errors import (
    AuthorizationError,
    BatchEntryIdsNotDistinct,
    EmptyBatchRequest,
    InvalidBatchEntryId,
    InvalidParameter,
    NotFound,
    TooManyEntriesInBatchRequest,
)
from corral.services.sns.service import SnsService
from corral.services.sqs import SqsService
from corral.store import Store
from corral.store.schema import sns_deliveries

ACCOUNT = "000000000000"
TOPIC_ARN = f"arn:aws:sns:us-east-1:{ACCOUNT}:"
QUEUE_ARN = f"arn:aws:sqs:us-east-1:{ACCOUNT}:"
FUNCTION_ARN = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:"


class Recorder:
    """Stands in for the transports: records each delivery; fails those whose endpoint says so."""

    def __init__(self) -> None:
        self.sent: list[Delivery] = []

    async def __call__(self, delivery: Delivery) -> None:
        if "fail-permanently" in delivery.endpoint:
            raise PermanentFailure("this endpoint never works")
        if "fail" in delivery.endpoint and delivery.attempts < 3:
            raise RuntimeError("try again")
        self.sent.append(delivery)

    def to(self, endpoint: str) -> list[Delivery]:
        return [d for d in self.sent if d.endpoint == endpoint]


@pytest.fixture(scope="module")
def signer(tmp_path_factory: pytest.TempPathFactory) -> Signer:
    data_dir = tmp_path_factory.mktemp("sns-signer")
    return Signer.load_or_create(ensure_pki(data_dir), data_dir)


@pytest.fixture
async def store(database_url: str | None, tmp_path: Path) -> AsyncIterator[Store]:
    async with await Store.open(database_url, tmp_path) as opened:
        yield opened


def make_service(store: Store, signer: Signer) -> tuple[SnsService, Recorder]:
    sqs = SqsService(store, ACCOUNT, "us-east-1", "http://127.0.0.1:9999")
    sns = SnsService(
        store, ACCOUNT, "us-east-1", "https://127.0.0.1:8443", signer, sqs, retry_backoff=(0.0, 0.0, 0.0)
    )
    recorder = Recorder()
    real_send = sns.deliveries.send

    async def send(delivery: Delivery) -> None:
        if delivery.protocol == "sqs":
            await real_send(delivery)  # the real queues
        else:
            await recorder(delivery)

    sns.deliveries.send = send
    return sns, recorder


@pytest.fixture
async def sns(store: Store, signer: Signer) -> AsyncIterator[tuple[SnsService, Recorder]]:
    service, recorder = make_service(store, signer)
    yield service, recorder
    await service.deliveries.close()


async def receive_all(sqs: SqsService, queue: str) -> list[dict[str, Any]]:
    return await sqs.receive_message(queue, max_messages=10, message_attribute_names=["All"])


# -- topics ----------------------------------------------------------------------------------------------


async def test_topics(sns: tuple[SnsService, Recorder]) -> None:
    service, _ = sns
    arn = await service.create_topic("alerts", {"DisplayName": "Alerts"}, {"team": "ops"})
    assert arn == TOPIC_ARN + "alerts"
    assert await service.create_topic("alerts", {"DisplayName": "Alerts"}) == arn
    with pytest.raises(InvalidParameter, match="Topic already exists with different attributes"):
        await service.create_topic("alerts", {"DisplayName": "Other"})
    for bad, attributes in (("has space", {}), ("x.fifo", {}), ("plain", {"FifoTopic": "true"})):
        with pytest.raises(InvalidParameter, match="Invalid parameter: Topic Name"):
            await service.create_topic(bad, attributes)
    with pytest.raises(InvalidParameter, match="Unknown attribute Color"):
        await service.create_topic("t", {"Color": "red"})
    with pytest.raises(InvalidParameter, match="Content-based deduplication can only be set for FIFO"):
        await service.create_topic("t", {"ContentBasedDeduplication": "true"})

    attributes = await service.get_topic_attributes(arn)
    assert attributes["DisplayName"] == "Alerts" and attributes["Owner"] == ACCOUNT
    assert attributes["SubscriptionsConfirmed"] == "0" and attributes["SubscriptionsPending"] == "0"
    assert orjson.loads(attributes["Policy"])["Statement"][0]["Resource"] == arn
    await service.set_topic_attributes(arn, "DisplayName", "Renamed")
    assert (await service.get_topic_attributes(arn))["DisplayName"] == "Renamed"
    with pytest.raises(InvalidParameter, match="Invalid parameter: AttributeName"):
        await service.set_topic_attributes(arn, "FifoTopic", "true")

    await service.tag_resource(arn, {"env": "test"})
    await service.untag_resource(arn, ["team"])
    assert await service.list_tags(arn) == {"env": "test"}

    with pytest.raises(NotFound, match="Topic does not exist"):
        await service.get_topic_attributes(arn + "x")
    with pytest.raises(AuthorizationError) as refused:
        await service.publish("arn:aws:sns:us-east-1:111111111111:alerts", "hello")
    assert refused.value.message == (
        f"User: arn:aws:iam::{ACCOUNT}:root is not authorized to perform: SNS:Publish on resource: "
        "arn:aws:sns:us-east-1:111111111111:alerts because no resource-based policy allows the SNS:Publish "
        "action"
    )
    with pytest.raises(NotFound):
        await service.get_topic_attributes("arn:aws:sns:eu-west-1:000000000000:alerts")
    with pytest.raises(InvalidParameter, match="Invalid parameter: TopicArn"):
        await service.get_topic_attributes("not-an-arn")


async def test_list_topics_pages_by_100_and_delete_removes_subscriptions(
    sns: tuple[SnsService, Recorder],
) -> None:
    service, _ = sns
    for number in range(101):
        await service.create_topic(f"t{number:03d}")
    first, token = await service.list_topics()
    assert len(first) == 100 and token is not None
    rest, token = await service.list_topics(token)
    assert rest == [TOPIC_ARN + "t100"] and token is None
    with pytest.raises(InvalidParameter, match="NextToken"):
        await service.list_topics("_w==")
    await service.subscribe(TOPIC_ARN + "t000", "lambda", FUNCTION_ARN + "f")
    await service.delete_topic(TOPIC_ARN + "t000")
    assert (await service.list_subscriptions())[0] == []
    await service.delete_topic(TOPIC_ARN + "t000")  # deleting again is not an error, as on AWS


# -- subscriptions ---------------------------------------------------------------------------------------


async def test_subscriptions_confirmation_and_listing(sns: tuple[SnsService, Recorder]) -> None:
    service, recorder = sns
    topic = await service.create_topic("subs")
    at_once, queue_subscription = await service.subscribe(topic, "sqs", QUEUE_ARN + "q")
    assert at_once.confirmed and queue_subscription == f"{topic}:{at_once.id}"
    pending, answer = await service.subscribe(topic, "http", "http://example.invalid/hook")
    assert not pending.confirmed and answer == "pending confirmation"
    again, _ = await service.subscribe(topic, "sqs", QUEUE_ARN + "q")
    assert again.id == at_once.id  # the same protocol and endpoint: the same subscription

    await service.deliveries.drain()
    [confirmation] = recorder.to("http://example.invalid/hook")
    document = orjson.loads(confirmation.body)
    assert document["Type"] == "SubscriptionConfirmation" and document["TopicArn"] == topic
    assert confirmation.headers["x-amz-sns-message-type"] == "SubscriptionConfirmation"
    assert document["SubscribeURL"].startswith("https://127.0.0.1:8443/_corral/sns/confirm?")

    listed, _ = await service.list_subscriptions(topic)
    assert sorted(s["SubscriptionArn"] for s in listed) == sorted([queue_subscription, "PendingConfirmation"])
    counts = await service.get_topic_attributes(topic)
    assert (counts["SubscriptionsConfirmed"], counts["SubscriptionsPending"]) == ("1", "1")

    with pytest.raises(InvalidParameter, match="Invalid token"):
        await service.confirm_subscription(topic, "wrong")
    confirmed = await service.confirm_subscription(topic, document["Token"])
    assert confirmed == f"{topic}:{pending.id}"
    attributes = await service.get_subscription_attributes(confirmed)
    assert attributes["PendingConfirmation"] == "false" and attributes["Endpoint"] == pending.endpoint

    await service.unsubscribe(confirmed)
    await service.deliveries.drain()
    goodbye = orjson.loads(recorder.to("http://example.invalid/hook")[-1].body)
    assert goodbye["Type"] == "UnsubscribeConfirmation"
    with pytest.raises(NotFound, match="Subscription does not exist"):
        await service.unsubscribe(confirmed)
    with pytest.raises(InvalidParameter, match="SubscriptionArn"):
        await service.unsubscribe(topic)


@pytest.mark.parametrize(
    ("protocol", "endpoint", "message"),
    [
        ("carrier-pigeon", "coop", "Amazon SNS does not support this protocol string: carrier-pigeon"),
        ("email", "not-an-address", "Invalid parameter: Endpoint"),
        ("http", "https://wrong-scheme", "Invalid parameter: Endpoint"),
        ("sms", "call me", "Invalid parameter: Endpoint"),
        ("sqs", "my-queue", "Invalid parameter: SQS endpoint ARN"),
        ("lambda", "my-function", "Invalid parameter: Endpoint"),
    ],
)
async def test_subscribe_refuses_bad_endpoints(
    sns: tuple[SnsService, Recorder], protocol: str, endpoint: str, message: str
) -> None:
    service, _ = sns
    topic = await service.create_topic("endpoints")
    with pytest.raises(InvalidParameter, match=message):
        await service.subscribe(topic, protocol, endpoint)


async def test_subscription_attributes(sns: tuple[SnsService, Recorder]) -> None:
    service, _ = sns
    topic = await service.create_topic("attrs")
    subscription, arn = await service.subscribe(topic, "sqs", QUEUE_ARN + "q", {"RawMessageDelivery": "true"})
    assert (await service.get_subscription_attributes(arn))["RawMessageDelivery"] == "true"
    await service.set_subscription_attributes(arn, "RawMessageDelivery", "FALSE")
    assert (await service.get_subscription_attributes(arn))["RawMessageDelivery"] == "false"
    with pytest.raises(InvalidParameter, match="RawMessageDelivery: Invalid value"):
        await service.set_subscription_attributes(arn, "RawMessageDelivery", "maybe")
    with pytest.raises(InvalidParameter, match="Invalid parameter: AttributeName"):
        await service.set_subscription_attributes(arn, "Protocol", "http")
    with pytest.raises(InvalidParameter, match="Unknown attribute Color"):
        await service.subscribe(topic, "sqs", QUEUE_ARN + "other", {"Color": "red"})
    with pytest.raises(NotFound):
        await service.get_subscription_attributes(f"{topic}:{subscription.id}x")


# -- publishing ------------------------------------------------------------------------------------------


async def test_publish_fans_out_to_confirmed_subscriptions(
    sns: tuple[SnsService, Recorder], signer: Signer
) -> None:
    service, recorder = sns
    assert service.sqs is not None
    queue = await service.sqs.create_queue("fan")
    raw_queue = await service.sqs.create_queue("raw")
    topic = await service.create_topic("fan", {"DisplayName": "Fan"})
    await service.subscribe(topic, "sqs", QUEUE_ARN + "fan")
    await service.subscribe(topic, "sqs", QUEUE_ARN + "raw", {"RawMessageDelivery": "true"})
    _, function_subscription = await service.subscribe(topic, "lambda", FUNCTION_ARN + "f")
    await service.subscribe(topic, "sms", "+15555550100")
    await service.subscribe(topic, "email", "ops@example.com")  # pending: gets the confirmation only
    await service.deliveries.drain()
    recorder.sent.clear()

    attributes: dict[str, dict[str, Any]] = {
        "level": {"DataType": "String", "StringValue": "high"},
        "blob": {"DataType": "Binary", "BinaryValue": b"\x00\x01"},
    }
    published = await service.publish(topic, "fire", "Alarm", message_attributes=attributes)
    await service.deliveries.drain()

    [wrapped] = await receive_all(service.sqs, queue)
    document = orjson.loads(wrapped["Body"])
    assert document["Type"] == "Notification" and document["MessageId"] == published["MessageId"]
    assert document["Message"] == "fire" and document["Subject"] == "Alarm"
    assert document["MessageAttributes"] == {
        "level": {"Type": "String", "Value": "high"},
        "blob": {"Type": "Binary", "Value": base64.b64encode(b"\x00\x01").decode()},
    }
    assert "MessageAttributes" not in wrapped  # only raw delivery carries them as SQS attributes
    certificate = x509.load_pem_x509_certificate(signer.certificate_pem)
    key = certificate.public_key()
    assert isinstance(key, rsa.RSAPublicKey)
    key.verify(
        base64.b64decode(document["Signature"]), string_to_sign(document), padding.PKCS1v15(), hashes.SHA1()
    )

    [raw] = await receive_all(service.sqs, raw_queue)
    assert raw["Body"] == "fire" and raw["MessageAttributes"] == attributes

    [event] = recorder.to(FUNCTION_ARN + "f")
    record = orjson.loads(event.body)["Records"][0]
    assert record["EventSource"] == "aws:sns" and record["EventSubscriptionArn"] == function_subscription
    assert record["Sns"]["Message"] == "fire" and "UnsubscribeUrl" in record["Sns"]
    [sms] = recorder.to("+15555550100")
    assert sms.body == "Fan> fire"
    assert recorder.to("ops@example.com") == []


async def test_message_structure_json_chooses_each_protocols_text(sns: tuple[SnsService, Recorder]) -> None:
    service, recorder = sns
    assert service.sqs is not None
    queue = await service.sqs.create_queue("structured")
    topic = await service.create_topic("structured")
    await service.subscribe(topic, "sqs", QUEUE_ARN + "structured", {"RawMessageDelivery": "true"})
    await service.subscribe(topic, "sms", "+15555550100")
    await service.subscribe(topic, "lambda", FUNCTION_ARN + "f")
    message = orjson.dumps({"default": "for everyone", "sms": "short", "sqs": "for queues"}).decode()
    await service.publish(topic, message, message_structure="json")
    await service.deliveries.drain()
    assert [m["Body"] for m in await receive_all(service.sqs, queue)] == ["for queues"]
    assert recorder.to("+15555550100")[0].body == "short"
    event = orjson.loads(recorder.to(FUNCTION_ARN + "f")[0].body)
    assert event["Records"][0]["Sns"]["Message"] == "for everyone"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"message": ""}, "Invalid parameter: Empty message"),
        ({"message": "x" * 262145}, "Invalid parameter: Message too long"),
        ({"subject": ""}, "Invalid parameter: Subject"),
        ({"subject": "line\nbreak"}, "Invalid parameter: Subject"),
        ({"message_structure": "xml"}, "Invalid parameter: MessageStructure"),
        ({"message_structure": "json"}, "JSON message body failed to parse"),
        ({"message": '{"sms": "x"}', "message_structure": "json"}, "No default entry in JSON message body"),
        (
            {"message_attributes": {f"a{i}": {"DataType": "String", "StringValue": "v"} for i in range(11)}},
            "Number of message attributes exceeds the allowed maximum 10",
        ),
        (
            {"message_attributes": {"a": {"DataType": "Date", "StringValue": "v"}}},
            "has an invalid message attribute type",
        ),
        ({"message_attributes": {"a": {"DataType": "String"}}}, "must contain non-empty message attribute"),
        ({"group_id": "g"}, "not valid for this topic type"),
    ],
)
async def test_publish_refuses_what_aws_refuses(
    sns: tuple[SnsService, Recorder], kwargs: dict[str, Any], message: str
) -> None:
    service, _ = sns
    topic = await service.create_topic("refusals")
    arguments: dict[str, Any] = {"message": "hello", **kwargs}
    with pytest.raises(InvalidParameter, match=message):
        await service.publish(
            topic,
            arguments["message"],
            arguments.get("subject"),
            arguments.get("message_structure"),
            arguments.get("message_attributes"),
            group_id=arguments.get("group_id"),
        )


async def test_fifo_topics(sns: tuple[SnsService, Recorder]) -> None:
    service, _ = sns
    assert service.sqs is not None
    queue = await service.sqs.create_queue("orders.fifo", {"FifoQueue": "true"})
    topic = await service.create_topic("orders.fifo", {"FifoTopic": "true"})
    assert (await service.get_topic_attributes(topic))["ContentBasedDeduplication"] == "false"
    await service.subscribe(topic, "sqs", QUEUE_ARN + "orders.fifo", {"RawMessageDelivery": "true"})
    with pytest.raises(InvalidParameter, match="MessageGroupId parameter is required for FIFO topics"):
        await service.publish(topic, "no group")
    with pytest.raises(InvalidParameter, match="ContentBasedDeduplication enabled or MessageDeduplicationId"):
        await service.publish(topic, "no dedup", group_id="g")
    first = await service.publish(topic, "1", group_id="g", deduplication_id="d1")
    second = await service.publish(topic, "2", group_id="g", deduplication_id="d2")
    duplicate = await service.publish(topic, "1 again", group_id="g", deduplication_id="d1")
    assert duplicate == first
    assert int(second["SequenceNumber"]) > int(first["SequenceNumber"]) and len(first["SequenceNumber"]) == 20
    await service.deliveries.drain()
    received = await service.sqs.receive_message(queue, max_messages=10, system_attribute_names=["All"])
    assert [m["Body"] for m in received] == ["1", "2"]
    assert {m["Attributes"]["MessageGroupId"] for m in received} == {"g"}

    content = await service.create_topic(
        "content.fifo", {"FifoTopic": "true", "ContentBasedDeduplication": "true"}
    )
    once = await service.publish(content, "same", group_id="g")
    assert await service.publish(content, "same", group_id="other") == once
    assert await service.publish(content, "different", group_id="g") != once


async def test_filter_policies_decide_who_gets_a_message(sns: tuple[SnsService, Recorder]) -> None:
    service, recorder = sns
    topic = await service.create_topic("filtered")
    policies = {
        "+15550000001": {"color": ["red"]},
        "+15550000002": {"color": [{"anything-but": "red"}]},
        "+15550000003": {"size": [{"numeric": [">=", 10]}]},
        "+15550000004": {"size": [{"exists": False}]},
    }
    for endpoint, policy in policies.items():
        _, arn = await service.subscribe(topic, "sms", endpoint)
        await service.set_subscription_attributes(arn, "FilterPolicy", orjson.dumps(policy).decode())
    await service.subscribe(topic, "sms", "+15550000005")  # no policy: everything
    body_policy = orjson.dumps({"order": {"kind": [{"prefix": "urgent-"}]}}).decode()
    await service.subscribe(
        topic,
        "lambda",
        FUNCTION_ARN + "body",
        {"FilterPolicy": body_policy, "FilterPolicyScope": "MessageBody"},
    )

    def attributes(**values: str | int) -> dict[str, dict[str, str]]:
        return {
            k: {"DataType": "Number" if isinstance(v, int) else "String", "StringValue": str(v)}
            for k, v in values.items()
        }

    urgent = orjson.dumps({"order": {"kind": "urgent-fix"}}).decode()
    await service.publish(topic, "m1", message_attributes=attributes(color="red", size=12))
    await service.publish(topic, "m2", message_attributes=attributes(color="blue", size=9))
    await service.publish(topic, urgent)
    await service.publish(topic, orjson.dumps({"order": {"kind": "routine"}}).decode())
    await service.deliveries.drain()

    def bodies(endpoint: str) -> list[str]:
        return sorted(d.body for d in recorder.to(endpoint))

    assert bodies("+15550000001") == ["m1"]
    assert bodies("+15550000002") == ["m2"]  # present and not red (absent does not count)
    assert bodies("+15550000003") == ["m1"]
    assert len(bodies("+15550000004")) == 2  # the two messages without a size
    assert len(bodies("+15550000005")) == 4
    [event] = recorder.to(FUNCTION_ARN + "body")
    assert orjson.loads(event.body)["Records"][0]["Sns"]["Message"] == urgent

    with pytest.raises(InvalidParameter, match="Invalid parameter: FilterPolicy"):
        await service.subscribe(topic, "sms", "+15559999999", {"FilterPolicy": '{"color": "red"}'})
    with pytest.raises(InvalidParameter, match="FilterPolicyScope"):
        await service.subscribe(topic, "sms", "+15559999999", {"FilterPolicyScope": "Headers"})
    with pytest.raises(InvalidParameter, match='"order" must be an array'):
        await service.subscribe(topic, "sms", "+15559999999", {"FilterPolicy": body_policy})
    scoped = {"FilterPolicy": body_policy, "FilterPolicyScope": "MessageBody"}
    _, arn = await service.subscribe(topic, "sms", "+15559999999", scoped)
    with pytest.raises(InvalidParameter, match="Invalid parameter: FilterPolicy"):
        # the nested policy is valid only in the MessageBody scope
        await service.set_subscription_attributes(arn, "FilterPolicyScope", "MessageAttributes")


async def test_publish_batch_through_the_api(sns: tuple[SnsService, Recorder]) -> None:
    service, _ = sns
    api = SnsAPI(service)
    topic = await service.create_topic("batch.fifo", {"FifoTopic": "true"})
    answer = await api.publish_batch(
        {
            "TopicArn": topic,
            "PublishBatchRequestEntries": [
                {"Id": "a", "Message": "1", "MessageGroupId": "g", "MessageDeduplicationId": "1"},
                {"Id": "b", "Message": "2", "MessageDeduplicationId": "2"},
                {"Id": "c", "Message": "3", "MessageGroupId": "g", "MessageDeduplicationId": "3"},
            ],
        }
    )
    assert [e["Id"] for e in answer["Successful"]] == ["a", "c"]
    assert all("SequenceNumber" in e and "MessageId" in e for e in answer["Successful"])
    [failed] = answer["Failed"]
    assert failed["Id"] == "b" and failed["Code"] == "InvalidParameter" and failed["SenderFault"]
    assert "MessageGroupId" in failed["Message"]

    entry = {"Id": "x", "Message": "m"}
    for entries, error in (
        ([], EmptyBatchRequest),
        ([{**entry, "Id": str(i)} for i in range(11)], TooManyEntriesInBatchRequest),
        ([entry, entry], BatchEntryIdsNotDistinct),
        ([{**entry, "Id": "has space"}], InvalidBatchEntryId),
    ):
        with pytest.raises(error):
            await api.publish_batch({"TopicArn": topic, "PublishBatchRequestEntries": entries})
    with pytest.raises(NotFound):
        await api.publish_batch({"TopicArn": topic + "x", "PublishBatchRequestEntries": [entry]})


# -- deliveries ------------------------------------------------------------------------------------------


async def pending_rows(store: Store) -> int:
    async with store.read() as conn:
        return int((await conn.execute(select(func.count()).select_from(sns_deliveries))).scalar_one())


async def test_failures_are_retried_and_recorded(sns: tuple[SnsService, Recorder], store: Store) -> None:
    service, recorder = sns
    topic = await service.create_topic("failing")
    _, working = await service.subscribe(topic, "sms", "+15550100")
    await service.subscribe(topic, "lambda", FUNCTION_ARN + "fail")
    _, broken = await service.subscribe(topic, "lambda", FUNCTION_ARN + "fail-permanently")
    await service.publish(topic, "hello")
    await service.deliveries.drain()
    [event] = recorder.to(FUNCTION_ARN + "fail")  # the third attempt succeeded
    assert event.attempts == 3
    attributes = await service.get_subscription_attributes(broken)
    assert attributes["CorralDeliveries"] == "0" and attributes["CorralDeliveryFailures"] == "1"
    assert "this endpoint never works" in attributes["CorralLastDeliveryFailure"]
    assert (await service.get_subscription_attributes(working))["CorralDeliveries"] == "1"
    stats = service.deliveries.stats
    assert (stats.delivered, stats.abandoned) == (2, 1)
    assert await pending_rows(store) == 0


async def test_undone_deliveries_survive_a_restart(store: Store, signer: Signer) -> None:
    first, _ = make_service(store, signer)
    topic = await first.create_topic("durable")
    await first.subscribe(topic, "lambda", FUNCTION_ARN + "f")
    published = await first.publish(topic, "kept")
    await first.deliveries.close()  # the server stops before the delivery's task has run
    assert await pending_rows(store) == 1

    second, recorder = make_service(store, signer)
    assert await second.resume() == 1
    await second.deliveries.drain()
    [event] = recorder.sent
    assert orjson.loads(event.body)["Records"][0]["Sns"]["MessageId"] == published["MessageId"]
    assert await pending_rows(store) == 0
    assert await second.resume() == 0
