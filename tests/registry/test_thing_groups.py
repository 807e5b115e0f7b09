from __future__ import annotations

import pytest
from sqlalchemy import select

from corral.registry.context import RegistryContext
from corral.registry.errors import InvalidRequest, ResourceAlreadyExists, ResourceNotFound, VersionConflict
from corral.registry.tags import Tags
from corral.registry.thing_groups import ThingGroups
from corral.store.schema import policy_targets
from tests.registry.conftest import ACCOUNT, REGION, Recorder
from tests.registry.thing_support import enable_all_events, events, expect_error, insert_policy, kinds

ARN = f"arn:aws:iot:{REGION}:{ACCOUNT}:thinggroup/"


@pytest.fixture
def groups(registry_context: RegistryContext) -> ThingGroups:
    return ThingGroups(registry_context)


async def make_tree(groups: ThingGroups) -> None:
    """root -> (a -> (a1, a2 -> a2x), b); other"""
    for name, parent in [("root", None), ("a", "root"), ("b", "root"), ("a1", "a"), ("a2", "a")]:
        await groups.create_thing_group(
            {"thingGroupName": name, **({"parentGroupName": parent} if parent else {})}
        )
    await groups.create_thing_group({"thingGroupName": "a2x", "parentGroupName": "a2"})
    await groups.create_thing_group({"thingGroupName": "other"})


async def test_create_describe_and_idempotency(groups: ThingGroups) -> None:
    props = {"thingGroupDescription": "shiny", "attributePayload": {"attributes": {"k": "v"}}}
    root = await groups.create_thing_group({"thingGroupName": "Shiny", "thingGroupProperties": props})
    assert root["thingGroupArn"] == ARN + "Shiny"
    mid = await groups.create_thing_group({"thingGroupName": "Bulbs", "parentGroupName": "Shiny"})
    leaf = await groups.create_thing_group({"thingGroupName": "Red", "parentGroupName": "Bulbs"})
    assert await groups.create_thing_group({"thingGroupName": "Red", "parentGroupName": "Bulbs"}) == leaf
    await expect_error(
        groups.create_thing_group({"thingGroupName": "Red"}),
        ResourceAlreadyExists,
        "Thing Group Red already exists in current account with different properties",
    )
    await expect_error(
        groups.create_thing_group({"thingGroupName": "x", "parentGroupName": "Nope"}),
        ResourceNotFound,
        "Thing Group Nope does not exist",
    )
    described = await groups.describe_thing_group({"thingGroupName": "Red"})
    metadata = described.pop("thingGroupMetadata")
    assert described == {
        "thingGroupName": "Red",
        "thingGroupId": leaf["thingGroupId"],
        "thingGroupArn": ARN + "Red",
        "version": 1,
        "thingGroupProperties": {"attributePayload": {"attributes": {}}},
    }
    assert metadata["parentGroupName"] == "Bulbs"
    assert metadata["rootToParentThingGroups"] == [
        {"groupName": "Shiny", "groupArn": ARN + "Shiny"},
        {"groupName": "Bulbs", "groupArn": ARN + "Bulbs"},
    ]
    assert mid["thingGroupId"] != leaf["thingGroupId"]
    top = await groups.describe_thing_group({"thingGroupName": "Shiny"})
    assert top["thingGroupProperties"] == props
    assert set(top["thingGroupMetadata"]) == {"creationDate"}
    await expect_error(groups.describe_thing_group({"thingGroupName": "Nope"}), ResourceNotFound)


async def test_hierarchy_depth_limit(groups: ThingGroups) -> None:
    await groups.create_thing_group({"thingGroupName": "g1"})
    for level in range(2, 8):
        await groups.create_thing_group({"thingGroupName": f"g{level}", "parentGroupName": f"g{level - 1}"})
    await expect_error(
        groups.create_thing_group({"thingGroupName": "g8", "parentGroupName": "g7"}),
        InvalidRequest,
        "Cannot create thing group g8: a thing group hierarchy can be at most 7 levels deep",
    )


async def test_update(groups: ThingGroups) -> None:
    await groups.create_thing_group(
        {
            "thingGroupName": "g",
            "thingGroupProperties": {"attributePayload": {"attributes": {"a": "1", "b": "2"}}},
        }
    )
    props = {
        "thingGroupDescription": "new",
        "attributePayload": {"attributes": {"b": "", "c": "3"}, "merge": True},
    }
    assert await groups.update_thing_group({"thingGroupName": "g", "thingGroupProperties": props}) == {
        "version": 2
    }
    described = await groups.describe_thing_group({"thingGroupName": "g"})
    assert described["thingGroupProperties"] == {
        "thingGroupDescription": "new",
        "attributePayload": {"attributes": {"a": "1", "c": "3"}},
    }
    await expect_error(
        groups.update_thing_group({"thingGroupName": "g", "thingGroupProperties": {}, "expectedVersion": 1}),
        VersionConflict,
        "The version for thing group g does not match the expected version.",
    )
    replaced = {"attributePayload": {"attributes": {"z": "9"}}}
    result = await groups.update_thing_group(
        {"thingGroupName": "g", "thingGroupProperties": replaced, "expectedVersion": 2}
    )
    assert result == {"version": 3}
    described = await groups.describe_thing_group({"thingGroupName": "g"})
    assert described["thingGroupProperties"] == {
        "thingGroupDescription": "new",
        "attributePayload": {"attributes": {"z": "9"}},
    }
    many = {"attributePayload": {"attributes": {f"k{i}": "v" for i in range(51)}}}
    await expect_error(
        groups.update_thing_group({"thingGroupName": "g", "thingGroupProperties": many}), InvalidRequest
    )
    await expect_error(
        groups.update_thing_group({"thingGroupName": "x", "thingGroupProperties": {}}), ResourceNotFound
    )


