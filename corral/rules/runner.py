"""The rules runner: every message the broker accepts, offered to the enabled rules whose FROM filter matches.

``on_message`` is a broker hook, so it sits on the broker's hot path: a message no rule wants costs one
dictionary lookup (each topic's matching rules are remembered until a rule changes). Every
rule a message matches runs in its own task (evaluation, then the actions side by side, each retried with
exponential backoff, then the error action with AWS's error message if any failed), so a slow action slows
nothing but itself.

Basic Ingest: a message on ``$aws/rules/{ruleName}/rest`` reaches no subscriber (the broker skips them) and
runs that one rule, if it exists and is enabled, whatever its FROM clause; the rule sees the topic without
the ``$aws/rules/{ruleName}/`` prefix (``topic()``), as AWS documents.

A statement that calls ``get_thing_shadow``, ``aws_lambda`` or ``get_registry_data`` (``uses_external``) is
evaluated in a worker thread; ``EvalContext.external`` runs the call on the event loop and waits for it.
Other external functions evaluate to Undefined.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from corral.broker.message import Message
from corral.broker.topics import RULES_PREFIX, SubscriptionTrie
from corral.mqtt.properties import Properties
from corral.rules.actions import Action, ActionContext, ActionError, ActionServices
from corral.rules.engine import SqlEngine, Statement
from corral.rules.settings import RulesSettings
from corral.rules.sql.context import EvalContext
from corral.rules.sql.values import UNDEFINED

log = logging.getLogger(__name__)

Failure = dict[str, str]
_PAYLOAD_FORMATS = {0: "UNSPECIFIED_BYTES", 1: "UTF8_DATA"}
_MATCHES_MAX = 65536


@dataclass(frozen=True, slots=True)
class CompiledRule:
    name: str
    arn: str
    statement: Statement
    sql_version: str
    actions: tuple[Action, ...]
    error_action: Action | None
    disabled: bool


@dataclass(slots=True)
class RulesStats:
    matched: int = 0
    evaluation_errors: int = 0
    action_failures: int = 0
    basic_ingest_unknown_rule: int = 0


@dataclass(slots=True)
class ExternalServices:
    """What ``get_thing_shadow`` and ``get_registry_data`` read; set by the server."""

    shadows: Any = None  # corral.shadows.service.ShadowService
    describe_thing: Any = None  # async (params) -> output: the registry's DescribeThing handler


class RulesRunner:
    def __init__(
        self,
        engine: SqlEngine,
        services: ActionServices,
        settings: RulesSettings,
        account_id: str,
        region: str,
    ) -> None:
        self.engine = engine
        self.services = services
        self.settings = settings
        self.account_id = account_id
        self.region = region
        self.external = ExternalServices()
        self.stats = RulesStats()
        self.rules: dict[str, CompiledRule] = {}
        # Enabled rules by FROM filter (the trie caches each topic's matches until a rule changes).
        self._index: SubscriptionTrie[CompiledRule] = SubscriptionTrie(lambda first, _second: first)
        # Topic -> the enabled rules whose FROM filter matches it (Basic Ingest topics are never kept here).
        self._matches: dict[str, list[CompiledRule]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._loop: asyncio.AbstractEventLoop | None = None

    # -- the rule set --------------------------------------------------------------------------------

    def install(self, rule: CompiledRule) -> None:
        """Adds or replaces a rule; only an enabled rule is matched against messages."""
        self.remove(rule.name)
        self.rules[rule.name] = rule
        if not rule.disabled and rule.statement.topic_filter:
            self._index.add(rule.statement.topic_filter, rule.name, rule)
        self._matches.clear()

    def remove(self, name: str) -> None:
        old = self.rules.pop(name, None)
        if old is not None and old.statement.topic_filter:
            self._index.remove(old.statement.topic_filter, name)
        self._matches.clear()

    # -- messages ------------------------------------------------------------------------------------

    def on_message(self, message: Message) -> None:
        """The broker hook: schedules each matching rule; never awaits."""
        topic = message.topic
        matches = self._matches.get(topic)
        if matches is None:
            if topic.startswith(RULES_PREFIX):
                self._basic_ingest(message)
                return
            matches = self._match(topic)
        if matches:
            now_ms = int(time.time() * 1000)
            for rule in matches:
                self._spawn(rule, message, topic, now_ms)

    def _match(self, topic: str) -> list[CompiledRule]:
        if len(self._matches) >= _MATCHES_MAX:
            self._matches.clear()
        found = self._matches[topic] = [rule for _, rule in self._index.match(topic)]
        return found

    def _basic_ingest(self, message: Message) -> None:
        name, _, rest = message.topic[len(RULES_PREFIX) :].partition("/")
        rule = self.rules.get(name)
        if rule is None or rule.disabled:
            self.stats.basic_ingest_unknown_rule += 1
            log.info("Basic Ingest message for a missing or disabled rule (RuleNotFound): %s", message.topic)
            return
        self._spawn(rule, message, rest, int(time.time() * 1000))

    def _spawn(self, rule: CompiledRule, message: Message, topic: str, now_ms: int) -> None:
        self.stats.matched += 1
        if self._loop is None:
            self._loop = asyncio.get_running_loop()
        task = self._loop.create_task(self.run_rule(rule, message, topic, now_ms))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def run_rule(self, rule: CompiledRule, message: Message, topic: str, now_ms: int) -> None:
        """One rule for one message: evaluate, run the actions, report failures to the error action."""
        ctx = EvalContext(
            topic=topic,
            payload=message.payload,
            timestamp_ms=now_ms,
            account_id=self.account_id,
            region=self.region,
            rule_name=rule.name,
            sql_version=rule.sql_version,
            client_id=message.sender,
            principal=message.principal,
            source_ip=message.source_ip,
            trace_id=str(uuid.uuid4()),
            properties=mqtt_properties(message.properties),
            external=self._call_external,
        )
        try:
            if rule.statement.uses_external:
                result = await asyncio.to_thread(rule.statement.evaluate, ctx)
            else:
                result = rule.statement.evaluate(ctx)
            if result is self.engine.no_match:
                return
            payload = self.engine.output_payload(result)
        except Exception:
            self.stats.evaluation_errors += 1
            log.warning("rule %s: evaluating the statement failed on %s", rule.name, topic, exc_info=True)
            return
        actions = ActionContext(ctx, message)
        if len(rule.actions) == 1:
            # The common rule: no gather, whose task per action would cost more than the action itself.
            outcomes = [await self._attempt(rule, rule.actions[0], payload, actions)]
        else:
            outcomes = await asyncio.gather(*(self._attempt(rule, a, payload, actions) for a in rule.actions))
        failures = [failure for failure in outcomes if failure is not None]
        if failures and rule.error_action is not None:
            report = error_message(rule.name, topic, ctx.trace_id, message, failures)
            failure = await self._attempt(rule, rule.error_action, report, actions, retries=0)
            if failure is not None:
                log.warning("rule %s: the error action failed too: %s", rule.name, failure["errorMessage"])

    async def _attempt(
        self,
        rule: CompiledRule,
        action: Action,
        payload: bytes,
        ctx: ActionContext,
        retries: int | None = None,
    ) -> Failure | None:
        """Runs an action until it succeeds or its retries are spent; the failure AWS's error action
        reports, or None."""
        settings = self.settings
        retries = settings.action_retries if retries is None else retries
        last = ActionError("not run", "")
        for attempt in range(retries + 1):
            if attempt:
                delay = settings.retry_base_delay * 2 ** (attempt - 1)
                await asyncio.sleep(min(delay, settings.retry_max_delay))
            try:
                await action.run(payload, ctx)
                return None
            except ActionError as exc:
                last = exc
            except Exception as exc:
                log.exception("rule %s: %s failed unexpectedly", rule.name, action.failed_action)
                last = ActionError(f"{type(exc).__name__}: {exc}", "")
        self.stats.action_failures += 1
        log.warning(
            "rule %s: %s failed after %d attempt(s): %s", rule.name, action.failed_action, retries + 1,
            last.message,
        )  # fmt: skip
        return {
            "failedAction": action.failed_action,
            "failedResource": last.resource,
            "errorMessage": last.message,
        }

    # -- external functions --------------------------------------------------------------------------

    def _call_external(self, name: str, args: Sequence[Any]) -> Any:
        """``EvalContext.external``: called from the worker thread evaluating a statement."""
        loop = self._loop
        if loop is None:
            return UNDEFINED
        future = asyncio.run_coroutine_threadsafe(self._external(name, list(args)), loop)
        try:
            return future.result(self.settings.external_timeout)
        except Exception:
            future.cancel()
            log.warning("external function %s failed", name, exc_info=True)
            return UNDEFINED

    async def _external(self, name: str, args: list[Any]) -> Any:
        if name == "get_thing_shadow" and self.external.shadows is not None and len(args) in (2, 3):
            from corral.shadows.document import ShadowRejected

            shadow_name = args[1] if len(args) == 3 else None
            try:
                return await self.external.shadows.get(str(args[0]), shadow_name)
            except ShadowRejected:
                return UNDEFINED
        if name == "aws_lambda" and self.services.functions is not None and len(args) == 2:
            result = await self.services.functions.invoke(
                str(args[0]), orjson.dumps(args[1]), "RequestResponse"
            )
            if getattr(result, "function_error", None):
                return UNDEFINED
            return orjson.loads(result.payload) if result.payload else None
        if name == "get_registry_data" and self.external.describe_thing is not None and args:
            from corral.errors import AWSServiceError

            try:
                thing = await self.external.describe_thing({"thingName": str(args[0])})
            except AWSServiceError:
                return UNDEFINED
            thing.pop("defaultClientId", None)
            return thing
        return UNDEFINED

    # -- shutdown ------------------------------------------------------------------------------------

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.services.close()

    async def idle(self) -> None:
        """Waits until every rule run started so far (and the runs they started) has finished (tests)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)


