"""Thing groups through a real `corral serve` on SQLite and on PostgreSQL, driven by the aws CLI and boto3:
UpdateThingGroup (expectedVersion, attribute merge), DeleteThingGroup, ListThingGroupsForThing and the
paging of ListThingsInThingGroup.

Lists are in byte order of their names on both stores (Corral's choice; AWS documents no order), which the
mixed-case names below would break under a locale's collation.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import server_per_store
from tests.harness import RunningServer
from tests.registry.e2e_support import Cli


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningServer]:
    """One server per store for the whole module (each test uses names of its own)."""
    yield from server_per_store(request, tmp_path_factory, "groups")


@pytest.fixture(scope="module")
def iot(server: RunningServer) -> Any:
    return server.iot()


@pytest.fixture(scope="module")
def cli(server: RunningServer) -> Cli:
    return Cli(server)


def test_update_thing_group_merges_or_replaces_attributes_under_expected_version(cli: Cli) -> None:
    cli(
        "create-thing-group", "--thing-group-name", "upd",
        "--thing-group-properties",
        json.dumps({"thingGroupDescription": "first floor",
                    "attributePayload": {"attributes": {"floor": "1", "wing": "east"}}}),
    )  # fmt: skip
    assert cli("describe-thing-group", "--thing-group-name", "upd")["version"] == 1

    merged = cli(
        "update-thing-group", "--thing-group-name", "upd", "--expected-version", "1",
        "--thing-group-properties",
        json.dumps({"attributePayload": {"attributes": {"wing": "", "rooms": "12"}, "merge": True}}),
    )  # fmt: skip
    assert merged == {"version": 2}
    described = cli("describe-thing-group", "--thing-group-name", "upd")
    assert described["version"] == 2
    assert described["thingGroupProperties"] == {
        "thingGroupDescription": "first floor",  # left out of the update: unchanged
        "attributePayload": {"attributes": {"floor": "1", "rooms": "12"}},  # "" removed wing
    }

    replaced = cli(
        "update-thing-group", "--thing-group-name", "upd", "--expected-version", "2",
        "--thing-group-properties",
        json.dumps({"thingGroupDescription": "second floor",
                    "attributePayload": {"attributes": {"floor": "2"}}}),
    )  # fmt: skip
    assert replaced == {"version": 3}
    described = cli("describe-thing-group", "--thing-group-name", "upd")
    assert described["thingGroupProperties"] == {
        "thingGroupDescription": "second floor",
        "attributePayload": {"attributes": {"floor": "2"}},  # merge absent: the map replaces all
    }

    stale = cli.run(
        "update-thing-group", "--thing-group-name", "upd", "--expected-version", "2",
        "--thing-group-properties", json.dumps({"attributePayload": {"attributes": {"floor": "3"}}}),
    )  # fmt: skip
    assert stale.returncode == 255
    assert "(VersionConflictException) when calling the UpdateThingGroup operation" in stale.stderr
    unchanged = cli("describe-thing-group", "--thing-group-name", "upd")
    assert unchanged["version"] == 3
    assert unchanged["thingGroupProperties"]["attributePayload"] == {"attributes": {"floor": "2"}}

    # Without expectedVersion the update always applies.
    assert cli("update-thing-group", "--thing-group-name", "upd", "--thing-group-properties", "{}") == {
        "version": 4
    }


def test_delete_thing_group_takes_its_memberships_policies_and_tags(iot: Any) -> None:
    iot.create_thing_group(thingGroupName="del-root")
    child = iot.create_thing_group(
        thingGroupName="del-leaf", parentGroupName="del-root", tags=[{"Key": "team", "Value": "ops"}]
    )
    iot.create_thing(thingName="del-member")
    iot.add_thing_to_thing_group(thingGroupName="del-leaf", thingName="del-member")
    iot.create_policy(
        policyName="del-policy",
        policyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "iot:*", "Resource": "*"}]}
        ),
    )
    iot.attach_policy(policyName="del-policy", target=child["thingGroupArn"])

    with pytest.raises(iot.exceptions.InvalidRequestException):
        iot.delete_thing_group(thingGroupName="del-root")  # it has a child
    with pytest.raises(iot.exceptions.VersionConflictException) as caught:
        iot.delete_thing_group(thingGroupName="del-leaf", expectedVersion=2)
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 409
    iot.describe_thing_group(thingGroupName="del-leaf")  # still there

    iot.delete_thing_group(thingGroupName="del-leaf", expectedVersion=1)  # a group with a thing can go
    with pytest.raises(iot.exceptions.ResourceNotFoundException):
        iot.describe_thing_group(thingGroupName="del-leaf")
    assert iot.describe_thing(thingName="del-member")["thingName"] == "del-member"
    assert iot.list_thing_groups_for_thing(thingName="del-member")["thingGroups"] == []
    assert iot.list_targets_for_policy(policyName="del-policy")["targets"] == []
    with pytest.raises(iot.exceptions.ResourceNotFoundException):
        iot.list_tags_for_resource(resourceArn=child["thingGroupArn"])
    assert iot.list_thing_groups(parentGroup="del-root")["thingGroups"] == []

    iot.delete_thing_group(thingGroupName="del-root")
    iot.delete_thing_group(thingGroupName="del-root")  # gone already: still a success, as on AWS
    names = [g["groupName"] for g in iot.list_thing_groups(namePrefixFilter="del-")["thingGroups"]]
    assert names == []

    # The name is free again, for a group with another parent.
    iot.create_thing_group(thingGroupName="del-leaf")
    assert "parentGroupName" not in iot.describe_thing_group(thingGroupName="del-leaf")["thingGroupMetadata"]


def test_list_thing_groups_for_thing_gives_the_direct_groups_in_pages(iot: Any, cli: Cli) -> None:
    """The direct groups only (Corral's reading of the API reference; docs/control-plane-facts.md §3)."""
    iot.create_thing(thingName="member-of-many")
    arns: dict[str, str] = {}
    for name in ("lg-Zeta", "lg-alpha", "lg-Beta", "lg-1"):
        arns[name] = iot.create_thing_group(thingGroupName=name)["thingGroupArn"]
        iot.add_thing_to_thing_group(thingGroupName=name, thingName="member-of-many")
    arns["lg-alpha-child"] = iot.create_thing_group(
        thingGroupName="lg-alpha-child", parentGroupName="lg-alpha"
    )["thingGroupArn"]
    expected = [{"groupName": n, "groupArn": arns[n]} for n in ("lg-1", "lg-Beta", "lg-Zeta", "lg-alpha")]

    first = iot.list_thing_groups_for_thing(thingName="member-of-many", maxResults=3)
    assert first["thingGroups"] == expected[:3] and first["nextToken"]
    second = iot.list_thing_groups_for_thing(
        thingName="member-of-many", maxResults=3, nextToken=first["nextToken"]
    )
    assert second["thingGroups"] == expected[3:] and "nextToken" not in second

    pages = iot.get_paginator("list_thing_groups_for_thing").paginate(
        thingName="member-of-many", PaginationConfig={"PageSize": 1}
    )
    assert [page["thingGroups"] for page in pages] == [[group] for group in expected]

    listed = cli("list-thing-groups-for-thing", "--thing-name", "member-of-many", "--page-size", "2")
    assert listed["thingGroups"] == expected

    iot.remove_thing_from_thing_group(thingGroupName="lg-Beta", thingName="member-of-many")
    listed = cli("list-thing-groups-for-thing", "--thing-name", "member-of-many")
    assert [g["groupName"] for g in listed["thingGroups"]] == ["lg-1", "lg-Zeta", "lg-alpha"]


def test_list_things_in_thing_group_pages_by_name(iot: Any, cli: Cli) -> None:
    iot.create_thing_group(thingGroupName="paged")
    iot.create_thing_group(thingGroupName="paged-child", parentGroupName="paged")
    names = ["pg-b", "pg-A", "pg-10", "pg-2", "pg_x", "pg-a", "pg-B"]
    for name in names:
        iot.create_thing(thingName=name)
        iot.add_thing_to_thing_group(thingGroupName="paged", thingName=name)
    iot.create_thing(thingName="pg-deep")
    iot.add_thing_to_thing_group(thingGroupName="paged-child", thingName="pg-deep")
    in_order = sorted(names)  # byte order: "-" < digits < upper case < "_" < lower case
    assert in_order == ["pg-10", "pg-2", "pg-A", "pg-B", "pg-a", "pg-b", "pg_x"]

    pages = list(
        iot.get_paginator("list_things_in_thing_group").paginate(
            thingGroupName="paged", PaginationConfig={"PageSize": 3}
        )
    )
    assert [page["things"] for page in pages] == [in_order[0:3], in_order[3:6], in_order[6:]]
    assert [bool(page.get("nextToken")) for page in pages] == [True, True, False]

    # A token stays good while things come and go: the next page starts after the last name returned.
    first = iot.list_things_in_thing_group(thingGroupName="paged", maxResults=2)
    assert first["things"] == in_order[:2]
    iot.remove_thing_from_thing_group(thingGroupName="paged", thingName="pg-A")
    rest = iot.list_things_in_thing_group(thingGroupName="paged", nextToken=first["nextToken"])
    assert rest["things"] == ["pg-B", "pg-a", "pg-b", "pg_x"] and "nextToken" not in rest
    iot.add_thing_to_thing_group(thingGroupName="paged", thingName="pg-A")

    recursive = iot.list_things_in_thing_group(thingGroupName="paged", recursive=True, maxResults=250)
    assert recursive["things"] == sorted([*names, "pg-deep"])

    # The CLI follows the tokens itself; --max-items stops it and prints a token to go on from.
    assert (
        cli("list-things-in-thing-group", "--thing-group-name", "paged", "--page-size", "2")["things"]
        == in_order
    )
    head = cli("list-things-in-thing-group", "--thing-group-name", "paged", "--max-items", "4")
    assert head["things"] == in_order[:4] and head["NextToken"]
    tail = cli(
        "list-things-in-thing-group", "--thing-group-name", "paged", "--starting-token", head["NextToken"]
    )
    assert tail["things"] == in_order[4:]
