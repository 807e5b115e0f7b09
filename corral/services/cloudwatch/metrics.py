"""Metrics: PutMetricData, ListMetrics, GetMetricStatistics over the datapoints kept in the store.

A metric is (namespace, name, dimensions); its row keeps the latest value and running totals (what
``/metrics`` exposes), and each datapoint a row of its own (what GetMetricStatistics aggregates) for
:data:`RETENTION` seconds; older datapoints of a metric are removed when it is written.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

import orjson
from sqlalchemy import and_, delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from corral.services.cloudwatch.errors import (
    InvalidParameterCombinationException,
    InvalidParameterValueException,
    MissingRequiredParameterException,
)
from corral.store.schema import cloudwatch_datapoints, cloudwatch_metrics

RETENTION: Final = 15 * 24 * 3600.0
MAX_DATAPOINTS: Final = 1440
STATISTICS: Final = ("SampleCount", "Average", "Sum", "Minimum", "Maximum")


def dimensions_key(dimensions: Sequence[Mapping[str, str]] | None) -> str:
    pairs = sorted((d["Name"], d["Value"]) for d in dimensions or ())
    return orjson.dumps(pairs).decode()


def dimensions_of(key: str) -> list[dict[str, str]]:
    return [{"Name": name, "Value": value} for name, value in orjson.loads(key)]


@dataclass(frozen=True, slots=True)
class Point:
    """One datum as the store keeps it: a value (count 1) or a statistic set."""

    timestamp: float
    sample_count: float
    total: float
    minimum: float
    maximum: float
    unit: str | None

    @property
    def last(self) -> float:
        return self.total / self.sample_count if self.sample_count else 0.0


@dataclass(frozen=True, slots=True)
class Series:
    namespace: str
    metric_name: str
    dimensions: list[dict[str, str]]
    unit: str | None
    last_value: float
    last_timestamp: float
    sample_count: float
    total: float


def _seconds(value: datetime | float | None, default: float) -> float:
    if value is None:
        return default
    return value.timestamp() if isinstance(value, datetime) else float(value)


def _finite(value: Any, name: str) -> float:
    number = float(value)
    if not math.isfinite(number):
        raise InvalidParameterValueException(f"The value {value} for parameter {name} is invalid.")
    return number


def points_of(datum: Mapping[str, Any], now: float) -> list[Point]:
    """The datapoints one MetricDatum stands for (Value, StatisticValues, or Values with Counts)."""
    timestamp = _seconds(datum.get("Timestamp"), now)
    unit = datum.get("Unit")
    given = [k for k in ("Value", "StatisticValues", "Values") if datum.get(k) is not None]
    if len(given) > 1:
        raise InvalidParameterCombinationException(
            f"The parameters MetricData.member.1.{given[0]} and MetricData.member.1.{given[1]} are mutually "
            "exclusive and you have specified both."
        )
    if not given:
        raise MissingRequiredParameterException(
            "At least one of the parameters MetricData.member.1.Value, MetricData.member.1.StatisticValues "
            "or MetricData.member.1.Values must be specified."
        )
    if "Value" in given:
        value = _finite(datum["Value"], "MetricData.member.1.Value")
        return [Point(timestamp, 1, value, value, value, unit)]
    if "StatisticValues" in given:
        stats = datum["StatisticValues"]
        count = _finite(stats["SampleCount"], "StatisticValues.SampleCount")
        return [
            Point(
                timestamp, count, _finite(stats["Sum"], "StatisticValues.Sum"),
                _finite(stats["Minimum"], "StatisticValues.Minimum"),
                _finite(stats["Maximum"], "StatisticValues.Maximum"), unit,
            )
        ]  # fmt: skip
    values = [_finite(v, "MetricData.member.1.Values") for v in datum["Values"]]
    counts = [_finite(c, "MetricData.member.1.Counts") for c in datum.get("Counts") or [1.0] * len(values)]
    if len(counts) != len(values):
        raise InvalidParameterValueException("The Values and Counts arrays must have the same length.")
    return [Point(timestamp, c, v * c, v, v, unit) for v, c in zip(values, counts, strict=True)]


async def record(
    conn: AsyncConnection, account_id: str, namespace: str, datum: Mapping[str, Any], now: float
) -> None:
    """Stores one MetricDatum: its datapoints and the metric's latest value and totals."""
    points = points_of(datum, now)
    key = dimensions_key(datum.get("Dimensions"))
    where = and_(
        cloudwatch_metrics.c.account_id == account_id,
        cloudwatch_metrics.c.namespace == namespace,
        cloudwatch_metrics.c.metric_name == datum["MetricName"],
        cloudwatch_metrics.c.dimensions_key == key,
    )
    row = (await conn.execute(select(cloudwatch_metrics).where(where))).first()
    newest = max(points, key=lambda p: p.timestamp)
    count = sum(p.sample_count for p in points)
    total = sum(p.total for p in points)
    if row is None:
        await conn.execute(
            insert(cloudwatch_metrics).values(
                account_id=account_id, namespace=namespace, metric_name=datum["MetricName"],
                dimensions_key=key, unit=newest.unit, last_value=newest.last, last_timestamp=newest.timestamp,
                sample_count=count, sum=total, updated_at=now,
            )
        )  # fmt: skip
    else:
        latest: dict[str, Any] = {}
        if newest.timestamp >= row.last_timestamp:
            latest = {"unit": newest.unit, "last_value": newest.last, "last_timestamp": newest.timestamp}
        await conn.execute(
            update(cloudwatch_metrics)
            .where(where)
            .values(sample_count=row.sample_count + count, sum=row.sum + total, updated_at=now, **latest)
        )
    await conn.execute(
        insert(cloudwatch_datapoints),
        [
            {
                "account_id": account_id, "namespace": namespace, "metric_name": datum["MetricName"],
                "dimensions_key": key, "timestamp": p.timestamp, "point_id": uuid.uuid4().hex, "unit": p.unit,
                "sample_count": p.sample_count, "sum": p.total, "minimum": p.minimum, "maximum": p.maximum,
            }
            for p in points
        ],
    )  # fmt: skip
    await conn.execute(
        delete(cloudwatch_datapoints).where(
            cloudwatch_datapoints.c.account_id == account_id,
            cloudwatch_datapoints.c.namespace == namespace,
            cloudwatch_datapoints.c.metric_name == datum["MetricName"],
            cloudwatch_datapoints.c.dimensions_key == key,
            cloudwatch_datapoints.c.timestamp < now - RETENTION,
        )
    )


