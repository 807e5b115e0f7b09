from __future__ import annotations

import pytest

from corral.registry.context import RegistryContext
from corral.registry.errors import InvalidRequest, ResourceNotFound
from corral.registry.thing_group_members import ThingGroupMembers
from corral.registry.thing_groups import ThingGroups
from corral.registry.things import Things
from tests.registry.conftest import ACCOUNT, REGION, Recorder
from tests.registry.thing_support import enable_all_events, events, expect_error, kinds

GROUP_ARN = f"arn:aws:iot:{REGION}:{ACCOUNT}:thinggroup/"
THING_ARN = f"arn:aws:iot:{REGION}:{ACCOUNT}:thing/"


@pytest.fixture
async def members(registry_context: RegistryContext) -> ThingGroupMembers:
    """Groups root -> (a -> a1, b), other1 … other10; things t0 … t4."""
    groups, things = ThingGroups(registry_context), Things(registry_context)
    for name, parent in [("root", None), ("a", "root"), ("b", "root"), ("a1", "a")]:
        await groups.create_thing_group(
            {"thingGroupName": name, **({"parentGroupName": parent} if parent else {})}
        )
    for i in range(1, 11):
        await groups.create_thing_group({"thingGroupName": f"other{i:02}"})
    for i in range(5):
        await things.create_thing({"thingName": f"t{i}"})
    return ThingGroupMembers(registry_context)


async def test_add_remove_and_list(members: ThingGroupMembers) -> None:
    await members.add_thing_to_thing_group({"thingGroupName": "a", "thingName": "t0"})
    await members.add_thing_to_thing_group({"thingGroupArn": GROUP_ARN + "a1", "thingArn": THING_ARN + "t1"})
    await members.add_thing_to_thing_group({"thingGroupName": "b", "thingName": "t2"})
    await members.add_thing_to_thing_group({"thingGroupName": "root", "thingName": "t3"})
    await members.add_thing_to_thing_group({"thingGroupName": "other01", "thingName": "t0"})
    await members.add_thing_to_thing_group({"thingGroupName": "a", "thingName": "t0"})  # again: no-op

    async def things_in(group: str, **params: object) -> list[str]:
        page = await members.list_things_in_thing_group({"thingGroupName": group, **params})
        names: list[str] = page["things"]
        return names

    assert await things_in("a") == ["t0"]
    assert await things_in("a", recursive=True) == ["t0", "t1"]
    assert await things_in("root", recursive=True) == ["t0", "t1", "t2", "t3"]
    assert await things_in("root") == ["t3"]
    first = await members.list_things_in_thing_group(
        {"thingGroupName": "root", "recursive": True, "maxResults": 3}
    )
    assert first["things"] == ["t0", "t1", "t2"]
    rest = await members.list_things_in_thing_group(
        {"thingGroupName": "root", "recursive": True, "maxResults": 3, "nextToken": first["nextToken"]}
    )
    assert rest == {"things": ["t3"]}
    assert await members.list_thing_groups_for_thing({"thingName": "t0"}) == {
        "thingGroups": [
            {"groupName": "a", "groupArn": GROUP_ARN + "a"},
            {"groupName": "other01", "groupArn": GROUP_ARN + "other01"},
        ]
    }
    page = await members.list_thing_groups_for_thing({"thingName": "t0", "maxResults": 1})
    assert [g["groupName"] for g in page["thingGroups"]] == ["a"]
    await members.remove_thing_from_thing_group({"thingGroupName": "a", "thingName": "t0"})
    await members.remove_thing_from_thing_group({"thingGroupName": "a", "thingName": "t0"})  # again: no-op
    assert await things_in("a") == []
    await expect_error(
        members.list_things_in_thing_group({"thingGroupName": "nope"}),
        ResourceNotFound,
        "Thing Group nope does not exist",
    )
    await expect_error(
        members.list_thing_groups_for_thing({"thingName": "nope"}),
        ResourceNotFound,
        "Thing nope does not exist",
    )


