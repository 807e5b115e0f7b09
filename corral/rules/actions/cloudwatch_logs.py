"""The cloudwatchLogs action: the statement's output written as log events to a CloudWatch Logs group.

AWS (developerguide/cloudwatch-logs-rule-action.html, API CloudwatchLogsAction): ``logGroupName`` (required,
templates), ``batchMode`` (the output must be a JSON array of ``{"timestamp": ms, "message": "..."}``, each
one event; otherwise the output is one event stamped with the message's time), ``roleArn`` (required, kept,
unused). AWS writes to a log stream of its own choosing (it needs logs:CreateLogStream); Corral writes to the
stream named after the rule, created on first use. A missing log group or a malformed batch is a failed
action.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from corral.rules.actions.base import ActionContext, ActionError, ActionServices
from corral.rules.actions.calls import call, error_code, missing
from corral.rules.actions.common import flag, payload_text, role_arn, scoped, template
from corral.rules.templates import Template, TemplateCompiler


@dataclass(frozen=True, slots=True)
class CloudwatchLogsAction:
    group: Template
    batch: bool
    services: ActionServices
    failed_action: str = "CloudwatchLogsAction"

    async def run(self, payload: bytes, ctx: ActionContext) -> None:
        group = await ctx.render(self.group)
        if self.batch:
            events = _batch(payload, group)
        else:
            events = [{"timestamp": ctx.eval.timestamp_ms, "message": payload_text(payload, group)}]
        logs = self.services.logs
        if logs is None:
            raise missing("CloudWatch Logs", group)
        stream = ctx.eval.rule_name or "iot-rule"
        try:
            await call(logs.put_log_events(group, stream, events), group)
        except ActionError as exc:
            if error_code(exc) != "ResourceNotFoundException":
                raise
            # The rule's stream does not exist yet (or the group does not: then creating it fails).
            try:
                await call(logs.create_log_stream(group, stream), group)
            except ActionError as created:
                if error_code(created) != "ResourceAlreadyExistsException":
                    raise
            await call(logs.put_log_events(group, stream, events), group)


def _batch(payload: bytes, group: str) -> list[dict[str, Any]]:
    try:
        records = orjson.loads(payload)
    except orjson.JSONDecodeError:
        records = None
    if not isinstance(records, list) or not records:
        raise ActionError("In batch mode the message payload must be a non-empty JSON array", group)
    events: list[dict[str, Any]] = []
    for record in records:
        stamp = record.get("timestamp") if isinstance(record, dict) else None
        message = record.get("message") if isinstance(record, dict) else None
        if not isinstance(stamp, int) or isinstance(stamp, bool) or not isinstance(message, str):
            raise ActionError(
                'Each batch element must be {"timestamp": <milliseconds>, "message": "<text>"}', group
            )
        events.append({"timestamp": stamp, "message": message})
    return sorted(events, key=lambda event: event["timestamp"])


def build(
    spec: Mapping[str, Any], compile: TemplateCompiler, services: ActionServices
) -> CloudwatchLogsAction:
    role_arn(spec, "cloudwatchLogs")
    services = scoped(services, "cloudwatchLogs")
    return CloudwatchLogsAction(
        template(spec, "logGroupName", "cloudwatchLogs", compile),
        flag(spec, "batchMode", "cloudwatchLogs"),
        services,
    )
