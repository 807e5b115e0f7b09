"""Kinesis and Firehose end to end against a real ``corral serve``: boto3, the aws CLI, the embedded S3,
and a kill -9 in the middle of appends."""

from __future__ import annotations

import base64
import json
import signal
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.aws_cli import aws
from tests.conftest import ServerFactory
from tests.harness import RunningServer, make_server, serving


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    yield from serving(make_server(tmp_path_factory.mktemp("streams")))


def cli(server: RunningServer, *args: str) -> Any:
    done = aws(server, *args, "--output", "json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout) if done.stdout.strip() else None


def test_kinesis_with_boto3(server: RunningServer) -> None:
    kinesis = server.client("kinesis")
    kinesis.create_stream(StreamName="telemetry", ShardCount=2)
    kinesis.get_waiter("stream_exists").wait(StreamName="telemetry")
    with pytest.raises(kinesis.exceptions.ResourceInUseException):
        kinesis.create_stream(StreamName="telemetry", ShardCount=1)
    description = kinesis.describe_stream(StreamName="telemetry")["StreamDescription"]
    assert description["StreamStatus"] == "ACTIVE" and len(description["Shards"]) == 2
    assert description["Shards"][1]["HashKeyRange"]["StartingHashKey"] == str(2**127)
    summary = kinesis.describe_stream_summary(StreamName="telemetry")["StreamDescriptionSummary"]
    assert summary["OpenShardCount"] == 2
    assert summary["StreamARN"] == "arn:aws:kinesis:us-east-1:000000000000:stream/telemetry"
    assert "telemetry" in kinesis.list_streams()["StreamNames"]
    assert [s["ShardId"] for s in kinesis.list_shards(StreamName="telemetry")["Shards"]] == [
        "shardId-000000000000",
        "shardId-000000000001",
    ]
    put = kinesis.put_records(
        StreamName="telemetry",
        Records=[{"Data": f"m{i}".encode(), "PartitionKey": f"device-{i}"} for i in range(20)],
    )
    assert put["FailedRecordCount"] == 0 and len(put["Records"]) == 20
    got: list[bytes] = []
    for shard in ("shardId-000000000000", "shardId-000000000001"):
        iterator = kinesis.get_shard_iterator(
            StreamName="telemetry", ShardId=shard, ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        answer = kinesis.get_records(ShardIterator=iterator, Limit=100)
        assert answer["MillisBehindLatest"] == 0 and answer["NextShardIterator"]
        got += [r["Data"] for r in answer["Records"]]
        assert all(r["ApproximateArrivalTimestamp"].year >= 2024 for r in answer["Records"])
    assert sorted(got) == sorted(f"m{i}".encode() for i in range(20))
    one = kinesis.put_record(StreamName="telemetry", Data=b"x", PartitionKey="k")
    at = kinesis.get_shard_iterator(
        StreamName="telemetry", ShardId=one["ShardId"], ShardIteratorType="AT_SEQUENCE_NUMBER",
        StartingSequenceNumber=one["SequenceNumber"],
    )["ShardIterator"]  # fmt: skip
    [record] = kinesis.get_records(ShardIterator=at)["Records"]
    assert (record["Data"], record["PartitionKey"], record["SequenceNumber"]) == (
        b"x",
        "k",
        one["SequenceNumber"],
    )
    with pytest.raises(kinesis.exceptions.ResourceNotFoundException):
        kinesis.put_record(StreamName="nope", Data=b"x", PartitionKey="k")
    with pytest.raises(kinesis.exceptions.InvalidArgumentException):
        kinesis.get_records(ShardIterator="bogus")
    kinesis.delete_stream(StreamName="telemetry")
    with pytest.raises(kinesis.exceptions.ResourceNotFoundException):
        kinesis.describe_stream(StreamName="telemetry")


def test_kinesis_with_the_aws_cli(server: RunningServer) -> None:
    cli(server, "kinesis", "create-stream", "--stream-name", "cli", "--shard-count", "1")
    # The aws CLI v1 sends a blob argument's text as the bytes (and base64-encodes it on the wire itself).
    data = '{"temperature": 21}'
    put = cli(server, "kinesis", "put-record", "--stream-name", "cli", "--partition-key", "p", "--data", data)
    assert put["ShardId"] == "shardId-000000000000"
    iterator = cli(
        server, "kinesis", "get-shard-iterator", "--stream-name", "cli", "--shard-id", put["ShardId"],
        "--shard-iterator-type", "AT_SEQUENCE_NUMBER", "--starting-sequence-number", put["SequenceNumber"],
    )["ShardIterator"]  # fmt: skip
    records = cli(server, "kinesis", "get-records", "--shard-iterator", iterator)["Records"]
    assert [base64.b64decode(r["Data"]) for r in records] == [b'{"temperature": 21}']


def test_kill_9_while_appending_leaves_a_readable_log(server_factory: ServerFactory) -> None:
    server = server_factory()
    kinesis = server.client("kinesis")
    kinesis.create_stream(StreamName="crash", ShardCount=1)
    acknowledged: list[str] = []
    stop = threading.Event()

    def producer() -> None:
        client = server.client("kinesis")
        n = 0
        while not stop.is_set():
            try:
                client.put_record(StreamName="crash", Data=f"r{n}".encode() * 50, PartitionKey="k")
            except Exception:
                return
            acknowledged.append(f"r{n}")
            n += 1

    threads = [threading.Thread(target=producer) for _ in range(3)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 30
    while len(acknowledged) < 200 and time.monotonic() < deadline:
        time.sleep(0.01)
    server.stop(signal.SIGKILL)
    stop.set()
    for thread in threads:
        thread.join()
    server.start()
    kinesis = server.client("kinesis")
    iterator = kinesis.get_shard_iterator(
        StreamName="crash", ShardId="shardId-000000000000", ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    read: list[bytes] = []
    while True:
        answer = kinesis.get_records(ShardIterator=iterator)
        read += [r["Data"] for r in answer["Records"]]
        if not answer["Records"]:
            break
        iterator = answer["NextShardIterator"]
    assert len(acknowledged) >= 200
    assert {a.encode() * 50 for a in acknowledged} <= set(read)  # every acknowledged record survived
    kinesis.put_record(StreamName="crash", Data=b"after", PartitionKey="k")  # appends still work


def wait_for_objects(server: RunningServer, bucket: str, count: int) -> list[dict[str, Any]]:
    s3 = server.client("s3")
    deadline = time.monotonic() + 30
    while True:
        objects = s3.list_objects_v2(Bucket=bucket).get("Contents", [])
        if len(objects) >= count or time.monotonic() > deadline:
            return list(objects)
        time.sleep(0.05)


def test_firehose_delivers_into_the_embedded_s3(server: RunningServer) -> None:
    s3 = server.client("s3")
    s3.create_bucket(Bucket="firehose-out")
    firehose = server.client("firehose")
    arn = firehose.create_delivery_stream(
        DeliveryStreamName="to-s3",
        DeliveryStreamType="DirectPut",
        ExtendedS3DestinationConfiguration={
            "RoleARN": "arn:aws:iam::000000000000:role/firehose",
            "BucketARN": "arn:aws:s3:::firehose-out",
            "Prefix": "iot/",
            "BufferingHints": {"SizeInMBs": 1, "IntervalInSeconds": 0},
        },
    )["DeliveryStreamARN"]
    assert arn == "arn:aws:firehose:us-east-1:000000000000:deliverystream/to-s3"
    description = firehose.describe_delivery_stream(DeliveryStreamName="to-s3")["DeliveryStreamDescription"]
    assert description["DeliveryStreamStatus"] == "ACTIVE"
    assert description["Destinations"][0]["ExtendedS3DestinationDescription"]["Prefix"] == "iot/"
    assert "to-s3" in firehose.list_delivery_streams()["DeliveryStreamNames"]
    firehose.put_record_batch(DeliveryStreamName="to-s3", Records=[{"Data": b"a\n"}, {"Data": b"b\n"}])
    [delivered] = wait_for_objects(server, "firehose-out", 1)
    assert delivered["Key"].startswith(f"iot/{time.strftime('%Y/%m/%d/', time.gmtime())}")
    assert delivered["Key"].split("/")[-1].startswith("to-s3-1-")
    fetched = aws(
        server, "s3api", "get-object", "--bucket", "firehose-out", "--key", delivered["Key"], "/dev/stdout"
    )
    assert fetched.returncode == 0 and fetched.stdout.startswith("a\nb\n")
    with pytest.raises(firehose.exceptions.ResourceNotFoundException):
        firehose.put_record(DeliveryStreamName="nope", Record={"Data": b"x"})


def test_firehose_with_the_aws_cli_flushes_at_shutdown(server_factory: ServerFactory) -> None:
    server = server_factory()
    cli(server, "s3api", "create-bucket", "--bucket", "lake")
    destination = json.dumps(
        {"RoleARN": "arn:aws:iam::000000000000:role/r", "BucketARN": "arn:aws:s3:::lake",
         "BufferingHints": {"SizeInMBs": 5, "IntervalInSeconds": 900}}
    )  # fmt: skip
    cli(server, "firehose", "create-delivery-stream", "--delivery-stream-name", "slow",
        "--extended-s3-destination-configuration", destination)  # fmt: skip
    data = "held until shutdown"
    put = cli(server, "firehose", "put-record", "--delivery-stream-name", "slow", "--record", f"Data={data}")
    assert put["RecordId"]
    assert cli(server, "s3api", "list-objects-v2", "--bucket", "lake") in (
        None,
        {},
        {"KeyCount": 0},
    ) or not cli(server, "s3api", "list-objects-v2", "--bucket", "lake").get("Contents")
    server.restart()  # SIGTERM: buffered records are delivered before the server stops
    listed = cli(server, "s3api", "list-objects-v2", "--bucket", "lake")["Contents"]
    [key] = [o["Key"] for o in listed]
    body = aws(server, "s3api", "get-object", "--bucket", "lake", "--key", key, "/dev/stdout")
    assert body.stdout.startswith("held until shutdown")
