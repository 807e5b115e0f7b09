"""The rules runner: every message the broker accepts, offered to the enabled rules whose FROM filter matches.

``on_message`` is a broker hook, so it sits on the broker's hot path: a message no rule wants costs one
dictionary lookup (each topic's matching rules are remembered until a rule changes). Every
rule a message matches runs in its own task (evaluation, then the actions side by side, each retried with
exponential backoff, then the error action with AWS's error message if any failed), so a slow action slows
nothing but itself.

The common rule needs no task: when its statement calls no external function and every action can run
without awaiting (``CompiledRule.sync_actions``: republish without external functions in its templates),
the run is one ``loop.call_soon`` callback instead, scheduled exactly where the task's first step would
have been, so runs and the messages they publish keep their order, and a republish never re-enters the
broker's ``publish`` from inside its hook. An action that fails there continues as a task (the retries,
then the error action), as it would have: the fast path changes what a run costs, never what it does. A
run's trace id (``traceid()``, the error action's ``cloudwatchTraceId``) and its MQTT properties
(``get_mqtt_property``) are built when first read.

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
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import orjson

from corral.broker.message import Message
from corral.broker.topics import RULES_PREFIX, SubscriptionTrie
from corral.mqtt.properties import Properties
from corral.rules.actions import Action, ActionContext, ActionError, ActionServices
from corral.rules.actions.base import sync_run
from corral.rules.actions.dynamodb import plain
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
    sync_actions: tuple[SyncRun, ...] | None = field(init=False, repr=False, compare=False)
    """The actions' ``run_sync`` when the rule takes the fast path (:func:`takes_fast_path`), else None."""

    def __post_init__(self) -> None:
        runs = tuple(sync_run(action) for action in self.actions)
        fast = len(runs) <= 1 and not self.statement.uses_external and all(run is not None for run in runs)
        object.__setattr__(self, "sync_actions", tuple(r for r in runs if r is not None) if fast else None)


SyncRun = Callable[[bytes, ActionContext], None]


