from __future__ import annotations

from datetime import UTC, datetime

from corral.registry.context import RegistryContext
from corral.registry.errors import InvalidRequest, ResourceAlreadyExists, ResourceNotFound
from corral.registry.tags import Tags
from corral.registry.thing_types import ThingTypes
from corral.registry.things import Things
from tests.registry.conftest import ACCOUNT, REGION, Recorder
from tests.registry.thing_support import enable_all_events, events, expect_error, kinds

ARN = f"arn:aws:iot:{REGION}:{ACCOUNT}:thingtype/"


async def test_create_describe_list(registry_context: RegistryContext) -> None:
    types = ThingTypes(registry_context)
    props = {"thingTypeDescription": "A light bulb", "searchableAttributes": ["wattage", "model"]}
    before = datetime.now(UTC)
    created = await types.create_thing_type(
        {"thingTypeName": "Bulb", "thingTypeProperties": props, "tags": [{"Key": "team", "Value": "home"}]}
    )
    assert created["thingTypeName"] == "Bulb"
    assert created["thingTypeArn"] == ARN + "Bulb"
    assert await types.create_thing_type({"thingTypeName": "Bulb", "thingTypeProperties": props}) == created
    await expect_error(
        types.create_thing_type({"thingTypeName": "Bulb"}),
        ResourceAlreadyExists,
        "Thing Type Bulb already exists in current account with different properties",
    )
    described = await types.describe_thing_type({"thingTypeName": "Bulb"})
    metadata = described.pop("thingTypeMetadata")
    assert described == {
        "thingTypeName": "Bulb",
        "thingTypeId": created["thingTypeId"],
        "thingTypeArn": ARN + "Bulb",
        "thingTypeProperties": props,
    }
    assert metadata["deprecated"] is False
    assert "deprecationDate" not in metadata
    assert before <= metadata["creationDate"] <= datetime.now(UTC)
    assert metadata["creationDate"].tzinfo is not None
    tags = await Tags(registry_context).list_tags_for_resource({"resourceArn": ARN + "Bulb"})
    assert tags == {"tags": [{"Key": "team", "Value": "home"}]}
    await expect_error(
        types.create_thing_type(
            {"thingTypeName": "Many", "thingTypeProperties": {"searchableAttributes": ["a", "b", "c", "d"]}}
        ),
        InvalidRequest,
    )
    await expect_error(
        types.describe_thing_type({"thingTypeName": "Nope"}),
        ResourceNotFound,
        "Thing type Nope does not exist",
    )
    for name in ("Bulb2", "Switch", "Bulbous"):
        await types.create_thing_type({"thingTypeName": name})
    listed = await types.list_thing_types({})
    assert [t["thingTypeName"] for t in listed["thingTypes"]] == ["Bulb", "Bulb2", "Bulbous", "Switch"]
    assert "thingTypeId" not in listed["thingTypes"][0]
    assert listed["thingTypes"][0]["thingTypeProperties"] == props
    assert listed["thingTypes"][1]["thingTypeProperties"] == {"searchableAttributes": []}
    page = await types.list_thing_types({"thingTypeName": "Bulb", "maxResults": 2})
    assert [t["thingTypeName"] for t in page["thingTypes"]] == ["Bulb", "Bulb2"]
    rest = await types.list_thing_types({"thingTypeName": "Bulb", "nextToken": page["nextToken"]})
    assert [t["thingTypeName"] for t in rest["thingTypes"]] == ["Bulbous"]
    assert "nextToken" not in rest


async def test_deprecate_and_undo(registry_context: RegistryContext, recorder: Recorder) -> None:
    enable_all_events(registry_context)
    types = ThingTypes(registry_context)
    created = await types.create_thing_type(
        {"thingTypeName": "Bulb", "thingTypeProperties": {"searchableAttributes": ["w"]}}
    )
    await types.deprecate_thing_type({"thingTypeName": "Bulb"})
    metadata = (await types.describe_thing_type({"thingTypeName": "Bulb"}))["thingTypeMetadata"]
    assert metadata["deprecated"] is True
    assert metadata["deprecationDate"] >= metadata["creationDate"]
    await types.deprecate_thing_type({"thingTypeName": "Bulb"})  # again: keeps the first date
    again = (await types.describe_thing_type({"thingTypeName": "Bulb"}))["thingTypeMetadata"]
    assert again["deprecationDate"] == metadata["deprecationDate"]
    await types.deprecate_thing_type({"thingTypeName": "Bulb", "undoDeprecate": True})
    metadata = (await types.describe_thing_type({"thingTypeName": "Bulb"}))["thingTypeMetadata"]
    assert metadata["deprecated"] is False
    assert "deprecationDate" not in metadata
    await Things(registry_context).create_thing({"thingName": "t", "thingTypeName": "Bulb"})
    await expect_error(types.deprecate_thing_type({"thingTypeName": "Nope"}), ResourceNotFound)
    published = events(recorder, "$aws/events/thingType/")
    assert [topic for topic, _ in published] == [
        "$aws/events/thingType/Bulb/created",
        "$aws/events/thingType/Bulb/updated",
        "$aws/events/thingType/Bulb/updated",
        "$aws/events/thingType/Bulb/updated",
    ]
    body = published[1][1]
    assert body["eventType"] == "THING_TYPE_EVENT"
    assert isinstance(body["deprecationDate"], int)
    del body["eventId"], body["timestamp"], body["deprecationDate"]
    assert body == {
        "eventType": "THING_TYPE_EVENT",
        "operation": "UPDATED",
        "accountId": ACCOUNT,
        "thingTypeId": created["thingTypeId"],
        "thingTypeName": "Bulb",
        "isDeprecated": True,
        "searchableAttributes": ["w"],
        "description": None,
    }
    assert published[3][1]["isDeprecated"] is False
    assert published[3][1]["deprecationDate"] is None
    assert kinds(recorder) == [("thing", "t")]  # type changes themselves announce nothing


