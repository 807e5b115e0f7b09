"""The topic-rule operations of the ``iot`` API: Create/Get/List/Replace/Delete/Enable/DisableTopicRule.

A registry part (``RegistryService`` finds its snake_case methods). A rule is compiled (statement, templates,
actions) before anything is stored, so a refused rule leaves no trace; once committed, the compiled rule
replaces the runner's copy. At start, :meth:`TopicRules.load` compiles every stored rule of the account.

AWS's answers, where they are not in botocore's model:

- A statement the parser refuses is ``SqlParseException`` (400) with the parser's message; a function that
  needs an AWS service Corral does not host, an action Corral does not offer yet, or a malformed action is
  ``InvalidRequestException`` naming it.
- A rule that does not exist is ``UnauthorizedException`` (401) ``Access to topic rule '{name}' was
  denied`` for Get, Replace, Delete, Enable and Disable: AWS's model lists no ResourceNotFoundException for
  them, and AWS answers GetTopicRule for a missing rule that way (terraform-provider-aws works around it).
- ``awsIotSqlVersion`` defaults to ``2015-10-08``; at most 10 actions (AWS's quota, also in the model).
- Tags come with CreateTopicRule in the ``x-amz-tagging`` header (``k1=v1&k2=v2``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final
from urllib.parse import parse_qsl

from sqlalchemy import delete, insert, select, update

from corral.broker.limits import Limits
from corral.broker.topics import TopicError, validate_topic_filter
from corral.registry.context import RegistryContext
from corral.registry.errors import InvalidRequest, RegistryError, ResourceAlreadyExists, Unauthorized
from corral.registry.tags import delete_tags, insert_tags
from corral.registry.thing_common import Input, Output, keyset_page, to_datetime
from corral.rules.actions import ActionServices, ActionSpecError, build_action
from corral.rules.engine import DEFAULT_SQL_VERSION, SQL_VERSIONS, SqlEngine, SqlRefused
from corral.rules.runner import CompiledRule, RulesRunner
from corral.rules.templates import TemplateCompiler
from corral.store.errors import ConstraintViolation
from corral.store.schema import epoch_now, topic_rules

MAX_ACTIONS: Final = 10
_PAYLOAD_KEYS: Final = ("sql", "description", "actions", "errorAction", "awsIotSqlVersion")


class SqlParse(RegistryError):
    code = "SqlParseException"
    status = 400


def _missing(name: str) -> Unauthorized:
    return Unauthorized(f"Access to topic rule '{name}' was denied")


class TopicRules:
    def __init__(
        self,
        context: RegistryContext,
        engine: SqlEngine,
        runner: RulesRunner,
        services: ActionServices,
        limits: Limits,
    ) -> None:
        self.context = context
        self.engine = engine
        self.runner = runner
        self.services = services
        self.limits = limits

    def rule_arn(self, name: str) -> str:
        return self.context.arn(f"rule/{name}")

    # -- compiling ----------------------------------------------------------------------------------

    def compile_rule(self, name: str, payload: Mapping[str, Any], disabled: bool) -> CompiledRule:
        """The rule as the runner runs it; the API's error for anything AWS would refuse."""
        sql = payload.get("sql")
        if not isinstance(sql, str) or not sql.strip():
            raise SqlParse("The SQL statement is empty")
        version = payload.get("awsIotSqlVersion") or DEFAULT_SQL_VERSION
        if version not in SQL_VERSIONS:
            raise InvalidRequest(
                f"Unsupported awsIotSqlVersion {version!r} (one of {', '.join(SQL_VERSIONS)})"
            )
        try:
            statement = self.engine.compile(sql, version)
        except SqlRefused as exc:
            if exc.code == "SqlParseException":
                raise SqlParse(exc.message) from exc
            raise InvalidRequest(exc.message) from exc
        if statement.topic_filter:
            try:
                validate_topic_filter(statement.topic_filter, self.limits)
            except TopicError as exc:
                raise SqlParse(f"Invalid topic filter in FROM clause: {exc}") from exc
        specs = payload.get("actions") or []
        if len(specs) > MAX_ACTIONS:
            raise InvalidRequest(f"A rule can have at most {MAX_ACTIONS} actions, got {len(specs)}")
        templates = TemplateCompiler(self.engine, version)
        try:
            actions = tuple(build_action(spec, templates, self.services) for spec in specs)
            error_spec = payload.get("errorAction")
            error_action = build_action(error_spec, templates, self.services) if error_spec else None
        except ActionSpecError as exc:
            raise InvalidRequest(str(exc)) from exc
        return CompiledRule(name, self.rule_arn(name), statement, version, actions, error_action, disabled)

    async def load(self) -> int:
        """Compiles every stored rule of the account into the runner; a rule that no longer compiles is
        logged and left out. The number installed."""
        import logging

        async with self.context.store.read() as conn:
            rows = (
                await conn.execute(
                    select(topic_rules).where(topic_rules.c.account_id == self.context.account_id)
                )
            ).all()
        installed = 0
        for row in rows:
            try:
                self.runner.install(self.compile_rule(row.rule_name, row.payload, row.rule_disabled))
                installed += 1
            except RegistryError as exc:
                logging.getLogger(__name__).error("stored rule %s does not compile: %s", row.rule_name, exc)
        return installed

    # -- operations -----------------------------------------------------------------------------------

    async def create_topic_rule(self, params: Input) -> Output:
        name: str = params["ruleName"]
        payload = _stored_payload(params["topicRulePayload"])
        disabled = bool(params["topicRulePayload"].get("ruleDisabled", False))
        rule = self.compile_rule(name, payload, disabled)
        tags = _tags(params.get("tags"))
        exists = ResourceAlreadyExists(f"Rule {name} already exists", resourceId=name, resourceArn=rule.arn)
        try:
            async with self.context.store.begin() as conn:
                if await self._find(conn, name) is not None:
                    raise exists
                await conn.execute(
                    insert(topic_rules).values(
                        account_id=self.context.account_id,
                        rule_name=name,
                        rule_arn=rule.arn,
                        payload=payload,
                        rule_disabled=disabled,
                        created_at=epoch_now(),
                    )
                )
                if tags:
                    await insert_tags(conn, self.context, rule.arn, tags)
        except ConstraintViolation as exc:
            raise exists from exc
        self.runner.install(rule)
        return {}

    async def get_topic_rule(self, params: Input) -> Output:
        name: str = params["ruleName"]
        async with self.context.store.read() as conn:
            row = await self._find(conn, name)
        if row is None:
            raise _missing(name)
        rule: Output = {"ruleName": name, **row.payload}
        rule["createdAt"] = to_datetime(row.created_at)
        rule["ruleDisabled"] = row.rule_disabled
        rule.setdefault("awsIotSqlVersion", DEFAULT_SQL_VERSION)
        rule.setdefault("actions", [])
        return {"ruleArn": row.rule_arn, "rule": rule}

    async def list_topic_rules(self, params: Input) -> Output:
        """Rules by name; ``topic`` keeps those whose FROM filter is that string, ``ruleDisabled`` those in
        that state. ``maxResults`` up to 10000 (the model's range)."""
        stmt = select(topic_rules).where(topic_rules.c.account_id == self.context.account_id)
        if params.get("ruleDisabled") is not None:
            stmt = stmt.where(topic_rules.c.rule_disabled == bool(params["ruleDisabled"]))
        topic = params.get("topic")
        keep = None
        if topic is not None:
            keep = lambda row: self._topic_pattern(row) == topic  # noqa: E731
        page = {
            "nextToken": params.get("nextToken"),
            "maxResults": min(int(params.get("maxResults") or 50), 250),
        }
        async with self.context.store.read() as conn:
            rows, token = await keyset_page(conn, stmt, topic_rules.c.rule_name, page, keep)
        out: Output = {
            "rules": [
                {
                    "ruleArn": row.rule_arn,
                    "ruleName": row.rule_name,
                    "topicPattern": self._topic_pattern(row),
                    "createdAt": to_datetime(row.created_at),
                    "ruleDisabled": row.rule_disabled,
                }
                for row in rows
            ]
        }
        if token is not None:
            out["nextToken"] = token
        return out

    async def replace_topic_rule(self, params: Input) -> Output:
        name: str = params["ruleName"]
        payload = _stored_payload(params["topicRulePayload"])
        disabled = bool(params["topicRulePayload"].get("ruleDisabled", False))
        rule = self.compile_rule(name, payload, disabled)
        async with self.context.store.begin() as conn:
            result = await conn.execute(
                update(topic_rules)
                .where(topic_rules.c.account_id == self.context.account_id, topic_rules.c.rule_name == name)
                .values(payload=payload, rule_disabled=disabled)
            )
            if result.rowcount == 0:
                raise _missing(name)
        self.runner.install(rule)
        return {}

    async def delete_topic_rule(self, params: Input) -> Output:
        name: str = params["ruleName"]
        async with self.context.store.begin() as conn:
            result = await conn.execute(
                delete(topic_rules).where(
                    topic_rules.c.account_id == self.context.account_id, topic_rules.c.rule_name == name
                )
            )
            if result.rowcount == 0:
                raise _missing(name)
            await delete_tags(conn, self.context, self.rule_arn(name))
        self.runner.remove(name)
        return {}

    async def enable_topic_rule(self, params: Input) -> Output:
        await self._set_disabled(params["ruleName"], False)
        return {}

    async def disable_topic_rule(self, params: Input) -> Output:
        await self._set_disabled(params["ruleName"], True)
        return {}

    # -- helpers ---------------------------------------------------------------------------------------

    async def _set_disabled(self, name: str, disabled: bool) -> None:
        async with self.context.store.begin() as conn:
            row = await self._find(conn, name)
            if row is None:
                raise _missing(name)
            rule = self.compile_rule(name, row.payload, disabled)
            await conn.execute(
                update(topic_rules)
                .where(topic_rules.c.account_id == self.context.account_id, topic_rules.c.rule_name == name)
                .values(rule_disabled=disabled)
            )
        self.runner.install(rule)

    async def _find(self, conn: Any, name: str) -> Any:
        result = await conn.execute(
            select(topic_rules).where(
                topic_rules.c.account_id == self.context.account_id, topic_rules.c.rule_name == name
            )
        )
        return result.first()

    def _topic_pattern(self, row: Any) -> str:
        installed = self.runner.rules.get(row.rule_name)
        if installed is not None:
            return installed.statement.topic_filter or ""
        return ""


def _stored_payload(payload: Mapping[str, Any]) -> dict[str, Any]:
    """The TopicRulePayload members kept in the ``payload`` column (ruleDisabled has its own)."""
    return {key: payload[key] for key in _PAYLOAD_KEYS if payload.get(key) is not None}


def _tags(header: str | None) -> list[dict[str, str]]:
    """``x-amz-tagging``: URL-encoded ``key=value`` pairs joined by ``&``."""
    if not header:
        return []
    return [{"Key": key, "Value": value} for key, value in parse_qsl(header, keep_blank_values=True)]
