"""The stream, metric, log and search rule actions end to end against a real ``corral serve`` and its embedded
services: rules created with the aws CLI, messages published by paho-mqtt over mutual TLS, and what the
actions wrote read back as an application would (the aws CLI, boto3, ``/metrics`` through prometheus-client's
parser, a search endpoint served by the test itself).

- kinesis with ``partitionKey ${topic(2)}``: every record of one device on one shard, with that key; without
  a partition key each record gets a random UUID;
- firehose with a separator (records buffered until the server stops with SIGTERM, then one object in the
  embedded S3) and in batch mode (one record per array element), and a delivery into a missing bucket kept
  until the bucket exists;
- cloudwatchMetric with every field a template (the message's own timestamp honoured), read with ``aws
  cloudwatch get-metric-statistics`` and ``/metrics``; cloudwatchAlarm moving an alarm through its states;
  cloudwatchLogs, one event per message and in batch mode, read with ``aws logs get-log-events`` and
  ``filter-log-events``;
- elasticsearch and openSearch: ``PUT {endpoint}/{index}/_doc/{id}`` received by a local HTTP server;
- every one of them failing (missing stream, delivery stream, log group, alarm; a reserved namespace; a
  search endpoint down or refusing) reported to the rule's errorAction with AWS's payload;
- external mode: through ``[services.lambda]``, ``[services.kinesis]``, ``[services.firehose]``,
  ``[services.cloudwatch]`` and ``[services.logs]``, a second ``corral serve`` (standing in for AWS or another
  compatible endpoint) runs the lambda action's function, whose refusal reaches the error action too, and
  receives what the other actions write.

What the actions write appears some time after the publish: the tests poll with the clients themselves (each
poll is a request), with a deadline.
"""

from __future__ import annotations

import base64
import json
import queue
import socket
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.aws_cli import aws, ok
from tests.broker.clients import PahoClient, uid
from tests.functions.function_support import package
from tests.harness import RunningServer, eventually, make_server, serving
from tests.rules.e2e_support import QUICK_RETRIES, ROLE, new_rule

WAIT = 30.0


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    yield from serving(make_server(tmp_path_factory.mktemp("stream-actions"), config_toml=QUICK_RETRIES))


@pytest.fixture
def device(server: RunningServer) -> Iterator[PahoClient]:
    client = PahoClient(server, uid("sensor"))
    client.connect()
    yield client
    client.close()


def cli(server: RunningServer, *args: str) -> Any:
    out = ok(aws(server, *args, "--output", "json"))
    return json.loads(out) if out.strip() else None


def scrape(server: RunningServer) -> dict[str, list[Any]]:
    answer = httpx.get(f"http://{server.endpoints['http']}/metrics")
    assert answer.status_code == 200
    return {family.name: family.samples for family in text_string_to_metric_families(answer.text)}


def counter(server: RunningServer, family: str) -> float:
    [sample] = scrape(server)[family]
    value: float = sample.value
    return value


# -- kinesis ------------------------------------------------------------------------------------------------


