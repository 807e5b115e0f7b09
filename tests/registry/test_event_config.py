from __future__ import annotations

from corral.registry.context import RegistryContext
from corral.registry.errors import InvalidRequest
from corral.registry.event_config import EVENT_TYPES, EventConfigurations, load_event_configurations
from corral.registry.things import Things
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
