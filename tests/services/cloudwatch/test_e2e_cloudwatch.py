"""CloudWatch metrics, alarms and CloudWatch Logs end to end against a real ``corral serve``: the aws CLI
and boto3, and ``/metrics`` scraped over HTTP and parsed by prometheus-client's own parser."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.aws_cli import aws
from tests.harness import RunningServer, make_server, serving


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    yield from serving(make_server(tmp_path_factory.mktemp("cloudwatch")))


def cli(server: RunningServer, *args: str) -> Any:
    done = aws(server, *args, "--output", "json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout) if done.stdout.strip() else None


def scrape(server: RunningServer) -> dict[str, list[Any]]:
    answer = httpx.get(f"http://{server.endpoints['http']}/metrics")
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/plain")
    return {family.name: family.samples for family in text_string_to_metric_families(answer.text)}


def test_metrics_from_the_cli_reach_get_metric_statistics_and_prometheus(server: RunningServer) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    for value in ("20", "22"):
        cli(server, "cloudwatch", "put-metric-data", "--namespace", "Factory Floor", "--metric-name",
            "Temperature", "--unit", "None", "--value", value,
            "--dimensions", "Device=press-1,Line=A")  # fmt: skip
    metrics = cli(server, "cloudwatch", "list-metrics", "--namespace", "Factory Floor")["Metrics"]
    assert metrics == [
        {"Namespace": "Factory Floor", "MetricName": "Temperature",
         "Dimensions": [{"Name": "Device", "Value": "press-1"}, {"Name": "Line", "Value": "A"}]}
    ]  # fmt: skip
    cloudwatch = server.client("cloudwatch")
    stats = cloudwatch.get_metric_statistics(
        Namespace="Factory Floor", MetricName="Temperature",
        Dimensions=[{"Name": "Line", "Value": "A"}, {"Name": "Device", "Value": "press-1"}],
        StartTime=now - timedelta(hours=1), EndTime=now + timedelta(hours=1), Period=7200,
        Statistics=["Average", "Maximum", "SampleCount"],
    )["Datapoints"]  # fmt: skip
    assert [(p["Average"], p["Maximum"], p["SampleCount"]) for p in stats] == [(21.0, 22.0, 2.0)]
    with pytest.raises(cloudwatch.exceptions.InvalidParameterValueException):
        cloudwatch.put_metric_data(Namespace="AWS/IoT", MetricData=[{"MetricName": "x", "Value": 1}])
    families = scrape(server)
    [value] = [s for s in families["corral_cloudwatch_value"] if s.labels["namespace"] == "Factory Floor"]
    assert value.value == 22.0
    assert value.labels == {
        "namespace": "Factory Floor", "metric_name": "Temperature", "unit": "None",
        "dimension_Device": "press-1", "dimension_Line": "A",
    }  # fmt: skip
    totals = {s.name: s.value for s in families["corral_cloudwatch_datapoints"]}
    assert totals == {"corral_cloudwatch_datapoints_count": 2.0, "corral_cloudwatch_datapoints_sum": 42.0}
    assert families["corral_broker_messages_in"][0].name == "corral_broker_messages_in_total"
    assert "corral_broker_open_connections" in families and "corral_firehose_records" in families


def test_alarms(server: RunningServer) -> None:
    cli(server, "cloudwatch", "put-metric-alarm", "--alarm-name", "hot", "--namespace", "Factory Floor",
        "--metric-name", "Temperature", "--statistic", "Maximum", "--period", "60",
        "--evaluation-periods", "1",
        "--threshold", "30", "--comparison-operator", "GreaterThanThreshold")  # fmt: skip
    [alarm] = cli(server, "cloudwatch", "describe-alarms", "--alarm-names", "hot")["MetricAlarms"]
    assert (alarm["StateValue"], alarm["Threshold"]) == ("INSUFFICIENT_DATA", 30.0)
    cli(server, "cloudwatch", "set-alarm-state", "--alarm-name", "hot", "--state-value", "ALARM",
        "--state-reason", "rule says so", "--state-reason-data", '{"reading": 31}')  # fmt: skip
    [alarm] = cli(server, "cloudwatch", "describe-alarms", "--state-value", "ALARM")["MetricAlarms"]
    assert (alarm["AlarmName"], alarm["StateReason"]) == ("hot", "rule says so")
    history = cli(server, "cloudwatch", "describe-alarm-history", "--alarm-name", "hot")["AlarmHistoryItems"]
    assert [h["HistoryItemType"] for h in history] == ["StateUpdate", "ConfigurationUpdate"]
    assert json.loads(history[0]["HistoryData"])["newState"]["stateValue"] == "ALARM"
    cloudwatch = server.client("cloudwatch")
    with pytest.raises(cloudwatch.exceptions.ResourceNotFound):
        cloudwatch.set_alarm_state(AlarmName="nope", StateValue="OK", StateReason="x")
    cloudwatch.delete_alarms(AlarmNames=["hot"])
    assert cloudwatch.describe_alarms()["MetricAlarms"] == []


def test_logs(server: RunningServer) -> None:
    cli(server, "logs", "create-log-group", "--log-group-name", "/corral/rules")
    cli(server, "logs", "create-log-stream", "--log-group-name", "/corral/rules", "--log-stream-name", "s1")
    now = int(time.time() * 1000)
    events = json.dumps([{"timestamp": now + i, "message": f"event {i} {'error' if i % 2 else 'ok'}"}
                         for i in range(5)])  # fmt: skip
    cli(server, "logs", "put-log-events", "--log-group-name", "/corral/rules", "--log-stream-name", "s1",
        "--log-events", events)  # fmt: skip
    got = cli(server, "logs", "get-log-events", "--log-group-name", "/corral/rules",
              "--log-stream-name", "s1", "--start-from-head")  # fmt: skip
    assert [e["message"] for e in got["events"]] == [
        f"event {i} {'error' if i % 2 else 'ok'}" for i in range(5)
    ]
    logs = server.client("logs")
    page = logs.get_log_events(logGroupName="/corral/rules", logStreamName="s1", startFromHead=True, limit=2)
    second = logs.get_log_events(
        logGroupName="/corral/rules", logStreamName="s1", nextToken=page["nextForwardToken"], limit=2
    )
    assert [e["message"][:7] for e in page["events"] + second["events"]] == [f"event {i}" for i in range(4)]
    latest = logs.get_log_events(logGroupName="/corral/rules", logStreamName="s1", limit=1)
    assert [e["message"] for e in latest["events"]] == ["event 4 ok"]
    filtered = logs.filter_log_events(logGroupName="/corral/rules", filterPattern="error")["events"]
    assert [e["message"] for e in filtered] == ["event 1 error", "event 3 error"]
    [group] = logs.describe_log_groups(logGroupNamePrefix="/corral")["logGroups"]
    assert group["logGroupName"] == "/corral/rules" and group["storedBytes"] > 0
    [stream] = logs.describe_log_streams(logGroupName="/corral/rules")["logStreams"]
    assert stream["lastEventTimestamp"] == now + 4
    with pytest.raises(logs.exceptions.ResourceAlreadyExistsException):
        logs.create_log_group(logGroupName="/corral/rules")
    with pytest.raises(logs.exceptions.ResourceNotFoundException):
        logs.put_log_events(logGroupName="/corral/rules", logStreamName="nope",
                            logEvents=[{"timestamp": now, "message": "x"}])  # fmt: skip
    logs.delete_log_group(logGroupName="/corral/rules")
    with pytest.raises(logs.exceptions.ResourceNotFoundException):
        logs.get_log_events(logGroupName="/corral/rules", logStreamName="s1")
