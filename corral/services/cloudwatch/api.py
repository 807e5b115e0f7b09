"""The CloudWatch API (botocore's ``cloudwatch`` model, spoken as JSON 1.0: the protocol botocore clients
choose from the model's ``protocols``) on top of CloudWatchService."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from corral.services.cloudwatch.errors import InvalidNextToken
from corral.services.cloudwatch.service import Alarm, CloudWatchService

Handler = Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]
T = TypeVar("T")

# The PutMetricAlarm members kept in an alarm's definition and answered by DescribeAlarms as they were given.
_DEFINITION = (
    "AlarmDescription", "ActionsEnabled", "OKActions", "AlarmActions", "InsufficientDataActions",
    "MetricName", "Namespace", "Statistic", "ExtendedStatistic", "Dimensions", "Period", "Unit",
    "EvaluationPeriods", "DatapointsToAlarm", "Threshold", "ComparisonOperator", "TreatMissingData",
    "EvaluateLowSampleCountPercentile", "Metrics", "ThresholdMetricId",
)  # fmt: skip


def _page(items: Sequence[T], token: str | None, size: int) -> tuple[list[T], str | None]:
    start = 0
    if token:
        try:
            start = int(base64.urlsafe_b64decode(token.encode()).decode())
        except (binascii.Error, UnicodeDecodeError, ValueError):
            raise InvalidNextToken("The service cannot process the NextToken.") from None
    page = list(items[start : start + size])
    more = start + size < len(items)
    return page, base64.urlsafe_b64encode(str(start + size).encode()).decode() if more else None


class CloudWatchAPI:
    def __init__(self, service: CloudWatchService) -> None:
        self.service = service
        self._handlers: dict[str, Handler] = {
            "PutMetricData": self.put_metric_data,
            "ListMetrics": self.list_metrics,
            "GetMetricStatistics": self.get_metric_statistics,
            "PutMetricAlarm": self.put_metric_alarm,
            "DescribeAlarms": self.describe_alarms,
            "SetAlarmState": self.set_alarm_state,
            "DeleteAlarms": self.delete_alarms,
            "DescribeAlarmHistory": self.describe_alarm_history,
        }

    def handler(self, operation_name: str) -> Handler | None:
        return self._handlers.get(operation_name)

    async def put_metric_data(self, params: dict[str, Any]) -> dict[str, Any]:
        await self.service.put_metric_data_batch(params["Namespace"], params.get("MetricData") or [])
        return {}

    async def list_metrics(self, params: dict[str, Any]) -> dict[str, Any]:
        found = await self.service.list_metrics(
            params.get("Namespace"), params.get("MetricName"), params.get("Dimensions")
        )
        page, token = _page(found, params.get("NextToken"), 500)
        result: dict[str, Any] = {
            "Metrics": [
                {"Namespace": s.namespace, "MetricName": s.metric_name, "Dimensions": s.dimensions}
                for s in page
            ]
        }
        if token:
            result["NextToken"] = token
        return result

    async def get_metric_statistics(self, params: dict[str, Any]) -> dict[str, Any]:
        datapoints = await self.service.get_metric_statistics(
            params["Namespace"], params["MetricName"], params.get("Dimensions"), params["StartTime"],
            params["EndTime"], params["Period"], params.get("Statistics") or [], params.get("Unit"),
        )  # fmt: skip
        return {"Label": params["MetricName"], "Datapoints": datapoints}

    async def put_metric_alarm(self, params: dict[str, Any]) -> dict[str, Any]:
        definition = {k: params[k] for k in _DEFINITION if params.get(k) is not None}
        await self.service.put_metric_alarm(params["AlarmName"], definition)
        return {}

    def _alarm(self, alarm: Alarm) -> dict[str, Any]:
        answer: dict[str, Any] = {
            "AlarmName": alarm.name,
            "AlarmArn": self.service.alarm_arn(alarm.name),
            "AlarmConfigurationUpdatedTimestamp": alarm.configuration_updated_at,
            "ActionsEnabled": True,
            "OKActions": [],
            "AlarmActions": [],
            "InsufficientDataActions": [],
            "Dimensions": [],
            **alarm.definition,
            "StateValue": alarm.state_value,
            "StateReason": alarm.state_reason,
            "StateUpdatedTimestamp": alarm.state_updated_at,
            "StateTransitionedTimestamp": alarm.state_updated_at,
        }
        if alarm.state_reason_data is not None:
            answer["StateReasonData"] = alarm.state_reason_data
        return answer

    async def describe_alarms(self, params: dict[str, Any]) -> dict[str, Any]:
        types = params.get("AlarmTypes")
        alarms = await self.service.describe_alarms(
            params.get("AlarmNames"), params.get("AlarmNamePrefix"), params.get("StateValue")
        )
        if types and "MetricAlarm" not in types:
            alarms = []
        page, token = _page(alarms, params.get("NextToken"), params.get("MaxRecords") or 100)
        result: dict[str, Any] = {"MetricAlarms": [self._alarm(a) for a in page], "CompositeAlarms": []}
        if token:
            result["NextToken"] = token
        return result

    async def set_alarm_state(self, params: dict[str, Any]) -> dict[str, Any]:
        await self.service.set_alarm_state(
            params["AlarmName"], params["StateValue"], params["StateReason"], params.get("StateReasonData")
        )
        return {}

    async def delete_alarms(self, params: dict[str, Any]) -> dict[str, Any]:
        await self.service.delete_alarms(params["AlarmNames"])
        return {}

    async def describe_alarm_history(self, params: dict[str, Any]) -> dict[str, Any]:
        start, end = params.get("StartDate"), params.get("EndDate")
        items = await self.service.describe_alarm_history(
            params.get("AlarmName"), params.get("HistoryItemType"),
            start.timestamp() if start is not None else None, end.timestamp() if end is not None else None,
            params.get("ScanBy") == "TimestampAscending",
        )  # fmt: skip
        page, token = _page(items, params.get("NextToken"), params.get("MaxRecords") or 100)
        result: dict[str, Any] = {"AlarmHistoryItems": page}
        if token:
            result["NextToken"] = token
        return result
