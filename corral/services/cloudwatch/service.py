"""CloudWatchService: metrics (metrics.py) and alarms, in the store.

Alarms keep their definition and state; a state changes only by SetAlarmState (the IoT ``cloudwatchAlarm``
action's call). Corral does not evaluate alarms against their metric, and does not run their actions; every
state change and configuration update is recorded in the alarm history, as AWS records it.

Rule actions and other domains call :meth:`CloudWatchService.put_metric_data` and
:meth:`CloudWatchService.set_alarm_state`.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

import orjson
from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from corral.services.cloudwatch import metrics
from corral.services.cloudwatch.errors import (
    InvalidFormatFault,
    InvalidParameterValueException,
    MissingRequiredParameterException,
    ResourceNotFound,
)
from corral.services.common import Clock, arn, system_clock
from corral.store.engine import Store
from corral.store.errors import ConstraintViolation
from corral.store.schema import cloudwatch_alarm_history, cloudwatch_alarms, cloudwatch_metrics

STATES: Final = ("OK", "ALARM", "INSUFFICIENT_DATA")
MAX_METRIC_DATA: Final = 1000


@dataclass(frozen=True, slots=True)
class Alarm:
    name: str
    definition: dict[str, Any]
    state_value: str
    state_reason: str
    state_reason_data: str | None
    state_updated_at: float
    configuration_updated_at: float


class CloudWatchService:
    def __init__(self, store: Store, account_id: str, region: str, clock: Clock = system_clock) -> None:
        self.store = store
        self.account_id = account_id
        self.region = region
        self.clock = clock

    # -- metrics --------------------------------------------------------------------------------------

    async def put_metric_data(
        self,
        namespace: str,
        name: str,
        value: float,
        unit: str | None = None,
        timestamp: datetime | float | None = None,
        dimensions: Mapping[str, str] | Sequence[Mapping[str, str]] | None = None,
    ) -> None:
        """One value of one metric (the ``cloudwatchMetric`` action); dimensions as {name: value} or as
        CloudWatch's [{"Name", "Value"}]."""
        if isinstance(dimensions, Mapping):
            dimensions = [{"Name": k, "Value": v} for k, v in dimensions.items()]
        datum: dict[str, Any] = {"MetricName": name, "Value": value, "Unit": unit, "Timestamp": timestamp}
        if dimensions:
            datum["Dimensions"] = list(dimensions)
        await self.put_metric_data_batch(namespace, [datum])

    async def put_metric_data_batch(self, namespace: str, data: Sequence[Mapping[str, Any]]) -> None:
        """PutMetricData: every datum in one transaction, or none."""
        if namespace.startswith("AWS/"):
            raise InvalidParameterValueException("The value AWS/ for parameter Namespace is invalid.")
        if not data:
            raise MissingRequiredParameterException("The parameter MetricData is required.")
        if len(data) > MAX_METRIC_DATA:
            raise InvalidParameterValueException(
                f"The collection MetricData must not have a size greater than {MAX_METRIC_DATA}."
            )
        now = self.clock()
        for attempt in range(2):  # two writers creating the same new metric: the loser retries once
            try:
                async with self.store.begin() as conn:
                    for datum in data:
                        await metrics.record(conn, self.account_id, namespace, datum, now)
                return
            except ConstraintViolation:
                if attempt:
                    raise

    async def list_metrics(
        self,
        namespace: str | None = None,
        metric_name: str | None = None,
        dimension_filters: Sequence[Mapping[str, str]] | None = None,
    ) -> list[metrics.Series]:
        query = select(cloudwatch_metrics).where(cloudwatch_metrics.c.account_id == self.account_id)
        if namespace:
            query = query.where(cloudwatch_metrics.c.namespace == namespace)
        if metric_name:
            query = query.where(cloudwatch_metrics.c.metric_name == metric_name)
        query = query.order_by(
            cloudwatch_metrics.c.namespace,
            cloudwatch_metrics.c.metric_name,
            cloudwatch_metrics.c.dimensions_key,
        )
        async with self.store.read() as conn:
            found = [metrics.series_of(row) for row in await conn.execute(query)]
        wanted = list(dimension_filters or ())

        def matches(series: metrics.Series) -> bool:
            have = {d["Name"]: d["Value"] for d in series.dimensions}
            return all(
                f["Name"] in have and f.get("Value", have[f["Name"]]) == have[f["Name"]] for f in wanted
            )

        return [s for s in found if matches(s)]

    async def get_metric_statistics(
        self,
        namespace: str,
        metric_name: str,
        dimensions: Sequence[Mapping[str, str]] | None,
        start: datetime,
        end: datetime,
        period: int,
        statistics: Sequence[str],
        unit: str | None = None,
    ) -> list[dict[str, Any]]:
        async with self.store.read() as conn:
            return await metrics.statistics(
                conn, self.account_id, namespace, metric_name, dimensions, start.timestamp(),
                end.timestamp(), period, statistics, unit,
            )  # fmt: skip

    # -- alarms ---------------------------------------------------------------------------------------

    def alarm_arn(self, name: str) -> str:
        return arn("cloudwatch", self.region, self.account_id, f"alarm:{name}")

    async def _history(
        self, conn: AsyncConnection, name: str, item_type: str, summary: str, data: Mapping[str, Any]
    ) -> None:
        await conn.execute(
            insert(cloudwatch_alarm_history).values(
                account_id=self.account_id, alarm_name=name, item_id=uuid.uuid4().hex, timestamp=self.clock(),
                item_type=item_type, summary=summary, data=orjson.dumps(data).decode(),
            )
        )  # fmt: skip

    async def put_metric_alarm(self, name: str, definition: Mapping[str, Any]) -> None:
        """Creates or replaces an alarm; a new alarm starts in INSUFFICIENT_DATA, a replaced one keeps its
        state."""
        for required in ("EvaluationPeriods", "ComparisonOperator"):
            if definition.get(required) is None:
                raise MissingRequiredParameterException(f"The parameter {required} is required.")
        stored = {k: v for k, v in definition.items() if v is not None}
        now = self.clock()
        async with self.store.begin() as conn:
            existing = await self._alarm(conn, name)
            if existing is None:
                await conn.execute(
                    insert(cloudwatch_alarms).values(
                        account_id=self.account_id, alarm_name=name, definition=stored,
                        state_value="INSUFFICIENT_DATA", state_reason="Unchecked: Initial alarm creation",
                        state_reason_data=None, state_updated_at=now, configuration_updated_at=now,
                    )
                )  # fmt: skip
                await self._history(conn, name, "ConfigurationUpdate", f'Alarm "{name}" created', {
                    "type": "Create", "version": "1.0", "createdAlarm": {"alarmName": name, **stored},
                })  # fmt: skip
            else:
                await conn.execute(
                    update(cloudwatch_alarms)
                    .where(*self._where(name))
                    .values(definition=stored, configuration_updated_at=now)
                )
                await self._history(conn, name, "ConfigurationUpdate", f'Alarm "{name}" updated', {
                    "type": "Update", "version": "1.0", "updatedAlarm": {"alarmName": name, **stored},
                })  # fmt: skip

    def _where(self, name: str) -> list[Any]:
        return [cloudwatch_alarms.c.account_id == self.account_id, cloudwatch_alarms.c.alarm_name == name]

    async def _alarm(self, conn: AsyncConnection, name: str) -> Alarm | None:
        row = (await conn.execute(select(cloudwatch_alarms).where(*self._where(name)))).first()
        return None if row is None else _alarm(row)

    async def describe_alarms(
        self, names: Sequence[str] | None = None, prefix: str | None = None, state: str | None = None
    ) -> list[Alarm]:
        query = select(cloudwatch_alarms).where(cloudwatch_alarms.c.account_id == self.account_id)
        if names:
            query = query.where(cloudwatch_alarms.c.alarm_name.in_(list(names)))
        if prefix:
            query = query.where(cloudwatch_alarms.c.alarm_name.startswith(prefix, autoescape=True))
        if state:
            query = query.where(cloudwatch_alarms.c.state_value == state)
        async with self.store.read() as conn:
            rows = await conn.execute(query.order_by(cloudwatch_alarms.c.alarm_name))
            return [_alarm(row) for row in rows]

    async def set_alarm_state(
        self, alarm_name: str, state_value: str, state_reason: str, state_reason_data: str | None = None
    ) -> None:
        """Sets an alarm's state (the ``cloudwatchAlarm`` action); raises ResourceNotFound."""
        if state_value not in STATES:
            raise InvalidParameterValueException(
                f"1 validation error detected: Value '{state_value}' at 'stateValue' failed to satisfy "
                "constraint: Member must satisfy enum value set: [INSUFFICIENT_DATA, ALARM, OK]"
            )
        if state_reason_data is not None:
            try:
                orjson.loads(state_reason_data)
            except orjson.JSONDecodeError:
                raise InvalidFormatFault("The StateReasonData is not valid JSON.") from None
        async with self.store.begin() as conn:
            alarm = await self._alarm(conn, alarm_name)
            if alarm is None:
                raise ResourceNotFound(f"Alarm {alarm_name} not found")
            now = self.clock()
            await conn.execute(
                update(cloudwatch_alarms)
                .where(*self._where(alarm_name))
                .values(
                    state_value=state_value, state_reason=state_reason, state_reason_data=state_reason_data,
                    state_updated_at=now,
                )
            )  # fmt: skip
            new_state: dict[str, Any] = {"stateValue": state_value, "stateReason": state_reason}
            if state_reason_data is not None:
                new_state["stateReasonData"] = orjson.loads(state_reason_data)
            old_state = {"stateValue": alarm.state_value, "stateReason": alarm.state_reason}
            await self._history(
                conn, alarm_name, "StateUpdate",
                f"Alarm updated from {alarm.state_value} to {state_value}",
                {"version": "1.0", "oldState": old_state, "newState": new_state},
            )  # fmt: skip

    async def delete_alarms(self, names: Sequence[str]) -> None:
        async with self.store.begin() as conn:
            for name in names:
                if await self._alarm(conn, name) is None:
                    raise ResourceNotFound(f"The following alarms were not found: [{name}]")
            for name in names:
                await conn.execute(delete(cloudwatch_alarms).where(*self._where(name)))
                await self._history(conn, name, "ConfigurationUpdate", f'Alarm "{name}" deleted', {
                    "type": "Delete", "version": "1.0", "deletedAlarm": {"alarmName": name},
                })  # fmt: skip

    async def describe_alarm_history(
        self,
        name: str | None = None,
        item_type: str | None = None,
        start: float | None = None,
        end: float | None = None,
        oldest_first: bool = False,
    ) -> list[dict[str, Any]]:
        table = cloudwatch_alarm_history
        query = select(table).where(table.c.account_id == self.account_id)
        if name:
            query = query.where(table.c.alarm_name == name)
        if item_type:
            query = query.where(table.c.item_type == item_type)
        if start is not None:
            query = query.where(table.c.timestamp >= start)
        if end is not None:
            query = query.where(table.c.timestamp <= end)
        order = table.c.timestamp.asc() if oldest_first else table.c.timestamp.desc()
        async with self.store.read() as conn:
            rows = await conn.execute(query.order_by(order))
            return [
                {
                    "AlarmName": r.alarm_name, "AlarmType": "MetricAlarm", "Timestamp": r.timestamp,
                    "HistoryItemType": r.item_type, "HistorySummary": r.summary, "HistoryData": r.data,
                }
                for r in rows
            ]  # fmt: skip


def _alarm(row: Any) -> Alarm:
    return Alarm(
        row.alarm_name, dict(row.definition), row.state_value, row.state_reason, row.state_reason_data,
        row.state_updated_at, row.configuration_updated_at,
    )  # fmt: skip
