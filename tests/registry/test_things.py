from __future__ import annotations

import pytest

from corral.registry.context import RegistryContext
from corral.registry.errors import InvalidRequest, ResourceAlreadyExists, ResourceNotFound, VersionConflict
from corral.registry.principals import Principals
from corral.registry.tags import Tags
from corral.registry.thing_group_members import ThingGroupMembers
from corral.registry.thing_groups import ThingGroups
from corral.registry.thing_types import ThingTypes
from corral.registry.things import Things
from tests.registry.conftest import ACCOUNT, REGION, Recorder
from tests.registry.thing_support import enable_all_events, events, expect_error, insert_certificate, kinds

ARN = f"arn:aws:iot:{REGION}:{ACCOUNT}:thing/"


@pytest.fixture
def things(registry_context: RegistryContext) -> Things:
    return Things(registry_context)


@pytest.fixture
def types(registry_context: RegistryContext) -> ThingTypes:
    return ThingTypes(registry_context, deprecation_wait_seconds=0)


async def test_create_describe_and_idempotency(things: Things) -> None:
    payload = {"attributes": {"color": "red", "size": "L"}}
    created = await things.create_thing({"thingName": "lamp", "attributePayload": payload})
    assert created["thingName"] == "lamp"
    assert created["thingArn"] == ARN + "lamp"
    assert len(created["thingId"]) == 36
    assert await things.describe_thing({"thingName": "lamp"}) == {
        "defaultClientId": "lamp",
        "thingName": "lamp",
        "thingId": created["thingId"],
        "thingArn": ARN + "lamp",
        "attributes": {"color": "red", "size": "L"},
        "version": 1,
    }
    # The same request again (merge is ignored on create) answers with the same thing.
    again = await things.create_thing({"thingName": "lamp", "attributePayload": {**payload, "merge": True}})
    assert again == created
    error = await expect_error(
        things.create_thing({"thingName": "lamp", "attributePayload": {"attributes": {"color": "blue"}}}),
        ResourceAlreadyExists,
        "Thing lamp already exists in account with different attributes",
    )
    assert error.extra == {"resourceId": created["thingId"], "resourceArn": ARN + "lamp"}
    await expect_error(things.create_thing({"thingName": "lamp"}), ResourceAlreadyExists)
    # No attributes at all, absent or empty, is one configuration.
    await things.create_thing({"thingName": "bare"})
    await things.create_thing({"thingName": "bare", "attributePayload": {}})
    await things.create_thing({"thingName": "bare", "attributePayload": {"attributes": {}}})
    await expect_error(
        things.describe_thing({"thingName": "nope"}), ResourceNotFound, "Thing nope does not exist"
    )


async def test_create_with_types_and_attribute_limits(things: Things, types: ThingTypes) -> None:
    await expect_error(
        things.create_thing({"thingName": "t", "thingTypeName": "Bulb"}),
        ResourceNotFound,
        "Thing type Bulb does not exist",
    )
    four = {"attributes": {f"a{i}": "v" for i in range(4)}}
    await expect_error(
        things.create_thing({"thingName": "t", "attributePayload": four}),
        InvalidRequest,
        "Thing t cannot have more than 3 attributes without a thing type (it would have 4)",
    )
    await types.create_thing_type({"thingTypeName": "Bulb"})
    fifty = {"attributes": {f"a{i}": "v" for i in range(50)}}
    await things.create_thing({"thingName": "t", "thingTypeName": "Bulb", "attributePayload": fifty})
    described = await things.describe_thing({"thingName": "t"})
    assert described["thingTypeName"] == "Bulb"
    assert len(described["attributes"]) == 50
    fifty_one = {"attributes": {f"a{i}": "v" for i in range(51)}}
    await expect_error(
        things.create_thing({"thingName": "u", "thingTypeName": "Bulb", "attributePayload": fifty_one}),
        InvalidRequest,
    )
    await expect_error(
        things.create_thing({"thingName": "t", "thingTypeName": "Other", "attributePayload": fifty}),
        ResourceAlreadyExists,
    )
    await types.deprecate_thing_type({"thingTypeName": "Bulb"})
    await expect_error(
        things.create_thing({"thingName": "v", "thingTypeName": "Bulb"}),
        InvalidRequest,
        "Can not create new thing with depreated thing type:Bulb",
    )
    await expect_error(things.create_thing({"thingName": "v", "billingGroupName": "bg"}), ResourceNotFound)


