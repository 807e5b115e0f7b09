"""The shadow service on a real store (SQLite and PostgreSQL), without a network: ordering, durability before
announcement, quotas, version continuation, and the MQTT request topics."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import select

from corral.shadows.document import ShadowLimits, ShadowRejected
from corral.shadows.service import ShadowService
from corral.store.engine import Store
from corral.store.errors import DatabaseFailure
from corral.store.schema import shadows

ACCOUNT = "123456789012"


class Published:
    def __init__(self) -> None:
        self.messages: list[tuple[str, dict[str, Any], int]] = []

    def __call__(self, topic: str, payload: bytes, qos: int) -> None:
        self.messages.append((topic, orjson.loads(payload), qos))

    def topics(self) -> list[str]:
        return [topic for topic, _, _ in self.messages]

    def bodies(self, topic: str) -> list[dict[str, Any]]:
        return [body for t, body, _ in self.messages if t == topic]


class Clock:
    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def store(database_url: str | None, tmp_path: Path) -> AsyncIterator[Store]:
    async with await Store.open(database_url, tmp_path) as opened:
        yield opened


@pytest.fixture
def published() -> Published:
    return Published()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def service(store: Store, published: Published, clock: Clock) -> ShadowService:
    return ShadowService(store, ACCOUNT, published, ShadowLimits(), clock)


def update(state: dict[str, Any], **extra: Any) -> bytes:
    return orjson.dumps({"state": state, **extra})


async def test_an_update_publishes_accepted_delta_and_documents_in_that_order(
    service: ShadowService, published: Published, store: Store
) -> None:
    """Device Shadow MQTT topics: an accepted update answers on /update/accepted, then /delta (when desired
    differs from reported) and /documents."""
    accepted = await service.update("lamp", None, update({"desired": {"color": "green"}}))
    async with store.read() as conn:
        assert (await conn.execute(select(shadows.c.version))).scalar_one() == 1
    assert accepted["version"] == 1
    base = "$aws/things/lamp/shadow/update"
    assert published.topics() == [f"{base}/accepted", f"{base}/delta", f"{base}/documents"]
    assert all(qos == 1 for _, _, qos in published.messages)
    assert published.bodies(f"{base}/delta")[0]["state"] == {"color": "green"}


async def test_a_store_failure_rejects_the_update_and_announces_nothing(
    service: ShadowService, published: Published, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """DESIGN (commit before acknowledging): if the commit fails, the request is rejected (500), nothing is
    published about it, and the shadow is unchanged."""
    await service.update("lamp", None, update({"reported": {"on": True}}))
    published.messages.clear()

    real_begin = store.begin

    @contextlib.asynccontextmanager
    async def failing_at_commit() -> AsyncIterator[Any]:
        async with real_begin() as conn:
            yield conn
            raise DatabaseFailure("the commit failed")  # after the write: the transaction rolls back

    monkeypatch.setattr(store, "begin", failing_at_commit)
    with pytest.raises(ShadowRejected) as refused:
        await service.update("lamp", None, update({"reported": {"on": False}}))
    assert refused.value.code == 500
    assert published.messages == []
    monkeypatch.setattr(store, "begin", real_begin)
    got = await service.get("lamp", None)
    assert got["state"]["reported"] == {"on": True} and got["version"] == 1


async def test_concurrent_updates_of_one_shadow_never_lose_a_field_or_repeat_a_version(
    service: ShadowService, published: Published
) -> None:
    """Per-shadow serialization: 20 concurrent updates, 20 distinct versions, every field kept."""
    service.limits = ShadowLimits(in_flight_per_thing=0)
    results = await asyncio.gather(
        *(service.update("lamp", None, update({"reported": {f"f{i}": i}})) for i in range(20))
    )
    assert sorted(r["version"] for r in results) == list(range(1, 21))
    got = await service.get("lamp", None)
    assert got["version"] == 20
    assert got["state"]["reported"] == {f"f{i}": i for i in range(20)}
    accepted = published.bodies("$aws/things/lamp/shadow/update/accepted")
    assert sorted(body["version"] for body in accepted) == list(range(1, 21))


async def test_requests_past_the_in_flight_quota_answer_429(service: ShadowService) -> None:
    """AWS's quota of in-flight shadow requests per thing: the excess is refused with 429."""
    service.limits = ShadowLimits(in_flight_per_thing=3)
    outcomes = await asyncio.gather(
        *(service.update("lamp", f"s{i % 2}", update({"reported": {"i": i}})) for i in range(8)),
        return_exceptions=True,
    )
    refused = [o for o in outcomes if isinstance(o, ShadowRejected)]
    assert refused and all(o.code == 429 for o in refused)
    assert len(refused) == 8 - 3
    # The quota is per thing: another thing is not affected, and the thing recovers once the burst is done.
    await service.update("other", None, update({"reported": {"i": 1}}))
    await service.update("lamp", "s0", update({"reported": {"i": 99}}))