async def test_add_errors_and_limits(members: ThingGroupMembers) -> None:
    await expect_error(
        members.add_thing_to_thing_group({"thingName": "t0"}),
        InvalidRequest,
        "Both thingGroupArn and thingGroupName are empty. Need to specify at least one of them",
    )
    await expect_error(
        members.remove_thing_from_thing_group({"thingGroupName": "a"}),
        InvalidRequest,
        "Both thingArn and thingName are empty. Need to specify at least one of them",
    )
    await expect_error(
        members.add_thing_to_thing_group({"thingGroupName": "a", "thingName": "x"}), ResourceNotFound
    )
    await expect_error(
        members.add_thing_to_thing_group({"thingGroupName": "x", "thingName": "t0"}), ResourceNotFound
    )
    await expect_error(
        members.add_thing_to_thing_group(
            {"thingGroupArn": "arn:aws:iot:eu-west-1:1:thinggroup/a", "thingName": "t0"}
        ),
        InvalidRequest,
    )
    await members.add_thing_to_thing_group({"thingGroupName": "a1", "thingName": "t0"})
    for group in ("root", "b"):
        await expect_error(
            members.add_thing_to_thing_group({"thingGroupName": group, "thingName": "t0"}),
            InvalidRequest,
            f"Cannot add thing t0 to thing group {group}: it already belongs to thing group a1 of the same "
            "hierarchy",
        )
    for i in range(1, 10):
        await members.add_thing_to_thing_group({"thingGroupName": f"other{i:02}", "thingName": "t0"})
    await expect_error(
        members.add_thing_to_thing_group({"thingGroupName": "other10", "thingName": "t0"}),
        InvalidRequest,
        "Thing t0 cannot be added to more than 10 thing groups",
    )


async def test_update_thing_groups_for_thing(members: ThingGroupMembers) -> None:
    await members.add_thing_to_thing_group({"thingGroupName": "a", "thingName": "t0"})
    # Removals come first, so a thing can move within a hierarchy in one call.
    await members.update_thing_groups_for_thing(
        {"thingName": "t0", "thingGroupsToRemove": ["a"], "thingGroupsToAdd": ["b", "other01"]}
    )
    groups = await members.list_thing_groups_for_thing({"thingName": "t0"})
    assert [g["groupName"] for g in groups["thingGroups"]] == ["b", "other01"]
    # One failure and nothing changes.
    await expect_error(
        members.update_thing_groups_for_thing(
            {"thingName": "t0", "thingGroupsToRemove": ["b"], "thingGroupsToAdd": ["other02", "missing"]}
        ),
        ResourceNotFound,
    )
    assert await members.list_thing_groups_for_thing({"thingName": "t0"}) == groups
    await expect_error(members.update_thing_groups_for_thing({"thingGroupsToAdd": ["a"]}), InvalidRequest)


async def test_events_and_change_notices(
    registry_context: RegistryContext, members: ThingGroupMembers, recorder: Recorder
) -> None:
    enable_all_events(registry_context)
    recorder.changes.clear()
    await members.add_thing_to_thing_group({"thingGroupName": "a", "thingName": "t0"})
    await members.add_thing_to_thing_group({"thingGroupName": "a", "thingName": "t0"})
    await members.remove_thing_from_thing_group({"thingGroupName": "a", "thingName": "t0"})
    await members.add_thing_to_thing_group({"thingGroupName": "a", "thingName": "t0"})
    assert kinds(recorder) == [("thing_group", "a")] * 3
    published = events(recorder)
    prefix = "$aws/events/thingGroupMembership/thingGroup/a/thing/t0/"
    assert [topic for topic, _ in published] == [prefix + "added", prefix + "removed", prefix + "added"]
    body = published[0][1]
    group = await ThingGroups(registry_context).describe_thing_group({"thingGroupName": "a"})
    thing = await Things(registry_context).describe_thing({"thingName": "t0"})
    assert len(body.pop("membershipId")) == 36
    del body["eventId"], body["timestamp"]
    assert body == {
        "eventType": "THING_GROUP_MEMBERSHIP_EVENT",
        "operation": "ADDED",
        "accountId": ACCOUNT,
        "groupArn": GROUP_ARN + "a",
        "groupId": group["thingGroupId"],
        "thingArn": THING_ARN + "t0",
        "thingId": thing["thingId"],
    }
    assert published[1][1]["membershipId"] == published[2][1]["membershipId"]
