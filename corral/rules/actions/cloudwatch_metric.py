"""The cloudwatchMetric action: one data point of a CloudWatch metric per message.

AWS (developerguide/cloudwatch-metrics-rule-action.html, API CloudwatchMetricAction): ``metricNamespace``,
``metricName``, ``metricValue`` (a number), ``metricUnit`` (one of CloudWatch's units), all required and all
templates, ``metricTimestamp`` (optional, Unix seconds; the time of the message by default), ``roleArn``
(required, kept, unused). A value that is not a number, an unknown unit or a bad timestamp after substitution
is a failed action.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from corral.rules.actions.base import ActionContext, ActionError, ActionServices, ActionSpecError
from corral.rules.actions.calls import call, missing
from corral.rules.actions.common import optional_template, role_arn, scoped, template
from corral.rules.templates import Template, TemplateCompiler

UNITS = frozenset(
    {
        "Seconds", "Microseconds", "Milliseconds", "Bytes", "Kilobytes", "Megabytes", "Gigabytes",
        "Terabytes", "Bits", "Kilobits", "Megabits", "Gigabits", "Terabits", "Percent", "Count",
        "Bytes/Second", "Kilobytes/Second", "Megabytes/Second", "Gigabytes/Second", "Terabytes/Second",
        "Bits/Second", "Kilobits/Second", "Megabits/Second", "Gigabits/Second", "Terabits/Second",
        "Count/Second", "None",
    }
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class CloudwatchMetricAction:
    namespace: Template
    name: Template
    value: Template
    unit: Template
    timestamp: Template | None
    services: ActionServices
    failed_action: str = "CloudwatchMetricAction"

    async def run(self, payload: bytes, ctx: ActionContext) -> None:
        namespace = await ctx.render(self.namespace)
        name = await ctx.render(self.name)
        resource = f"{namespace}/{name}"
        text = await ctx.render(self.value)
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if not math.isfinite(value):
            raise ActionError(f"The metric value {text!r} is not a number", resource)
        unit = await ctx.render(self.unit)
        if unit not in UNITS:
            raise ActionError(f"The metric unit {unit!r} is not one of CloudWatch's units", resource)
        seconds = ctx.eval.timestamp_ms / 1000
        if self.timestamp is not None:
            stamp = await ctx.render(self.timestamp)
            try:
                seconds = float(stamp)
            except ValueError as exc:
                raise ActionError(f"The metric timestamp {stamp!r} is not Unix seconds", resource) from exc
        datum = {
            "MetricName": name,
            "Value": value,
            "Unit": unit,
            "Timestamp": datetime.fromtimestamp(seconds, UTC),
        }
        cloudwatch = self.services.cloudwatch
        if cloudwatch is None:
            raise missing("CloudWatch", resource)
        await call(cloudwatch.put_metric_data_batch(namespace, [datum]), resource)


def build(
    spec: Mapping[str, Any], compile: TemplateCompiler, services: ActionServices
) -> CloudwatchMetricAction:
    role_arn(spec, "cloudwatchMetric")
    services = scoped(services, "cloudwatchMetric")
    unit = spec.get("metricUnit")
    if isinstance(unit, str) and "${" not in unit and unit not in UNITS:
        raise ActionSpecError(f"The cloudwatchMetric action's metricUnit {unit!r} is not a CloudWatch unit")
    return CloudwatchMetricAction(
        template(spec, "metricNamespace", "cloudwatchMetric", compile),
        template(spec, "metricName", "cloudwatchMetric", compile),
        template(spec, "metricValue", "cloudwatchMetric", compile),
        template(spec, "metricUnit", "cloudwatchMetric", compile),
        optional_template(spec, "metricTimestamp", "cloudwatchMetric", compile),
        services,
    )