async def test_delete_rules(registry_context: RegistryContext, recorder: Recorder) -> None:
    patient = ThingTypes(registry_context)  # AWS's 5 minutes
    await patient.create_thing_type({"thingTypeName": "Bulb"})
    await expect_error(
        patient.delete_thing_type({"thingTypeName": "Bulb"}),
        InvalidRequest,
        "Cannot delete thing type : Bulb. Please deprecate the thing type before deletion",
    )
    await patient.deprecate_thing_type({"thingTypeName": "Bulb"})
    await expect_error(
        patient.delete_thing_type({"thingTypeName": "Bulb"}),
        InvalidRequest,
        "Cannot delete thing type : Bulb. Please wait for 5 minutes after deprecation and then retry",
    )
    types = ThingTypes(registry_context, deprecation_wait_seconds=0)
    things = Things(registry_context)
    await types.deprecate_thing_type({"thingTypeName": "Bulb", "undoDeprecate": True})
    await things.create_thing({"thingName": "t", "thingTypeName": "Bulb"})
    await types.deprecate_thing_type({"thingTypeName": "Bulb"})
    await expect_error(
        types.delete_thing_type({"thingTypeName": "Bulb"}),
        InvalidRequest,
        "Cannot delete thing type : Bulb. There are still things associated with it",
    )
    await things.update_thing({"thingName": "t", "removeThingType": True})
    await Tags(registry_context).tag_resource({"resourceArn": ARN + "Bulb", "tags": [{"Key": "k"}]})
    enable_all_events(registry_context)
    await types.delete_thing_type({"thingTypeName": "Bulb"})
    await expect_error(types.describe_thing_type({"thingTypeName": "Bulb"}), ResourceNotFound)
    await expect_error(types.delete_thing_type({"thingTypeName": "Bulb"}), ResourceNotFound)
    assert [topic for topic, _ in events(recorder)] == ["$aws/events/thingType/Bulb/deleted"]
    # Its tags went with it: a new type of the same name has none.
    await types.create_thing_type({"thingTypeName": "Bulb"})
    assert await Tags(registry_context).list_tags_for_resource({"resourceArn": ARN + "Bulb"}) == {"tags": []}


PROPAGATING = [
    {"userPropertyKey": "serial", "thingAttribute": "serialNumber"},
    {"userPropertyKey": "iot:ClientId", "connectionAttribute": "iot:ClientId"},
]


async def test_mqtt5_configuration_on_create(registry_context: RegistryContext) -> None:
    types = ThingTypes(registry_context)
    props = {
        "searchableAttributes": ["serialNumber"],
        "mqtt5Configuration": {"propagatingAttributes": PROPAGATING},
    }
    created = await types.create_thing_type({"thingTypeName": "Sensor", "thingTypeProperties": props})
    described = await types.describe_thing_type({"thingTypeName": "Sensor"})
    assert described["thingTypeProperties"] == props
    listed = await types.list_thing_types({})
    assert listed["thingTypes"][0]["thingTypeProperties"] == props
    # The same configuration again is the same type; another one is a conflict.
    assert await types.create_thing_type({"thingTypeName": "Sensor", "thingTypeProperties": props}) == created
    other = {**props, "mqtt5Configuration": {"propagatingAttributes": PROPAGATING[:1]}}
    await expect_error(
        types.create_thing_type({"thingTypeName": "Sensor", "thingTypeProperties": other}),
        ResourceAlreadyExists,
        "Thing Type Sensor already exists in current account with different properties",
    )
    # An empty list is no configuration at all.
    await types.create_thing_type(
        {
            "thingTypeName": "Plain",
            "thingTypeProperties": {"mqtt5Configuration": {"propagatingAttributes": []}},
        }
    )
    plain = await types.describe_thing_type({"thingTypeName": "Plain"})
    assert plain["thingTypeProperties"] == {"searchableAttributes": []}


