from __future__ import annotations

import base64
from typing import Any

import orjson

from corral.broker.message import Message
from corral.mqtt.properties import Properties
from corral.rules.actions import ActionContext, ActionError
from corral.rules.runner import CompiledRule, error_message, mqtt_properties
from tests.rules.support import make_harness, republish


async def test_matching_rule_republishes_with_templates_and_headers() -> None:
    h = make_harness()
    h.rule(
        "r",
        "SELECT * FROM 'in/+'",
        [
            republish(
                "out/${topic(2)}",
                qos=1,
                headers={
                    "contentType": "application/json",
                    "payloadFormatIndicator": "UTF8_DATA",
                    "responseTopic": "reply/${clientid()}",
                    "correlationData": base64.b64encode(b"\x01\x02").decode(),
                    "messageExpiry": "60",
                    "userProperties": [{"key": "from", "value": "${clientid()}"}],
                },
            )
        ],
    )
    await h.send(Message("in/dev1", b'{"a": 1}', 0, sender="dev1", principal="cert"))
    [out] = h.published
    assert (out.topic, orjson.loads(out.payload), out.qos, out.retain, out.hops) == (
        "out/dev1",
        {"a": 1},
        1,
        False,
        1,
    )
    props = out.properties
    assert props is not None
    assert props.content_type == "application/json" and props.payload_format_indicator == 1
    assert props.response_topic == "reply/dev1" and props.correlation_data == b"\x01\x02"
    assert props.message_expiry_interval == 60 and props.user_properties == [("from", "dev1")]


async def test_where_false_and_other_topics_run_nothing() -> None:
    h = make_harness()
    h.rule("r", "SELECT * FROM 'in/+' WHERE a = 1", [republish("out")])
    await h.send(Message("in/x", b'{"a": 2}', 0))
    await h.send(Message("other/x", b'{"a": 1}', 0))
    await h.send(Message("in/x/deeper", b'{"a": 1}', 0))
    assert h.published == [] and h.runner.stats.matched == 1


async def test_disabled_and_removed_rules_do_not_run() -> None:
    h = make_harness()
    h.rule("r", "SELECT * FROM 'in'", [republish("out")], disabled=True)
    await h.send(Message("in", b"{}", 0))
    h.rule("r", "SELECT * FROM 'in'", [republish("out")])
    await h.send(Message("in", b"{}", 0))
    h.runner.remove("r")
    await h.send(Message("in", b"{}", 0))
    assert [m.topic for m in h.published] == ["out"]


async def test_wildcard_rules_do_not_see_reserved_topics() -> None:
    h = make_harness()
    h.rule("r", "SELECT * FROM '#'", [republish("out")])
    await h.send(Message("$aws/things/t/shadow/update", b"{}", 0))
    assert h.published == []


async def test_basic_ingest_runs_the_named_rule_with_the_prefix_removed() -> None:
    h = make_harness()
    h.rule("ingest", "SELECT * FROM 'unrelated/filter'", [republish("seen/${topic(1)}/${topic(2)}")])
    h.rule("other", "SELECT * FROM '#'", [republish("never")])
    await h.send(Message("$aws/rules/ingest/buildings/b5", b"{}", 0))
    assert [m.topic for m in h.published] == ["seen/buildings/b5"]
    await h.send(Message("$aws/rules/missing/x", b"{}", 0))
    assert h.runner.stats.basic_ingest_unknown_rule == 1 and len(h.published) == 1


async def test_republish_loop_is_cut_at_the_hop_limit() -> None:
    h = make_harness(loop_back=True, max_republish_hops=5)
    h.rule("loop", "SELECT * FROM 'ping'", [republish("ping")])
    await h.send(Message("ping", b"{}", 0))
    assert [m.hops for m in h.published] == [1, 2, 3, 4, 5]
    assert h.cut == [("ping", "ping")]


class Flaky:
    """An action failing its first ``failures`` runs."""

    failed_action = "FlakyAction"

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.runs = 0

    async def run(self, payload: bytes, ctx: ActionContext) -> None:
        self.runs += 1
        if self.runs <= self.failures:
            raise ActionError(f"attempt {self.runs} failed", "flaky-resource")


