"""Thing types: CreateThingType, DescribeThingType, ListThingTypes, UpdateThingType, DeprecateThingType,
DeleteThingType.

Invariants (docs/control-plane-facts.md §2):

- A thing type is immutable after creation except for its deprecation and its ``mqtt5Configuration``
  (UpdateThingType changes nothing else: any other property is AWS's InvalidRequestException
  ``Can only update mqtt5Configuration.``).
- A type is deleted only once it has been deprecated for ``deprecation_wait_seconds`` (AWS: 5 minutes) and
  no thing has it.
- ``mqtt5_configuration`` holds ``{"propagatingAttributes": [...]}`` with at least one attribute, or NULL:
  an empty list is stored (and answered) as no configuration. Each propagating attribute names its MQTT 5
  ``userPropertyKey`` and exactly one source: a ``thingAttribute`` or a ``connectionAttribute``
  (``iot:ClientId`` or ``iot:Thing.ThingName``, the values CloudFormation documents). The model checks
  lengths and patterns; the rest is validated here ([?] AWS's texts, and "exactly one source").

Changes publish ``THING_TYPE`` events on ``$aws/events/thingType/{name}/created|updated|deleted``
(deprecating, undoing it and UpdateThingType are updates). No change notice: a type's own state is not in
any policy variable (a thing's type is, and Things announces those changes). The broker does not enrich
MQTT 5 messages with the propagating attributes yet; they are stored and answered.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any, Final

from sqlalchemy import Row, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from corral.registry.context import RegistryContext
from corral.registry.errors import InvalidRequest, ResourceAlreadyExists, ResourceNotFound
from corral.registry.tags import delete_tags, insert_tags
from corral.registry.thing_common import Input, Output, find_thing_type, keyset_page, to_datetime
from corral.store.schema import epoch_now, thing_types, things

MAX_SEARCHABLE_ATTRIBUTES = 3
CONNECTION_ATTRIBUTES: Final = ("iot:ClientId", "iot:Thing.ThingName")
ONLY_MQTT5: Final = "Can only update mqtt5Configuration."


class ThingTypes:
    def __init__(self, context: RegistryContext, *, deprecation_wait_seconds: float = 300) -> None:
        self.context = context
        self.deprecation_wait_seconds = deprecation_wait_seconds

    async def create_thing_type(self, params: Input) -> Output:
        """Creates a type, or answers with the existing one when its properties are the same.

        Unconfirmed: the conflict message (moto's wording for groups, which it says is AWS's), the
        searchable-attribute limit's message, and ``tags`` being ignored when comparing.
        """
        name: str = params["thingTypeName"]
        props: Input = params.get("thingTypeProperties") or {}
        description: str | None = props.get("thingTypeDescription")
        searchable: list[str] = list(props.get("searchableAttributes") or [])
        mqtt5 = _mqtt5_configuration(props.get("mqtt5Configuration"))
        if len(searchable) > MAX_SEARCHABLE_ATTRIBUTES:
            raise InvalidRequest(
                f"A thing type can have at most {MAX_SEARCHABLE_ATTRIBUTES} searchable attributes"
            )
        async with self.context.store.begin() as conn:
            existing = await find_thing_type(conn, self.context, name)
            if existing is not None:
                if (
                    existing.description == description
                    and list(existing.searchable_attributes) == searchable
                    and existing.mqtt5_configuration == mqtt5
                ):
                    return _created(existing._mapping)
                raise ResourceAlreadyExists(
                    f"Thing Type {name} already exists in current account with different properties",
                    resourceId=existing.thing_type_id,
                    resourceArn=existing.thing_type_arn,
                )
            row: dict[str, Any] = {
                "account_id": self.context.account_id,
                "thing_type_name": name,
                "thing_type_id": str(uuid.uuid4()),
                "thing_type_arn": self.context.arn(f"thingtype/{name}"),
                "description": description,
                "searchable_attributes": searchable,
                "mqtt5_configuration": mqtt5,
                "deprecated": False,
                "deprecation_date": None,
                "created_at": epoch_now(),
            }
            await conn.execute(thing_types.insert().values(**row))
            await insert_tags(conn, self.context, row["thing_type_arn"], params.get("tags") or [])
        self._event(row, "CREATED")
        return _created(row)

    async def describe_thing_type(self, params: Input) -> Output:
        async with self.context.store.read() as conn:
            row = await self._require(conn, params["thingTypeName"])
        return {"thingTypeId": row.thing_type_id, **_definition(row._mapping)}

    async def list_thing_types(self, params: Input) -> Output:
        """Lists types by name. The ``thingTypeName`` filter matches as a prefix, as moto does (it says AWS
        does; unconfirmed)."""
        stmt = select(thing_types).where(thing_types.c.account_id == self.context.account_id)
        prefix: str | None = params.get("thingTypeName")
        if prefix:
            stmt = stmt.where(func.substr(thing_types.c.thing_type_name, 1, len(prefix)) == prefix)
        async with self.context.store.read() as conn:
            rows, token = await keyset_page(conn, stmt, thing_types.c.thing_type_name, params)
        out: Output = {"thingTypes": [_definition(row._mapping) for row in rows]}
        if token is not None:
            out["nextToken"] = token
        return out

    async def update_thing_type(self, params: Input) -> Output:
        """Replaces the type's ``mqtt5Configuration`` (an empty ``propagatingAttributes`` removes it).

        Any other property is refused with AWS's text, even when it equals the stored one (the observed call
        changed ``searchableAttributes``; [?] for an unchanged value). Without ``mqtt5Configuration`` nothing
        changes and no event is published [?]. A deprecated type can be updated [?].
        """
        name: str = params["thingTypeName"]
        props: Input = params.get("thingTypeProperties") or {}
        if any(key != "mqtt5Configuration" for key in props):
            raise InvalidRequest(ONLY_MQTT5)
        given = "mqtt5Configuration" in props
        mqtt5 = _mqtt5_configuration(props.get("mqtt5Configuration"))
        async with self.context.store.begin() as conn:
            current = await self._require(conn, name, for_update=True)
            if not given:
                return {}
            await conn.execute(update(thing_types).where(*self._key(name)).values(mqtt5_configuration=mqtt5))
        self._event({**current._mapping, "mqtt5_configuration": mqtt5}, "UPDATED")
        return {}

    async def deprecate_thing_type(self, params: Input) -> Output:
        """Deprecates a type (``undoDeprecate``: reverses it). Deprecating a deprecated type keeps its first
        deprecation date (unconfirmed), so repeating the call does not restart the wait before deletion."""
        name: str = params["thingTypeName"]
        async with self.context.store.begin() as conn:
            current = await self._require(conn, name, for_update=True)
            if params.get("undoDeprecate"):
                values: dict[str, Any] = {"deprecated": False, "deprecation_date": None}
            elif current.deprecated:
                values = {}
            else:
                values = {"deprecated": True, "deprecation_date": epoch_now()}
            if values:
                await conn.execute(update(thing_types).where(*self._key(name)).values(**values))
        self._event({**current._mapping, **values}, "UPDATED")
        return {}

    async def delete_thing_type(self, params: Input) -> Output:
        """Deletes a type deprecated for long enough and used by no thing, with its tags.

        Unconfirmed: the messages for a type that is not deprecated or is still in use.
        """
        name: str = params["thingTypeName"]
        account = self.context.account_id
        async with self.context.store.begin() as conn:
            current = await self._require(conn, name, for_update=True)
            if not current.deprecated:
                raise InvalidRequest(
                    f"Cannot delete thing type : {name}. Please deprecate the thing type before deletion"
                )
            if epoch_now() - current.deprecation_date < self.deprecation_wait_seconds:
                minutes = f"{self.deprecation_wait_seconds / 60:g}"
                raise InvalidRequest(
                    f"Cannot delete thing type : {name}. Please wait for {minutes} minutes after deprecation "
                    "and then retry"
                )
            in_use = await conn.scalar(
                select(func.count())
                .select_from(things)
                .where(things.c.account_id == account, things.c.thing_type_name == name)
            )
            if in_use:
                raise InvalidRequest(
                    f"Cannot delete thing type : {name}. There are still things associated with it"
                )
            await delete_tags(conn, self.context, current.thing_type_arn)
            await conn.execute(delete(thing_types).where(*self._key(name)))
        self._event(current._mapping, "DELETED")
        return {}

    # -- helpers ---------------------------------------------------------------------------------------------

    def _key(self, name: str) -> tuple[Any, ...]:
        return (thing_types.c.account_id == self.context.account_id, thing_types.c.thing_type_name == name)

    async def _require(self, conn: AsyncConnection, name: str, *, for_update: bool = False) -> Row[Any]:
        stmt = select(thing_types).where(*self._key(name))
        if for_update:
            stmt = stmt.with_for_update()
        row = (await conn.execute(stmt)).first()
        if row is None:
            raise ResourceNotFound(f"Thing type {name} does not exist")
        return row

    def _event(self, row: Mapping[Any, Any], operation: str) -> None:
        """Unconfirmed: ``deprecationDate`` in epoch milliseconds, like the event's ``timestamp``."""
        name = row["thing_type_name"]
        date = row["deprecation_date"]
        self.context.publish_event(
            "THING_TYPE",
            f"$aws/events/thingType/{name}/{operation.lower()}",
            {
                "eventType": "THING_TYPE_EVENT",
                "operation": operation,
                "accountId": self.context.account_id,
                "thingTypeId": row["thing_type_id"],
                "thingTypeName": name,
                "isDeprecated": bool(row["deprecated"]),
                "deprecationDate": None if date is None else int(date * 1000),
                "searchableAttributes": list(row["searchable_attributes"]),
                "description": row["description"],
            },
        )