async def test_update_thing_type(registry_context: RegistryContext, recorder: Recorder) -> None:
    types = ThingTypes(registry_context)
    await types.create_thing_type(
        {
            "thingTypeName": "Sensor",
            "thingTypeProperties": {"thingTypeDescription": "d", "searchableAttributes": ["a"]},
        }
    )
    enable_all_events(registry_context)
    mqtt5 = {"propagatingAttributes": PROPAGATING}
    assert (
        await types.update_thing_type(
            {"thingTypeName": "Sensor", "thingTypeProperties": {"mqtt5Configuration": mqtt5}}
        )
        == {}
    )
    described = await types.describe_thing_type({"thingTypeName": "Sensor"})
    assert described["thingTypeProperties"] == {
        "thingTypeDescription": "d",
        "searchableAttributes": ["a"],
        "mqtt5Configuration": mqtt5,
    }
    # Replaced as a whole, then removed by an empty list.
    swapped = {
        "propagatingAttributes": [{"userPropertyKey": "name", "connectionAttribute": "iot:Thing.ThingName"}]
    }
    await types.update_thing_type(
        {"thingTypeName": "Sensor", "thingTypeProperties": {"mqtt5Configuration": swapped}}
    )
    listed = (await types.list_thing_types({}))["thingTypes"][0]
    assert listed["thingTypeProperties"]["mqtt5Configuration"] == swapped
    await types.update_thing_type(
        {
            "thingTypeName": "Sensor",
            "thingTypeProperties": {"mqtt5Configuration": {"propagatingAttributes": []}},
        }
    )
    described = await types.describe_thing_type({"thingTypeName": "Sensor"})
    assert "mqtt5Configuration" not in described["thingTypeProperties"]
    # Nothing to change: no event.
    await types.update_thing_type({"thingTypeName": "Sensor", "thingTypeProperties": {}})
    await types.update_thing_type({"thingTypeName": "Sensor"})
    assert [topic for topic, _ in events(recorder)] == ["$aws/events/thingType/Sensor/updated"] * 3
    # AWS's rule: only mqtt5Configuration changes, even alongside it.
    for props in (
        {"searchableAttributes": ["a", "b"]},
        {"thingTypeDescription": "d"},
        {"thingTypeDescription": "new", "mqtt5Configuration": mqtt5},
    ):
        await expect_error(
            types.update_thing_type({"thingTypeName": "Sensor", "thingTypeProperties": props}),
            InvalidRequest,
            "Can only update mqtt5Configuration.",
        )
    await expect_error(
        types.update_thing_type(
            {"thingTypeName": "Nope", "thingTypeProperties": {"mqtt5Configuration": mqtt5}}
        ),
        ResourceNotFound,
        "Thing type Nope does not exist",
    )
    # A deprecated type can still be updated.
    await types.deprecate_thing_type({"thingTypeName": "Sensor"})
    await types.update_thing_type(
        {"thingTypeName": "Sensor", "thingTypeProperties": {"mqtt5Configuration": mqtt5}}
    )
    described = await types.describe_thing_type({"thingTypeName": "Sensor"})
    assert described["thingTypeProperties"]["mqtt5Configuration"] == mqtt5
    assert described["thingTypeMetadata"]["deprecated"] is True


async def test_propagating_attributes_are_validated(registry_context: RegistryContext) -> None:
    types = ThingTypes(registry_context)
    await types.create_thing_type({"thingTypeName": "Sensor"})
    bad = [
        ([{"thingAttribute": "serial"}], "A propagating attribute must have a userPropertyKey"),
        (
            [{"userPropertyKey": "k"}],
            "The propagating attribute k must have either a thingAttribute or a connectionAttribute",
        ),
        (
            [{"userPropertyKey": "k", "thingAttribute": "a", "connectionAttribute": "iot:ClientId"}],
            "The propagating attribute k must have either a thingAttribute or a connectionAttribute",
        ),
        (
            [{"userPropertyKey": "k", "connectionAttribute": "iot:SourceIp"}],
            "Invalid connectionAttribute iot:SourceIp: it must be one of iot:ClientId, iot:Thing.ThingName",
        ),
        (
            [
                {"userPropertyKey": "k", "thingAttribute": "a"},
                {"userPropertyKey": "k", "thingAttribute": "b"},
            ],
            "The userPropertyKey k is given more than once",
        ),
    ]
    for attributes, message in bad:
        mqtt5 = {"propagatingAttributes": attributes}
        await expect_error(
            types.update_thing_type(
                {"thingTypeName": "Sensor", "thingTypeProperties": {"mqtt5Configuration": mqtt5}}
            ),
            InvalidRequest,
            message,
        )
        await expect_error(
            types.create_thing_type(
                {"thingTypeName": "Other", "thingTypeProperties": {"mqtt5Configuration": mqtt5}}
            ),
            InvalidRequest,
            message,
        )
    await expect_error(types.describe_thing_type({"thingTypeName": "Other"}), ResourceNotFound)
    described = await types.describe_thing_type({"thingTypeName": "Sensor"})
    assert described["thingTypeProperties"] == {"searchableAttributes": []}