async def test_update_versions_and_attribute_merge(things: Things) -> None:
    await things.create_thing({"thingName": "t", "attributePayload": {"attributes": {"a": "1", "b": "2"}}})
    await things.update_thing(
        {"thingName": "t", "attributePayload": {"attributes": {"b": "", "c": "3"}, "merge": True}}
    )
    assert (await things.describe_thing({"thingName": "t"}))["attributes"] == {"a": "1", "c": "3"}
    await things.update_thing(
        {"thingName": "t", "expectedVersion": 2, "attributePayload": {"attributes": {"z": "9"}}}
    )
    described = await things.describe_thing({"thingName": "t"})
    assert described["attributes"] == {"z": "9"}
    assert described["version"] == 3
    await expect_error(
        things.update_thing({"thingName": "t", "expectedVersion": 2}),
        VersionConflict,
        "The version for thing t does not match the expected version.",
    )
    await things.update_thing({"thingName": "t"})  # no payload: attributes kept, version still goes up
    described = await things.describe_thing({"thingName": "t"})
    assert (described["attributes"], described["version"]) == ({"z": "9"}, 4)
    await expect_error(
        things.update_thing(
            {
                "thingName": "t",
                "attributePayload": {"attributes": {"p": "1", "q": "2", "r": "3"}, "merge": True},
            }
        ),
        InvalidRequest,
    )
    await expect_error(things.update_thing({"thingName": "ghost"}), ResourceNotFound)


async def test_update_thing_type(things: Things, types: ThingTypes) -> None:
    await types.create_thing_type({"thingTypeName": "Bulb"})
    await types.create_thing_type({"thingTypeName": "Old"})
    await types.deprecate_thing_type({"thingTypeName": "Old"})
    await things.create_thing({"thingName": "t"})
    await expect_error(
        things.update_thing({"thingName": "t", "thingTypeName": "Bulb", "removeThingType": True}),
        InvalidRequest,
        "Cannot specify both thingTypeName and removeThingType",
    )
    await expect_error(
        things.update_thing({"thingName": "t", "thingTypeName": "Old"}),
        InvalidRequest,
        "Can not update a thing to use deprecated thing type: Old",
    )
    await expect_error(things.update_thing({"thingName": "t", "thingTypeName": "Nope"}), ResourceNotFound)
    five = {"attributes": {f"a{i}": "v" for i in range(5)}}
    await things.update_thing({"thingName": "t", "thingTypeName": "Bulb", "attributePayload": five})
    assert (await things.describe_thing({"thingName": "t"}))["thingTypeName"] == "Bulb"
    # Without its type the thing would have 5 attributes: more than 3.
    await expect_error(things.update_thing({"thingName": "t", "removeThingType": True}), InvalidRequest)
    await things.update_thing(
        {"thingName": "t", "removeThingType": True, "attributePayload": {"attributes": {"a0": "v"}}}
    )
    described = await things.describe_thing({"thingName": "t"})
    assert "thingTypeName" not in described
    assert described["attributes"] == {"a0": "v"}


async def test_delete(registry_context: RegistryContext, things: Things) -> None:
    await things.delete_thing({"thingName": "never-existed"})
    await things.create_thing({"thingName": "t"})
    await expect_error(
        things.delete_thing({"thingName": "t", "expectedVersion": 7}),
        VersionConflict,
        "The version for thing t does not match the expected version.",
    )
    principals = Principals(registry_context)
    cert = await insert_certificate(registry_context)
    await principals.attach_thing_principal({"thingName": "t", "principal": cert})
    await expect_error(
        things.delete_thing({"thingName": "t"}),
        InvalidRequest,
        "Cannot delete. Thing t is still attached to one or more principals",
    )
    await principals.detach_thing_principal({"thingName": "t", "principal": cert})
    groups, members, tags = (
        ThingGroups(registry_context),
        ThingGroupMembers(registry_context),
        Tags(registry_context),
    )
    await groups.create_thing_group({"thingGroupName": "g"})
    await members.add_thing_to_thing_group({"thingGroupName": "g", "thingName": "t"})
    await tags.tag_resource({"resourceArn": ARN + "t", "tags": [{"Key": "k", "Value": "v"}]})
    await things.delete_thing({"thingName": "t", "expectedVersion": 1})
    await expect_error(things.describe_thing({"thingName": "t"}), ResourceNotFound)
    assert await members.list_things_in_thing_group({"thingGroupName": "g"}) == {"things": []}
    # A new thing of the same name starts afresh: no tags, no groups, version 1.
    await things.create_thing({"thingName": "t"})
    assert await tags.list_tags_for_resource({"resourceArn": ARN + "t"}) == {"tags": []}
    assert await members.list_thing_groups_for_thing({"thingName": "t"}) == {"thingGroups": []}
    assert (await things.describe_thing({"thingName": "t"}))["version"] == 1


