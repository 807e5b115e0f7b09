"""What the certificate, CA and policy parts share: marker paging and generation ids.

Paging (the security-list family: ``marker`` / ``pageSize`` / ``ascendingOrder``, answered with
``nextMarker``): a list is ordered by a tuple of columns (creation time, then the id or name that breaks
ties), and a marker is the standard base64 of the JSON array of the last row's key, so it satisfies the
model's marker pattern ``[A-Za-z0-9+/]+={0,2}``, stays valid while rows come and go, and the next page starts
strictly after it. ``nextMarker`` is left out on the last page. AWS documents a default page size of 25 for
ListCertificates and ListCACertificates; Corral uses it for every list of this family (the others' defaults
are unconfirmed; the CLI and boto3's paginators follow the markers either way).
"""

from __future__ import annotations

import base64
import binascii
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final, TypeVar

import orjson
from sqlalchemy import ColumnElement, Row, Select, and_, or_
from sqlalchemy.ext.asyncio import AsyncConnection

from corral.registry.errors import InvalidRequest

DEFAULT_PAGE_SIZE: Final = 25
MAX_PAGE_SIZE: Final = 250

Input = Mapping[str, Any]
Output = dict[str, Any]
T = TypeVar("T")


def new_generation_id() -> str:
    """A fresh ``generationId``: AWS's is an opaque string that changes on every update."""
    return str(uuid.uuid4())


# -- paging ------------------------------------------------------------------------------------------------


def encode_marker(key: Sequence[object]) -> str:
    return base64.b64encode(orjson.dumps(list(key))).decode("ascii")


def decode_marker(marker: str | None, width: int) -> list[Any] | None:
    """The key a ``marker`` continues after (``width`` values); ``None`` for the first page."""
    if not marker:
        return None
    try:
        key = orjson.loads(base64.b64decode(marker.encode("ascii"), validate=True))
    except (binascii.Error, UnicodeError, ValueError) as exc:
        raise InvalidRequest("The specified marker is not valid") from exc
    if (
        not isinstance(key, list)
        or len(key) != width
        or not all(isinstance(v, str | int | float) and not isinstance(v, bool) for v in key)
    ):
        raise InvalidRequest("The specified marker is not valid")
    return key


def page_size(params: Input) -> int:
    size = params.get("pageSize")
    if size is None:
        return DEFAULT_PAGE_SIZE
    if not 1 <= int(size) <= MAX_PAGE_SIZE:  # the API checks the model's range first; this is the backstop
        raise InvalidRequest(f"pageSize must be between 1 and {MAX_PAGE_SIZE}")
    return int(size)


def _after(order: Sequence[ColumnElement[Any]], key: Sequence[Any], ascending: bool) -> ColumnElement[bool]:
    """Rows strictly after ``key`` in the (lexicographic) order of the ``order`` columns."""
    column, value = order[0], key[0]
    beyond: ColumnElement[bool] = column > value if ascending else column < value
    if len(order) == 1:
        return beyond
    return or_(beyond, and_(column == value, _after(order[1:], key[1:], ascending)))


async def marker_page(
    conn: AsyncConnection,
    stmt: Select[Any],
    order: Sequence[ColumnElement[Any]],
    params: Input,
    *,
    ascending: bool = True,
) -> tuple[list[Row[Any]], str | None]:
    """One page of ``stmt`` ordered by the ``order`` columns (which ``stmt`` must select), after
    ``params["marker"]``, of at most ``pageSize`` rows, and the marker of the next page (``None`` on the
    last)."""
    size = page_size(params)
    after = decode_marker(params.get("marker"), len(order))
    if after is not None:
        stmt = stmt.where(_after(order, after, ascending))
    ordering = [column.asc() if ascending else column.desc() for column in order]
    rows = list((await conn.execute(stmt.order_by(*ordering).limit(size + 1))).all())
    if len(rows) <= size:
        return rows, None
    last = rows[size - 1]._mapping
    return rows[:size], encode_marker([last[column] for column in order])


def list_page(items: Sequence[T], key: Callable[[T], str], params: Input) -> tuple[list[T], str | None]:
    """The same paging over a list already in memory and sorted by ``key``."""
    size = page_size(params)
    after = decode_marker(params.get("marker"), 1)
    remaining = [item for item in items if after is None or key(item) > after[0]]
    if len(remaining) <= size:
        return remaining, None
    return remaining[:size], encode_marker([key(remaining[size - 1])])


def with_marker(output: Output, next_marker: str | None) -> Output:
    if next_marker is not None:
        output["nextMarker"] = next_marker
    return output
