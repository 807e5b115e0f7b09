from __future__ import annotations

import pytest

from corral.registry.context import RegistryContext
from corral.registry.errors import InvalidRequest, LimitExceeded, ResourceNotFound
from corral.registry.tags import Tags
from corral.registry.thing_groups import ThingGroups
from corral.registry.thing_types import ThingTypes
from corral.registry.things import Things
from tests.registry.thing_support import expect_error, insert_ca, insert_certificate, insert_policy


@pytest.fixture
def tags(registry_context: RegistryContext) -> Tags:
    return Tags(registry_context)


async def test_tag_every_taggable_kind(registry_context: RegistryContext, tags: Tags) -> None:
    thing = (await Things(registry_context).create_thing({"thingName": "t"}))["thingArn"]
    thing_type = (await ThingTypes(registry_context).create_thing_type({"thingTypeName": "T"}))[
        "thingTypeArn"
    ]
    group = (await ThingGroups(registry_context).create_thing_group({"thingGroupName": "G"}))["thingGroupArn"]
    policy = await insert_policy(registry_context, "P")
    ca = await insert_ca(registry_context)
    for arn in (thing, thing_type, group, policy, ca):
        await tags.tag_resource({"resourceArn": arn, "tags": [{"Key": "b", "Value": "2"}, {"Key": "a"}]})
        await tags.tag_resource(
            {"resourceArn": arn, "tags": [{"Key": "b", "Value": "3"}, {"Key": "B", "Value": ""}]}
        )
        assert await tags.list_tags_for_resource({"resourceArn": arn}) == {
            "tags": [{"Key": "B", "Value": ""}, {"Key": "a", "Value": ""}, {"Key": "b", "Value": "3"}]
        }
        await tags.untag_resource({"resourceArn": arn, "tagKeys": ["a", "B", "missing"]})
        assert await tags.list_tags_for_resource({"resourceArn": arn}) == {
            "tags": [{"Key": "b", "Value": "3"}]
        }
    # Tags belong to one resource each.
    await tags.untag_resource({"resourceArn": thing, "tagKeys": ["b"]})
    assert await tags.list_tags_for_resource({"resourceArn": thing}) == {"tags": []}
    assert (await tags.list_tags_for_resource({"resourceArn": group}))["tags"] == [{"Key": "b", "Value": "3"}]


async def test_errors_and_limits(registry_context: RegistryContext, tags: Tags) -> None:
    missing = registry_context.arn("thing/ghost")
    await expect_error(
        tags.tag_resource({"resourceArn": missing, "tags": [{"Key": "k"}]}),
        ResourceNotFound,
        f"The resource {missing} does not exist",
    )
    await expect_error(tags.list_tags_for_resource({"resourceArn": missing}), ResourceNotFound)
    await expect_error(tags.untag_resource({"resourceArn": missing, "tagKeys": ["k"]}), ResourceNotFound)
    cert = await insert_certificate(registry_context)
    await expect_error(
        tags.tag_resource({"resourceArn": cert, "tags": [{"Key": "k"}]}),
        InvalidRequest,
        f"Tagging is not supported for the resource {cert}",
    )
    await expect_error(tags.list_tags_for_resource({"resourceArn": "not-an-arn"}), InvalidRequest)
    thing = (await Things(registry_context).create_thing({"thingName": "t"}))["thingArn"]
    await expect_error(
        tags.tag_resource({"resourceArn": thing.replace("us-east-1", "eu-west-1"), "tags": [{"Key": "k"}]}),
        ResourceNotFound,
    )
    await expect_error(
        tags.tag_resource({"resourceArn": thing, "tags": [{"Key": "aws:owner", "Value": "x"}]}),
        InvalidRequest,
    )
    await tags.tag_resource(
        {"resourceArn": thing, "tags": [{"Key": f"k{i:02}", "Value": "v"} for i in range(49)]}
    )
    await tags.tag_resource({"resourceArn": thing, "tags": [{"Key": "k00", "Value": "w"}, {"Key": "last"}]})
    await expect_error(
        tags.tag_resource({"resourceArn": thing, "tags": [{"Key": "one-too-many"}]}),
        LimitExceeded,
        "A resource can have at most 50 tags",
    )
    listed = await tags.list_tags_for_resource({"resourceArn": thing})
    assert len(listed["tags"]) == 50
    assert "nextToken" not in listed
    assert listed["tags"][0] == {"Key": "k00", "Value": "w"}
