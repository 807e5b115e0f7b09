"""The runner's fast path: which rules run without a task, and that they behave as the task path does."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import orjson
import pytest

from corral.broker.limits import Limits
from corral.broker.message import Message
from corral.mqtt.properties import Properties
from corral.rules.actions import ActionContext, ActionError, ActionServices, build_action
from corral.rules.engine import iot_sql
from corral.rules.runner import CompiledRule, RulesRunner, takes_fast_path
from corral.rules.settings import RulesSettings
from corral.rules.templates import TemplateCompiler
from tests.rules.support import ACCOUNT, REGION, Harness, make_harness, republish


class SyncFlaky:
    """A sync-capable action failing its first ``failures`` runs (``error`` is what it raises)."""

    failed_action = "SyncFlakyAction"
    runs_sync = True

    def __init__(self, failures: int, error: Exception | None = None) -> None:
        self.failures = failures
        self.error = error
        self.runs = 0
        self.payloads: list[bytes] = []

    def run_sync(self, payload: bytes, ctx: ActionContext) -> None:
        self.runs += 1
        if self.runs <= self.failures:
            raise self.error or ActionError(f"attempt {self.runs} failed", "flaky-resource")
        self.payloads.append(payload)

    async def run(self, payload: bytes, ctx: ActionContext) -> None:
        self.run_sync(payload, ctx)


class AsyncRecorder:
    """An action that awaits (no ``runs_sync``): the task path."""

    failed_action = "AsyncRecorderAction"

    def __init__(self, h: Harness, topic: str) -> None:
        self.h = h
        self.topic = topic
        self.payloads: list[bytes] = []

    async def run(self, payload: bytes, ctx: ActionContext) -> None:
        self.payloads.append(payload)
        self.h.services.publish(Message(self.topic, payload, 0))


def with_actions(
    h: Harness, name: str, sql: str, actions: tuple[Any, ...], error_action: Any = None
) -> CompiledRule:
    base = h.rule(name, sql, [])
    rule = CompiledRule(base.name, base.arn, base.statement, base.sql_version, actions, error_action, False)
    h.runner.install(rule)
    return rule


# -- which rules take it ---------------------------------------------------------------------------------


def test_a_republish_rule_without_external_functions_takes_the_fast_path() -> None:
    h = make_harness()
    assert takes_fast_path(h.rule("constant", "SELECT * FROM 'in'", [republish("out")]))
    templated = republish(
        "out/${topic(2)}",
        headers={"contentType": "${clientid()}", "userProperties": [{"key": "k", "value": "${topic(1)}"}]},
    )
    assert takes_fast_path(h.rule("templated", "SELECT * FROM 'in/+'", [templated]))
    # The error action does not decide: a failure leaves the fast path anyway.
    h2 = make_harness()
    assert takes_fast_path(
        with_actions(h2, "r", "SELECT * FROM 'in'", (SyncFlaky(0),), AsyncRecorder(h2, "e"))
    )


def test_rules_that_need_a_task_do_not_take_the_fast_path() -> None:
    h = make_harness()
    external_statement = h.rule(
        "statement", "SELECT VALUE external(get_thing_shadow) FROM '#'", [republish("o")]
    )
    external_topic = h.rule("topic", "SELECT * FROM 'in'", [republish("out/${external(aws_lambda)}")])
    external_header = h.rule(
        "header", "SELECT * FROM 'in'", [republish("out", headers={"contentType": "${external(aws_lambda)}"})]
    )
    two_actions = h.rule("two", "SELECT * FROM 'in'", [republish("a"), republish("b")])
    awaiting = with_actions(h, "awaiting", "SELECT * FROM 'in'", (AsyncRecorder(h, "x"),))
    lambda_action = h.rule(
        "lambda", "SELECT * FROM 'in'", [{"lambda": {"functionArn": "arn:aws:lambda:us-east-1:1:function:f"}}]
    )
    for rule in (external_statement, external_topic, external_header, two_actions, awaiting, lambda_action):
        assert not takes_fast_path(rule), rule.name


# -- how it runs -----------------------------------------------------------------------------------------


async def test_the_fast_path_runs_no_task_and_publishes_after_the_hook_returns() -> None:
    h = make_harness()
    h.rule("r", "SELECT * FROM 'in'", [republish("out")])
    tasks_before = asyncio.all_tasks()
    h.runner.on_message(Message("in", b"{}", 0))
    assert asyncio.all_tasks() == tasks_before
    assert h.published == []  # the republish never re-enters the broker from inside its hook
    await h.runner.idle()
    assert [m.topic for m in h.published] == ["out"]


async def test_fast_and_task_runs_keep_the_order_of_the_messages() -> None:
    h = make_harness()
    h.rule("fast", "SELECT * FROM 'fast'", [republish("out/fast")])
    with_actions(h, "slow", "SELECT * FROM 'slow'", (AsyncRecorder(h, "out/slow"),))
    for i, topic in enumerate(["fast", "slow", "fast", "slow", "slow", "fast"]):
        h.runner.on_message(Message(topic, orjson.dumps({"i": i}), 0))
    await h.runner.idle()
    assert [orjson.loads(m.payload)["i"] for m in h.published] == [0, 1, 2, 3, 4, 5]


async def test_a_failed_fast_action_is_retried_then_reported_to_the_error_action() -> None:
    h = make_harness(action_retries=2)
    flaky = SyncFlaky(failures=10)
    rule = with_actions(h, "r", "SELECT * FROM 'in'", (flaky,), build_action(republish("errors"), *_build(h)))
    assert takes_fast_path(rule)
    await h.send(Message("in", b"\x00binary", 0, sender="device-7"))
    assert flaky.runs == 3 and h.runner.stats.action_failures == 1
    [report] = h.published
    body = orjson.loads(report.payload)
    assert body["failures"] == [
        {
            "failedAction": "SyncFlakyAction",
            "failedResource": "flaky-resource",
            "errorMessage": "attempt 3 failed",
        }
    ]
    assert body["clientId"] == "device-7" and uuid.UUID(body["cloudwatchTraceId"]).version == 4


async def test_a_fast_action_that_recovers_within_its_retries_is_not_reported() -> None:
    h = make_harness(action_retries=3)
    flaky = SyncFlaky(failures=2)
    with_actions(h, "r", "SELECT * FROM 'in'", (flaky,), build_action(republish("errors"), *_build(h)))
    await h.send(Message("in", b"{}", 0))
    assert flaky.runs == 3 and flaky.payloads == [b"{}"] and h.published == []
    assert h.runner.stats.action_failures == 0


@pytest.mark.parametrize("retries", [0, 2])
async def test_a_failing_fast_republish_reaches_the_error_action(retries: int) -> None:
    h = make_harness(action_retries=retries)
    rule = h.rule(
        "r", "SELECT * FROM 'in'", [republish("out/${missing}/+")], error_action=republish("errors")
    )
    assert takes_fast_path(rule)
    await h.send(Message("in", b"{}", 0))
    [report] = h.published
    [failure] = orjson.loads(report.payload)["failures"]
    assert failure["failedAction"] == "RepublishAction" and failure["failedResource"] == "out//+"
    assert h.runner.stats.action_failures == 1


async def test_an_error_action_that_awaits_hears_of_a_fast_failure() -> None:
    h = make_harness(action_retries=0)
    errors = AsyncRecorder(h, "errors")
    with_actions(h, "r", "SELECT * FROM 'in'", (SyncFlaky(1),), errors)
    await h.send(Message("in", b"{}", 0))
    [report] = errors.payloads
    assert orjson.loads(report)["failures"][0]["errorMessage"] == "attempt 1 failed"


async def test_an_unexpected_exception_on_the_fast_path_is_a_failure() -> None:
    h = make_harness(action_retries=0)
    with_actions(h, "r", "SELECT * FROM 'in'", (SyncFlaky(1, RuntimeError("boom")),), AsyncRecorder(h, "e"))
    await h.send(Message("in", b"{}", 0))
    [report] = h.published
    [failure] = orjson.loads(report.payload)["failures"]
    assert failure == {
        "failedAction": "SyncFlakyAction",
        "failedResource": "",
        "errorMessage": "RuntimeError: boom",
    }


async def test_a_failing_error_action_on_the_fast_path_is_counted() -> None:
    h = make_harness(action_retries=0)
    with_actions(h, "r", "SELECT * FROM 'in'", (SyncFlaky(1),), SyncFlaky(1))
    await h.send(Message("in", b"{}", 0))
    assert h.runner.stats.action_failures == 2


async def test_the_hop_count_cuts_a_loop_on_the_fast_path() -> None:
    h = make_harness(loop_back=True, max_republish_hops=3)
    assert takes_fast_path(h.rule("loop", "SELECT * FROM 'ping'", [republish("ping")]))
    await h.send(Message("ping", b"{}", 0))
    assert [m.hops for m in h.published] == [1, 2, 3]
    assert h.cut == [("ping", "ping")]


async def test_runs_scheduled_before_close_do_not_start() -> None:
    h = make_harness()
    h.rule("r", "SELECT * FROM 'in'", [republish("out")])
    h.runner.on_message(Message("in", b"{}", 0))
    await h.runner.close()
    await h.runner.idle()
    assert h.published == []


# -- the lazily built trace id and properties, with the real IoT SQL engine -----------------------------


async def test_trace_id_and_mqtt_properties_on_the_fast_path() -> None:
    engine = iot_sql()
    published: list[Message] = []
    services = ActionServices(publish=published.append, limits=Limits())
    runner = RulesRunner(engine, services, RulesSettings(action_retries=0), ACCOUNT, REGION)
    compile = TemplateCompiler(engine, "2016-03-23")
    sql = "SELECT traceid() AS t, get_mqtt_property('content_type') AS c FROM 'in'"
    rule = CompiledRule(
        "r", "arn", engine.compile(sql, "2016-03-23"), "2016-03-23",
        (build_action(republish("out"), compile, services),), None, False,
    )  # fmt: skip
    # A topic with a wildcard fails the action, whose report names the run's trace id.
    failing_sql = "SELECT * FROM 'fail'"
    failing = CompiledRule(
        "f", "arn", engine.compile(failing_sql, "2016-03-23"), "2016-03-23",
        (build_action(republish("bad/+/${traceid()}"), compile, services),),
        build_action(republish("errors"), compile, services), False,
    )  # fmt: skip
    assert takes_fast_path(rule) and takes_fast_path(failing)
    runner.install(rule)
    runner.install(failing)
    runner.on_message(Message("in", b"{}", 0, False, Properties(content_type="text/plain")))
    runner.on_message(Message("in", b"{}", 0))
    runner.on_message(Message("fail", b"{}", 0))
    await runner.idle()
    first, second, report = (orjson.loads(m.payload) for m in published)
    assert first["c"] == "text/plain" and "c" not in second
    assert uuid.UUID(first["t"]) != uuid.UUID(second["t"])
    [failure] = report["failures"]
    assert failure["failedResource"] == f"bad/+/{report['cloudwatchTraceId']}"


def _build(h: Harness) -> tuple[TemplateCompiler, ActionServices]:
    return TemplateCompiler(h.engine, "2016-03-23"), h.services
