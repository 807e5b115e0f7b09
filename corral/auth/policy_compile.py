"""Compiling a principal's policies for one connection: the broker's per-message check.

At compile time everything the connection knows is applied once: variables are substituted into
resources and condition values, conditions on connection facts are decided (a statement whose
condition fails is dropped; one whose conditions all hold loses them), and each resource pattern
becomes a regular expression. Only conditions on the clock (``aws:CurrentTime``, ``aws:EpochTime``)
are left for request time.

Per distinct action string a *plan* is built on first use: the statements whose Action matches,
with the plain Resource patterns of all Allow (and of all Deny) statements merged into one set of
exact ARNs plus one alternation regex; NotResource and clock-conditioned statements stay separate.
Answers are cached per (action, resource) in a bounded dict (topics repeat), unless the plan
depends on the clock.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial

from corral.auth.policy_conditions import CompiledCondition, resolve_condition
from corral.auth.policy_context import DYNAMIC_KEYS, ConnectionContext, context_values, variable_value
from corral.auth.policy_document import Effect, PolicyDocument, Statement
from corral.auth.policy_evaluate import AuthorizationResult, evaluate
from corral.auth.policy_match import literal, parse_template, plain_tokens, regex_source, substitute

DEFAULT_CACHE_SIZE = 4096

Clock = Callable[[], datetime]
_NO_CONTEXT = ConnectionContext()  # clock keys do not depend on the connection


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class _Resources:
    """A statement's substituted Resource (or NotResource) patterns."""

    exact: frozenset[str]
    sources: tuple[str, ...]  # regex sources of the wildcard patterns
    regex: re.Pattern[str] | None

    def match(self, resource: str) -> bool:
        return resource in self.exact or (
            self.regex is not None and self.regex.fullmatch(resource) is not None
        )


@dataclass(frozen=True, slots=True)
class _Statement:
    policy: int
    deny: bool
    action_exact: frozenset[str]
    action_regex: re.Pattern[str] | None
    not_action: bool
    resources: _Resources
    not_resource: bool
    clock_conditions: tuple[CompiledCondition, ...]

    def matches_action(self, lowered: str) -> bool:
        hit = lowered in self.action_exact or (
            self.action_regex is not None and self.action_regex.fullmatch(lowered) is not None
        )
        return hit != self.not_action

    def applies(self, resource: str, now: datetime | None) -> bool:
        if self.resources.match(resource) == self.not_resource:
            return False
        for condition in self.clock_conditions:
            found = context_values(_NO_CONTEXT, condition.key, now)
            if not condition.holds(None if found is None else found.values):
                return False
        return True


@dataclass(frozen=True, slots=True)
class _Plan:
    deny_exact: frozenset[str]
    deny_regex: re.Pattern[str] | None
    allow_exact: frozenset[str]
    allow_regex: re.Pattern[str] | None
    deny_others: tuple[_Statement, ...]
    allow_others: tuple[_Statement, ...]
    uses_clock: bool


