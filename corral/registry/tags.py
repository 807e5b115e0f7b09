"""Tags: TagResource, UntagResource, ListTagsForResource, and the helpers the creating parts use.

Taggable here: thing types, thing groups, policies, CA certificates and topic rules, as on AWS, and things,
which AWS does not document as taggable (issue 3 asks for it). Any other ARN of this account and region is an
InvalidRequestException; an ARN of a taggable kind whose resource does not exist, or of another account or
region, is a ResourceNotFoundException (the messages are Corral's; AWS's are unconfirmed).

Rules (docs/control-plane-facts.md §9): at most 50 tags per resource (LimitExceededException), keys are case
sensitive, the ``aws:`` prefix is reserved, tagging an existing key overwrites its value, a missing ``Value``
is stored as the empty string, and deleting a resource deletes its tags (each part calls
:func:`delete_tags`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any, Final

from sqlalchemy import Table, delete, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from corral.registry.context import RegistryContext
from corral.registry.errors import InvalidRequest, LimitExceeded, ResourceNotFound
from corral.registry.thing_common import Input, Output, keyset_page
from corral.store.schema import (
    ca_certificates,
    policies,
    tags,
    thing_groups,
    thing_types,
    things,
    topic_rules,
)

MAX_TAGS: Final = 50
_ARN: Final = re.compile(r"arn:aws:iot:(?P<region>[^:]*):(?P<account>[^:]*):(?P<kind>[a-z]+)/(?P<name>.+)")
# ARN resource kind -> (table, name column)
_TAGGABLE: Final[dict[str, tuple[Table, str]]] = {
    "thing": (things, "thing_name"),
    "thingtype": (thing_types, "thing_type_name"),
    "thinggroup": (thing_groups, "group_name"),
    "policy": (policies, "policy_name"),
    "cacert": (ca_certificates, "certificate_id"),
    "rule": (topic_rules, "rule_name"),
}


async def insert_tags(
    conn: AsyncConnection, context: RegistryContext, arn: str, new_tags: Iterable[Mapping[str, Any]]
) -> None:
    """Adds or overwrites ``new_tags`` (botocore ``Tag`` dicts) on ``arn``, in the caller's transaction."""
    wanted: dict[str, str] = {}
    for tag in new_tags:
        key: str = tag["Key"]
        if key.lower().startswith("aws:"):
            raise InvalidRequest(f"Tag keys starting with 'aws:' are reserved for AWS use: {key}")
        wanted[key] = tag.get("Value") or ""
    if not wanted:
        return
    where = (tags.c.account_id == context.account_id, tags.c.resource_arn == arn)
    existing = set((await conn.scalars(select(tags.c.tag_key).where(*where))).all())
    if len(existing | set(wanted)) > MAX_TAGS:
        raise LimitExceeded(f"A resource can have at most {MAX_TAGS} tags")
    await conn.execute(delete(tags).where(*where, tags.c.tag_key.in_(list(wanted))))
    await conn.execute(
        tags.insert(),
        [
            {"account_id": context.account_id, "resource_arn": arn, "tag_key": key, "tag_value": value}
            for key, value in wanted.items()
        ],
    )


async def delete_tags(conn: AsyncConnection, context: RegistryContext, arn: str) -> None:
    """Removes every tag of ``arn`` (its resource is being deleted), within the caller's transaction."""
    await conn.execute(
        delete(tags).where(tags.c.account_id == context.account_id, tags.c.resource_arn == arn)
    )


class Tags:
    def __init__(self, context: RegistryContext) -> None:
        self.context = context

    async def tag_resource(self, params: Input) -> Output:
        arn: str = params["resourceArn"]
        async with self.context.store.begin() as conn:
            await self._require_resource(conn, arn)
            await insert_tags(conn, self.context, arn, params["tags"])
        return {}

    async def untag_resource(self, params: Input) -> Output:
        """Removes the given keys; keys the resource does not have are ignored."""
        arn: str = params["resourceArn"]
        keys: list[str] = list(params["tagKeys"])
        async with self.context.store.begin() as conn:
            await self._require_resource(conn, arn)
            if keys:
                await conn.execute(
                    delete(tags).where(
                        tags.c.account_id == self.context.account_id,
                        tags.c.resource_arn == arn,
                        tags.c.tag_key.in_(keys),
                    )
                )
        return {}

    async def list_tags_for_resource(self, params: Input) -> Output:
        """Tags ordered by key, in pages of 50 (so one page holds them all: the limit is 50)."""
        arn: str = params["resourceArn"]
        stmt = select(tags).where(tags.c.account_id == self.context.account_id, tags.c.resource_arn == arn)
        async with self.context.store.read() as conn:
            await self._require_resource(conn, arn)
            rows, token = await keyset_page(
                conn, stmt, tags.c.tag_key, {"nextToken": params.get("nextToken"), "maxResults": MAX_TAGS}
            )
        out: Output = {"tags": [{"Key": row.tag_key, "Value": row.tag_value} for row in rows]}
        if token is not None:
            out["nextToken"] = token
        return out

    async def _require_resource(self, conn: AsyncConnection, arn: str) -> None:
        match = _ARN.fullmatch(arn)
        if match is None:
            raise InvalidRequest(f"{arn} is not a valid AWS IoT resource ARN")
        kind = match["kind"]
        if kind not in _TAGGABLE:
            raise InvalidRequest(f"Tagging is not supported for the resource {arn}")
        if match["region"] != self.context.region or match["account"] != self.context.account_id:
            raise ResourceNotFound(f"The resource {arn} does not exist")
        table, column = _TAGGABLE[kind]
        found = await conn.scalar(
            select(func.count())
            .select_from(table)
            .where(table.c.account_id == self.context.account_id, table.c[column] == match["name"])
        )
        if not found:
            raise ResourceNotFound(f"The resource {arn} does not exist")
