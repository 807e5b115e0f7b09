"""Functions through boto3 against a real `corral serve`: AWS's errors as botocore's exception classes, Event
invocations, timeouts, a function that raises, names and ARNs, throttling, a Node.js function, a function
publishing through boto3's iot-data to a paho subscriber, and functions surviving a restart."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.config import Config as BotoConfig

from corral.functions.runtime import node_executable
from tests.broker.clients import V311, ClientPool, uid
from tests.functions.function_support import ROLE, assert_no_traceback, package
from tests.harness import RunningServer, make_server, serving

WAIT = 60.0


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    yield from serving(make_server(tmp_path_factory.mktemp("functions-boto3"), insecure=True))


@pytest.fixture(scope="module")
def lam(server: RunningServer) -> Any:
    return server.client("lambda", config=BotoConfig(retries={"max_attempts": 1}, read_timeout=120))


def create(lam: Any, source: str, *, runtime: str = "python3.12", handler: str = "app.handler",
           filename: str = "app.py", **extra: Any) -> str:  # fmt: skip
    name = f"fn-{uuid.uuid4().hex[:10]}"
    lam.create_function(
        FunctionName=name, Runtime=runtime, Handler=handler, Role=ROLE,
        Code={"ZipFile": package({filename: source})}, **extra,
    )  # fmt: skip
    return name


def test_errors_are_botocores_exception_classes(lam: Any) -> None:
    name = create(lam, "def handler(e, c):\n    return 1\n")
    with pytest.raises(lam.exceptions.ResourceConflictException) as conflict:
        create_named(lam, name)
    assert conflict.value.response["Error"]["Message"] == f"Function already exist: {name}"
    with pytest.raises(lam.exceptions.ResourceNotFoundException) as missing:
        lam.get_function(FunctionName="nope")
    assert missing.value.response["Error"]["Message"] == (
        "Function not found: arn:aws:lambda:us-east-1:000000000000:function:nope"
    )
    assert missing.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    with pytest.raises(lam.exceptions.InvalidParameterValueException) as runtime:
        lam.create_function(FunctionName="j", Runtime="java21", Handler="a::b", Role=ROLE,
                            Code={"ZipFile": package({"a": ""})})  # fmt: skip
    assert "java21" in runtime.value.response["Error"]["Message"]
    with pytest.raises(lam.exceptions.InvalidParameterValueException) as bad_zip:
        lam.create_function(FunctionName="z", Runtime="python3.11", Handler="a.b", Role=ROLE,
                            Code={"ZipFile": b"not a zip"})  # fmt: skip
    assert "Could not unzip uploaded file" in bad_zip.value.response["Error"]["Message"]
    with pytest.raises(lam.exceptions.InvalidParameterValueException) as reserved:
        lam.update_function_configuration(FunctionName=name, Environment={"Variables": {"AWS_REGION": "x"}})
    assert reserved.value.response["Error"]["Message"].endswith(
        "Reserved keys used in this request: AWS_REGION"
    )
    with pytest.raises(lam.exceptions.InvalidRequestContentException):
        lam.invoke(FunctionName=name, Payload=b"{not json")
    with pytest.raises(lam.exceptions.PreconditionFailedException):
        lam.update_function_configuration(FunctionName=name, Timeout=5, RevisionId="stale")
    with pytest.raises(lam.exceptions.ClientError) as limits:
        lam.update_function_configuration(FunctionName=name, Timeout=901)
    assert limits.value.response["Error"]["Code"] == "ValidationException"
    assert not any(f["FunctionName"] in ("j", "z") for f in lam.list_functions()["Functions"])


def create_named(lam: Any, name: str) -> None:
    code = package({"app.py": "def handler(e, c):\n    return 2\n"})
    lam.create_function(FunctionName=name, Runtime="python3.11", Handler="app.handler", Role=ROLE,
                        Code={"ZipFile": code})  # fmt: skip


def test_names_full_and_partial_arns(lam: Any) -> None:
    name = create(lam, "def handler(e, c):\n    return c.invoked_function_arn\n")
    arn = f"arn:aws:lambda:us-east-1:000000000000:function:{name}"
    for reference in (name, arn, f"000000000000:function:{name}", f"{name}:$LATEST"):
        answer = lam.invoke(FunctionName=reference, Payload=b"{}")
        assert answer["StatusCode"] == 200
        expected = reference if reference.startswith("arn:") else arn
        assert json.loads(answer["Payload"].read()) == expected
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.invoke(FunctionName=f"arn:aws:lambda:us-east-1:111111111111:function:{name}", Payload=b"{}")


def test_a_function_that_raises(lam: Any) -> None:
    code = "def handler(event, context):\n    raise RuntimeError('no ' + event['what'])\n"
    name = create(lam, code)
    answer = lam.invoke(FunctionName=name, Payload=b'{"what": "luck"}', LogType="Tail")
    assert answer["StatusCode"] == 200
    assert answer["FunctionError"] == "Unhandled"
    error = json.loads(answer["Payload"].read())
    assert error["errorType"] == "RuntimeError"
    assert error["errorMessage"] == "no luck"
    assert "line 2, in handler" in error["stackTrace"][0]
    log = base64.b64decode(answer["LogResult"]).decode()
    assert "[ERROR] RuntimeError: no luck" in log and "REPORT RequestId:" in log


def test_a_timeout_is_lambdas_error(lam: Any) -> None:
    name = create(lam, "import time\ndef handler(e, c):\n    time.sleep(600)\n", Timeout=1)
    answer = lam.invoke(FunctionName=name, Payload=b"{}", LogType="Tail")
    assert answer["FunctionError"] == "Unhandled"
    error = json.loads(answer["Payload"].read())
    assert error["errorType"] == "Sandbox.Timedout"
    assert error["errorMessage"].endswith("Error: Task timed out after 1.00 seconds")
    assert "Task timed out after 1.00 seconds" in base64.b64decode(answer["LogResult"]).decode()


def test_dry_run_and_throttling(lam: Any) -> None:
    name = create(lam, "def handler(e, c):\n    return 1\n")
    assert lam.invoke(FunctionName=name, InvocationType="DryRun")["StatusCode"] == 204
    lam.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=0)
    assert lam.get_function(FunctionName=name)["Concurrency"] == {"ReservedConcurrentExecutions": 0}
    with pytest.raises(lam.exceptions.TooManyRequestsException) as throttled:
        lam.invoke(FunctionName=name, Payload=b"{}")
    assert throttled.value.response["Reason"] == "ReservedFunctionConcurrentInvocationLimitExceeded"
    lam.delete_function_concurrency(FunctionName=name)
    assert json.loads(lam.invoke(FunctionName=name, Payload=b"{}")["Payload"].read()) == 1


PUBLISHER = """
    import json
    import boto3

    iot_data = boto3.client("iot-data")

    def handler(event, context):
        iot_data.publish(topic=event["topic"], qos=1, payload=json.dumps({"from": context.function_name,
                                                                         "n": event["n"]}))
        return {"published": event["n"]}
