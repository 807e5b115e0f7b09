"""The cloudwatchAlarm action: sets a CloudWatch alarm's state.

AWS (developerguide/cloudwatch-alarms-rule-action.html, API CloudwatchAlarmAction): ``alarmName``,
``stateReason``, ``stateValue`` (``OK``, ``ALARM`` or ``INSUFFICIENT_DATA``), all required and templates,
``roleArn`` (required, kept, unused). A state value outside the three after substitution, or an alarm that
does not exist, is a failed action.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from corral.rules.actions.base import ActionContext, ActionError, ActionServices, ActionSpecError
from corral.rules.actions.calls import call, missing
from corral.rules.actions.common import role_arn, scoped, template
from corral.rules.templates import Template, TemplateCompiler

STATES = ("OK", "ALARM", "INSUFFICIENT_DATA")


@dataclass(frozen=True, slots=True)
class CloudwatchAlarmAction:
    alarm: Template
    reason: Template
    state: Template
    services: ActionServices
    failed_action: str = "CloudwatchAlarmAction"

    async def run(self, payload: bytes, ctx: ActionContext) -> None:
        alarm = await ctx.render(self.alarm)
        state = await ctx.render(self.state)
        if state not in STATES:
            raise ActionError(f"The state value {state!r} must be OK, ALARM or INSUFFICIENT_DATA", alarm)
        reason = await ctx.render(self.reason)
        cloudwatch = self.services.cloudwatch
        if cloudwatch is None:
            raise missing("CloudWatch", alarm)
        await call(cloudwatch.set_alarm_state(alarm, state, reason), alarm)


def build(
    spec: Mapping[str, Any], compile: TemplateCompiler, services: ActionServices
) -> CloudwatchAlarmAction:
    role_arn(spec, "cloudwatchAlarm")
    services = scoped(services, "cloudwatchAlarm")
    state = spec.get("stateValue")
    if isinstance(state, str) and "${" not in state and state not in STATES:
        raise ActionSpecError(
            "The cloudwatchAlarm action's stateValue must be OK, ALARM or INSUFFICIENT_DATA"
        )
    return CloudwatchAlarmAction(
        template(spec, "alarmName", "cloudwatchAlarm", compile),
        template(spec, "stateReason", "cloudwatchAlarm", compile),
        template(spec, "stateValue", "cloudwatchAlarm", compile),
        services,
    )