def read_stream(server: RunningServer, stream: str) -> dict[str, list[dict[str, Any]]]:
    """Every record of every shard, by shard id (boto3 GetShardIterator TRIM_HORIZON, then GetRecords)."""
    kinesis = server.client("kinesis")
    records: dict[str, list[dict[str, Any]]] = {}
    for shard in kinesis.list_shards(StreamName=stream)["Shards"]:
        iterator = kinesis.get_shard_iterator(
            StreamName=stream, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        records[shard["ShardId"]] = got = []
        while iterator:
            answer = kinesis.get_records(ShardIterator=iterator)
            if not answer["Records"]:
                break
            got += answer["Records"]
            iterator = answer.get("NextShardIterator")
    return records


def test_kinesis_records_land_on_the_shard_of_their_partition_key(
    server: RunningServer, tmp_path: Path, device: PahoClient
) -> None:
    kinesis = server.client("kinesis")
    kinesis.create_stream(StreamName="line-records", ShardCount=4)
    kinesis.create_stream(StreamName="unkeyed", ShardCount=1)
    new_rule(server, tmp_path, "SELECT *, topic(2) AS press FROM 'line/+'", [{"kinesis": {
        "streamName": "${topic(1)}-records", "partitionKey": "${topic(2)}", "roleArn": ROLE,
    }}])  # fmt: skip
    new_rule(server, tmp_path, "SELECT * FROM 'unkeyed/+'", [
        {"kinesis": {"streamName": "unkeyed", "roleArn": ROLE}}
    ])  # fmt: skip
    presses = [f"press-{i}" for i in range(8)]
    for n in range(3):
        for press in presses:
            device.publish(f"line/{press}", json.dumps({"n": n}).encode(), qos=1)
    device.publish("unkeyed/a", b'{"n": 0}', qos=1)
    device.publish("unkeyed/b", b'{"n": 1}', qos=1)

    def all_records() -> dict[str, list[dict[str, Any]]] | None:
        by_shard = read_stream(server, "line-records")
        return by_shard if sum(map(len, by_shard.values())) >= 3 * len(presses) else None

    by_shard = eventually(all_records, "24 kinesis records")
    shards_of: dict[str, set[str]] = defaultdict(set)
    counts: dict[str, list[int]] = defaultdict(list)
    for shard, records in by_shard.items():
        for record in records:
            body = json.loads(record["Data"])
            assert record["PartitionKey"] == body["press"]
            shards_of[body["press"]].add(shard)
            counts[body["press"]].append(body["n"])
    assert {press: sorted(ns) for press, ns in counts.items()} == {press: [0, 1, 2] for press in presses}
    assert all(len(shards) == 1 for shards in shards_of.values()), shards_of  # one key, one shard
    assert len(set().union(*shards_of.values())) > 1  # eight keys spread over the four shards
    # The aws CLI reads the same shard of one device's records.
    [shard] = shards_of["press-0"]
    iterator = cli(server, "kinesis", "get-shard-iterator", "--stream-name", "line-records",
                   "--shard-id", shard, "--shard-iterator-type", "TRIM_HORIZON")["ShardIterator"]  # fmt: skip
    records = cli(server, "kinesis", "get-records", "--shard-iterator", iterator)["Records"]
    mine = [json.loads(base64.b64decode(r["Data"])) for r in records if r["PartitionKey"] == "press-0"]
    assert sorted(body["n"] for body in mine) == [0, 1, 2]

    def unkeyed() -> list[dict[str, Any]] | None:
        got = read_stream(server, "unkeyed")["shardId-000000000000"]
        return got if len(got) == 2 else None

    keys = [record["PartitionKey"] for record in eventually(unkeyed, "the unkeyed records")]
    assert len({str(uuid.UUID(key)) for key in keys}) == 2  # a new random UUID per record


# -- firehose -----------------------------------------------------------------------------------------------


def delivery_stream(server: RunningServer, name: str, bucket: str, prefix: str, interval: int) -> None:
    server.client("firehose").create_delivery_stream(
        DeliveryStreamName=name,
        ExtendedS3DestinationConfiguration={
            "RoleARN": ROLE, "BucketARN": f"arn:aws:s3:::{bucket}", "Prefix": prefix,
            "BufferingHints": {"SizeInMBs": 1, "IntervalInSeconds": interval},
        },
    )  # fmt: skip


def objects(server: RunningServer, bucket: str, prefix: str) -> list[str]:
    out = cli(server, "s3api", "list-objects-v2", "--bucket", bucket, "--prefix", prefix)
    return [entry["Key"] for entry in (out or {}).get("Contents", [])]


def get_object(server: RunningServer, bucket: str, key: str, tmp_path: Path) -> bytes:
    target = tmp_path / uid("object")
    ok(aws(server, "s3api", "get-object", "--bucket", bucket, "--key", key, str(target)))
    return target.read_bytes()


def test_firehose_separators_batches_and_a_late_bucket(server: RunningServer, tmp_path: Path) -> None:
    server.client("s3").create_bucket(Bucket="lake")
    delivery_stream(server, "held", "lake", "held/", interval=900)  # delivered when the server stops
    delivery_stream(server, "batches", "lake", "batches/", interval=0)  # delivered at once
    delivery_stream(server, "orphan", "late-bucket", "orphan/", interval=0)  # its bucket comes later
    new_rule(server, tmp_path, "SELECT * FROM 'fh/lines'", [
        {"firehose": {"deliveryStreamName": "held", "separator": "\r\n", "roleArn": ROLE}}
    ])  # fmt: skip
    new_rule(server, tmp_path, "SELECT * FROM 'fh/batch'", [{"firehose": {
        "deliveryStreamName": "batches", "separator": ",", "batchMode": True, "roleArn": ROLE,
    }}])  # fmt: skip
    new_rule(server, tmp_path, "SELECT * FROM 'fh/orphan'", [
        {"firehose": {"deliveryStreamName": "orphan", "separator": "\n", "roleArn": ROLE}}
    ])  # fmt: skip
    buffered = counter(server, "corral_firehose_records")
    device = PahoClient(server, uid("sensor"))
    device.connect()
    try:
        device.publish("fh/batch", b'[{"a": 1}, "b", 3]', qos=1)
        [key] = eventually(lambda: objects(server, "lake", "batches/"), "the batch object")
        assert get_object(server, "lake", key, tmp_path) == b'{"a":1},"b",3,'
        lines = [{"reading": n} for n in range(3)]
        for line in lines:
            device.publish("fh/lines", json.dumps(line).encode(), qos=1)
        device.publish("fh/orphan", b'{"kept": true}', qos=1)
    finally:
        device.close()
    failures = counter(server, "corral_firehose_delivery_failures")
    # The seven records (three elements of the batch, three lines, one orphan) are in the spools ...
    eventually(lambda: counter(server, "corral_firehose_records") >= buffered + 7, "seven buffered records")
    # ... the orphan's delivery fails until its bucket exists, then its batch is delivered, not lost.
    eventually(lambda: counter(server, "corral_firehose_delivery_failures") > failures, "a failed delivery")
    server.client("s3").create_bucket(Bucket="late-bucket")
    [orphan] = eventually(lambda: objects(server, "late-bucket", "orphan/"), "the orphan's object", WAIT)
    assert get_object(server, "late-bucket", orphan, tmp_path) == b'{"kept":true}\n'
    assert objects(server, "lake", "held/") == []
    server.restart()  # SIGTERM delivers what is buffered
    [held] = objects(server, "lake", "held/")
    body = get_object(server, "lake", held, tmp_path)
    assert body.endswith(b"\r\n")
    assert sorted(json.loads(line)["reading"] for line in body.split(b"\r\n")[:-1]) == [0, 1, 2]


# -- cloudwatch ---------------------------------------------------------------------------------------------


def statistics(server: RunningServer, namespace: str, name: str, around: datetime) -> list[dict[str, Any]]:
    out = cli(
        server, "cloudwatch", "get-metric-statistics", "--namespace", namespace, "--metric-name", name,
        "--start-time", (around - timedelta(hours=1)).isoformat(),
        "--end-time", (around + timedelta(hours=1)).isoformat(), "--period", "7200",
        "--statistics", "SampleCount", "Sum", "Maximum",
    )  # fmt: skip
    points: list[dict[str, Any]] = out["Datapoints"]
    return points


def test_cloudwatch_metric_with_templates(server: RunningServer, tmp_path: Path, device: PahoClient) -> None:
    new_rule(server, tmp_path, "SELECT * FROM 'plant/+/metric'", [{"cloudwatchMetric": {
        "metricNamespace": "Plant/${topic(2)}", "metricName": "${metric}", "metricValue": "${value}",
        "metricUnit": "${unit}", "metricTimestamp": "${ts}", "roleArn": ROLE,
    }}])  # fmt: skip
    now = datetime.now(UTC).replace(microsecond=0)
    recent = int(now.timestamp()) - 60
    for value in (21.5, 23.0):
        reading = {"metric": "Temperature", "value": value, "unit": "None", "ts": recent}
        device.publish("plant/line-1/metric", json.dumps(reading).encode(), qos=1)
    three_days_ago = now - timedelta(days=3)
    reading = {"metric": "Backlog", "value": 7, "unit": "Count", "ts": int(three_days_ago.timestamp())}
    device.publish("plant/line-1/metric", json.dumps(reading).encode(), qos=1)

    def both() -> list[dict[str, Any]] | None:
        points = statistics(server, "Plant/line-1", "Temperature", now)
        return points if points and points[0]["SampleCount"] == 2 else None

    [point] = eventually(both, "two Temperature datapoints")
    assert (point["Sum"], point["Maximum"], point["Unit"]) == (44.5, 23.0, "None")
    # The datapoint is stamped with the message's metricTimestamp, not the time it arrived.
    [old] = eventually(lambda: statistics(server, "Plant/line-1", "Backlog", three_days_ago), "the backlog")
    assert (old["Sum"], old["Unit"]) == (7.0, "Count")
    assert statistics(server, "Plant/line-1", "Backlog", now) == []
    families = scrape(server)
    [latest] = [s for s in families["corral_cloudwatch_value"] if s.labels["metric_name"] == "Temperature"]
    assert latest.labels == {"namespace": "Plant/line-1", "metric_name": "Temperature", "unit": "None"}
    assert latest.value == 23.0
    totals = {
        s.name: s.value
        for s in families["corral_cloudwatch_datapoints"]
        if s.labels["metric_name"] == "Temperature"
    }
    assert totals == {"corral_cloudwatch_datapoints_count": 2.0, "corral_cloudwatch_datapoints_sum": 44.5}


def test_cloudwatch_alarm_state_from_a_rule(
    server: RunningServer, tmp_path: Path, device: PahoClient
) -> None:
    cli(server, "cloudwatch", "put-metric-alarm", "--alarm-name", "line-1-overheat", "--namespace", "Plant",
        "--metric-name", "Temperature", "--statistic", "Maximum", "--period", "60", "--evaluation-periods",
        "1", "--threshold", "80", "--comparison-operator", "GreaterThanThreshold")  # fmt: skip
    new_rule(server, tmp_path, "SELECT * FROM 'plant/+/alarm'", [{"cloudwatchAlarm": {
        "alarmName": "${topic(2)}-overheat", "stateValue": "${state}",
        "stateReason": "${topic(2)} reported ${temperature} C", "roleArn": ROLE,
    }}])  # fmt: skip

    def alarm_in(state: str) -> dict[str, Any] | None:
        described = cli(server, "cloudwatch", "describe-alarms", "--alarm-names", "line-1-overheat")
        [alarm] = described["MetricAlarms"]
        return alarm if alarm["StateValue"] == state else None

    device.publish("plant/line-1/alarm", b'{"state": "ALARM", "temperature": 91}', qos=1)
    alarm = eventually(lambda: alarm_in("ALARM"), "the alarm state")
    assert alarm["StateReason"] == "line-1 reported 91 C"
    device.publish("plant/line-1/alarm", b'{"state": "OK", "temperature": 60}', qos=1)
    assert eventually(lambda: alarm_in("OK"), "the OK state")["StateReason"] == "line-1 reported 60 C"
    history = cli(server, "cloudwatch", "describe-alarm-history", "--alarm-name", "line-1-overheat",
                  "--history-item-type", "StateUpdate")["AlarmHistoryItems"]  # fmt: skip
    assert [item["HistorySummary"] for item in history] == [
        "Alarm updated from ALARM to OK",
        "Alarm updated from INSUFFICIENT_DATA to ALARM",
    ]


def test_cloudwatch_logs_single_events_and_batches(
    server: RunningServer, tmp_path: Path, device: PahoClient
) -> None:
    cli(server, "logs", "create-log-group", "--log-group-name", "/iot/line-1")
    single = new_rule(server, tmp_path, "SELECT * FROM 'plant/+/log'", [
        {"cloudwatchLogs": {"logGroupName": "/iot/${topic(2)}", "roleArn": ROLE}}
    ])  # fmt: skip
    batch = new_rule(server, tmp_path, "SELECT * FROM 'plant/+/logs'", [
        {"cloudwatchLogs": {"logGroupName": "/iot/${topic(2)}", "batchMode": True, "roleArn": ROLE}}
    ])  # fmt: skip
    before = int(time.time() * 1000)
    device.publish("plant/line-1/log", b'{"door": "open"}', qos=1)
    device.publish("plant/line-1/log", b'{"door": "closed"}', qos=1)
    events = [
        {"timestamp": before - 2000, "message": "conveyor started"},
        {"timestamp": before - 3000, "message": "ERROR conveyor jammed"},
        {"timestamp": before - 1000, "message": "ERROR conveyor stopped"},
    ]
    device.publish("plant/line-1/logs", json.dumps(events).encode(), qos=1)

    def stream_events(stream: str, count: int) -> list[dict[str, Any]] | None:
        found = aws(server, "logs", "get-log-events", "--log-group-name", "/iot/line-1", "--log-stream-name",
                    stream, "--start-from-head", "--output", "json")  # fmt: skip
        if found.returncode:  # the rule's stream is made by its first write
            assert "ResourceNotFoundException" in found.stderr, found.stderr
            return None
        got: list[dict[str, Any]] = json.loads(found.stdout)["events"]
        return got if len(got) == count else None

    written = eventually(lambda: stream_events(single, 2), "the rule's two log events")
    assert sorted(json.loads(e["message"])["door"] for e in written) == ["closed", "open"]
    assert all(before <= e["timestamp"] <= int(time.time() * 1000) for e in written)  # the messages' time
    batched = eventually(lambda: stream_events(batch, 3), "the batch's three log events")
    assert [(e["timestamp"], e["message"]) for e in batched] == sorted(
        (e["timestamp"], e["message"]) for e in events
    )
    filtered = cli(server, "logs", "filter-log-events", "--log-group-name", "/iot/line-1",
                   "--filter-pattern", "ERROR")["events"]  # fmt: skip
    assert [(e["logStreamName"], e["message"]) for e in filtered] == [
        (batch, "ERROR conveyor jammed"),
        (batch, "ERROR conveyor stopped"),
    ]


# -- elasticsearch / openSearch: a search endpoint served by the test --------------------------------------


@dataclass(frozen=True)
class Indexed:
    method: str
    path: str
    content_type: str
    body: bytes


class SearchEndpoint:
    """A tiny HTTP server standing in for an Elasticsearch or OpenSearch domain: it records each request and
    answers 201, or 503 for an index whose name starts with ``full``."""

    def __init__(self) -> None:
        self.requests: queue.Queue[Indexed] = queue.Queue()
        requests = self.requests

        class Handler(BaseHTTPRequestHandler):
            def do_PUT(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                requests.put(Indexed("PUT", self.path, self.headers.get("content-type", ""), body))
                status = 503 if self.path.split("/")[-3].startswith("full") else 201
                answer = b'{"result": "created"}'
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join()


@pytest.fixture(scope="module")
def search() -> Iterator[SearchEndpoint]:
    endpoint = SearchEndpoint()
    yield endpoint
    endpoint.close()


def test_search_actions_index_the_output(
    server: RunningServer, tmp_path: Path, device: PahoClient, search: SearchEndpoint
) -> None:
    new_rule(server, tmp_path, "SELECT *, topic(2) AS line FROM 'index/+'", [
        {"elasticsearch": {"endpoint": search.url + "/", "index": "es-${topic(2)}", "type": "_doc",
                           "id": "${id}", "roleArn": ROLE}},
        {"openSearch": {"endpoint": search.url + "/domain", "index": "os-${topic(2)}", "type": "_doc",
                        "id": "${id}", "roleArn": ROLE}},
    ])  # fmt: skip
    device.publish("index/line-1", b'{"id": "reading 7", "temperature": 21}', qos=1)
    got = sorted([search.requests.get(timeout=WAIT), search.requests.get(timeout=WAIT)], key=lambda r: r.path)
    assert [(r.method, r.path, r.content_type) for r in got] == [
        ("PUT", "/domain/os-line-1/_doc/reading%207", "application/json"),
        ("PUT", "/es-line-1/_doc/reading%207", "application/json"),
    ]
    for request in got:
        assert json.loads(request.body) == {"id": "reading 7", "temperature": 21, "line": "line-1"}


# -- failures reach the error action ------------------------------------------------------------------------


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def test_failures_reach_the_error_action_with_awss_payload(
    server: RunningServer, tmp_path: Path, device: PahoClient, search: SearchEndpoint
) -> None:
    errors = uid("errors")
    device.subscribe(f"{errors}/#")
    down = f"http://127.0.0.1:{_closed_port()}"
    name = new_rule(
        server, tmp_path, "SELECT * FROM 'fail/+'",
        [
            {"kinesis": {"streamName": "no-such-stream", "partitionKey": "${topic(2)}", "roleArn": ROLE}},
            {"firehose": {"deliveryStreamName": "no-such-delivery", "separator": "\n", "roleArn": ROLE}},
            {"cloudwatchLogs": {"logGroupName": "/no/such/group", "roleArn": ROLE}},
            {"cloudwatchAlarm": {"alarmName": "no-such-alarm", "stateValue": "ALARM", "stateReason": "r",
                                 "roleArn": ROLE}},
            {"cloudwatchMetric": {"metricNamespace": "AWS/IoT", "metricName": "m", "metricValue": "1",
                                  "metricUnit": "Count", "roleArn": ROLE}},
            {"elasticsearch": {"endpoint": down, "index": "i", "type": "_doc", "id": "1", "roleArn": ROLE}},
            {"openSearch": {"endpoint": search.url, "index": "full-${topic(2)}", "type": "_doc", "id": "1",
                            "roleArn": ROLE}},
        ],
        errorAction={"republish": {"topic": f"{errors}/${{topic(2)}}", "roleArn": ROLE}},
    )  # fmt: skip
    payload = b'{"temperature": 99}'
    device.publish("fail/press-9", payload, qos=1)
    report = json.loads(device.wait_for(lambda m: m.topic == f"{errors}/press-9", timeout=WAIT).payload)
    assert (report["ruleName"], report["topic"]) == (name, "fail/press-9")
    assert report["clientId"] == device.client_id
    assert base64.b64decode(report["base64OriginalPayload"]) == payload
    assert str(uuid.UUID(report["cloudwatchTraceId"])) == report["cloudwatchTraceId"]
    failures = {f["failedAction"]: (f["failedResource"], f["errorMessage"]) for f in report["failures"]}
    assert len(report["failures"]) == 7 and set(failures) == {
        "KinesisAction", "FirehoseAction", "CloudwatchLogsAction", "CloudwatchAlarmAction",
        "CloudwatchMetricAction", "ElasticsearchAction", "OpenSearchAction",
    }  # fmt: skip
    expected = {
        "KinesisAction": ("no-such-stream", "ResourceNotFoundException: "),
        "FirehoseAction": ("no-such-delivery", "ResourceNotFoundException: "),
        "CloudwatchLogsAction": ("/no/such/group", "ResourceNotFoundException: "),
        "CloudwatchAlarmAction": ("no-such-alarm", "ResourceNotFound: "),
        "CloudwatchMetricAction": ("AWS/IoT/m", "InvalidParameterValueException: "),
        "ElasticsearchAction": (f"{down}/i/_doc/1", "HTTP request failed: ConnectError"),
        "OpenSearchAction": (
            f"{search.url}/full-press-9/_doc/1",
            "Received a response with HTTP status code 503",
        ),
    }
    for action, (resource, message) in expected.items():
        assert failures[action][0] == resource, (action, failures[action])
        assert failures[action][1].startswith(message), (action, failures[action])
    assert "Traceback" not in server.log()


# -- external mode: the lambda action reaching a function on another corral serve ---------------------------

FORWARDER = """
import json
import os

import boto3

sqs = boto3.client("sqs")


def handler(event, context):
    url = sqs.get_queue_url(QueueName=os.environ["QUEUE"])["QueueUrl"]
    body = {"event": event, "function": context.function_name}
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps(body))
"""


EXTERNAL = ("lambda", "kinesis", "firehose", "cloudwatch", "logs")


def test_actions_pointed_at_an_external_endpoint(
    tmp_path_factory: pytest.TempPathFactory, tmp_path: Path
) -> None:
    base = tmp_path_factory.mktemp("external")
    outside = make_server(base, name="outside").start()
    try:
        endpoint = outside.external_settings()
        config = QUICK_RETRIES + "".join(f"\n[services.{service}]\n{endpoint}" for service in EXTERNAL)
        inside = make_server(base, name="inside", config_toml=config).start()
        try:
            _external_lambda(inside, outside, tmp_path)
            _external_streams(inside, outside, tmp_path)
        finally:
            inside.stop()
    finally:
        outside.stop()


def _external_lambda(inside: RunningServer, outside: RunningServer, tmp_path: Path) -> None:
    queue_url = outside.client("sqs").create_queue(QueueName="invocations")["QueueUrl"]
    outside.client("lambda").create_function(
        FunctionName="Forwarder", Runtime="python3.11", Handler="forwarder.handler", Role=ROLE,
        Code={"ZipFile": package({"forwarder.py": FORWARDER})},
        Environment={"Variables": {"QUEUE": "invocations"}},
    )  # fmt: skip
    arn = "arn:aws:lambda:us-east-1:000000000000:function:"
    errors = uid("errors")
    new_rule(inside, tmp_path, "SELECT *, topic(2) AS site FROM 'site/+'", [
        {"lambda": {"functionArn": arn + "Forwarder"}}
    ])  # fmt: skip
    missing = new_rule(
        inside, tmp_path, "SELECT * FROM 'nowhere/+'", [{"lambda": {"functionArn": arn + "NoSuchFunction"}}],
        errorAction={"republish": {"topic": f"{errors}/${{topic(2)}}", "roleArn": ROLE}},
    )  # fmt: skip
    device = PahoClient(inside, uid("site-device"))
    device.connect()
    try:
        device.subscribe(f"{errors}/#")
        device.publish("site/north", b'{"clickType": "SINGLE"}', qos=1)
        [message] = outside.client("sqs").receive_message(QueueUrl=queue_url, WaitTimeSeconds=20)["Messages"]
        assert json.loads(message["Body"]) == {
            "event": {"clickType": "SINGLE", "site": "north"},
            "function": "Forwarder",
        }
        device.publish("nowhere/south", b"{}", qos=1)
        report = json.loads(device.wait_for(lambda m: m.topic == f"{errors}/south", timeout=WAIT).payload)
    finally:
        device.close()
    assert (report["ruleName"], report["topic"]) == (missing, "nowhere/south")
    [failure] = report["failures"]
    assert failure["failedAction"] == "LambdaAction"
    assert failure["failedResource"] == arn + "NoSuchFunction"
    assert failure["errorMessage"].startswith("Failed to invoke the function: ResourceNotFoundException: ")
    assert "Traceback" not in inside.log()
    assert outside.client("lambda").list_functions()["Functions"][0]["FunctionName"] == "Forwarder"


def _external_streams(inside: RunningServer, outside: RunningServer, tmp_path: Path) -> None:
    """kinesis, firehose (batch mode), cloudwatchMetric, cloudwatchAlarm and cloudwatchLogs through
    ``[services.*]``: everything lands on the outside server, nothing on the inside one."""
    outside.client("kinesis").create_stream(StreamName="offsite", ShardCount=1)
    outside.client("s3").create_bucket(Bucket="offsite-lake")
    delivery_stream(outside, "offsite", "offsite-lake", "iot/", interval=0)
    outside.client("logs").create_log_group(logGroupName="/offsite")
    outside.client("cloudwatch").put_metric_alarm(
        AlarmName="offsite-alarm", Namespace="Offsite", MetricName="Level", Statistic="Maximum", Period=60,
        EvaluationPeriods=1, Threshold=1, ComparisonOperator="GreaterThanThreshold",
    )  # fmt: skip
    rule = new_rule(inside, tmp_path, "SELECT * FROM 'offsite/+'", [
        {"kinesis": {"streamName": "offsite", "partitionKey": "${topic(2)}", "roleArn": ROLE}},
        {"firehose": {"deliveryStreamName": "offsite", "separator": "\n", "batchMode": True,
                      "roleArn": ROLE}},
        {"cloudwatchMetric": {"metricNamespace": "Offsite", "metricName": "Level", "metricValue": "4",
                              "metricUnit": "Count", "roleArn": ROLE}},
        {"cloudwatchAlarm": {"alarmName": "offsite-alarm", "stateValue": "ALARM",
                             "stateReason": "from a rule", "roleArn": ROLE}},
        {"cloudwatchLogs": {"logGroupName": "/offsite", "roleArn": ROLE}},
    ])  # fmt: skip
    device = PahoClient(inside, uid("offsite-device"))
    device.connect()
    try:
        device.publish("offsite/tank-3", b'[{"level": 4}, {"level": 5}]', qos=1)
    finally:
        device.close()
    [record] = eventually(lambda: read_stream(outside, "offsite")["shardId-000000000000"], "the record")
    assert (record["PartitionKey"], json.loads(record["Data"])) == ("tank-3", [{"level": 4}, {"level": 5}])
    s3 = outside.client("s3")

    def keys() -> list[str]:
        return [o["Key"] for o in s3.list_objects_v2(Bucket="offsite-lake").get("Contents", [])]

    [key] = eventually(keys, "the object")
    assert s3.get_object(Bucket="offsite-lake", Key=key)["Body"].read() == b'{"level":4}\n{"level":5}\n'
    cloudwatch = outside.client("cloudwatch")

    def alarm() -> dict[str, Any] | None:
        [found] = cloudwatch.describe_alarms(AlarmNames=["offsite-alarm"])["MetricAlarms"]
        return found if found["StateValue"] == "ALARM" else None

    assert eventually(alarm, "the alarm state")["StateReason"] == "from a rule"
    now = datetime.now(UTC)

    def levels() -> list[dict[str, Any]]:
        points: list[dict[str, Any]] = cloudwatch.get_metric_statistics(
            Namespace="Offsite", MetricName="Level", StartTime=now - timedelta(hours=1),
            EndTime=now + timedelta(hours=1), Period=7200, Statistics=["Maximum"],
        )["Datapoints"]  # fmt: skip
        return points

    assert [(p["Maximum"], p["Unit"]) for p in eventually(levels, "the datapoint")] == [(4.0, "Count")]
    logs = outside.client("logs")

    def events() -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = logs.filter_log_events(logGroupName="/offsite")["events"]
        return found

    [event] = eventually(events, "the log event")
    assert (event["logStreamName"], json.loads(event["message"])) == (rule, [{"level": 4}, {"level": 5}])
    assert inside.client("kinesis").list_streams()["StreamNames"] == []
    assert inside.client("logs").describe_log_groups()["logGroups"] == []
    assert "Traceback" not in inside.log()
