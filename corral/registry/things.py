"""Things: CreateThing, DescribeThing, UpdateThing, DeleteThing, ListThings.

Invariants (docs/control-plane-facts.md §1):

- A thing's ``version`` is 1 at creation and goes up by one on every successful UpdateThing; an
  ``expectedVersion`` that differs from it is a VersionConflictException and changes nothing.
- A thing has at most 3 attributes without a type and 50 with one; no attribute value is empty.
- A thing's type exists; no thing is given a deprecated type (things that had it before keep it).
- A thing with principals attached cannot be deleted.

Every change announces ``Change("thing", name)`` (the broker's policy variables read a thing's name, type and
attributes) after it commits, then publishes the registry events AWS would: ``THING`` on
``$aws/events/thing/{name}/created|updated|deleted`` and ``THING_TYPE_ASSOCIATION`` on
``$aws/events/thingTypeAssociation/thing/{name}/{type}`` when a thing gains or loses its type.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy import delete, func, select, update

from corral.registry.context import RegistryContext
from corral.registry.errors import InvalidRequest, ResourceAlreadyExists, ResourceNotFound, VersionConflict
from corral.registry.thing_common import (
    Input,
    Output,
    check_thing_attributes,
    find_thing,
    find_thing_type,
    keyset_page,
    new_attributes,
    require_thing,
    updated_attributes,
)
from corral.store.schema import epoch_now, tags, thing_group_members, thing_principals, things


class Things:
    def __init__(self, context: RegistryContext) -> None:
        self.context = context

    async def create_thing(self, params: Input) -> Output:
        """Creates a thing, or answers with the existing one when name, type and attributes are the same.

        Unconfirmed choices: a different type gives the same ResourceAlreadyExistsException message as
        different attributes; an unknown ``billingGroupName`` is a ResourceNotFoundException (Corral has no
        billing groups, so every name is unknown); the unknown-type message is Corral's.
        """
        name: str = params["thingName"]
        type_name: str | None = params.get("thingTypeName")
        attributes = new_attributes(params.get("attributePayload"))
        billing_group = params.get("billingGroupName")
        if billing_group:
            raise ResourceNotFound(f"Billing group {billing_group} does not exist")
        async with self.context.store.begin() as conn:
            existing = await find_thing(conn, self.context, name)
            if existing is not None:
                if existing.thing_type_name == type_name and existing.attributes == attributes:
                    return _created(existing._mapping)
                raise ResourceAlreadyExists(
                    f"Thing {name} already exists in account with different attributes",
                    resourceId=existing.thing_id,
                    resourceArn=existing.thing_arn,
                )
            if type_name is not None:
                thing_type = await find_thing_type(conn, self.context, type_name)
                if thing_type is None:
                    raise ResourceNotFound(f"Thing type {type_name} does not exist")
                if thing_type.deprecated:
                    # AWS's text, typo and missing space included.
                    raise InvalidRequest(f"Can not create new thing with depreated thing type:{type_name}")
            check_thing_attributes(name, attributes, type_name is not None)
            now = epoch_now()
            row: dict[str, Any] = {
                "account_id": self.context.account_id,
                "thing_name": name,
                "thing_id": str(uuid.uuid4()),
                "thing_arn": self.context.arn(f"thing/{name}"),
                "thing_type_name": type_name,
                "attributes": attributes,
                "version": 1,
                "created_at": now,
                "updated_at": now,
            }
            await conn.execute(things.insert().values(**row))
        self.context.changed("thing", name)
        self._thing_event(row, "CREATED")
        if type_name is not None:
            self._association_event(row, type_name, "CREATED")
        return _created(row)

    async def describe_thing(self, params: Input) -> Output:
        async with self.context.store.read() as conn:
            row = await require_thing(conn, self.context, params["thingName"])
        out: Output = {
            "defaultClientId": row.thing_name,
            "thingName": row.thing_name,
            "thingId": row.thing_id,
            "thingArn": row.thing_arn,
            "attributes": dict(row.attributes),
            "version": row.version,
        }
        if row.thing_type_name is not None:
            out["thingTypeName"] = row.thing_type_name
        return out

    async def update_thing(self, params: Input) -> Output:
        """Changes a thing's type and attributes; the version goes up by one.

        Unconfirmed: the message for ``removeThingType`` together with ``thingTypeName``; removing the type
        of a thing with more than 3 attributes fails the 3-attribute limit.
        """
        name: str = params["thingName"]
        new_type: str | None = params.get("thingTypeName")
        remove_type = bool(params.get("removeThingType"))
        if remove_type and new_type is not None:
            raise InvalidRequest("Cannot specify both thingTypeName and removeThingType")
        async with self.context.store.begin() as conn:
            current = await require_thing(conn, self.context, name, for_update=True)
            _check_version(name, current.version, params.get("expectedVersion"))
            type_name: str | None = None if remove_type else current.thing_type_name
            if new_type is not None and new_type != current.thing_type_name:
                thing_type = await find_thing_type(conn, self.context, new_type)
                if thing_type is None:
                    raise ResourceNotFound(f"Thing type {new_type} does not exist")
                if thing_type.deprecated:
                    raise InvalidRequest(f"Can not update a thing to use deprecated thing type: {new_type}")
                type_name = new_type
            attributes = updated_attributes(current.attributes, params.get("attributePayload"))
            check_thing_attributes(name, attributes, type_name is not None)
            values = {
                "thing_type_name": type_name,
                "attributes": attributes,
                "version": current.version + 1,
                "updated_at": epoch_now(),
            }
            await conn.execute(
                update(things)
                .where(things.c.account_id == self.context.account_id, things.c.thing_name == name)
                .values(**values)
            )
        row = {**current._mapping, **values}
        self.context.changed("thing", name)
        self._thing_event(row, "UPDATED")
        if type_name != current.thing_type_name:
            if current.thing_type_name is not None:
                self._association_event(row, current.thing_type_name, "DELETED")
            if type_name is not None:
                self._association_event(row, type_name, "CREATED")
        return {}

    async def delete_thing(self, params: Input) -> Output:
        """Deletes a thing with its group memberships and tags; a thing that does not exist is no error.

        Unconfirmed: deleting a typed thing also publishes ``THING_TYPE_ASSOCIATION`` DELETED; no membership
        events are published for the groups it leaves (each group gets a change notice).
        """
        name: str = params["thingName"]
        account = self.context.account_id
        async with self.context.store.begin() as conn:
            current = await find_thing(conn, self.context, name, for_update=True)
            if current is None:
                return {}
            _check_version(name, current.version, params.get("expectedVersion"))
            attached = await conn.scalar(
                select(func.count())
                .select_from(thing_principals)
                .where(thing_principals.c.account_id == account, thing_principals.c.thing_name == name)
            )
            if attached:
                raise InvalidRequest(
                    f"Cannot delete. Thing {name} is still attached to one or more principals"
                )
            members = thing_group_members.c
            groups = (
                await conn.scalars(
                    select(members.group_name).where(
                        members.account_id == account, members.thing_name == name
                    )
                )
            ).all()
            await conn.execute(
                delete(thing_group_members).where(members.account_id == account, members.thing_name == name)
            )
            await conn.execute(
                delete(tags).where(tags.c.account_id == account, tags.c.resource_arn == current.thing_arn)
            )
            await conn.execute(
                delete(things).where(things.c.account_id == account, things.c.thing_name == name)
            )
        self.context.changed("thing", name)
        for group in groups:
            self.context.changed("thing_group", group)
        self._thing_event(current._mapping, "DELETED")
        if current.thing_type_name is not None:
            self._association_event(current._mapping, current.thing_type_name, "DELETED")
        return {}

    async def list_things(self, params: Input) -> Output:
        """Lists things by name, filtered by type or by one attribute.

        ``attributeName`` with ``attributeValue`` matches the value exactly, or as a prefix with
        ``usePrefixAttributeValue``. Unconfirmed: ``attributeName`` alone lists the things that have that
        attribute, and ``attributeValue`` without a name is ignored.
        """
        attribute = params.get("attributeName")
        value = params.get("attributeValue")
        prefix = bool(params.get("usePrefixAttributeValue"))
        type_name = params.get("thingTypeName")
        if type_name is not None and attribute is not None:
            raise InvalidRequest(
                "Listing things by the combination of attribute and thing type is not supported"
            )
        stmt = select(things).where(things.c.account_id == self.context.account_id)
        if type_name is not None:
            stmt = stmt.where(things.c.thing_type_name == type_name)

        def matches(row: Any) -> bool:
            found = row.attributes.get(attribute)
            if found is None:
                return False
            if value is None:
                return True
            return bool(found.startswith(value) if prefix else found == value)

        async with self.context.store.read() as conn:
            rows, token = await keyset_page(
                conn, stmt, things.c.thing_name, params, matches if attribute is not None else None
            )
        out: Output = {"things": [_listed(row._mapping) for row in rows]}
        if token is not None:
            out["nextToken"] = token
        return out

    # -- events ----------------------------------------------------------------------------------------------

    def _thing_event(self, row: Mapping[Any, Any], operation: str) -> None:
        name = row["thing_name"]
        self.context.publish_event(
            "THING",
            f"$aws/events/thing/{name}/{operation.lower()}",
            {
                "eventType": "THING_EVENT",
                "operation": operation,
                "accountId": self.context.account_id,
                "thingId": row["thing_id"],
                "thingName": name,
                "versionNumber": row["version"],
                "thingTypeName": row["thing_type_name"],
                "attributes": dict(row["attributes"]),
            },
        )

    def _association_event(self, row: Mapping[Any, Any], type_name: str, operation: str) -> None:
        name = row["thing_name"]
        self.context.publish_event(
            "THING_TYPE_ASSOCIATION",
            f"$aws/events/thingTypeAssociation/thing/{name}/{type_name}",
            {
                "eventType": "THING_TYPE_ASSOCIATION_EVENT",
                "operation": operation,
                "thingId": row["thing_id"],
                "thingName": name,
                "thingTypeName": type_name,
            },
        )


def _check_version(name: str, version: int, expected: int | None) -> None:
    if expected is not None and int(expected) != version:
        raise VersionConflict(f"The version for thing {name} does not match the expected version.")


def _created(row: Mapping[Any, Any]) -> Output:
    return {"thingName": row["thing_name"], "thingArn": row["thing_arn"], "thingId": row["thing_id"]}


def _listed(row: Mapping[Any, Any]) -> Output:
    out: Output = {
        "thingName": row["thing_name"],
        "thingArn": row["thing_arn"],
        "attributes": dict(row["attributes"]),
        "version": row["version"],
    }
    if row["thing_type_name"] is not None:
        out["thingTypeName"] = row["thing_type_name"]
    return out