async def test_delete(registry_context: RegistryContext, groups: ThingGroups, recorder: Recorder) -> None:
    await groups.delete_thing_group({"thingGroupName": "never-existed"})
    await groups.create_thing_group({"thingGroupName": "p"})
    await groups.create_thing_group({"thingGroupName": "c", "parentGroupName": "p"})
    await expect_error(
        groups.delete_thing_group({"thingGroupName": "p"}),
        InvalidRequest,
        "Cannot delete thing group : p when there are still child groups attached to it.",
    )
    await expect_error(
        groups.delete_thing_group({"thingGroupName": "c", "expectedVersion": 3}), VersionConflict
    )
    await insert_policy(registry_context, "pol")
    async with registry_context.store.begin() as conn:
        await conn.execute(
            policy_targets.insert().values(account_id=ACCOUNT, policy_name="pol", target=ARN + "c")
        )
    await Tags(registry_context).tag_resource(
        {"resourceArn": ARN + "c", "tags": [{"Key": "k", "Value": "v"}]}
    )
    recorder.changes.clear()
    await groups.delete_thing_group({"thingGroupName": "c", "expectedVersion": 1})
    assert kinds(recorder) == [("thing_group", "c")]
    async with registry_context.store.read() as conn:
        assert (await conn.execute(select(policy_targets))).all() == []
    await groups.delete_thing_group({"thingGroupName": "p"})
    await expect_error(groups.describe_thing_group({"thingGroupName": "p"}), ResourceNotFound)
    await groups.create_thing_group({"thingGroupName": "c"})
    assert await Tags(registry_context).list_tags_for_resource({"resourceArn": ARN + "c"}) == {"tags": []}


async def test_list_thing_groups(groups: ThingGroups) -> None:
    await make_tree(groups)

    async def names(**params: object) -> list[str]:
        return [g["groupName"] for g in (await groups.list_thing_groups(params))["thingGroups"]]

    assert await names() == ["a", "a1", "a2", "a2x", "b", "other", "root"]
    assert await names(parentGroup="root") == ["a", "b"]
    assert await names(parentGroup="root", recursive=True) == ["a", "a1", "a2", "a2x", "b"]
    assert await names(parentGroup="a", recursive=True, namePrefixFilter="a2") == ["a2", "a2x"]
    assert await names(namePrefixFilter="a") == ["a", "a1", "a2", "a2x"]
    assert await names(parentGroup="a1") == []
    first = await groups.list_thing_groups({"maxResults": 4})
    assert first["thingGroups"][0] == {"groupName": "a", "groupArn": ARN + "a"}
    rest = await groups.list_thing_groups({"maxResults": 4, "nextToken": first["nextToken"]})
    assert [g["groupName"] for g in rest["thingGroups"]] == ["b", "other", "root"]
    assert "nextToken" not in rest
    await expect_error(groups.list_thing_groups({"parentGroup": "nope"}), ResourceNotFound)


async def test_events(registry_context: RegistryContext, groups: ThingGroups, recorder: Recorder) -> None:
    enable_all_events(registry_context)
    root = await groups.create_thing_group(
        {"thingGroupName": "root", "thingGroupProperties": {"thingGroupDescription": "top"}}
    )
    child = await groups.create_thing_group({"thingGroupName": "child", "parentGroupName": "root"})
    await groups.update_thing_group(
        {"thingGroupName": "child", "thingGroupProperties": {"attributePayload": {"attributes": {"a": "1"}}}}
    )
    await groups.delete_thing_group({"thingGroupName": "child"})
    published = events(recorder)
    assert [topic for topic, _ in published] == [
        "$aws/events/thingGroup/root/created",
        "$aws/events/thingGroup/child/created",
        "$aws/events/thingGroupHierarchy/thingGroup/root/childThingGroup/child/added",
        "$aws/events/thingGroup/child/updated",
        "$aws/events/thingGroup/child/deleted",
        "$aws/events/thingGroupHierarchy/thingGroup/root/childThingGroup/child/removed",
    ]
    bodies = [body for _, body in published]
    for body in bodies:
        del body["eventId"], body["timestamp"]
    assert bodies[0] == {
        "eventType": "THING_GROUP_EVENT",
        "operation": "CREATED",
        "accountId": ACCOUNT,
        "thingGroupId": root["thingGroupId"],
        "thingGroupName": "root",
        "versionNumber": 1,
        "parentGroupName": None,
        "parentGroupId": None,
        "description": "top",
        "rootToParentThingGroups": None,
        "attributes": {},
        "dynamicGroupMappingId": None,
    }
    assert bodies[3]["versionNumber"] == 2
    assert bodies[3]["attributes"] == {"a": "1"}
    assert bodies[3]["parentGroupId"] == root["thingGroupId"]
    assert bodies[3]["rootToParentThingGroups"] == [
        {"groupArn": ARN + "root", "groupId": root["thingGroupId"]}
    ]
    assert bodies[2] == {
        "eventType": "THING_GROUP_HIERARCHY_EVENT",
        "operation": "ADDED",
        "accountId": ACCOUNT,
        "thingGroupId": root["thingGroupId"],
        "thingGroupName": "root",
        "childGroupId": child["thingGroupId"],
        "childGroupName": "child",
    }
    assert bodies[5]["operation"] == "REMOVED"
