"""LogsService and CloudWatchService on SQLite and PostgreSQL: events ordered and paged by tokens, the
filter, too-old events rejected as AWS reports them; metrics' totals and statistics, alarm states."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from corral.services.cloudwatch import CloudWatchService
from corral.services.cloudwatch.errors import ResourceNotFound
from corral.services.logs import LogsService
from corral.services.logs.errors import ResourceNotFoundException
from corral.store import Store

NOW = 1_800_000_000.0


@pytest.fixture
async def store(database_url: str | None, tmp_path: Path) -> AsyncIterator[Store]:
    async with await Store.open(database_url, tmp_path) as opened:
        yield opened


async def test_log_events(store: Store) -> None:
    logs = LogsService(store, "000000000000", "us-east-1", lambda: NOW)
    await logs.create_log_group("g")
    await logs.create_log_stream("g", "s")
    ms = int(NOW * 1000)
    rejected = await logs.put_log_events(
        "g", "s", [{"timestamp": ms - 15 * 86_400_000, "message": "ancient"}]
        + [{"timestamp": ms + i, "message": f"m{i}"} for i in (2, 0, 1)],
    )  # fmt: skip
    assert rejected == {"tooOldLogEventEndIndex": 1}
    events, forward, _ = await logs.get_log_events("g", "s", start_from_head=True, limit=2)
    assert [e.message for e in events] == ["m0", "m1"]
    rest, again, _ = await logs.get_log_events("g", "s", token=forward)
    assert [e.message for e in rest] == ["m2"]
    assert (await logs.get_log_events("g", "s", token=again))[:2] == ([], again)  # the end: same token
    latest, _, backward = await logs.get_log_events("g", "s", limit=1)
    assert [e.message for e in latest] == ["m2"]
    assert [e.message for e in (await logs.get_log_events("g", "s", token=backward))[0]] == ["m0", "m1"]
    found, _ = await logs.filter_log_events("g", pattern="m1")
    assert [e.message for e in found] == ["m1"]
    with pytest.raises(ResourceNotFoundException):
        await logs.put_log_events("g", "missing", [{"timestamp": ms, "message": "x"}])
    await logs.delete_log_group("g")
    assert await logs.describe_log_groups() == []


async def test_metrics_and_alarms(store: Store) -> None:
    cloudwatch = CloudWatchService(store, "000000000000", "us-east-1", lambda: NOW)
    for value, at in ((1.0, NOW - 120), (3.0, NOW - 60), (2.0, NOW - 90)):
        await cloudwatch.put_metric_data("App", "Clicks", value, "Count", at, {"Button": "b1"})
    [series] = await cloudwatch.list_metrics("App")
    assert (series.last_value, series.sample_count, series.total) == (3.0, 3.0, 6.0)  # latest by timestamp
    stats = await cloudwatch.get_metric_statistics(
        "App", "Clicks", [{"Name": "Button", "Value": "b1"}], datetime.fromtimestamp(NOW - 3600, UTC),
        datetime.fromtimestamp(NOW, UTC), 3600, ["Sum", "Minimum"],
    )  # fmt: skip
    assert [(p["Sum"], p["Minimum"], p["Unit"]) for p in stats] == [(6.0, 1.0, "Count")]
    await cloudwatch.put_metric_alarm(
        "a", {"EvaluationPeriods": 1, "ComparisonOperator": "GreaterThanThreshold"}
    )
    await cloudwatch.set_alarm_state("a", "OK", "fine")
    [alarm] = await cloudwatch.describe_alarms(state="OK")
    assert alarm.state_reason == "fine"
    with pytest.raises(ResourceNotFound):
        await cloudwatch.set_alarm_state("b", "OK", "x")
