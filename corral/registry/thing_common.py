"""What the thing, thing type, thing group, principal and tag parts share: paging, attributes, lookups.

Paging (the registry-list family: ``nextToken`` / ``maxResults``): every list is ordered by one string key
(a name, or a principal), in byte order on both backends, and a page ends after ``maxResults`` items;
``nextToken`` is the URL-safe base64 of the last key returned, so a token stays valid while rows come and go,
and the next page starts strictly after it. AWS does not document the default page size; Corral uses
:data:`DEFAULT_MAX_RESULTS` (the CLI and boto3's paginators follow the tokens either way).

Attributes (``AttributePayload``): ``merge`` false or absent replaces the whole map, ``merge`` true upserts;
in both modes an empty string value removes the attribute. Corral never stores an empty value, on create
either (AWS documents ``""`` as "remove"; what it stores on create is unconfirmed).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, Final

from sqlalchemy import ColumnElement, Row, Select, select
from sqlalchemy.ext.asyncio import AsyncConnection

from corral import paging
from corral.registry.context import RegistryContext
from corral.registry.errors import InvalidRequest, ResourceNotFound
from corral.store.schema import thing_groups, thing_types, things

DEFAULT_MAX_RESULTS: Final = 50
MAX_RESULTS: Final = 250
ATTRIBUTES_WITHOUT_TYPE: Final = 3
ATTRIBUTES_WITH_TYPE: Final = 50
GROUP_ATTRIBUTES: Final = 50

Input = Mapping[str, Any]
Output = dict[str, Any]


# -- time ----------------------------------------------------------------------------------------------------


def to_datetime(epoch: float) -> datetime:
    """A store timestamp as the timezone-aware UTC datetime the API serializer formats."""
    return datetime.fromtimestamp(epoch, tz=UTC)


# -- paging --------------------------------------------------------------------------------------------------


def encode_token(key: str) -> str:
    return paging.encode_token(key)


def decode_token(token: str | None) -> str | None:
    """The key a ``nextToken`` continues after; ``None`` for the first page."""
    try:
        return paging.decode_token(token)
    except paging.BadToken as exc:
        raise InvalidRequest("The specified nextToken is not valid") from exc


def page_size(params: Input) -> int:
    size = params.get("maxResults")
    if size is None:
        return DEFAULT_MAX_RESULTS
    if not 1 <= int(size) <= MAX_RESULTS:  # the API checks the model's range first; this is the backstop
        raise InvalidRequest(f"maxResults must be between 1 and {MAX_RESULTS}")
    return int(size)


async def keyset_page(
    conn: AsyncConnection,
    stmt: Select[Any],
    key: ColumnElement[str],
    params: Input,
    keep: Callable[[Row[Any]], bool] | None = None,
) -> tuple[list[Row[Any]], str | None]:
    """One page of ``stmt`` ordered by ``key``, after ``params["nextToken"]``, with at most ``maxResults``
    rows, and the token of the next page (``None`` on the last). ``keep`` filters rows in Python (for
    conditions SQL cannot say portably, such as a JSON attribute's value)."""
    limit = page_size(params)
    after = decode_token(params.get("nextToken"))
    batch = limit + 1 if keep is None else max(4 * limit, 100)
    # Byte order on both backends (SQLite's BINARY is the default there), whatever the database's locale.
    order = key.collate("C") if conn.dialect.name == "postgresql" else key
    found: list[Row[Any]] = []
    while True:
        query = stmt if after is None else stmt.where(order > after)
        rows = (await conn.execute(query.order_by(order).limit(batch))).all()
        for row in rows:
            if keep is None or keep(row):
                found.append(row)
                if len(found) > limit:
                    return found[:limit], encode_token(_key_of(found[limit - 1], key))
        if len(rows) < batch:
            return found, None
        after = _key_of(rows[-1], key)


def _key_of(row: Row[Any], key: ColumnElement[str]) -> str:
    value: str = row._mapping[key]
    return value


# -- attributes ----------------------------------------------------------------------------------------------


def new_attributes(payload: Input | None) -> dict[str, str]:
    """The attributes of a new thing or group: the payload's, without empty values (``merge`` ignored)."""
    given: Mapping[str, str] = (payload or {}).get("attributes") or {}
    return {name: value for name, value in given.items() if value != ""}


def updated_attributes(current: Mapping[str, str], payload: Input | None) -> dict[str, str]:
    """The attributes after an update with ``payload`` (absent: unchanged)."""
    if payload is None:
        return dict(current)
    given: Mapping[str, str] = payload.get("attributes") or {}
    result = dict(current) if payload.get("merge") else {}
    for name, value in given.items():
        if value == "":
            result.pop(name, None)
        else:
            result[name] = value
    return result


def check_thing_attributes(thing_name: str, attributes: Mapping[str, str], has_type: bool) -> None:
    """AWS's quota: 3 attributes on a thing without a type, 50 with one. The message is Corral's (AWS's text
    is unconfirmed)."""
    limit = ATTRIBUTES_WITH_TYPE if has_type else ATTRIBUTES_WITHOUT_TYPE
    if len(attributes) > limit:
        kind = "with a thing type" if has_type else "without a thing type"
        raise InvalidRequest(
            f"Thing {thing_name} cannot have more than {limit} attributes {kind} (it would have "
            f"{len(attributes)})"
        )


# -- lookups -------------------------------------------------------------------------------------------------


async def find_thing(
    conn: AsyncConnection, context: RegistryContext, name: str, *, for_update: bool = False
) -> Row[Any] | None:
    stmt = select(things).where(things.c.account_id == context.account_id, things.c.thing_name == name)
    if for_update:
        stmt = stmt.with_for_update()
    return (await conn.execute(stmt)).first()


async def require_thing(
    conn: AsyncConnection, context: RegistryContext, name: str, *, for_update: bool = False
) -> Row[Any]:
    row = await find_thing(conn, context, name, for_update=for_update)
    if row is None:
        raise ResourceNotFound(f"Thing {name} does not exist")
    return row


async def find_thing_type(conn: AsyncConnection, context: RegistryContext, name: str) -> Row[Any] | None:
    stmt = select(thing_types).where(
        thing_types.c.account_id == context.account_id, thing_types.c.thing_type_name == name
    )
    return (await conn.execute(stmt)).first()


async def find_group(
    conn: AsyncConnection, context: RegistryContext, name: str, *, for_update: bool = False
) -> Row[Any] | None:
    stmt = select(thing_groups).where(
        thing_groups.c.account_id == context.account_id, thing_groups.c.group_name == name
    )
    if for_update:
        stmt = stmt.with_for_update()
    return (await conn.execute(stmt)).first()


async def require_group(
    conn: AsyncConnection, context: RegistryContext, name: str, *, for_update: bool = False
) -> Row[Any]:
    row = await find_group(conn, context, name, for_update=for_update)
    if row is None:
        raise ResourceNotFound(f"Thing Group {name} does not exist")
    return row


def name_from_arn(context: RegistryContext, arn: str, resource: str) -> str | None:
    """The name in ``arn:aws:iot:{region}:{account}:{resource}/{name}`` of this account and region, else
    ``None``."""
    prefix = context.arn(f"{resource}/")
    if arn.startswith(prefix) and len(arn) > len(prefix):
        return arn[len(prefix) :]
    return None
