"""The metrics 1-Click reports to CloudWatch ("Monitoring AWS IoT 1-Click with Amazon CloudWatch").

- ``TotalEvents`` (Count, one per event): "by device event, project, device type, or product type" —
  one datum per dimension: ``DeviceEvent`` (``buttonClicked`` or ``deviceHealthMonitor``, the event's key),
  ``ProjectName`` (placed devices only), ``DeviceType``, ``ProductType``.
- ``RemainingLife`` (Percent, the device's value at each click): "by project, device type, or product type":
  ``ProjectName``, ``DeviceType``, ``ProductType``. Average is the statistic to read.
- ``CallbackInvocationErrors`` (Count, one per failure): "by invoked callback (Lambda function ARNs set as
  callbacks) or by project": ``CallbackArn`` (the callback as set: an ARN, or SendSMS/SendEmail),
  ``ProjectName``, and ``DeviceType`` (the one dimension AWS's CDK declares for all three).

Namespace ``AWS/IoT1Click`` (the console showed it as "IoT1Click"; AWS's CDK names it so). The dimension
names are Corral's: the guide names what one can graph by, not the names.

The data are pure (:func:`event_data`, :func:`error_data`); a :class:`MetricSink` stores them.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final, Protocol

from corral.store.errors import ConstraintViolation

if TYPE_CHECKING:
    from corral.services.cloudwatch.service import CloudWatchService

log = logging.getLogger(__name__)

NAMESPACE: Final = "AWS/IoT1Click"
TOTAL_EVENTS: Final = "TotalEvents"
REMAINING_LIFE: Final = "RemainingLife"
CALLBACK_INVOCATION_ERRORS: Final = "CallbackInvocationErrors"

Datum = dict[str, Any]


def _datum(name: str, value: float, unit: str, at: float, dimension: str, dimension_value: str) -> Datum:
    return {
        "MetricName": name,
        "Value": value,
        "Unit": unit,
        "Timestamp": at,
        "Dimensions": [{"Name": dimension, "Value": dimension_value}],
    }


def event_data(
    *,
    device_event: str,
    device_type: str,
    product_type: str,
    project_name: str | None,
    remaining_life: float | None,
    at: float,
) -> list[Datum]:
    """TotalEvents for one event, and RemainingLife when the event is a click (``remaining_life`` given)."""
    groups: list[tuple[str, str]] = [("DeviceType", device_type), ("ProductType", product_type)]
    if project_name is not None:
        groups.insert(0, ("ProjectName", project_name))
    data = [_datum(TOTAL_EVENTS, 1.0, "Count", at, "DeviceEvent", device_event)]
    data += [_datum(TOTAL_EVENTS, 1.0, "Count", at, name, value) for name, value in groups]
    if remaining_life is not None:
        data += [_datum(REMAINING_LIFE, remaining_life, "Percent", at, name, value) for name, value in groups]
    return data


def error_data(*, callback: str, device_type: str, project_name: str | None, at: float) -> list[Datum]:
    groups: list[tuple[str, str]] = [("CallbackArn", callback), ("DeviceType", device_type)]
    if project_name is not None:
        groups.append(("ProjectName", project_name))
    return [_datum(CALLBACK_INVOCATION_ERRORS, 1.0, "Count", at, name, value) for name, value in groups]


class MetricSink(Protocol):
    async def put(self, namespace: str, data: Sequence[Mapping[str, Any]]) -> None: ...


class NoMetrics:
    async def put(self, namespace: str, data: Sequence[Mapping[str, Any]]) -> None:
        return None


class CloudWatchSink:
    """Into the embedded CloudWatch. Its PutMetricData refuses ``AWS/`` namespaces, as AWS refuses them to
    customers, so a service's own metrics are recorded with the same per-datum step PutMetricData uses
    (``cloudwatch.metrics.record``), in one transaction."""

    def __init__(self, cloudwatch: CloudWatchService) -> None:
        self.cloudwatch = cloudwatch

    async def put(self, namespace: str, data: Sequence[Mapping[str, Any]]) -> None:
        from corral.services.cloudwatch import metrics

        cloudwatch = self.cloudwatch
        for attempt in range(2):  # two writers creating the same new metric: the loser retries once
            try:
                async with cloudwatch.store.begin() as conn:
                    now = cloudwatch.clock()
                    for datum in data:
                        await metrics.record(conn, cloudwatch.account_id, namespace, datum, now)
                return
            except ConstraintViolation:
                if attempt:
                    raise


class EventMetrics:
    """Records 1-Click's metrics. The device service awaits them inside a click's recording, so an API call
    that waits for the device's recordings (ListDeviceEvents, DescribeDevice) sees them; a failed write is
    logged, never raised."""

    def __init__(self, sink: MetricSink | None = None) -> None:
        self.sink: MetricSink = sink or NoMetrics()

    async def event(
        self,
        *,
        device_event: str,
        device_type: str,
        product_type: str,
        project_name: str | None,
        remaining_life: float | None,
        at: float,
    ) -> None:
        await self._put(
            event_data(
                device_event=device_event, device_type=device_type, product_type=product_type,
                project_name=project_name, remaining_life=remaining_life, at=at,
            )
        )  # fmt: skip

    async def error(self, *, callback: str, device_type: str, project_name: str | None, at: float) -> None:
        await self._put(
            error_data(callback=callback, device_type=device_type, project_name=project_name, at=at)
        )

    async def _put(self, data: list[Datum]) -> None:
        try:
            await self.sink.put(NAMESPACE, data)
        except Exception:
            log.exception("1-Click metrics were not recorded")