async def test_the_named_shadow_quota(service: ShadowService) -> None:
    service.limits = ShadowLimits(named_shadows_per_thing=2)
    await service.update("lamp", "a", update({"reported": {"x": 1}}))
    await service.update("lamp", "b", update({"reported": {"x": 1}}))
    await service.update("lamp", None, update({"reported": {"x": 1}}))  # the classic shadow is not counted
    await service.update("lamp", "a", update({"reported": {"x": 2}}))  # an existing one may change
    with pytest.raises(ShadowRejected) as refused:
        await service.update("lamp", "c", update({"reported": {"x": 1}}))
    assert refused.value.code == 400
    await service.delete("lamp", "b")
    await service.update("lamp", "c", update({"reported": {"x": 1}}))


async def test_a_recreated_shadow_continues_the_deleted_ones_version_for_48_hours(
    service: ShadowService, clock: Clock
) -> None:
    """Interacting with shadows, DELETE: within 48 hours of the deletion the version continues; later it
    starts again."""
    for i in range(3):
        await service.update("lamp", None, update({"reported": {"i": i}}))
    deleted = await service.delete("lamp", None)
    assert deleted["version"] == 3
    with pytest.raises(ShadowRejected) as missing:
        await service.get("lamp", None)
    assert missing.value.code == 404
    clock.now += 47 * 3600
    again = await service.update("lamp", None, update({"reported": {"i": 0}}))
    assert again["version"] == 4
    await service.delete("lamp", None)
    clock.now += 49 * 3600
    fresh = await service.update("lamp", None, update({"reported": {"i": 0}}))
    assert fresh["version"] == 1


async def test_delete_of_a_missing_shadow_is_404_and_publishes_nothing(
    service: ShadowService, published: Published
) -> None:
    with pytest.raises(ShadowRejected) as missing:
        await service.delete("nobody", "named")
    assert missing.value.code == 404
    assert published.messages == []


async def test_list_named_shadows_pages_in_name_order_without_the_classic_or_deleted_ones(
    service: ShadowService,
) -> None:
    await service.update("lamp", None, update({"reported": {"x": 1}}))
    for name in ("delta", "alpha", "charlie", "bravo", "echo"):
        await service.update("lamp", name, update({"reported": {"x": 1}}))
    await service.delete("lamp", "charlie")
    first = await service.list_named_shadows("lamp", page_size=2)
    assert first["results"] == ["alpha", "bravo"] and "nextToken" in first
    second = await service.list_named_shadows("lamp", first["nextToken"], 2)
    assert second["results"] == ["delta", "echo"] and "nextToken" not in second
    assert (await service.list_named_shadows("nothing"))["results"] == []
    with pytest.raises(ShadowRejected) as bad:
        await service.list_named_shadows("lamp", "%%%not-a-token")
    assert bad.value.code == 400


async def test_mqtt_requests_are_answered_on_their_accepted_and_rejected_topics(
    service: ShadowService, published: Published
) -> None:
    """Device Shadow MQTT topics: get/update/delete requests and their answers, classic and named."""
    service.on_message(
        "$aws/things/lamp/shadow/name/cfg/update", update({"reported": {"x": 1}}, clientToken="t1")
    )
    service.on_message("$aws/things/lamp/shadow/get", orjson.dumps({"clientToken": "t2"}))
    service.on_message("$aws/things/lamp/shadow/update/accepted", b"{}")  # an answer, not a request
    service.on_message("lamp/shadow/update", b"{}")  # not a shadow topic
    await _settle(service)
    accepted = published.bodies("$aws/things/lamp/shadow/name/cfg/update/accepted")
    assert accepted and accepted[0]["clientToken"] == "t1"
    rejected = published.bodies("$aws/things/lamp/shadow/get/rejected")
    assert rejected and rejected[0]["code"] == 404 and rejected[0]["clientToken"] == "t2"
    assert not [t for t in published.topics() if t.startswith("$aws/things/lamp/shadow/update/")]
    service.on_message("$aws/things/lamp/shadow/name/cfg/delete", b"")
    await _settle(service)
    assert published.bodies("$aws/things/lamp/shadow/name/cfg/delete/accepted")[0]["version"] == 1


async def _settle(service: ShadowService) -> None:
    while service._tasks:
        await asyncio.gather(*list(service._tasks))