def _created(row: Mapping[Any, Any]) -> Output:
    return {
        "thingTypeName": row["thing_type_name"],
        "thingTypeArn": row["thing_type_arn"],
        "thingTypeId": row["thing_type_id"],
    }


def _definition(row: Mapping[Any, Any]) -> Output:
    """A ``ThingTypeDefinition`` (ListThingTypes' item; DescribeThingType adds the id)."""
    properties: Output = {"searchableAttributes": list(row["searchable_attributes"])}
    if row["description"] is not None:
        properties["thingTypeDescription"] = row["description"]
    if row["mqtt5_configuration"] is not None:
        properties["mqtt5Configuration"] = row["mqtt5_configuration"]
    metadata: Output = {"deprecated": bool(row["deprecated"]), "creationDate": to_datetime(row["created_at"])}
    if row["deprecated"] and row["deprecation_date"] is not None:
        metadata["deprecationDate"] = to_datetime(row["deprecation_date"])
    return {
        "thingTypeName": row["thing_type_name"],
        "thingTypeArn": row["thing_type_arn"],
        "thingTypeProperties": properties,
        "thingTypeMetadata": metadata,
    }


def _mqtt5_configuration(given: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The ``mqtt5_configuration`` to store for the ``mqtt5Configuration`` given, validated; None for none."""
    attributes: list[Mapping[str, Any]] = list((given or {}).get("propagatingAttributes") or [])
    if not attributes:
        return None
    kept: list[dict[str, str]] = []
    keys: set[str] = set()
    for attribute in attributes:
        key = attribute.get("userPropertyKey")
        thing_attribute = attribute.get("thingAttribute")
        connection_attribute = attribute.get("connectionAttribute")
        if not key:
            raise InvalidRequest("A propagating attribute must have a userPropertyKey")
        if key in keys:
            raise InvalidRequest(f"The userPropertyKey {key} is given more than once")
        keys.add(key)
        if (thing_attribute is None) == (connection_attribute is None):
            raise InvalidRequest(
                f"The propagating attribute {key} must have either a thingAttribute or a connectionAttribute"
            )
        if connection_attribute is not None and connection_attribute not in CONNECTION_ATTRIBUTES:
            raise InvalidRequest(
                f"Invalid connectionAttribute {connection_attribute}: it must be one of "
                + ", ".join(CONNECTION_ATTRIBUTES)
            )
        item = {"userPropertyKey": str(key)}
        if thing_attribute is not None:
            item["thingAttribute"] = str(thing_attribute)
        else:
            item["connectionAttribute"] = str(connection_attribute)
        kept.append(item)
    return {"propagatingAttributes": kept}