async def test_list_things_pages_and_filters(things: Things, types: ThingTypes) -> None:
    await types.create_thing_type({"thingTypeName": "Bulb"})
    for i in range(7):
        attributes = {"site": f"berlin-{i % 2}", "n": str(i)} if i < 5 else {}
        await things.create_thing(
            {
                "thingName": f"thing-{i}",
                "attributePayload": {"attributes": attributes},
                **({"thingTypeName": "Bulb"} if i >= 4 else {}),
            }
        )
    names: list[str] = []
    params: dict[str, object] = {"maxResults": 3}
    pages = 0
    while True:
        page = await things.list_things(params)
        pages += 1
        names += [t["thingName"] for t in page["things"]]
        if "nextToken" not in page:
            break
        params = {"maxResults": 3, "nextToken": page["nextToken"]}
    assert names == [f"thing-{i}" for i in range(7)]
    assert pages == 3
    listed = (await things.list_things({}))["things"]
    assert listed[4] == {
        "thingName": "thing-4",
        "thingArn": ARN + "thing-4",
        "thingTypeName": "Bulb",
        "attributes": {"site": "berlin-0", "n": "4"},
        "version": 1,
    }
    assert "thingTypeName" not in listed[0]

    async def names_for(**params: object) -> list[str]:
        return [t["thingName"] for t in (await things.list_things(params))["things"]]

    assert await names_for(thingTypeName="Bulb") == ["thing-4", "thing-5", "thing-6"]
    assert await names_for(attributeName="site", attributeValue="berlin-1") == ["thing-1", "thing-3"]
    assert await names_for(attributeName="site", attributeValue="berlin") == []
    assert await names_for(attributeName="site", attributeValue="berlin", usePrefixAttributeValue=True) == [
        f"thing-{i}" for i in range(5)
    ]
    assert await names_for(attributeName="n") == [f"thing-{i}" for i in range(5)]
    # Filtered pages: the token continues after the last match.
    page = await things.list_things({"attributeName": "site", "attributeValue": "berlin-0", "maxResults": 2})
    assert [t["thingName"] for t in page["things"]] == ["thing-0", "thing-2"]
    rest = await things.list_things(
        {
            "attributeName": "site",
            "attributeValue": "berlin-0",
            "maxResults": 2,
            "nextToken": page["nextToken"],
        }
    )
    assert [t["thingName"] for t in rest["things"]] == ["thing-4"]
    assert "nextToken" not in rest
    await expect_error(
        things.list_things({"thingTypeName": "Bulb", "attributeName": "site", "attributeValue": "x"}),
        InvalidRequest,
        "Listing things by the combination of attribute and thing type is not supported",
    )
    await expect_error(things.list_things({"nextToken": "%%%"}), InvalidRequest)


async def test_events_and_change_notices(
    registry_context: RegistryContext, recorder: Recorder, things: Things, types: ThingTypes
) -> None:
    await things.create_thing({"thingName": "quiet"})
    assert events(recorder) == []  # registry events are off by default
    assert kinds(recorder) == [("thing", "quiet")]
    enable_all_events(registry_context)
    await types.create_thing_type({"thingTypeName": "Bulb"})
    recorder.events.clear()
    recorder.changes.clear()
    created = await things.create_thing(
        {"thingName": "t", "thingTypeName": "Bulb", "attributePayload": {"attributes": {"a": "1"}}}
    )
    await things.update_thing({"thingName": "t", "removeThingType": True})
    await things.delete_thing({"thingName": "t"})
    published = events(recorder)
    assert [topic for topic, _ in published] == [
        "$aws/events/thing/t/created",
        "$aws/events/thingTypeAssociation/thing/t/Bulb",
        "$aws/events/thing/t/updated",
        "$aws/events/thingTypeAssociation/thing/t/Bulb",
        "$aws/events/thing/t/deleted",
    ]
    body = published[0][1]
    assert len(body.pop("eventId")) == 32
    assert isinstance(body.pop("timestamp"), int)
    assert body == {
        "eventType": "THING_EVENT",
        "operation": "CREATED",
        "accountId": ACCOUNT,
        "thingId": created["thingId"],
        "thingName": "t",
        "versionNumber": 1,
        "thingTypeName": "Bulb",
        "attributes": {"a": "1"},
    }
    association = published[1][1]
    assert {k: association[k] for k in ("eventType", "operation", "thingName", "thingTypeName")} == {
        "eventType": "THING_TYPE_ASSOCIATION_EVENT",
        "operation": "CREATED",
        "thingName": "t",
        "thingTypeName": "Bulb",
    }
    assert "accountId" not in association
    assert published[2][1]["versionNumber"] == 2
    assert published[2][1]["thingTypeName"] is None
    assert published[3][1]["operation"] == "DELETED"
    assert published[4][1]["operation"] == "DELETED"
    assert kinds(recorder) == [("thing", "t")] * 3
    # A failed operation announces nothing.
    recorder.events.clear()
    await expect_error(things.update_thing({"thingName": "gone"}), ResourceNotFound)
    assert events(recorder) == []