"""


def test_a_function_publishes_through_iot_data_to_a_paho_subscriber(
    server: RunningServer, lam: Any, pool: ClientPool
) -> None:
    name = create(lam, PUBLISHER)
    topic = f"functions/{name}/out"
    subscriber = pool.connected(server, uid("sub"), transport="insecure", version=V311)
    subscriber.subscribe(topic)
    answer = lam.invoke(FunctionName=name, Payload=json.dumps({"topic": topic, "n": 1}).encode())
    assert json.loads(answer["Payload"].read()) == {"published": 1}, answer
    message = subscriber.next_message(timeout=WAIT)
    assert json.loads(message.payload) == {"from": name, "n": 1}
    # Event: accepted at once (202, no payload), run in the background
    event = lam.invoke(FunctionName=name, InvocationType="Event",
                       Payload=json.dumps({"topic": topic, "n": 2}).encode())  # fmt: skip
    assert event["StatusCode"] == 202
    assert event["Payload"].read() == b""
    message = subscriber.next_message(timeout=WAIT)
    assert json.loads(message.payload) == {"from": name, "n": 2}


def test_list_functions_pages(lam: Any) -> None:
    created = {create(lam, "def handler(e, c):\n    return 0\n") for _ in range(3)}
    seen: list[str] = []
    marker: str | None = None
    while True:
        page = lam.list_functions(MaxItems=2, **({"Marker": marker} if marker else {}))
        assert len(page["Functions"]) <= 2
        seen += [f["FunctionName"] for f in page["Functions"]]
        marker = page.get("NextMarker")
        if marker is None:
            break
    assert created <= set(seen) and len(seen) == len(set(seen)) and seen == sorted(seen)


@pytest.mark.skipif(node_executable() is None, reason="node is not installed")
def test_a_nodejs_function(lam: Any) -> None:
    code = "exports.handler = async (event, ctx) => ({sum: event.a + event.b, id: ctx.awsRequestId});\n"
    name = create(lam, code, runtime="nodejs20.x", handler="index.handler", filename="index.js")
    answer = lam.invoke(FunctionName=name, Payload=b'{"a": 2, "b": 3}')
    body = json.loads(answer["Payload"].read())
    assert body["sum"] == 5 and len(body["id"]) == 36


def test_functions_survive_a_restart(server: RunningServer) -> None:
    lam = server.client("lambda")
    name = create(lam, "def handler(e, c):\n    return 'still here'\n", Description="durable")
    lam.add_permission(FunctionName=name, StatementId="s1", Action="lambda:InvokeFunction", Principal="*")
    server.restart()
    lam = server.client("lambda")
    assert lam.get_function_configuration(FunctionName=name)["Description"] == "durable"
    assert json.loads(lam.invoke(FunctionName=name, Payload=b"{}")["Payload"].read()) == "still here"
    assert json.loads(lam.get_policy(FunctionName=name)["Policy"])["Statement"][0]["Sid"] == "s1"
    assert_no_traceback(server)
