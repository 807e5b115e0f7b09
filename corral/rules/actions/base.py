"""What every rule action shares: the interface, the context of one run, and the services actions call.

An action is built once, when its rule is created or loaded, from the action's JSON (one member of the
``Action`` structure: ``{"republish": {...}}``) by its module's ``build`` function, which checks the fields
and compiles their substitution templates (a bad field is an :class:`ActionSpecError`, answered as
``InvalidRequestException``). ``run`` then sends one statement output; a failure raises :class:`ActionError`
with what AWS's error action reports (``failedResource``, ``errorMessage``), and the runner retries it.

An action that can also send without awaiting anything (republish, when none of its templates calls an
external function) says so with ``runs_sync`` and offers ``run_sync(payload, ctx)``, which does what ``run``
does; the runner then runs the rule without a task of its own (:func:`sync_run`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, cast

from corral.broker.limits import Limits
from corral.broker.message import Message
from corral.rules.actions.ports import (
    CloudWatchPort,
    DynamoDbPort,
    FirehosePort,
    KinesisPort,
    LogsPort,
    S3Port,
    SnsPort,
    SqsPort,
)
from corral.rules.sql.context import EvalContext
from corral.rules.templates import Template, TemplateCompiler


class ActionSpecError(ValueError):
    """An action's JSON the API refuses (InvalidRequestException with this message)."""


class ActionError(Exception):
    """One run of an action failed; ``resource`` is AWS's ``failedResource`` (a topic, a function ARN, a
    URL)."""

    def __init__(self, message: str, resource: str) -> None:
        super().__init__(message)
        self.message = message
        self.resource = resource


class FunctionInvoker(Protocol):
    """``corral.functions``' FunctionService as the lambda action and ``aws_lambda()`` use it."""

    async def invoke(self, function: str, payload: bytes, invocation_type: str) -> Any: ...


@dataclass(slots=True)
class ActionServices:
    """What actions reach outside the rules engine; one instance per server, shared by every action."""

    publish: Callable[[Message], None]
    limits: Limits
    max_republish_hops: int = 8
    functions: FunctionInvoker | None = None
    http_timeout: float = 3.0
    loops_cut: Callable[[Message, str], None] = lambda message, topic: None
    """Called when a republish is dropped because its message has been republished too often."""
    # The services the service actions write to: the embedded ones, or boto3 adapters (external mode).
    sqs: SqsPort | None = None
    sns: SnsPort | None = None
    dynamodb: DynamoDbPort | None = None
    s3: S3Port | None = None
    kinesis: KinesisPort | None = None
    firehose: FirehosePort | None = None
    cloudwatch: CloudWatchPort | None = None
    logs: LogsPort | None = None
    # [actions.<action>] in corral.toml: an action type's own services (external mode); see external.py.
    per_action: dict[str, ActionServices] = field(default_factory=dict)
    _http: Any = field(default=None, repr=False)

    def http_client(self) -> Any:
        """The shared ``httpx.AsyncClient`` (created on first use)."""
        if self._http is None:
            import httpx

            self._http = httpx.AsyncClient(timeout=self.http_timeout, follow_redirects=False)
        return self._http

    async def close(self) -> None:
        if self._http is not None:
            await self._http.aclose()
            self._http = None


@dataclass(slots=True)
class ActionContext:
    """One message's run of a rule's actions: what templates are evaluated against."""

    eval: EvalContext
    message: Message

    async def render(self, template: Template) -> str:
        if template.uses_external:
            return await asyncio.to_thread(template.render, self.eval)
        return template.render(self.eval)

    def render_sync(self, template: Template) -> str:
        """A template that calls no external function (``not template.uses_external``), on this thread."""
        return template.render(self.eval)


class Action(Protocol):
    @property
    def failed_action(self) -> str:
        """AWS's name of the action in an error action's ``failures`` (``RepublishAction``…)."""
        ...

    async def run(self, payload: bytes, ctx: ActionContext) -> None: ...


class SyncAction(Action, Protocol):
    """An action that may also run without awaiting: when ``runs_sync`` is True, ``run_sync`` does what
    ``run`` does (the same result, the same :class:`ActionError`) on the caller's thread."""

    @property
    def runs_sync(self) -> bool: ...

    def run_sync(self, payload: bytes, ctx: ActionContext) -> None: ...


def sync_run(action: Action) -> Callable[[bytes, ActionContext], None] | None:
    """The action's ``run_sync`` if it can run without awaiting anything, else None."""
    if getattr(action, "runs_sync", False) is True:
        return cast(SyncAction, action).run_sync
    return None


ActionFactory = Callable[[Mapping[str, Any], TemplateCompiler, ActionServices], Action]


def require_str(spec: Mapping[str, Any], key: str, action: str) -> str:
    value = spec.get(key)
    if not isinstance(value, str) or not value:
        raise ActionSpecError(f"The {action} action requires {key}")
    return value
