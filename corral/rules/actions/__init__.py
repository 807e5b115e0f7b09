"""Rule actions: one module per action, each with a ``build(spec, compile, services) -> Action``.

Adding an action is a new module and one line in :data:`ACTIONS`. An action AWS has and Corral does not offer
yet is refused by name when a rule is created.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from corral.rules.actions import (
    cloudwatch_alarm,
    cloudwatch_logs,
    cloudwatch_metric,
    dynamodb,
    dynamodbv2,
    firehose,
    http,
    kinesis,
    lambda_,
    opensearch,
    republish,
    s3,
    sns,
    sqs,
)
from corral.rules.actions.base import (
    Action,
    ActionContext,
    ActionError,
    ActionFactory,
    ActionServices,
    ActionSpecError,
)
from corral.rules.templates import TemplateCompiler, TemplateError

ACTIONS: Final[dict[str, ActionFactory]] = {
    "republish": republish.build,
    "lambda": lambda_.build,
    "http": http.build,
    "sns": sns.build,
    "sqs": sqs.build,
    "dynamoDB": dynamodb.build,
    "dynamoDBv2": dynamodbv2.build,
    "s3": s3.build,
    "kinesis": kinesis.build,
    "firehose": firehose.build,
    "cloudwatchMetric": cloudwatch_metric.build,
    "cloudwatchAlarm": cloudwatch_alarm.build,
    "cloudwatchLogs": cloudwatch_logs.build,
    "elasticsearch": opensearch.build_elasticsearch,
    "openSearch": opensearch.build_opensearch,
}

# The members of botocore's iot ``Action`` structure (the actions AWS IoT has).
AWS_ACTIONS: Final = frozenset(
    {
        "dynamoDB", "dynamoDBv2", "lambda", "sns", "sqs", "kinesis", "republish", "s3", "firehose",
        "cloudwatchMetric", "cloudwatchAlarm", "cloudwatchLogs", "elasticsearch", "salesforce",
        "iotAnalytics", "iotEvents", "iotSiteWise", "stepFunctions", "timestream", "http", "kafka",
        "openSearch", "location", "influxDB",
    }
)  # fmt: skip

__all__ = [
    "ACTIONS",
    "Action",
    "ActionContext",
    "ActionError",
    "ActionServices",
    "ActionSpecError",
    "build_action",
]


def action_name(spec: Mapping[str, Any]) -> str:
    """The one action an ``Action`` structure names (``ActionSpecError`` for none, several, or unknown)."""
    names = [name for name, value in spec.items() if value is not None]
    if len(names) != 1:
        raise ActionSpecError(f"An action must name exactly one action type, got {len(names)}: {names}")
    name = names[0]
    if name not in ACTIONS:
        if name in AWS_ACTIONS:
            offered = ", ".join(sorted(ACTIONS))
            raise ActionSpecError(f"Corral does not offer the {name} rule action yet (offered: {offered})")
        raise ActionSpecError(f"Unknown rule action: {name}")
    return name


def build_action(spec: Mapping[str, Any], compile: TemplateCompiler, services: ActionServices) -> Action:
    name = action_name(spec)
    body = spec[name]
    if not isinstance(body, Mapping):
        raise ActionSpecError(f"The {name} action must be an object")
    try:
        return ACTIONS[name](body, compile, services)
    except TemplateError as exc:
        raise ActionSpecError(str(exc)) from exc
    except (KeyError, TypeError) as exc:
        raise ActionSpecError(f"The {name} action is malformed: {exc}") from exc