class ConnectionPolicy:
    """A principal's policies compiled for one connection; ``allows`` is the hot-path check."""

    __slots__ = ("_cache", "_cache_size", "_clock", "_context", "_docs", "_plans", "_prefix", "_statements")

    def __init__(
        self,
        docs: Sequence[PolicyDocument],
        context: ConnectionContext,
        statements: tuple[_Statement, ...],
        *,
        cache_size: int,
        clock: Clock,
    ) -> None:
        self._docs = tuple(docs)
        self._context = context
        self._statements = statements
        self._plans: dict[str, _Plan] = {}
        self._cache: dict[tuple[str, str], bool] = {}
        self._cache_size = cache_size
        self._clock = clock
        self._prefix = f"arn:{context.partition}:iot:{context.region}:{context.account_id}:"

    @property
    def context(self) -> ConnectionContext:
        return self._context

    @property
    def documents(self) -> tuple[PolicyDocument, ...]:
        return self._docs

    def allows(self, action: str, resource_arn: str) -> bool:
        key = (action, resource_arn)
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        plan = self._plans.get(action)
        if plan is None:
            plan = self._plans[action] = self._plan(action)
        now = self._clock() if plan.uses_clock else None
        if (
            resource_arn in plan.deny_exact
            or (plan.deny_regex is not None and plan.deny_regex.fullmatch(resource_arn) is not None)
            or any(s.applies(resource_arn, now) for s in plan.deny_others)
        ):
            result = False
        else:
            result = (
                resource_arn in plan.allow_exact
                or (plan.allow_regex is not None and plan.allow_regex.fullmatch(resource_arn) is not None)
                or any(s.applies(resource_arn, now) for s in plan.allow_others)
            )
        if not plan.uses_clock:
            cache = self._cache
            if len(cache) >= self._cache_size:
                del cache[next(iter(cache))]
            cache[key] = result
        return result

    def explain(self, action: str, resource_arn: str) -> AuthorizationResult:
        """The decision with the policies behind it (TestAuthorization), by the reference evaluator."""
        return evaluate(self._docs, self._context, action, resource_arn, now=self._clock())

    # Conveniences for the broker: the connection's own region and account.
    def can_connect(self, client_id: str | None = None) -> bool:
        cid = self._context.client_id if client_id is None else client_id
        return self.allows("iot:Connect", f"{self._prefix}client/{cid}")

    def can_publish(self, topic: str) -> bool:
        return self.allows("iot:Publish", f"{self._prefix}topic/{topic}")

    def can_retain_publish(self, topic: str) -> bool:
        return self.allows("iot:RetainPublish", f"{self._prefix}topic/{topic}")

    def can_subscribe(self, topic_filter: str) -> bool:
        return self.allows("iot:Subscribe", f"{self._prefix}topicfilter/{topic_filter}")

    def can_receive(self, topic: str) -> bool:
        return self.allows("iot:Receive", f"{self._prefix}topic/{topic}")

    def _plan(self, action: str) -> _Plan:
        lowered = action.lower()
        deny_exact: set[str] = set()
        allow_exact: set[str] = set()
        deny_sources: list[str] = []
        allow_sources: list[str] = []
        deny_others: list[_Statement] = []
        allow_others: list[_Statement] = []
        for statement in self._statements:
            if not statement.matches_action(lowered):
                continue
            if statement.not_resource or statement.clock_conditions:
                (deny_others if statement.deny else allow_others).append(statement)
                continue
            (deny_exact if statement.deny else allow_exact).update(statement.resources.exact)
            (deny_sources if statement.deny else allow_sources).extend(statement.resources.sources)
        return _Plan(
            deny_exact=frozenset(deny_exact),
            deny_regex=_alternation(deny_sources),
            allow_exact=frozenset(allow_exact),
            allow_regex=_alternation(allow_sources),
            deny_others=tuple(deny_others),
            allow_others=tuple(allow_others),
            uses_clock=any(s.clock_conditions for s in (*deny_others, *allow_others)),
        )


def compile_policies(
    docs: Sequence[PolicyDocument],
    context: ConnectionContext,
    *,
    cache_size: int = DEFAULT_CACHE_SIZE,
    clock: Clock = _utc_now,
) -> ConnectionPolicy:
    """Compile a principal's policies (those attached to its certificate and its thing's groups)."""
    compiled: list[_Statement] = []
    for index, doc in enumerate(docs):
        for statement in doc.statements:
            item = _compile_statement(index, statement, context)
            if item is not None:
                compiled.append(item)
    return ConnectionPolicy(docs, context, tuple(compiled), cache_size=max(1, cache_size), clock=clock)


def _compile_statement(index: int, statement: Statement, context: ConnectionContext) -> _Statement | None:
    resolve = partial(variable_value, context)
    clock_conditions: list[CompiledCondition] = []
    for condition in statement.conditions:
        compiled = resolve_condition(condition, resolve)
        if condition.key.lower() in DYNAMIC_KEYS:
            clock_conditions.append(compiled)
            continue
        found = context_values(context, condition.key)
        if not compiled.holds(None if found is None else found.values):
            return None
    exact: set[str] = set()
    sources: list[str] = []
    for pattern in statement.resources:
        tokens = substitute(parse_template(pattern), resolve)
        if tokens is None:
            continue  # an unresolved variable: this pattern matches nothing
        text = literal(tokens)
        if text is not None:
            exact.add(text)
        else:
            sources.append(regex_source(tokens, arn=True))
    if not exact and not sources and not statement.not_resource:
        return None
    action_exact: set[str] = set()
    action_sources: list[str] = []
    for pattern in statement.actions:
        tokens = plain_tokens(pattern.lower())
        text = literal(tokens)
        if text is not None:
            action_exact.add(text)
        else:
            action_sources.append(regex_source(tokens, arn=False))
    return _Statement(
        policy=index,
        deny=statement.effect is Effect.DENY,
        action_exact=frozenset(action_exact),
        action_regex=_alternation(action_sources),
        not_action=statement.not_action,
        resources=_Resources(frozenset(exact), tuple(sources), _alternation(sources)),
        not_resource=statement.not_resource,
        clock_conditions=tuple(clock_conditions),
    )


def _alternation(sources: Sequence[str]) -> re.Pattern[str] | None:
    if not sources:
        return None
    unique = list(dict.fromkeys(sources))
    if ".*" in unique:
        unique = [".*"]
    return re.compile("|".join(f"(?:{source})" for source in unique), re.DOTALL)