def error_message(
    rule_name: str, topic: str, trace_id: str, message: Message, failures: list[Failure]
) -> bytes:
    """AWS's error action message (developerguide/rule-error-handling.html): one per rule and message, every
    failed action in ``failures``."""
    body = {
        "ruleName": rule_name,
        "topic": topic,
        "cloudwatchTraceId": trace_id,
        "clientId": message.sender or "",
        "base64OriginalPayload": base64.b64encode(message.payload).decode(),
        "failures": failures,
    }
    return orjson.dumps(body)


def mqtt_properties(props: Properties | None) -> dict[str, Any]:
    """A message's MQTT 5 properties as ``get_mqtt_property`` names them."""
    if props is None:
        return {}
    out: dict[str, Any] = {}
    if props.content_type is not None:
        out["contentType"] = props.content_type
    if props.payload_format_indicator is not None:
        out["payloadFormatIndicator"] = _PAYLOAD_FORMATS.get(
            props.payload_format_indicator, "UNSPECIFIED_BYTES"
        )
    if props.response_topic is not None:
        out["responseTopic"] = props.response_topic
    if props.correlation_data is not None:
        out["correlationData"] = base64.b64encode(props.correlation_data).decode()
    if props.message_expiry_interval is not None:
        out["messageExpiry"] = props.message_expiry_interval
    if props.user_properties:
        out["userProperties"] = [[name, value] for name, value in props.user_properties]
    return out


def loop_counter(stats: Any) -> Callable[[Message, str], None]:
    """``ActionServices.loops_cut`` for the server: logs the cut and counts it in ``stats.rule_loops_cut``
    (the broker's counters, reported by ``/health``)."""

    def cut(message: Message, topic: str) -> None:
        stats.rule_loops_cut += 1
        log.warning(
            "rule loop cut: a message on %s republished %d times is not republished to %s",
            message.topic, message.hops, topic,
        )  # fmt: skip

    return cut
