"""The Device Shadow service: shadows kept in the store, answered over MQTT and over the iot-data HTTP API.

A request for one shadow waits for the one before it (per-shadow serialization in this process), reads the
row, applies the shadow algebra (``document.py``) and commits; only then is anything published about it. If
the store fails, the request is rejected and nothing is announced. An update made over HTTP publishes the
same ``accepted``, ``delta`` and ``documents`` messages as one made over MQTT; a delete publishes
``delete/accepted`` either way; a get over HTTP publishes nothing (AWS answers it to the caller only).

Shadows are keyed by thing name alone, as on AWS: a shadow needs no registered thing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, Final

import orjson
from sqlalchemy import and_, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from corral import paging
from corral.shadows.document import (
    Document,
    ShadowLimits,
    ShadowRejected,
    apply_update,
    client_token_of,
    delete_response,
    get_response,
    not_found,
    parse_read,
    parse_update,
    rejected_response,
)
from corral.shadows.topics import PREFIX, ShadowTopic, parse_request_topic
from corral.store.engine import Store
from corral.store.errors import StoreError
from corral.store.schema import shadows

log = logging.getLogger(__name__)

CLASSIC: Final = ""
"""The classic shadow's key in the store (AWS's shadow names are never empty)."""
VERSION_MEMORY_SECONDS: Final = 48 * 3600
"""A shadow recreated within this long of its deletion continues the deleted one's version numbers."""
RESPONSE_QOS: Final = 1

Publish = Callable[[str, bytes, int], None]

REQUEST_HOPS: ContextVar[int] = ContextVar("shadow_request_hops", default=0)
"""While an MQTT request is answered: the rule-republish hop count of the request message. The server's
``publish`` gives it to the answers, so a rule that feeds a shadow's answers back into its requests is cut
like any republish loop; 0 for HTTP requests."""


@dataclass(slots=True)
class _Queue:
    """The requests for one shadow, served one at a time in arrival order."""

    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    users: int = 0


@dataclass(frozen=True, slots=True)
class _Row:
    document: Document | None
    version: int
    deleted_at: float | None


