from __future__ import annotations

from typing import Any

import httpx
import orjson
import pytest

from corral.broker.message import Message
from corral.functions.errors import function_not_found
from corral.functions.service import InvokeResult
from corral.rules.actions import ActionSpecError, build_action
from corral.rules.templates import TemplateCompiler
from tests.rules.fakes import FakeEngine
from tests.rules.support import ROLE, make_harness, republish

FUNCTION = "arn:aws:lambda:us-east-1:123456789012:function:handler"


class Functions:
    def __init__(self, result: InvokeResult | None = None, missing: bool = False) -> None:
        self.calls: list[tuple[str, bytes, str]] = []
        self.result = result or InvokeResult(202, b"")
        self.missing = missing

    async def invoke(self, function: str, payload: bytes, invocation_type: str) -> InvokeResult:
        self.calls.append((function, payload, invocation_type))
        if self.missing:
            raise function_not_found(function)
        return self.result


async def test_lambda_invokes_the_function_asynchronously() -> None:
    h = make_harness()
    h.services.functions = functions = Functions()
    h.rule("r", "SELECT * FROM 'in/+'", [{"lambda": {"functionArn": FUNCTION}}])
    await h.send(Message("in/a", b'{"v": 1}', 0))
    assert functions.calls == [(FUNCTION, b'{"v":1}', "Event")]


@pytest.mark.parametrize(
    ("functions", "message"),
    [
        (Functions(InvokeResult(200, b"{}", function_error="Unhandled")), "The function failed (Unhandled)"),
        (
            Functions(missing=True),
            f"Failed to invoke the function: ResourceNotFoundException: Function not found: {FUNCTION}",
        ),
        (None, "Functions are not available on this server"),
    ],
)
async def test_lambda_failures_reach_the_error_action(functions: Functions | None, message: str) -> None:
    h = make_harness(action_retries=1)
    h.services.functions = functions
    h.rule(
        "r", "SELECT * FROM 'in'", [{"lambda": {"functionArn": FUNCTION}}], error_action=republish("errors")
    )
    await h.send(Message("in", b"{}", 0))
    [failure] = orjson.loads(h.published[0].payload)["failures"]
    assert failure == {"failedAction": "LambdaAction", "failedResource": FUNCTION, "errorMessage": message}
    if functions is not None:
        assert len(functions.calls) == 2


def http_harness(status: int, **settings: Any) -> tuple[Any, list[httpx.Request]]:
    h = make_harness(**settings)
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(status)

    h.services._http = httpx.AsyncClient(transport=httpx.MockTransport(answer))
    return h, seen


async def test_http_posts_the_output_with_templated_url_and_headers() -> None:
    h, seen = http_harness(200)
    h.rule(
        "r",
        "SELECT * FROM 'in/+'",
        [
            {
                "http": {
                    "url": "https://hooks.example/devices/${topic(2)}",
                    "confirmationUrl": "https://hooks.example/",
                    "headers": [{"key": "x-device", "value": "${topic(2)}"}],
                }
            }
        ],
    )
    await h.send(Message("in/d1", b'{"t": 20}', 0))
    [request] = seen
    assert (request.method, str(request.url)) == ("POST", "https://hooks.example/devices/d1")
    assert request.headers["x-device"] == "d1" and request.headers["content-type"] == "application/json"
    assert request.content == b'{"t":20}'
    await h.runner.close()


async def test_http_error_status_is_retried_then_reported() -> None:
    h, seen = http_harness(500, action_retries=2)
    h.rule(
        "r",
        "SELECT * FROM 'in'",
        [{"http": {"url": "http://127.0.0.1:9/hook"}}],
        error_action=republish("errors"),
    )
    await h.send(Message("in", b"{}", 0))
    assert len(seen) == 3
    [failure] = orjson.loads(h.published[0].payload)["failures"]
    assert failure == {
        "failedAction": "HttpAction",
        "failedResource": "http://127.0.0.1:9/hook",
        "errorMessage": "Received a response with HTTP status code 500",
    }
    await h.runner.close()


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"republish": {"topic": "t"}}, "requires roleArn"),
        ({"republish": {"roleArn": ROLE}}, "requires topic"),
        ({"republish": {"roleArn": ROLE, "topic": "t", "qos": 2}}, "qos must be 0 or 1"),
        (
            {"republish": {"roleArn": ROLE, "topic": "t", "headers": {"payloadFormatIndicator": "TEXT"}}},
            "UNSPECIFIED_BYTES or UTF8_DATA",
        ),
        ({"republish": {"roleArn": ROLE, "topic": "${"}}, "Unterminated"),
        ({"lambda": {}}, "requires functionArn"),
        ({"http": {"url": "https://h/${topic()}"}}, "confirmationUrl is required"),
        ({"http": {"url": "https://h/a", "confirmationUrl": "https://other/"}}, "must be a prefix"),
        ({"http": {"url": "ftp://h/a"}}, "http:// or https://"),
        ({"http": {"url": "https://h/a", "enableBatching": True}}, "batching"),
        ({"timestream": {"roleArn": ROLE}}, "Corral does not offer the timestream rule action yet"),
        ({"iotAnalytics": {"channelName": "c", "roleArn": ROLE}}, "iotAnalytics"),
        ({"carrierPigeon": {}}, "Unknown rule action: carrierPigeon"),
        ({}, "exactly one action type"),
        ({"republish": {"topic": "t", "roleArn": ROLE}, "lambda": {"functionArn": FUNCTION}}, "exactly one"),
    ],
)
def test_action_specs_refused(spec: dict[str, Any], message: str) -> None:
    h = make_harness()
    with pytest.raises(ActionSpecError, match=message.replace("(", r"\(")):
        build_action(spec, TemplateCompiler(FakeEngine(), "2016-03-23"), h.services)
