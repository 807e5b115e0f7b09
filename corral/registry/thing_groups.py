"""Thing groups: CreateThingGroup, DescribeThingGroup, UpdateThingGroup, DeleteThingGroup, ListThingGroups.

(Membership operations are in :mod:`corral.registry.thing_group_members`.)

Invariants (docs/control-plane-facts.md §3):

- A group's parent is set at creation and never changes; the hierarchy is at most 7 levels deep and a group
  has at most 100 direct children.
- A group's ``version`` is 1 at creation and goes up by one on every UpdateThingGroup; an
  ``expectedVersion`` that differs is a VersionConflictException.
- A group with child groups cannot be deleted; one with things can (the things leave it).
- At most 50 attributes per group; no attribute value is empty.

Changes publish ``THING_GROUP`` events on ``$aws/events/thingGroup/{name}/created|updated|deleted`` and, for
a group with a parent, ``THING_GROUP_HIERARCHY`` on
``$aws/events/thingGroupHierarchy/thingGroup/{parent}/childThingGroup/{name}/added|removed`` (added at
creation, removed at deletion). Deleting a group announces ``Change("thing_group", name)``: its members lose
the policies it granted.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any, Final

from sqlalchemy import Row, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from corral.registry.context import RegistryContext
from corral.registry.errors import InvalidRequest, ResourceAlreadyExists, ResourceNotFound, VersionConflict
from corral.registry.tags import delete_tags, insert_tags
from corral.registry.thing_common import (
    GROUP_ATTRIBUTES,
    Input,
    Output,
    find_group,
    keyset_page,
    new_attributes,
    require_group,
    to_datetime,
    updated_attributes,
)
from corral.store.schema import epoch_now, policy_targets, thing_group_members, thing_groups

MAX_DEPTH: Final = 7
MAX_CHILDREN: Final = 100


async def ancestors(conn: AsyncConnection, context: RegistryContext, parent: str | None) -> list[Row[Any]]:
    """The groups from the root down to ``parent`` (inclusive); empty for a root group."""
    chain: list[Row[Any]] = []
    while parent is not None and len(chain) <= MAX_DEPTH:
        row = await find_group(conn, context, parent)
        if row is None:
            break
        chain.append(row)
        parent = row.parent_group_name
    return chain[::-1]


async def parents(conn: AsyncConnection, context: RegistryContext) -> dict[str, str | None]:
    """Every group of the account and its parent."""
    groups = thing_groups.c
    rows = await conn.execute(
        select(groups.group_name, groups.parent_group_name).where(groups.account_id == context.account_id)
    )
    return {name: parent for name, parent in rows.all()}


def descendants(parent_of: Mapping[str, str | None], group: str) -> set[str]:
    """The groups below ``group`` at every level (not ``group`` itself)."""
    children: dict[str, list[str]] = {}
    for name, parent in parent_of.items():
        if parent is not None:
            children.setdefault(parent, []).append(name)
    found: set[str] = set()
    todo = list(children.get(group, []))
    while todo:
        name = todo.pop()
        if name not in found:
            found.add(name)
            todo.extend(children.get(name, []))
    return found


class ThingGroups:
    def __init__(self, context: RegistryContext) -> None:
        self.context = context

    async def create_thing_group(self, params: Input) -> Output:
        """Creates a group, or answers with the existing one when parent, description and attributes are the
        same.

        Unconfirmed: the conflict message (moto's, which says it copies AWS); an unknown parent is a
        ResourceNotFoundException; the depth and children limits' messages; ``tags`` are not compared.
        """
        name: str = params["thingGroupName"]
        parent: str | None = params.get("parentGroupName")
        props: Input = params.get("thingGroupProperties") or {}
        description: str | None = props.get("thingGroupDescription")
        attributes = new_attributes(props.get("attributePayload"))
        _check_attributes(name, attributes)
        async with self.context.store.begin() as conn:
            existing = await find_group(conn, self.context, name)
            if existing is not None:
                same = (existing.parent_group_name, existing.description, existing.attributes)
                if same == (parent, description, attributes):
                    return _created(existing._mapping)
                raise ResourceAlreadyExists(
                    f"Thing Group {name} already exists in current account with different properties",
                    resourceId=existing.group_id,
                    resourceArn=existing.group_arn,
                )
            chain = await self._check_parent(conn, name, parent)
            row: dict[str, Any] = {
                "account_id": self.context.account_id,
                "group_name": name,
                "group_id": str(uuid.uuid4()),
                "group_arn": self.context.arn(f"thinggroup/{name}"),
                "parent_group_name": parent,
                "description": description,
                "attributes": attributes,
                "version": 1,
                "created_at": epoch_now(),
            }
            await conn.execute(thing_groups.insert().values(**row))
            await insert_tags(conn, self.context, row["group_arn"], params.get("tags") or [])
        self._group_event(row, chain, "CREATED")
        if chain:
            self._hierarchy_event(chain[-1]._mapping, row, "ADDED")
        return _created(row)

    async def describe_thing_group(self, params: Input) -> Output:
        async with self.context.store.read() as conn:
            row = await require_group(conn, self.context, params["thingGroupName"])
            chain = await ancestors(conn, self.context, row.parent_group_name)
        properties: Output = {"attributePayload": {"attributes": dict(row.attributes)}}
        if row.description is not None:
            properties["thingGroupDescription"] = row.description
        metadata: Output = {"creationDate": to_datetime(row.created_at)}
        if row.parent_group_name is not None:
            metadata["parentGroupName"] = row.parent_group_name
            metadata["rootToParentThingGroups"] = [
                {"groupName": g.group_name, "groupArn": g.group_arn} for g in chain
            ]
        return {
            "thingGroupName": row.group_name,
            "thingGroupId": row.group_id,
            "thingGroupArn": row.group_arn,
            "version": row.version,
            "thingGroupProperties": properties,
            "thingGroupMetadata": metadata,
        }

    async def update_thing_group(self, params: Input) -> Output:
        """Changes the description (when given; ``""`` clears it) and the attributes (merge semantics as
        UpdateThing); answers with the new version."""
        name: str = params["thingGroupName"]
        props: Input = params.get("thingGroupProperties") or {}
        async with self.context.store.begin() as conn:
            current = await require_group(conn, self.context, name, for_update=True)
            _check_version(name, current.version, params.get("expectedVersion"))
            attributes = updated_attributes(current.attributes, props.get("attributePayload"))
            _check_attributes(name, attributes)
            values: dict[str, Any] = {"attributes": attributes, "version": current.version + 1}
            if "thingGroupDescription" in props:
                values["description"] = props["thingGroupDescription"] or None
            await conn.execute(update(thing_groups).where(*self._key(name)).values(**values))
            chain = await ancestors(conn, self.context, current.parent_group_name)
        self._group_event({**current._mapping, **values}, chain, "UPDATED")
        return {"version": values["version"]}

    async def delete_thing_group(self, params: Input) -> Output:
        """Deletes a group without children, with its memberships, tags and policy attachments; a group
        that does not exist is no error (as moto says AWS does)."""
        name: str = params["thingGroupName"]
        account = self.context.account_id
        async with self.context.store.begin() as conn:
            current = await find_group(conn, self.context, name, for_update=True)
            if current is None:
                return {}
            _check_version(name, current.version, params.get("expectedVersion"))
            groups = thing_groups.c
            children = await conn.scalar(
                select(func.count())
                .select_from(thing_groups)
                .where(groups.account_id == account, groups.parent_group_name == name)
            )
            if children:
                raise InvalidRequest(
                    f"Cannot delete thing group : {name} when there are still child groups attached to it."
                )
            chain = await ancestors(conn, self.context, current.parent_group_name)
            members = thing_group_members.c
            await conn.execute(
                delete(thing_group_members).where(members.account_id == account, members.group_name == name)
            )
            targets = policy_targets.c
            await conn.execute(
                delete(policy_targets).where(
                    targets.account_id == account, targets.target == current.group_arn
                )
            )
            await delete_tags(conn, self.context, current.group_arn)
            await conn.execute(delete(thing_groups).where(*self._key(name)))
        self.context.changed("thing_group", name)
        self._group_event(current._mapping, chain, "DELETED")
        if chain:
            self._hierarchy_event(chain[-1]._mapping, current._mapping, "REMOVED")
        return {}

    async def list_thing_groups(self, params: Input) -> Output:
        """Every group (``parentGroup`` absent), or ``parentGroup``'s children (``recursive``: its
        descendants at every level), optionally by name prefix; ordered by name."""
        groups = thing_groups.c
        stmt = select(thing_groups).where(groups.account_id == self.context.account_id)
        prefix: str | None = params.get("namePrefixFilter")
        if prefix:
            stmt = stmt.where(func.substr(groups.group_name, 1, len(prefix)) == prefix)
        parent: str | None = params.get("parentGroup")
        async with self.context.store.read() as conn:
            if parent is not None:
                await require_group(conn, self.context, parent)
                if params.get("recursive"):
                    below = descendants(await parents(conn, self.context), parent)
                    stmt = stmt.where(groups.group_name.in_(sorted(below)))
                else:
                    stmt = stmt.where(groups.parent_group_name == parent)
            rows, token = await keyset_page(conn, stmt, groups.group_name, params)
        out: Output = {"thingGroups": [{"groupName": r.group_name, "groupArn": r.group_arn} for r in rows]}
        if token is not None:
            out["nextToken"] = token
        return out

    # -- helpers ---------------------------------------------------------------------------------------------

    def _key(self, name: str) -> tuple[Any, ...]:
        return (thing_groups.c.account_id == self.context.account_id, thing_groups.c.group_name == name)

    async def _check_parent(self, conn: AsyncConnection, name: str, parent: str | None) -> list[Row[Any]]:
        """The new group's ancestors, root first, once the parent is known to exist and to have room."""
        if parent is None:
            return []
        if await find_group(conn, self.context, parent) is None:
            raise ResourceNotFound(f"Thing Group {parent} does not exist")
        chain = await ancestors(conn, self.context, parent)
        if len(chain) >= MAX_DEPTH:
            raise InvalidRequest(
                f"Cannot create thing group {name}: a thing group hierarchy can be at most {MAX_DEPTH} "
                "levels deep"
            )
        groups = thing_groups.c
        children = await conn.scalar(
            select(func.count())
            .select_from(thing_groups)
            .where(groups.account_id == self.context.account_id, groups.parent_group_name == parent)
        )
        if children is not None and children >= MAX_CHILDREN:
            raise InvalidRequest(
                f"Cannot create thing group {name}: thing group {parent} already has {MAX_CHILDREN} child "
                "groups"
            )
        return chain

    def _group_event(self, row: Mapping[Any, Any], chain: list[Row[Any]], operation: str) -> None:
        name = row["group_name"]
        parent = chain[-1] if chain else None
        self.context.publish_event(
            "THING_GROUP",
            f"$aws/events/thingGroup/{name}/{operation.lower()}",
            {
                "eventType": "THING_GROUP_EVENT",
                "operation": operation,
                "accountId": self.context.account_id,
                "thingGroupId": row["group_id"],
                "thingGroupName": name,
                "versionNumber": row["version"],
                "parentGroupName": None if parent is None else parent.group_name,
                "parentGroupId": None if parent is None else parent.group_id,
                "description": row["description"],
                "rootToParentThingGroups": [{"groupArn": g.group_arn, "groupId": g.group_id} for g in chain]
                or None,
                "attributes": dict(row["attributes"]),
                "dynamicGroupMappingId": None,
            },
        )

    def _hierarchy_event(self, parent: Mapping[Any, Any], child: Mapping[Any, Any], operation: str) -> None:
        self.context.publish_event(
            "THING_GROUP_HIERARCHY",
            f"$aws/events/thingGroupHierarchy/thingGroup/{parent['group_name']}"
            f"/childThingGroup/{child['group_name']}/{operation.lower()}",
            {
                "eventType": "THING_GROUP_HIERARCHY_EVENT",
                "operation": operation,
                "accountId": self.context.account_id,
                "thingGroupId": parent["group_id"],
                "thingGroupName": parent["group_name"],
                "childGroupId": child["group_id"],
                "childGroupName": child["group_name"],
            },
        )


def _check_attributes(name: str, attributes: Mapping[str, str]) -> None:
    if len(attributes) > GROUP_ATTRIBUTES:
        raise InvalidRequest(f"Thing group {name} cannot have more than {GROUP_ATTRIBUTES} attributes")


def _check_version(name: str, version: int, expected: int | None) -> None:
    if expected is not None and int(expected) != version:
        raise VersionConflict(f"The version for thing group {name} does not match the expected version.")


def _created(row: Mapping[Any, Any]) -> Output:
    return {
        "thingGroupName": row["group_name"],
        "thingGroupArn": row["group_arn"],
        "thingGroupId": row["group_id"],
    }