class ShadowService:
    def __init__(
        self,
        store: Store,
        account_id: str,
        publish: Publish,
        limits: ShadowLimits | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.account_id = account_id
        self.publish = publish
        self.limits = limits or ShadowLimits()
        self.clock = clock
        self._queues: dict[tuple[str, str], _Queue] = {}
        self._in_flight: Counter[str] = Counter()
        self._tasks: set[asyncio.Task[None]] = set()

    # -- MQTT ----------------------------------------------------------------------------------------

    def on_message(self, topic: str, payload: bytes, hops: int = 0) -> None:
        """The broker's hook: a publish to a shadow request topic starts that request; ``hops`` is the
        request message's rule-republish hop count (see ``REQUEST_HOPS``)."""
        if not topic.startswith(PREFIX):
            return
        request = parse_request_topic(topic)
        if request is None:
            return
        task = asyncio.get_running_loop().create_task(self._answer(request, payload, hops))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _answer(self, request: ShadowTopic, payload: bytes, hops: int = 0) -> None:
        REQUEST_HOPS.set(hops)  # this task's own context: nothing outside it sees the value
        thing, shadow = request.thing_name, request.shadow_name
        try:
            if request.operation == "get":
                body = await self.get(thing, shadow, payload)
                self._send(request.answer("accepted"), body)
            elif request.operation == "update":
                await self.update(thing, shadow, payload)  # publishes its own answers
            else:
                await self.delete(thing, shadow, payload)
        except ShadowRejected as exc:
            self._reject(request, exc, payload)
        except Exception:
            log.exception("shadow %s of %s: %s failed", shadow or "(classic)", thing, request.operation)
            self._reject(request, ShadowRejected(500, "Internal service failure"), payload)

    def _reject(self, request: ShadowTopic, error: ShadowRejected, payload: bytes) -> None:
        self._send(
            request.answer("rejected"), rejected_response(error, self._now(), client_token_of(payload))
        )

    def _send(self, topic: str, body: dict[str, Any]) -> None:
        self.publish(topic, orjson.dumps(body), RESPONSE_QOS)

    # -- the operations (MQTT and HTTP) --------------------------------------------------------------

    async def get(self, thing_name: str, shadow_name: str | None, payload: bytes = b"") -> dict[str, Any]:
        request = parse_read(payload)
        async with self._turn(thing_name, shadow_name):
            row = await self._read(thing_name, shadow_name)
        if row is None or row.document is None:
            raise not_found(thing_name, shadow_name)
        return get_response(row.document, row.version, self._now(), request.client_token)

    async def update(self, thing_name: str, shadow_name: str | None, payload: bytes) -> dict[str, Any]:
        """Applies and commits an update, then publishes accepted, delta and documents; returns accepted."""
        request = parse_update(payload, self.limits)
        async with self._turn(thing_name, shadow_name):
            now = self._now()
            try:
                async with self.store.begin() as conn:
                    row = await self._load(conn, thing_name, shadow_name)
                    current, version = self._continuation(row, now)
                    if current is None and shadow_name is not None:
                        await self._check_named_shadow_quota(conn, thing_name)
                    outcome = apply_update(current, version, request, now, self.limits)
                    await self._write(
                        conn, thing_name, shadow_name, row, outcome.document, outcome.version, now
                    )
            except StoreError as exc:
                log.error("shadow %s of %s: the store refused an update: %s", shadow_name, thing_name, exc)
                raise ShadowRejected(500, "Internal service failure") from exc
            topic = ShadowTopic(thing_name, shadow_name, "update")
            self._send(topic.answer("accepted"), outcome.accepted)
            if outcome.delta is not None:
                self._send(topic.answer("delta"), outcome.delta)
            self._send(topic.answer("documents"), outcome.documents)
        return outcome.accepted

    async def delete(self, thing_name: str, shadow_name: str | None, payload: bytes = b"") -> dict[str, Any]:
        request = parse_read(payload)
        async with self._turn(thing_name, shadow_name):
            now = self._now()
            try:
                async with self.store.begin() as conn:
                    row = await self._load(conn, thing_name, shadow_name)
                    if row is None or row.document is None:
                        raise not_found(thing_name, shadow_name)
                    if request.version is not None and request.version != row.version:
                        raise ShadowRejected(409, "Version conflict")
                    await conn.execute(
                        update(shadows)
                        .where(self._key(thing_name, shadow_name))
                        .values(document=None, deleted_at=float(now), updated_at=float(now))
                    )
            except StoreError as exc:
                log.error("shadow %s of %s: the store refused a delete: %s", shadow_name, thing_name, exc)
                raise ShadowRejected(500, "Internal service failure") from exc
            body = delete_response(row.version, now, request.client_token)
            self._send(ShadowTopic(thing_name, shadow_name, "delete").answer("accepted"), body)
        return body

    async def list_named_shadows(
        self, thing_name: str, next_token: str | None = None, page_size: int | None = None
    ) -> dict[str, Any]:
        """ListNamedShadowsForThing: the names of the thing's existing named shadows, in name order."""
        size = page_size or 25
        after = _decode_token(next_token) if next_token else None
        query = (
            select(shadows.c.shadow_name)
            .where(
                and_(
                    shadows.c.account_id == self.account_id,
                    shadows.c.thing_name == thing_name,
                    shadows.c.shadow_name != CLASSIC,
                    shadows.c.document.is_not(None),
                )
            )
            .order_by(shadows.c.shadow_name)
            .limit(size + 1)
        )
        if after is not None:
            query = query.where(shadows.c.shadow_name > after)
        async with self.store.read() as conn:
            names = list((await conn.execute(query)).scalars())
        result: dict[str, Any] = {"results": names[:size], "timestamp": self._now()}
        if len(names) > size:
            result["nextToken"] = paging.encode_token(names[size - 1])
        return result

    # -- internals -----------------------------------------------------------------------------------

    def _now(self) -> int:
        return int(self.clock())

    @contextlib.asynccontextmanager
    async def _turn(self, thing_name: str, shadow_name: str | None) -> AsyncIterator[None]:
        """Waits for this shadow's earlier requests; refuses (429) past the thing's in-flight quota."""
        limit = self.limits.in_flight_per_thing
        if limit and self._in_flight[thing_name] >= limit:
            raise ShadowRejected(429, "Too Many Requests")
        key = (thing_name, shadow_name or CLASSIC)
        queue = self._queues.get(key)
        if queue is None:
            queue = self._queues[key] = _Queue()
        queue.users += 1
        self._in_flight[thing_name] += 1
        try:
            async with queue.lock:
                yield
        finally:
            queue.users -= 1
            if not queue.users:
                del self._queues[key]
            self._in_flight[thing_name] -= 1
            if not self._in_flight[thing_name]:
                del self._in_flight[thing_name]

    def _key(self, thing_name: str, shadow_name: str | None) -> Any:
        return and_(
            shadows.c.account_id == self.account_id,
            shadows.c.thing_name == thing_name,
            shadows.c.shadow_name == (shadow_name or CLASSIC),
        )

    async def _read(self, thing_name: str, shadow_name: str | None) -> _Row | None:
        try:
            async with self.store.read() as conn:
                return await self._load(conn, thing_name, shadow_name)
        except StoreError as exc:
            log.error("shadow %s of %s: the store refused a read: %s", shadow_name, thing_name, exc)
            raise ShadowRejected(500, "Internal service failure") from exc

    async def _load(self, conn: AsyncConnection, thing_name: str, shadow_name: str | None) -> _Row | None:
        row = (
            await conn.execute(
                select(shadows.c.document, shadows.c.version, shadows.c.deleted_at).where(
                    self._key(thing_name, shadow_name)
                )
            )
        ).first()
        if row is None:
            return None
        return _Row(row.document, row.version, row.deleted_at)

    @staticmethod
    def _continuation(row: _Row | None, now: int) -> tuple[Document | None, int]:
        """The current document, and the version a new one continues from."""
        if row is None:
            return None, 0
        if row.document is not None:
            return row.document, row.version
        if row.deleted_at is not None and now - row.deleted_at < VERSION_MEMORY_SECONDS:
            return None, row.version
        return None, 0

    async def _check_named_shadow_quota(self, conn: AsyncConnection, thing_name: str) -> None:
        limit = self.limits.named_shadows_per_thing
        if not limit:
            return
        count = await conn.scalar(
            select(func.count()).where(
                and_(
                    shadows.c.account_id == self.account_id,
                    shadows.c.thing_name == thing_name,
                    shadows.c.shadow_name != CLASSIC,
                    shadows.c.document.is_not(None),
                )
            )
        )
        if (count or 0) >= limit:
            raise ShadowRejected(
                400, f"The number of named shadows for this thing exceeds the limit of {limit}"
            )

    async def _write(
        self,
        conn: AsyncConnection,
        thing_name: str,
        shadow_name: str | None,
        row: _Row | None,
        document: Document,
        version: int,
        now: int,
    ) -> None:
        if row is None:
            await conn.execute(
                insert(shadows).values(
                    account_id=self.account_id,
                    thing_name=thing_name,
                    shadow_name=shadow_name or CLASSIC,
                    version=version,
                    document=document,
                    updated_at=float(now),
                    deleted_at=None,
                )
            )
            return
        result = await conn.execute(
            update(shadows)
            .where(and_(self._key(thing_name, shadow_name), shadows.c.version == row.version))
            .values(version=version, document=document, updated_at=float(now), deleted_at=None)
        )
        if result.rowcount != 1:
            # Another process changed the row between our read and write: as a version conflict would.
            raise ShadowRejected(409, "Version conflict")


def _decode_token(token: str) -> str | None:
    try:
        return paging.decode_token(token)
    except paging.BadToken as exc:
        raise ShadowRejected(400, "Invalid nextToken") from exc
