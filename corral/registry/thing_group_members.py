"""Thing group membership: AddThingToThingGroup, RemoveThingFromThingGroup, UpdateThingGroupsForThing,
ListThingsInThingGroup, ListThingGroupsForThing.

Invariants (docs/control-plane-facts.md §3): a thing belongs to at most 10 groups, and to at most one group
of a hierarchy (two groups are in the same hierarchy when they have the same root group). Adding a member
again or removing a non-member is a no-op.

Every membership change announces ``Change("thing_group", group)`` (a group's policies apply to its things'
certificates) and publishes ``THING_GROUP_MEMBERSHIP`` on
``$aws/events/thingGroupMembership/thingGroup/{group}/thing/{thing}/added|removed``. The store keeps no
membership id, so the event's ``membershipId`` is a UUID derived from the group's and the thing's ids: the
same for every event about one membership.
"""

from __future__ import annotations

import uuid
from typing import Any, Final

from sqlalchemy import Row, delete, select
from sqlalchemy.ext.asyncio import AsyncConnection

from corral.registry.context import RegistryContext
from corral.registry.errors import InvalidRequest
from corral.registry.thing_common import (
    Input,
    Output,
    keyset_page,
    name_from_arn,
    require_group,
    require_thing,
)
from corral.registry.thing_groups import descendants, parents
from corral.store.schema import thing_group_members, thing_groups

MAX_GROUPS_PER_THING: Final = 10
_MEMBERSHIP_NAMESPACE: Final = uuid.UUID("0b6b8a38-52c5-4d55-9a43-2f1a6a4a9e41")

# A membership change made in a transaction, published once it commits: (operation, group row, thing row).
_Pending = tuple[str, Row[Any], Row[Any]]


