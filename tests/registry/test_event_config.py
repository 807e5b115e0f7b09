from __future__ import annotations

from datetime import UTC, datetime

import pytest

from corral.registry.context import RegistryContext
from corral.registry.errors import InvalidRequest
from corral.registry.event_config import EVENT_TYPES, EventConfigurations, load_event_configurations
from corral.registry.things import Things
from corral.store.schema import event_configurations
from tests.registry.conftest import Recorder
from tests.registry.thing_support import events, expect_error, kinds


async def test_update_describe_and_load(registry_context: RegistryContext, recorder: Recorder) -> None:
    configs = EventConfigurations(registry_context)
    described = await configs.describe_event_configurations({})
    assert described == {"eventConfigurations": {t: {"Enabled": False} for t in EVENT_TYPES}}
    assert len(EVENT_TYPES) == 11
    await configs.update_event_configurations(
        {"eventConfigurations": {"THING": {"Enabled": True}, "THING_GROUP": {"Enabled": True}}}
    )
    await configs.update_event_configurations(
        {"eventConfigurations": {"THING_GROUP": {"Enabled": False}, "POLICY": {"Enabled": True}}}
    )
    assert registry_context.enabled_events == {"THING", "POLICY"}
    assert kinds(recorder) == [("event_configurations", registry_context.account_id)] * 2
    described = await configs.describe_event_configurations({})
    assert {t for t, c in described["eventConfigurations"].items() if c["Enabled"]} == {"THING", "POLICY"}
    await expect_error(
        configs.update_event_configurations({"eventConfigurations": {"BOGUS": {"Enabled": True}}}),
        InvalidRequest,
    )
    # A process starting later reads the same configuration from the store.
    registry_context.enabled_events.clear()
    await load_event_configurations(registry_context)
    assert registry_context.enabled_events == {"THING", "POLICY"}


async def test_only_enabled_types_are_published(
    registry_context: RegistryContext, recorder: Recorder
) -> None:
    configs, things = EventConfigurations(registry_context), Things(registry_context)
    await things.create_thing({"thingName": "before"})
    await configs.update_event_configurations({"eventConfigurations": {"THING": {"Enabled": True}}})
    await things.create_thing({"thingName": "during"})
    await configs.update_event_configurations({"eventConfigurations": {"THING": {"Enabled": False}}})
    await things.create_thing({"thingName": "after"})
    assert [topic for topic, _ in events(recorder)] == ["$aws/events/thing/during/created"]


async def test_creation_and_modification_dates(registry_context: RegistryContext) -> None:
    configs = EventConfigurations(registry_context)
    # Nothing stored yet: no dates to tell.
    assert set(await configs.describe_event_configurations({})) == {"eventConfigurations"}
    await configs.update_event_configurations({"eventConfigurations": {}})
    assert set(await configs.describe_event_configurations({})) == {"eventConfigurations"}

    before = datetime.now(UTC)
    await configs.update_event_configurations({"eventConfigurations": {"THING": {"Enabled": True}}})
    first = await configs.describe_event_configurations({})
    assert before <= first["creationDate"] == first["lastModifiedDate"] <= datetime.now(UTC)
    assert first["creationDate"].tzinfo is not None

    # Pretend the first update was an hour ago, so that "later" is unambiguous on any clock.
    async with registry_context.store.begin() as conn:
        await conn.execute(
            event_configurations.update().values(
                created_at=event_configurations.c.created_at - 3600,
                last_modified_at=event_configurations.c.last_modified_at - 3600,
            )
        )
    created = (await configs.describe_event_configurations({}))["creationDate"]
    assert (first["creationDate"] - created).total_seconds() == pytest.approx(3600)

    # Updating a configured type and adding another keep the creation date and move the modification date.
    await configs.update_event_configurations(
        {"eventConfigurations": {"THING": {"Enabled": False}, "POLICY": {"Enabled": True}}}
    )
    later = await configs.describe_event_configurations({})
    assert later["creationDate"] == created
    assert later["lastModifiedDate"] >= first["lastModifiedDate"]
    assert later["lastModifiedDate"] > later["creationDate"]
    assert later["eventConfigurations"]["POLICY"] == {"Enabled": True}
    assert later["eventConfigurations"]["THING"] == {"Enabled": False}
