"""A function's life through the real aws CLI against a real `corral serve`: create from a zip made with
``zipfile``, invoke, update code and configuration, get, list, permissions, delete; then its log through
`corral functions logs`."""

from __future__ import annotations

import base64
import json
import subprocess
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.aws_cli import CORRAL, aws, ok
from tests.functions.function_support import ROLE, assert_no_traceback, package
from tests.harness import RunningServer, make_server, serving

V1 = """
    import os

    def handler(event, context):
        print("got", event)
        return {"version": 1, "event": event, "greeting": os.environ.get("GREETING"),
                "memory": context.memory_limit_in_mb, "arn": context.invoked_function_arn}
"""
V2 = """
    import os

    def handler(event, context):
        remaining_ok = context.get_remaining_time_in_millis() > 0
        return {"version": 2, "event": event, "greeting": os.environ.get("GREETING"),
                "memory": context.memory_limit_in_mb, "remaining_ok": remaining_ok}
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    yield from serving(make_server(tmp_path_factory.mktemp("functions-cli")))


def test_a_function_through_the_aws_cli(server: RunningServer, tmp_path: Path) -> None:
    (tmp_path / "f.zip").write_bytes(package({"app.py": V1}))
    created = json.loads(ok(aws(
        server, "lambda", "create-function", "--function-name", "f", "--runtime", "python3.11",
        "--handler", "app.handler", "--role", ROLE, "--zip-file", "fileb://f.zip", cwd=tmp_path,
    )))  # fmt: skip
    assert created["FunctionName"] == "f"
    assert created["FunctionArn"] == "arn:aws:lambda:us-east-1:000000000000:function:f"
    assert created["Runtime"] == "python3.11"
    assert created["Handler"] == "app.handler"
    assert created["Role"] == ROLE
    assert (created["Timeout"], created["MemorySize"]) == (3, 128)
    assert (created["State"], created["LastUpdateStatus"]) == ("Active", "Successful")
    assert created["CodeSize"] == (tmp_path / "f.zip").stat().st_size
    assert created["Version"] == "$LATEST"

    # invoke: --payload is raw JSON in aws CLI v1
    out = tmp_path / "out.json"
    answer = json.loads(ok(aws(
        server, "lambda", "invoke", "--function-name", "f", "--payload", '{"a": 1}', str(out)
    )))  # fmt: skip
    assert answer == {"StatusCode": 200, "ExecutedVersion": "$LATEST"}
    body = json.loads(out.read_text())
    assert body == {"version": 1, "event": {"a": 1}, "greeting": None, "memory": "128",
                    "arn": created["FunctionArn"]}  # fmt: skip

    # the log, tailed
    tailed = json.loads(ok(aws(
        server, "lambda", "invoke", "--function-name", "f", "--payload", '{"b": 2}', "--log-type", "Tail",
        str(out),
    )))  # fmt: skip
    tail = base64.b64decode(tailed["LogResult"]).decode()
    assert tail.startswith("START RequestId: ")
    assert "got {'b': 2}\n" in tail
    assert "\nEND RequestId: " in tail and "\nREPORT RequestId: " in tail and "Max Memory Used: " in tail

    # update the code, then the configuration
    (tmp_path / "f2.zip").write_bytes(package({"app.py": V2}))
    updated = json.loads(ok(aws(
        server, "lambda", "update-function-code", "--function-name", "f", "--zip-file", "fileb://f2.zip",
        cwd=tmp_path,
    )))  # fmt: skip
    assert updated["CodeSha256"] != created["CodeSha256"]
    assert updated["RevisionId"] != created["RevisionId"]
    ok(aws(server, "lambda", "invoke", "--function-name", "f", "--payload", "{}", str(out)))
    assert json.loads(out.read_text())["version"] == 2
    configured = json.loads(ok(aws(
        server, "lambda", "update-function-configuration", "--function-name", "f", "--timeout", "10",
        "--memory-size", "256", "--environment", "Variables={GREETING=hello}", "--description", "second",
    )))  # fmt: skip
    assert (configured["Timeout"], configured["MemorySize"]) == (10, 256)
    assert configured["Environment"] == {"Variables": {"GREETING": "hello"}}
    ok(aws(server, "lambda", "invoke", "--function-name", "f", "--payload", '{"c": 3}', str(out)))
    assert json.loads(out.read_text()) == {
        "version": 2, "event": {"c": 3}, "greeting": "hello", "memory": "256", "remaining_ok": True,
    }  # fmt: skip

    # get, get-function-configuration, list
    got = json.loads(ok(aws(server, "lambda", "get-function", "--function-name", "f")))
    assert got["Configuration"]["Description"] == "second"
    with urllib.request.urlopen(got["Code"]["Location"]) as response:
        assert response.read() == (tmp_path / "f2.zip").read_bytes()
    configuration = json.loads(
        ok(aws(server, "lambda", "get-function-configuration", "--function-name", "f"))
    )
    assert configuration == got["Configuration"]
    listed = json.loads(ok(aws(server, "lambda", "list-functions")))
    assert [f["FunctionName"] for f in listed["Functions"]] == ["f"]

    # permissions, as `aws lambda add-permission` for an IoT rule
    rule_arn = "arn:aws:iot:us-east-1:000000000000:rule/to_f"
    added = json.loads(ok(aws(
        server, "lambda", "add-permission", "--function-name", "f", "--statement-id", "iot-rule",
        "--action", "lambda:InvokeFunction", "--principal", "iot.amazonaws.com", "--source-arn", rule_arn,
        "--source-account", "000000000000",
    )))  # fmt: skip
    statement = json.loads(added["Statement"])
    assert statement == {
        "Sid": "iot-rule", "Effect": "Allow", "Principal": {"Service": "iot.amazonaws.com"},
        "Action": "lambda:InvokeFunction", "Resource": created["FunctionArn"],
        "Condition": {"StringEquals": {"AWS:SourceAccount": "000000000000"},
                      "ArnLike": {"AWS:SourceArn": rule_arn}},
    }  # fmt: skip
    policy = json.loads(ok(aws(server, "lambda", "get-policy", "--function-name", "f")))
    assert json.loads(policy["Policy"]) == {
        "Version": "2012-10-17",
        "Id": "default",
        "Statement": [statement],
    }
    again = aws(
        server, "lambda", "add-permission", "--function-name", "f", "--statement-id", "iot-rule",
        "--action", "lambda:InvokeFunction", "--principal", "iot.amazonaws.com",
    )  # fmt: skip
    assert again.returncode != 0 and "ResourceConflictException" in again.stderr
    ok(aws(server, "lambda", "remove-permission", "--function-name", "f", "--statement-id", "iot-rule"))
    gone = aws(server, "lambda", "get-policy", "--function-name", "f")
    assert gone.returncode != 0 and "ResourceNotFoundException" in gone.stderr

    # the log through `corral functions logs`
    logs = subprocess.run(
        [CORRAL, "functions", "logs", "f", "--data-dir", str(server.data_dir)],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert logs.count("START RequestId: ") == 4
    assert logs.count("REPORT RequestId: ") == 4
    assert "got {'a': 1}\n" in logs

    # delete
    ok(aws(server, "lambda", "delete-function", "--function-name", "f"))
    missing = aws(server, "lambda", "get-function", "--function-name", "f")
    assert missing.returncode != 0
    assert "ResourceNotFoundException" in missing.stderr
    assert "Function not found: arn:aws:lambda:us-east-1:000000000000:function:f" in missing.stderr
    assert json.loads(ok(aws(server, "lambda", "list-functions")))["Functions"] == []
    assert_no_traceback(server)