def series_of(row: Any) -> Series:
    return Series(
        row.namespace, row.metric_name, dimensions_of(row.dimensions_key), row.unit, row.last_value,
        row.last_timestamp, row.sample_count, row.sum,
    )  # fmt: skip


async def statistics(
    conn: AsyncConnection,
    account_id: str,
    namespace: str,
    metric_name: str,
    dimensions: Sequence[Mapping[str, str]] | None,
    start: float,
    end: float,
    period: int,
    wanted: Sequence[str],
    unit: str | None,
) -> list[dict[str, Any]]:
    """GetMetricStatistics' datapoints: one per period (aligned to multiples of ``period`` since the
    epoch) that has data in [start, end), each with the statistics asked for."""
    if period < 1 or (period >= 60 and period % 60):
        raise InvalidParameterValueException("The parameter Period must be a multiple of 60.")
    if not wanted:
        raise MissingRequiredParameterException(
            "Must specify either the parameter Statistics or the parameter ExtendedStatistics."
        )
    for statistic in wanted:
        if statistic not in STATISTICS:
            raise InvalidParameterValueException(f"The parameter Statistics.member.1 {statistic} is invalid.")
    if start >= end:
        raise InvalidParameterValueException(
            "The parameter StartTime must be less than the parameter EndTime."
        )
    if (end - start) / period > MAX_DATAPOINTS:
        raise InvalidParameterCombinationException(
            f"You have requested up to {int((end - start) / period)} datapoints, which exceeds the limit of "
            f"{MAX_DATAPOINTS}. You may reduce the datapoints requested by increasing Period, or decreasing "
            "the time range."
        )
    query = select(cloudwatch_datapoints).where(
        cloudwatch_datapoints.c.account_id == account_id,
        cloudwatch_datapoints.c.namespace == namespace,
        cloudwatch_datapoints.c.metric_name == metric_name,
        cloudwatch_datapoints.c.dimensions_key == dimensions_key(dimensions),
        cloudwatch_datapoints.c.timestamp >= start,
        cloudwatch_datapoints.c.timestamp < end,
    )
    if unit is not None:
        query = query.where(cloudwatch_datapoints.c.unit == unit)
    buckets: dict[float, list[Any]] = {}
    for row in await conn.execute(query):
        buckets.setdefault(math.floor(row.timestamp / period) * period, []).append(row)
    answer: list[dict[str, Any]] = []
    for moment in sorted(buckets):
        rows = buckets[moment]
        count = sum(r.sample_count for r in rows)
        total = sum(r.sum for r in rows)
        values = {
            "SampleCount": count,
            "Sum": total,
            "Average": total / count if count else 0.0,
            "Minimum": min(r.minimum for r in rows),
            "Maximum": max(r.maximum for r in rows),
        }
        point: dict[str, Any] = {"Timestamp": moment, "Unit": unit or rows[-1].unit or "None"}
        point.update({name: values[name] for name in wanted})
        answer.append(point)
    return answer
