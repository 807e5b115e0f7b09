"""Whole flows through the rules engine on a real ``corral serve``, driven only by clients we did not write:
the IoT button (AWS IoT Device SDK v2) through a rule's lambda action to a function made with the aws CLI
that publishes back over boto3 iot-data; the SQL reference's nested SELECT and SELECT VALUE examples;
``get_thing_shadow()`` and ``aws_lambda()``; the http action; ``principal()`` and ``sourceip()`` for MQTT,
SigV4 and certificate-authenticated HTTPS publishers; tags on rules; and a rule loop through the shadow
service, cut by the hop count."""

from __future__ import annotations

import http.server
import json
import queue
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from awscrt import mqtt

from tests.aws_cli import aws, ok
from tests.broker.clients import PahoClient, device_for, on_topic, sdk_connection, uid
from tests.functions.function_support import ROLE as FUNCTION_ROLE
from tests.functions.function_support import package
from tests.harness import RunningServer, make_server, serving
from tests.rules.e2e_support import ROLE, create_rule, health, republish

TIMEOUT = 20.0
FUNCTION_ARN = "arn:aws:lambda:us-east-1:000000000000:function:{}"
CONFIG = """
[rules]
max_republish_hops = 4
action_retries = 1
retry_base_delay = 0.05
"""
BUTTON_CLICK = {"serialNumber": "G030JF055364XVRB", "batteryVoltage": "2000mV", "clickType": "SINGLE"}
SENML = {
    "e": [
        {"n": "temperature", "u": "Cel", "t": 1234, "v": 22.5},
        {"n": "light", "u": "lm", "t": 1235, "v": 135},
        {"n": "acidity", "u": "pH", "t": 1235, "v": 7},
    ]
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    yield from serving(make_server(tmp_path_factory.mktemp("rule-flows"), config_toml=CONFIG))


def create_function(server: RunningServer, tmp_path: Path, name: str, source: str) -> str:
    """``aws lambda create-function --zip-file fileb://…`` with ``app.handler``; the function's ARN."""
    (tmp_path / f"{name}.zip").write_bytes(package({"app.py": source}))
    created = json.loads(ok(aws(
        server, "lambda", "create-function", "--function-name", name, "--runtime", "python3.11",
        "--handler", "app.handler", "--role", FUNCTION_ROLE, "--zip-file", f"fileb://{name}.zip",
        cwd=tmp_path,
    )))  # fmt: skip
    arn: str = created["FunctionArn"]
    assert arn == FUNCTION_ARN.format(name)
    return arn


def rule_name(prefix: str) -> str:
    return uid(prefix).replace("-", "_")


# -- the IoT button --------------------------------------------------------------------------------------

BUTTON_FUNCTION = """
    import json

    import boto3

    def handler(event, context):
        # boto3 finds Corral through the environment the function runs in (AWS_ENDPOINT_URL, the keys).
        boto3.client("iot-data").publish(
            topic=f"buttons/{event['serialNumber']}/clicked",
            qos=1,
            payload=json.dumps({"click": event["clickType"], "battery": event["batteryVoltage"],
                                "by": context.function_name}),
        )
        return {"handled": event["clickType"]}
"""


def test_the_button_flow(server: RunningServer, tmp_path: Path, listener: PahoClient) -> None:
    """The classic IoT button: the Device SDK v2 publishes its click on ``iotbutton/{serial}``; the rule
    ``SELECT * FROM 'iotbutton/+'`` hands it to a function (lambda action) that publishes back through boto3
    iot-data; a paho subscriber sees the function's message."""
    function = create_function(server, tmp_path, "button_handler", BUTTON_FUNCTION)
    create_rule(
        server,
        tmp_path,
        "iot_button",
        {
            "sql": "SELECT * FROM 'iotbutton/+'",
            "awsIotSqlVersion": "2016-03-23",
            "actions": [{"lambda": {"functionArn": function}}],
        },
    )
    serial = BUTTON_CLICK["serialNumber"]
    listener.subscribe(f"buttons/{serial}/clicked")
    button = server.issue_certificate("iot-button")
    connection = sdk_connection(server, button, f"iotbutton_{serial}")
    connection.connect().result(TIMEOUT)
    try:
        published, _packet_id = connection.publish(
            f"iotbutton/{serial}", json.dumps(BUTTON_CLICK), mqtt.QoS.AT_LEAST_ONCE
        )
        published.result(TIMEOUT)
        message = listener.next_message(timeout=60)  # the first invocation starts a worker process
    finally:
        connection.disconnect().result(TIMEOUT)
    assert message.topic == f"buttons/{serial}/clicked"
    assert json.loads(message.payload) == {"click": "SINGLE", "battery": "2000mV", "by": "button_handler"}
    assert "Traceback" not in server.log()


# -- the SQL reference's examples through real rules -----------------------------------------------------


def test_nested_select_and_select_value(
    server: RunningServer, tmp_path: Path, device: PahoClient, listener: PahoClient
) -> None:
    """iot-sql-nested-queries.html and the SELECT clause's ``SELECT VALUE`` examples, each through a rule
    whose republish a subscriber receives."""
    base = uid("reference")
    examples: list[tuple[str, Any, Any]] = [
        ("SELECT (SELECT VALUE n FROM e) as sensors FROM '{}'", SENML,
         {"sensors": ["temperature", "light", "acidity"]}),
        ("SELECT (SELECT v FROM e WHERE n = 'temperature') as temperature FROM '{}'", SENML,
         {"temperature": [{"v": 22.5}]}),
        ("SELECT get((SELECT v FROM e WHERE n = 'temperature'), 0).v as temperature FROM '{}'", SENML,
         {"temperature": 22.5}),
        ("SELECT VALUE color FROM '{}'", {"color": "red", "temperature": 50}, "red"),
        ("SELECT VALUE arr FROM '{}'", {"a": {"b": "c"}, "arr": [1, 2, 3, 4]}, [1, 2, 3, 4]),
    ]  # fmt: skip
    listener.subscribe(f"{base}-out/#")
    for index, (sql, _payload, _expected) in enumerate(examples):
        create_rule(
            server,
            tmp_path,
            rule_name(f"example{index}"),
            {
                "sql": sql.format(f"{base}/{index}"),
                "awsIotSqlVersion": "2016-03-23",
                "actions": [republish(f"{base}-out/${{topic(2)}}")],
            },
        )
    for index, (_sql, payload, _expected) in enumerate(examples):
        device.publish(f"{base}/{index}", json.dumps(payload).encode(), qos=1)
    received = {}
    for _ in examples:
        message = listener.next_message()
        received[message.topic] = json.loads(message.payload)
    assert received == {f"{base}-out/{i}": expected for i, (_s, _p, expected) in enumerate(examples)}


DOUBLER = """
    def handler(event, context):
        return {"doubled": event["n"] * 2}
"""


def test_get_thing_shadow_and_aws_lambda(
    server: RunningServer, tmp_path: Path, device: PahoClient, listener: PahoClient
) -> None:
    """A statement that reads the thing's shadow (``get_thing_shadow(topic(3), roleArn)``) and calls a
    function (``aws_lambda(arn, object)``) for each message."""
    thing = uid("pump")
    doubler = create_function(server, tmp_path, "doubler", DOUBLER)
    server.iot_data().update_thing_shadow(
        thingName=thing, payload=b'{"state": {"reported": {"color": "green", "rpm": 1200}}}'
    )
    base = uid("fleet")
    create_rule(
        server,
        tmp_path,
        rule_name("external"),
        {
            "sql": (
                f"SELECT get_thing_shadow(topic(3), '{ROLE}').state.reported.color AS color, "
                f'aws_lambda("{doubler}", {{"n": n}}).doubled AS doubled, n '
                f"FROM '{base}/+/+'"
            ),
            "awsIotSqlVersion": "2016-03-23",
            "actions": [republish(f"{base}-out/${{topic(3)}}")],
        },
    )
    listener.subscribe(f"{base}-out/#")
    device.publish(f"{base}/site1/{thing}", b'{"n": 21}', qos=1)
    message = listener.next_message(timeout=60)
    assert message.topic == f"{base}-out/{thing}"
    assert json.loads(message.payload) == {"color": "green", "doubled": 42, "n": 21}


# -- the http action ---------------------------------------------------------------------------------------


class Recorder(http.server.BaseHTTPRequestHandler):
    """Answers every POST 200 and hands (path, headers, body) to the test."""

    received: queue.Queue[tuple[str, dict[str, str], bytes]] = queue.Queue()

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length", 0))
        body = self.rfile.read(length)
        self.send_response(200)
        self.send_header("content-length", "0")
        self.end_headers()
        headers = {name.lower(): value for name, value in self.headers.items()}
        Recorder.received.put((self.path, headers, body))

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def endpoint() -> Iterator[str]:
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_http_action_posts_the_statement_output_with_headers(
    server: RunningServer, tmp_path: Path, device: PahoClient, endpoint: str
) -> None:
    base = uid("meters")
    create_rule(
        server,
        tmp_path,
        rule_name("http"),
        {
            "sql": f"SELECT reading * 10 AS watts, topic(2) AS meter FROM '{base}/+'",
            "awsIotSqlVersion": "2016-03-23",
            "actions": [
                {
                    "http": {
                        "url": f"{endpoint}/ingest/${{topic(2)}}",
                        "confirmationUrl": f"{endpoint}/ingest/",
                        "headers": [
                            {"key": "x-meter", "value": "${topic(2)}"},
                            {"key": "x-source", "value": "corral-rule"},
                            {"key": "content-type", "value": "application/json; charset=utf-8"},
                        ],
                    }
                }
            ],
        },
    )
    device.publish(f"{base}/m7", b'{"reading": 4.5, "ignored": true}', qos=1)
    path, headers, body = Recorder.received.get(timeout=TIMEOUT)
    assert path == "/ingest/m7"
    assert json.loads(body) == {"watts": 45.0, "meter": "m7"}
    assert headers["x-meter"] == "m7" and headers["x-source"] == "corral-rule"
    assert headers["content-type"] == "application/json; charset=utf-8"


# -- principal() and sourceip() ---------------------------------------------------------------------------


def test_principal_and_sourceip_of_each_kind_of_publisher(
    server: RunningServer, tmp_path: Path, device: PahoClient, listener: PahoClient
) -> None:
    """``principal()`` is the certificate id of an MQTT publisher and of a certificate-authenticated HTTPS
    publisher, and the access key id of a SigV4 publisher; ``sourceip()`` is the client's address."""
    base = uid("who")
    create_rule(
        server,
        tmp_path,
        rule_name("who"),
        {
            "sql": f"SELECT principal() AS p, sourceip() AS ip, clientid() AS c FROM '{base}/+'",
            "awsIotSqlVersion": "2016-03-23",
            "actions": [republish(f"{base}-out/${{topic(2)}}")],
        },
    )
    listener.subscribe(f"{base}-out/#")

    device.publish(f"{base}/mqtt", b"{}", qos=1)
    server.iot_data().publish(topic=f"{base}/sigv4", qos=1, payload=b"{}")
    https_device = server.issue_certificate("https-publisher")
    curl = [
        "curl", "--silent", "--show-error", "--fail", "--cert", str(https_device.cert_file),
        "--key", str(https_device.key_file), "--cacert", str(server.ca_file), "-X", "POST", "--data", "{}",
        f"https://localhost:{server.https_port}/topics/{base}/certificate?qos=1",
    ]  # fmt: skip
    subprocess.run(curl, capture_output=True, text=True, timeout=60, check=True)

    seen = {}
    for _ in range(3):
        message = listener.next_message()
        seen[message.topic.rsplit("/", 1)[1]] = json.loads(message.payload)
    assert seen == {
        "mqtt": {"p": device_for(server).certificate_id, "ip": "127.0.0.1", "c": device.client_id},
        "sigv4": {"p": server.admin_key()[0], "ip": "127.0.0.1", "c": "n/a"},
        "certificate": {"p": https_device.certificate_id, "ip": "127.0.0.1", "c": "n/a"},
    }


# -- tags on rules -----------------------------------------------------------------------------------------


def test_tags_on_a_rule_with_boto3(server: RunningServer) -> None:
    iot = server.iot()
    name = rule_name("tagged")
    arn = f"arn:aws:iot:us-east-1:000000000000:rule/{name}"
    iot.create_topic_rule(
        ruleName=name,
        topicRulePayload={"sql": "SELECT * FROM 'tagged/in'", "actions": [republish("tagged/out")]},
        tags="team=ops&site=north",
    )
    assert iot.list_tags_for_resource(resourceArn=arn)["tags"] == [
        {"Key": "site", "Value": "north"},
        {"Key": "team", "Value": "ops"},
    ]
    iot.tag_resource(resourceArn=arn, tags=[{"Key": "team", "Value": "field"}, {"Key": "tier", "Value": "1"}])
    iot.untag_resource(resourceArn=arn, tagKeys=["site"])
    assert iot.list_tags_for_resource(resourceArn=arn)["tags"] == [
        {"Key": "team", "Value": "field"},
        {"Key": "tier", "Value": "1"},
    ]
    missing = "arn:aws:iot:us-east-1:000000000000:rule/no_such_rule"
    with pytest.raises(iot.exceptions.ResourceNotFoundException):
        iot.tag_resource(resourceArn=missing, tags=[{"Key": "a", "Value": "b"}])
    with pytest.raises(iot.exceptions.ResourceNotFoundException):
        iot.list_tags_for_resource(resourceArn=missing)
    iot.delete_topic_rule(ruleName=name)
    with pytest.raises(iot.exceptions.ResourceNotFoundException):
        iot.list_tags_for_resource(resourceArn=arn)
    # A rule created again under the same name starts without the deleted one's tags.
    iot.create_topic_rule(ruleName=name, topicRulePayload={"sql": "SELECT * FROM 'tagged/in'", "actions": []})
    assert iot.list_tags_for_resource(resourceArn=arn)["tags"] == []


# -- a loop through the shadow service ---------------------------------------------------------------------


def test_a_rule_loop_through_the_shadow_service_is_cut(
    server: RunningServer, tmp_path: Path, device: PahoClient, listener: PahoClient
) -> None:
    """A rule on ``update/accepted`` that republishes to the same shadow's ``update``: each answer of the
    shadow service carries its request's hop count, so the loop ends after max_republish_hops (4)."""
    thing = uid("looping")
    accepted = f"$aws/things/{thing}/shadow/update/accepted"
    before = health(server)["rule_loops_cut"]
    create_rule(
        server,
        tmp_path,
        rule_name("shadow_loop"),
        {
            "sql": f"SELECT state FROM '{accepted}'",
            "actions": [republish(f"$$aws/things/{thing}/shadow/update")],
        },
    )
    listener.subscribe(accepted)
    device.publish(f"$aws/things/{thing}/shadow/update", b'{"state": {"reported": {"on": true}}}', qos=1)
    # The device's update and 4 republished ones are accepted (versions 1 to 5); the 5th republish is cut.
    versions = [json.loads(listener.next_message().payload)["version"] for _ in range(5)]
    assert versions == [1, 2, 3, 4, 5]
    deadline = time.monotonic() + TIMEOUT
    while (cut := health(server)["rule_loops_cut"]) == before:
        assert time.monotonic() < deadline, "the loop through the shadow was never cut"
    assert cut == before + 1
    shadow = json.loads(server.iot_data().get_thing_shadow(thingName=thing)["payload"].read())
    assert shadow["version"] == 5
    assert len(listener.seen(on_topic(accepted))) == 5