def takes_fast_path(rule: CompiledRule) -> bool:
    """Whether the rule runs without a task: its statement calls no external function (no worker thread) and
    its one action can run without awaiting (``runs_sync``). Several actions run side by side, each in a
    task of its own, so such a rule keeps the task path (and its actions' place among the loop's callbacks).
    The error action does not matter: a failure leaves the fast path."""
    return rule.sync_actions is not None


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
        # Fast-path runs scheduled (call_soon) and not yet started; none starts once the runner is closing.
        self._scheduled = 0
        self._closing = False

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
        loop = self._loop
        if loop is None:
            loop = self._loop = asyncio.get_running_loop()
        if rule.sync_actions is not None:
            self._scheduled += 1
            loop.call_soon(self._run_sync, rule, message, topic, now_ms)
            return
        self._track(loop.create_task(self.run_rule(rule, message, topic, now_ms)))

    def _track(self, task: asyncio.Task[None]) -> None:
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _context(self, rule: CompiledRule, message: Message, topic: str, now_ms: int) -> EvalContext:
        return _MessageContext(
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
            properties=_NO_PROPERTIES if message.properties is None else _LazyProperties(message.properties),
            external=self._call_external,
        )

    async def run_rule(self, rule: CompiledRule, message: Message, topic: str, now_ms: int) -> None:
        """One rule for one message: evaluate, run the actions, report failures to the error action."""
        ctx = self._context(rule, message, topic, now_ms)
        try:
            if rule.statement.uses_external:
                result = await asyncio.to_thread(rule.statement.evaluate, ctx)
            else:
                result = rule.statement.evaluate(ctx)
            if result is self.engine.no_match:
                return
            payload = self.engine.output_payload(result)
        except Exception:
            self._evaluation_failed(rule, topic)
            return
        actions = ActionContext(ctx, message)
        if len(rule.actions) == 1:
            # The common rule: no gather, whose task per action would cost more than the action itself.
            outcomes = [await self._attempt(rule, rule.actions[0], payload, actions)]
        else:
            outcomes = await asyncio.gather(*(self._attempt(rule, a, payload, actions) for a in rule.actions))
        failures = [failure for failure in outcomes if failure is not None]
        if failures and rule.error_action is not None:
            await self._report(rule, failures, actions)

    def _run_sync(self, rule: CompiledRule, message: Message, topic: str, now_ms: int) -> None:
        """``run_rule`` for a rule on the fast path, as a loop callback: the same steps without awaiting,
        until an action fails."""
        self._scheduled -= 1
        sync_actions = rule.sync_actions
        if self._closing or sync_actions is None:
            return
        ctx = self._context(rule, message, topic, now_ms)
        try:
            result = rule.statement.evaluate(ctx)
            if result is self.engine.no_match:
                return
            payload = self.engine.output_payload(result)
        except Exception:
            self._evaluation_failed(rule, topic)
            return
        actions = ActionContext(ctx, message)
        failed: list[tuple[Action, ActionError]] = []
        for action, run in zip(rule.actions, sync_actions, strict=True):
            try:
                run(payload, actions)
            except Exception as exc:
                failed.append((action, self._action_error(rule, action, exc)))
        if not failed:
            return
        if self.settings.action_retries > 0:
            self._track(self._loop_or_running().create_task(self._retry(rule, payload, actions, failed)))
            return
        failures = [self._failure(rule, action, error, 1) for action, error in failed]
        error_action = rule.error_action
        if error_action is None:
            return
        run_error = sync_run(error_action)
        if run_error is None:
            self._track(self._loop_or_running().create_task(self._report(rule, failures, actions)))
            return
        report = error_message(rule.name, actions.eval.topic, actions.eval.trace_id, message, failures)
        try:
            run_error(report, actions)
        except Exception as exc:
            failure = self._failure(rule, error_action, self._action_error(rule, error_action, exc), 1)
            log.warning("rule %s: the error action failed too: %s", rule.name, failure["errorMessage"])

    async def _retry(
        self,
        rule: CompiledRule,
        payload: bytes,
        ctx: ActionContext,
        failed: list[tuple[Action, ActionError]],
    ) -> None:
        """The fast path's failed action (there is one at most), from its second attempt on, then the error
        action: what ``run_rule`` does after the first attempt."""
        outcomes = [await self._attempt(rule, action, payload, ctx, failed=error) for action, error in failed]
        failures = [failure for failure in outcomes if failure is not None]
        if failures and rule.error_action is not None:
            await self._report(rule, failures, ctx)

    async def _report(self, rule: CompiledRule, failures: list[Failure], ctx: ActionContext) -> None:
        """The error action, once, with every failed action of one run."""
        assert rule.error_action is not None
        report = error_message(rule.name, ctx.eval.topic, ctx.eval.trace_id, ctx.message, failures)
        failure = await self._attempt(rule, rule.error_action, report, ctx, retries=0)
        if failure is not None:
            log.warning("rule %s: the error action failed too: %s", rule.name, failure["errorMessage"])

    def _loop_or_running(self) -> asyncio.AbstractEventLoop:
        return self._loop if self._loop is not None else asyncio.get_running_loop()

    def _evaluation_failed(self, rule: CompiledRule, topic: str) -> None:
        self.stats.evaluation_errors += 1
        log.warning("rule %s: evaluating the statement failed on %s", rule.name, topic, exc_info=True)

    async def _attempt(
        self,
        rule: CompiledRule,
        action: Action,
        payload: bytes,
        ctx: ActionContext,
        retries: int | None = None,
        failed: ActionError | None = None,
    ) -> Failure | None:
        """Runs an action until it succeeds or its retries are spent; the failure AWS's error action
        reports, or None. ``failed``: the first attempt was made already (the fast path) and failed so."""
        settings = self.settings
        retries = settings.action_retries if retries is None else retries
        last = failed
        for attempt in range(0 if failed is None else 1, retries + 1):
            if attempt:
                delay = settings.retry_base_delay * 2 ** (attempt - 1)
                await asyncio.sleep(min(delay, settings.retry_max_delay))
            try:
                await action.run(payload, ctx)
                return None
            except Exception as exc:
                last = self._action_error(rule, action, exc)
        assert last is not None
        return self._failure(rule, action, last, retries + 1)

    @staticmethod
    def _action_error(rule: CompiledRule, action: Action, exc: Exception) -> ActionError:
        """The ActionError an attempt ended with (an unexpected exception is logged and becomes one)."""
        if isinstance(exc, ActionError):
            return exc
        log.error("rule %s: %s failed unexpectedly", rule.name, action.failed_action, exc_info=exc)
        return ActionError(f"{type(exc).__name__}: {exc}", "")

    def _failure(self, rule: CompiledRule, action: Action, last: ActionError, attempts: int) -> Failure:
        """An action whose attempts are spent: counted, logged, and its entry in the error action's
        ``failures``."""
        self.stats.action_failures += 1
        log.warning(
            "rule %s: %s failed after %d attempt(s): %s", rule.name, action.failed_action, attempts,
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
        if name == "get_dynamodb" and self.services.dynamodb is not None and len(args) in (4, 6):
            return await self._get_dynamodb(args)
        if name == "get_registry_data" and self.external.describe_thing is not None and args:
            from corral.errors import AWSServiceError

            try:
                thing = await self.external.describe_thing({"thingName": str(args[0])})
            except AWSServiceError:
                return UNDEFINED
            thing.pop("defaultClientId", None)
            return thing
        return UNDEFINED

    async def _get_dynamodb(self, args: list[Any]) -> Any:
        """``get_dynamodb(table, partitionKeyName, partitionKeyValue[, sortKeyName, sortKeyValue], roleArn)``:
        the item as JSON, or Undefined when there is none (or the read fails: logged). A key value is typed by
        its SQL type: a number is N, anything else S."""
        assert self.services.dynamodb is not None
        key = {str(args[1]): _key_attribute(args[2])}
        if len(args) == 6:
            key[str(args[3])] = _key_attribute(args[4])
        try:
            item = await self.services.dynamodb.get_item_simple(str(args[0]), key)
        except Exception as exc:
            log.warning("get_dynamodb(%s): %s", args[0], exc)
            return UNDEFINED
        return UNDEFINED if item is None else {name: plain(value) for name, value in item.items()}

    # -- shutdown ------------------------------------------------------------------------------------

    async def close(self) -> None:
        self._closing = True
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.services.close()

    async def idle(self) -> None:
        """Waits until every rule run started so far (and the runs they started) has finished (tests)."""
        while self._tasks or self._scheduled:
            if self._tasks:
                await asyncio.gather(*list(self._tasks), return_exceptions=True)
            else:
                await asyncio.sleep(0)  # the fast path's callbacks run before this coroutine resumes


def _key_attribute(value: Any) -> dict[str, str]:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return {"N": repr(value)}
    return {"S": value if isinstance(value, str) else orjson.dumps(value).decode()}


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


_TRACE_ID_SLOT: Any = EvalContext.__dict__["trace_id"]


class _MessageContext(EvalContext):
    """The runner's EvalContext: the trace id is a fresh UUID made when first read (``traceid()``, the error
    action's ``cloudwatchTraceId``), not for every run."""

    __slots__ = ()

    @property
    def trace_id(self) -> str:
        value: str = _TRACE_ID_SLOT.__get__(self, _MessageContext)
        if not value:
            value = str(uuid.uuid4())
            _TRACE_ID_SLOT.__set__(self, value)
        return value

    @trace_id.setter
    def trace_id(self, value: str) -> None:
        _TRACE_ID_SLOT.__set__(self, value)


class _LazyProperties(Mapping[str, Any]):
    """:func:`mqtt_properties` of a message, made when ``get_mqtt_property`` first reads them."""

    __slots__ = ("_built", "_props")

    def __init__(self, props: Properties) -> None:
        self._props = props
        self._built: dict[str, Any] | None = None

    def _values(self) -> dict[str, Any]:
        if self._built is None:
            self._built = mqtt_properties(self._props)
        return self._built

    def __getitem__(self, key: str) -> Any:
        return self._values()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values())

    def __len__(self) -> int:
        return len(self._values())


_NO_PROPERTIES: Mapping[str, Any] = MappingProxyType({})


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
