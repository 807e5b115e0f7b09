"""Topic rules on a real ``corral serve``: created with the aws CLI and boto3, triggered by paho devices over
TLS, observed by paho subscribers; a local HTTP server stands in for an http action's endpoint."""

from __future__ import annotations

import base64
import http.server
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import botocore.exceptions
import pytest

from tests.aws_cli import aws
from tests.broker.clients import PahoClient, Will, on_topic, uid
from tests.harness import RunningServer, make_server, serving
from tests.rules.e2e_support import ROLE, create_rule, health, republish

CONFIG = """
[rules]
max_republish_hops = 4
action_retries = 2
retry_base_delay = 0.05
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    yield from serving(make_server(tmp_path_factory.mktemp("rules"), config_toml=CONFIG))


def test_cli_rule_republishes_a_device_message(
    server: RunningServer, tmp_path: Path, device: PahoClient, listener: PahoClient
) -> None:
    base = uid("sensors")
    name = base.replace("-", "_")
    create_rule(
        server,
        tmp_path,
        name,
        {
            "sql": f"SELECT temp, topic(2) AS room FROM '{base}/+' WHERE temp > 20",
            "awsIotSqlVersion": "2016-03-23",
            "actions": [republish(f"{base}-hot/${{topic(2)}}", qos=1)],
        },
    )
    listener.subscribe(f"{base}-hot/#")
    device.publish(f"{base}/kitchen", b'{"temp": 18}', qos=1)
    device.publish(f"{base}/lounge", b'{"temp": 25, "humidity": 40}', qos=1)
    message = listener.next_message()
    assert message.topic == f"{base}-hot/lounge" and message.qos == 1
    assert json.loads(message.payload) == {"temp": 25, "room": "lounge"}
    got = json.loads(aws(server, "iot", "get-topic-rule", "--rule-name", name).stdout)
    assert got["ruleArn"] == f"arn:aws:iot:us-east-1:000000000000:rule/{name}"
    assert got["rule"]["ruleDisabled"] is False and got["rule"]["awsIotSqlVersion"] == "2016-03-23"


def test_trim_shadow_delta_rule(server: RunningServer, tmp_path: Path, listener: PahoClient) -> None:
    thing = uid("lamp")
    create_rule(
        server,
        tmp_path,
        uid("trim").replace("-", "_"),
        {
            "sql": f"SELECT state, version FROM '$aws/things/{thing}/shadow/update/delta'",
            "actions": [republish("${topic(3)}/delta")],
        },
    )
    listener.subscribe(f"{thing}/delta")
    data = server.iot_data()
    data.update_thing_shadow(thingName=thing, payload=b'{"state": {"desired": {"on": true}}}')
    body = json.loads(listener.next_message().payload)
    assert body == {"state": {"on": True}, "version": 1}


def test_last_will_updates_the_shadow(server: RunningServer, tmp_path: Path, listener: PahoClient) -> None:
    thing = uid("button")
    create_rule(
        server,
        tmp_path,
        uid("lwt").replace("-", "_"),
        {
            "sql": f"SELECT * FROM 'lwt/things/{thing}'",
            "actions": [republish("$$aws/things/${topic(3)}/shadow/update")],
        },
    )
    listener.subscribe(f"$aws/things/{thing}/shadow/update/accepted")
    will = Will(f"lwt/things/{thing}", b'{"state": {"reported": {"connected": false}}}', 1, False)
    doomed = PahoClient(server, uid("doomed"), will=will)
    doomed.connect()
    doomed.drop()
    accepted = json.loads(listener.next_message().payload)
    assert accepted["state"] == {"reported": {"connected": False}}
    shadow = json.loads(server.iot_data().get_thing_shadow(thingName=thing)["payload"].read())
    assert shadow["state"]["reported"] == {"connected": False}


def test_basic_ingest_reaches_the_rule_and_no_subscriber(
    server: RunningServer, tmp_path: Path, device: PahoClient, listener: PahoClient
) -> None:
    name = uid("ingest").replace("-", "_")
    out = uid("ingested")
    create_rule(
        server,
        tmp_path,
        name,
        {"sql": "SELECT * FROM 'ignored/filter'", "actions": [republish(f"{out}/${{topic()}}")]},
    )
    listener.subscribe(f"{out}/#")
    spy = PahoClient(server, uid("spy"))
    spy.connect()
    try:
        spy.subscribe(f"$aws/rules/{name}/#")
        device.publish(f"$aws/rules/{name}/plant/line1", b'{"n": 1}', qos=1)
        message = listener.next_message()
        assert message.topic == f"{out}/plant/line1" and json.loads(message.payload) == {"n": 1}
        # The spy subscribed before the publish; the republished message proves the rule ran after it.
        assert spy.seen(on_topic(f"$aws/rules/{name}/plant/line1")) == []
    finally:
        spy.close()


def test_rule_loop_is_cut_and_counted(
    server: RunningServer, tmp_path: Path, device: PahoClient, listener: PahoClient
) -> None:
    topic = uid("echo")
    before = health(server)["rule_loops_cut"]
    create_rule(
        server,
        tmp_path,
        topic.replace("-", "_"),
        {"sql": f"SELECT * FROM '{topic}'", "actions": [republish(topic)]},
    )
    listener.subscribe(topic)
    device.publish(topic, b"{}", qos=1)
    # The device's message and 4 republishes (max_republish_hops = 4), then the loop is cut.
    messages = [listener.next_message() for _ in range(5)]
    assert all(m.topic == topic for m in messages)
    # The cut follows the last delivery (the same message's rule run): wait for the counter to show it.
    deadline = time.monotonic() + 10
    while (cut := health(server)["rule_loops_cut"]) == before:
        assert time.monotonic() < deadline, "the loop was never cut"
    assert cut == before + 1
    assert listener.seen(on_topic(topic))[5:] == []


class Failing(http.server.BaseHTTPRequestHandler):
    posts: list[tuple[str, bytes]] = []

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length", 0))
        Failing.posts.append((self.path, self.rfile.read(length)))
        self.send_response(500)
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def failing_endpoint() -> Iterator[str]:
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Failing)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/hook"
    httpd.shutdown()
    httpd.server_close()


def test_error_action_receives_the_failed_http_action(
    server: RunningServer, tmp_path: Path, device: PahoClient, listener: PahoClient, failing_endpoint: str
) -> None:
    topic = uid("orders")
    name = topic.replace("-", "_")
    errors = f"{topic}-errors"
    create_rule(
        server,
        tmp_path,
        name,
        {
            "sql": f"SELECT * FROM '{topic}'",
            "actions": [{"http": {"url": failing_endpoint}}],
            "errorAction": republish(errors),
        },
    )
    listener.subscribe(errors)
    device.publish(topic, b'{"id": 7}', qos=1)
    report = json.loads(listener.next_message().payload)
    assert report["ruleName"] == name and report["topic"] == topic
    assert report["clientId"] == device.client_id
    assert base64.b64decode(report["base64OriginalPayload"]) == b'{"id": 7}'
    assert report["failures"] == [
        {
            "failedAction": "HttpAction",
            "failedResource": failing_endpoint,
            "errorMessage": "Received a response with HTTP status code 500",
        }
    ]
    # Tried once and retried twice (action_retries = 2) before the error action heard of it.
    assert [body for path, body in Failing.posts if path == "/hook"][-3:] == [b'{"id":7}'] * 3


def test_api_errors_with_boto3(server: RunningServer) -> None:
    iot = server.iot()
    payload = {"sql": "SELECT * FROM 'a'", "actions": [republish("b")]}
    iot.create_topic_rule(ruleName="dup", topicRulePayload=payload, tags="team=ops")
    with pytest.raises(iot.exceptions.ResourceAlreadyExistsException):
        iot.create_topic_rule(ruleName="dup", topicRulePayload=payload)
    with pytest.raises(iot.exceptions.SqlParseException):
        iot.create_topic_rule(
            ruleName="bad_sql", topicRulePayload={"sql": "SELECT FROM WHERE", "actions": []}
        )
    with pytest.raises(iot.exceptions.InvalidRequestException, match="timestream"):
        iot.create_topic_rule(
            ruleName="later",
            topicRulePayload={
                "sql": "SELECT * FROM 'a'",
                "actions": [
                    {
                        "timestream": {
                            "roleArn": ROLE,
                            "databaseName": "d",
                            "tableName": "t",
                            "dimensions": [{"name": "n", "value": "v"}],
                        }
                    }
                ],
            },
        )
    with pytest.raises(botocore.exceptions.ClientError) as bad_name:
        iot.create_topic_rule(ruleName="no-dashes", topicRulePayload=payload)
    assert bad_name.value.response["Error"]["Code"] == "InvalidRequestException"
    with pytest.raises(
        iot.exceptions.UnauthorizedException, match="Access to topic rule 'missing' was denied"
    ):
        iot.get_topic_rule(ruleName="missing")
    iot.disable_topic_rule(ruleName="dup")
    listed = iot.list_topic_rules(topic="a", ruleDisabled=True)["rules"]
    assert [(r["ruleName"], r["topicPattern"], r["ruleDisabled"]) for r in listed] == [("dup", "a", True)]
    iot.replace_topic_rule(ruleName="dup", topicRulePayload={**payload, "sql": "SELECT * FROM 'c'"})
    assert iot.get_topic_rule(ruleName="dup")["rule"]["sql"] == "SELECT * FROM 'c'"
    iot.delete_topic_rule(ruleName="dup")
    with pytest.raises(iot.exceptions.UnauthorizedException):
        iot.delete_topic_rule(ruleName="dup")


def test_rules_survive_a_restart(tmp_path: Path) -> None:
    running = make_server(tmp_path, name="restart").start()
    try:
        running.iot().create_topic_rule(
            ruleName="kept", topicRulePayload={"sql": "SELECT * FROM 'in'", "actions": [republish("out")]}
        )
        running.restart()
        listener = PahoClient(running, uid("listener"))
        device = PahoClient(running, uid("device"))
        listener.connect()
        device.connect()
        try:
            listener.subscribe("out")
            device.publish("in", b'{"x": 1}', qos=1)
            assert json.loads(listener.next_message().payload) == {"x": 1}
        finally:
            device.close()
            listener.close()
    finally:
        running.stop()