class ThingGroupMembers:
    def __init__(self, context: RegistryContext) -> None:
        self.context = context

    async def add_thing_to_thing_group(self, params: Input) -> Output:
        """Unconfirmed: the messages of the 10-group and one-group-per-hierarchy limits
        (InvalidRequestException); ``overrideDynamicGroups`` is ignored (Corral has no dynamic groups)."""
        group_name = self._group_name(params)
        thing_name = self._thing_name(params)
        async with self.context.store.begin() as conn:
            pending = await self._add(conn, thing_name, group_name)
        self._announce(pending)
        return {}

    async def remove_thing_from_thing_group(self, params: Input) -> Output:
        group_name = self._group_name(params)
        thing_name = self._thing_name(params)
        async with self.context.store.begin() as conn:
            pending = await self._remove(conn, thing_name, group_name)
        self._announce(pending)
        return {}

    async def update_thing_groups_for_thing(self, params: Input) -> Output:
        """Removes, then adds, in one transaction: any failure changes nothing."""
        thing_name: str | None = params.get("thingName")
        if not thing_name:
            raise InvalidRequest("thingName is required")
        pending: list[_Pending] = []
        async with self.context.store.begin() as conn:
            for group_name in params.get("thingGroupsToRemove") or []:
                pending += await self._remove(conn, thing_name, group_name)
            for group_name in params.get("thingGroupsToAdd") or []:
                pending += await self._add(conn, thing_name, group_name)
        self._announce(pending)
        return {}

    async def list_things_in_thing_group(self, params: Input) -> Output:
        """Thing names, ordered; ``recursive`` includes the things of every descendant group."""
        name: str = params["thingGroupName"]
        members = thing_group_members.c
        async with self.context.store.read() as conn:
            await require_group(conn, self.context, name)
            groups = {name}
            if params.get("recursive"):
                groups |= descendants(await parents(conn, self.context), name)
            stmt = (
                select(members.thing_name)
                .where(members.account_id == self.context.account_id, members.group_name.in_(sorted(groups)))
                .group_by(members.thing_name)  # not DISTINCT: PostgreSQL's ORDER BY is on a collated key
            )
            rows, token = await keyset_page(conn, stmt, members.thing_name, params)
        out: Output = {"things": [row.thing_name for row in rows]}
        if token is not None:
            out["nextToken"] = token
        return out

    async def list_thing_groups_for_thing(self, params: Input) -> Output:
        """The groups the thing is a direct member of, ordered by name. Unconfirmed: the Dev Guide says
        "and any parent groups"; the API reference says "the thing groups to which the thing belongs", which
        Corral follows (DescribeThingGroup gives a group's ancestors)."""
        name: str = params["thingName"]
        members, groups = thing_group_members.c, thing_groups.c
        stmt = (
            select(groups.group_name, groups.group_arn)
            .join(
                thing_group_members,
                (members.account_id == groups.account_id) & (members.group_name == groups.group_name),
            )
            .where(members.account_id == self.context.account_id, members.thing_name == name)
        )
        async with self.context.store.read() as conn:
            await require_thing(conn, self.context, name)
            rows, token = await keyset_page(conn, stmt, groups.group_name, params)
        out: Output = {"thingGroups": [{"groupName": r.group_name, "groupArn": r.group_arn} for r in rows]}
        if token is not None:
            out["nextToken"] = token
        return out

    # -- helpers ---------------------------------------------------------------------------------------------

    def _group_name(self, params: Input) -> str:
        if params.get("thingGroupName"):
            return str(params["thingGroupName"])
        arn = params.get("thingGroupArn")
        if not arn:
            raise InvalidRequest(
                "Both thingGroupArn and thingGroupName are empty. Need to specify at least one of them"
            )
        name = name_from_arn(self.context, arn, "thinggroup")
        if name is None:
            raise InvalidRequest(f"{arn} is not a thing group ARN of this account and region")
        return name

    def _thing_name(self, params: Input) -> str:
        if params.get("thingName"):
            return str(params["thingName"])
        arn = params.get("thingArn")
        if not arn:
            raise InvalidRequest(
                "Both thingArn and thingName are empty. Need to specify at least one of them"
            )
        name = name_from_arn(self.context, arn, "thing")
        if name is None:
            raise InvalidRequest(f"{arn} is not a thing ARN of this account and region")
        return name

    async def _groups_of(self, conn: AsyncConnection, thing_name: str) -> list[str]:
        members = thing_group_members.c
        rows = await conn.scalars(
            select(members.group_name).where(
                members.account_id == self.context.account_id, members.thing_name == thing_name
            )
        )
        return list(rows.all())

    async def _add(self, conn: AsyncConnection, thing_name: str, group_name: str) -> list[_Pending]:
        thing = await require_thing(conn, self.context, thing_name, for_update=True)
        group = await require_group(conn, self.context, group_name)
        current = await self._groups_of(conn, thing_name)
        if group_name in current:
            return []
        if len(current) >= MAX_GROUPS_PER_THING:
            raise InvalidRequest(
                f"Thing {thing_name} cannot be added to more than {MAX_GROUPS_PER_THING} thing groups"
            )
        parent_of = await parents(conn, self.context)
        root = _root(parent_of, group_name)
        for other in current:
            if _root(parent_of, other) == root:
                raise InvalidRequest(
                    f"Cannot add thing {thing_name} to thing group {group_name}: it already belongs to thing "
                    f"group {other} of the same hierarchy"
                )
        await conn.execute(
            thing_group_members.insert().values(
                account_id=self.context.account_id, group_name=group_name, thing_name=thing_name
            )
        )
        return [("ADDED", group, thing)]

    async def _remove(self, conn: AsyncConnection, thing_name: str, group_name: str) -> list[_Pending]:
        thing = await require_thing(conn, self.context, thing_name, for_update=True)
        group = await require_group(conn, self.context, group_name)
        members = thing_group_members.c
        result = await conn.execute(
            delete(thing_group_members).where(
                members.account_id == self.context.account_id,
                members.group_name == group_name,
                members.thing_name == thing_name,
            )
        )
        return [("REMOVED", group, thing)] if result.rowcount else []

    def _announce(self, pending: list[_Pending]) -> None:
        for operation, group, thing in pending:
            self.context.changed("thing_group", group.group_name)
            membership = uuid.uuid5(_MEMBERSHIP_NAMESPACE, f"{group.group_id}/{thing.thing_id}")
            self.context.publish_event(
                "THING_GROUP_MEMBERSHIP",
                f"$aws/events/thingGroupMembership/thingGroup/{group.group_name}"
                f"/thing/{thing.thing_name}/{operation.lower()}",
                {
                    "eventType": "THING_GROUP_MEMBERSHIP_EVENT",
                    "operation": operation,
                    "accountId": self.context.account_id,
                    "groupArn": group.group_arn,
                    "groupId": group.group_id,
                    "thingArn": thing.thing_arn,
                    "thingId": thing.thing_id,
                    "membershipId": str(membership),
                },
            )


def _root(parent_of: dict[str, str | None], group: str) -> str:
    seen = {group}
    while (parent := parent_of.get(group)) is not None and parent not in seen:
        seen.add(parent)
        group = parent
    return group