def install(h: Any, actions: tuple[Any, ...], error: bool = True) -> None:
    base = h.rule(
        "r", "SELECT * FROM 'in'", [], error_action=republish("errors/${topic(1)}") if error else None
    )
    h.runner.install(
        CompiledRule(base.name, base.arn, base.statement, base.sql_version, actions, base.error_action, False)
    )


async def test_a_failed_action_is_retried_then_reported_to_the_error_action() -> None:
    h = make_harness(action_retries=2)
    flaky, fine = Flaky(failures=10), Flaky(failures=0)
    install(h, (flaky, fine))
    await h.send(Message("in", b"\x00binary", 0, sender="device-7"))
    assert flaky.runs == 3 and fine.runs == 1
    [report] = h.published
    assert report.topic == "errors/in"
    body = orjson.loads(report.payload)
    assert body == {
        "ruleName": "r",
        "topic": "in",
        "cloudwatchTraceId": body["cloudwatchTraceId"],
        "clientId": "device-7",
        "base64OriginalPayload": base64.b64encode(b"\x00binary").decode(),
        "failures": [
            {
                "failedAction": "FlakyAction",
                "failedResource": "flaky-resource",
                "errorMessage": "attempt 3 failed",
            }
        ],
    }
    assert len(body["cloudwatchTraceId"]) == 36


async def test_an_action_that_recovers_within_its_retries_is_not_reported() -> None:
    h = make_harness(action_retries=3)
    flaky = Flaky(failures=2)
    install(h, (flaky,))
    await h.send(Message("in", b"{}", 0))
    assert flaky.runs == 3 and h.published == []


async def test_failures_without_an_error_action_are_counted() -> None:
    h = make_harness(action_retries=0)
    install(h, (Flaky(failures=1), Flaky(failures=1)), error=False)
    await h.send(Message("in", b"{}", 0))
    assert h.runner.stats.action_failures == 2 and h.published == []


async def test_invalid_republish_topic_fails_the_action() -> None:
    h = make_harness(action_retries=0)
    h.rule("r", "SELECT * FROM 'in'", [republish("out/${missing}/+")], error_action=republish("errors"))
    await h.send(Message("in", b"{}", 0))
    [report] = h.published
    [failure] = orjson.loads(report.payload)["failures"]
    assert failure["failedAction"] == "RepublishAction" and failure["failedResource"] == "out//+"


async def test_external_functions_are_called_on_the_loop_from_a_worker_thread() -> None:
    h = make_harness()

    class Shadows:
        async def get(self, thing: str, shadow: str | None) -> dict[str, Any]:
            return {"state": {"reported": {"thing": thing}}}

    h.runner.external.shadows = Shadows()
    h.rule("r", "SELECT * FROM 'in'", [republish("out/${external(get_thing_shadow)}")])
    await h.send(Message("in", b"{}", 0))
    assert h.published[0].topic == 'out/{"state":{"reported":{"thing":"thing"}}}'


def test_error_message_shape() -> None:
    message = Message("t", b"hi", 0)
    body = orjson.loads(error_message("r", "t", "trace", message, []))
    assert body == {
        "ruleName": "r",
        "topic": "t",
        "cloudwatchTraceId": "trace",
        "clientId": "",
        "base64OriginalPayload": "aGk=",
        "failures": [],
    }


def test_mqtt_properties_as_get_mqtt_property_names_them() -> None:
    props = Properties(
        payload_format_indicator=1,
        content_type="text/plain",
        response_topic="r",
        correlation_data=b"\xff",
        message_expiry_interval=9,
        user_properties=[("k", "v")],
    )
    assert mqtt_properties(props) == {
        "payloadFormatIndicator": "UTF8_DATA",
        "contentType": "text/plain",
        "responseTopic": "r",
        "correlationData": "/w==",
        "messageExpiry": 9,
        "userProperties": [["k", "v"]],
    }
    assert mqtt_properties(None) == {}
