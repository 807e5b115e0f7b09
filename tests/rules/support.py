"""Builders shared by the rules tests: a runner on the fake SQL engine whose republishes are collected."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from corral.broker.limits import Limits
from corral.broker.message import Message
from corral.rules.actions import ActionServices, build_action
from corral.rules.runner import CompiledRule, RulesRunner
from corral.rules.settings import RulesSettings
from corral.rules.templates import TemplateCompiler
from tests.rules.fakes import FakeEngine

ACCOUNT = "123456789012"
REGION = "us-east-1"
ROLE = "arn:aws:iam::123456789012:role/rules"


@dataclass
class Harness:
    runner: RulesRunner
    engine: FakeEngine
    services: ActionServices
    published: list[Message] = field(default_factory=list)
    cut: list[tuple[str, str]] = field(default_factory=list)

    def rule(
        self,
        name: str,
        sql: str,
        actions: list[Mapping[str, Any]],
        error_action: Mapping[str, Any] | None = None,
        disabled: bool = False,
    ) -> CompiledRule:
        templates = TemplateCompiler(self.engine, "2016-03-23")
        rule = CompiledRule(
            name=name,
            arn=f"arn:aws:iot:{REGION}:{ACCOUNT}:rule/{name}",
            statement=self.engine.compile(sql, "2016-03-23"),
            sql_version="2016-03-23",
            actions=tuple(build_action(a, templates, self.services) for a in actions),
            error_action=build_action(error_action, templates, self.services) if error_action else None,
            disabled=disabled,
        )
        self.runner.install(rule)
        return rule

    async def send(self, message: Message) -> None:
        """Offers a message to the rules as the broker would, and waits for every run it caused."""
        self.runner.on_message(message)
        await self.runner.idle()


def make_harness(*, loop_back: bool = False, **settings: Any) -> Harness:
    """``loop_back``: republished messages are offered to the rules again, as the broker's hook would."""
    engine = FakeEngine()
    values = {"retry_base_delay": 0.0, **settings}
    rules_settings = RulesSettings.from_mapping(values)
    harness: Harness
    services = ActionServices(
        publish=lambda message: publish(message),
        limits=Limits(),
        max_republish_hops=rules_settings.max_republish_hops,
        loops_cut=lambda message, topic: harness.cut.append((message.topic, topic)),
    )

    def publish(message: Message) -> None:
        harness.published.append(message)
        if loop_back:
            harness.runner.on_message(message)

    runner = RulesRunner(engine, services, rules_settings, ACCOUNT, REGION)
    harness = Harness(runner, engine, services)
    return harness


def republish(topic: str, **extra: Any) -> dict[str, Any]:
    return {"republish": {"topic": topic, "roleArn": ROLE, **extra}}
