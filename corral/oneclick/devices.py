"""The ``iot1click-devices`` service: the factory's inventory, claims, device state and methods, and the
events devices send.

Claim states (one place, as data):

    UNCLAIMED --InitiateDeviceClaim--> CLAIM_INITIATED --(an event since)+FinalizeDeviceClaim--> CLAIMED
    UNCLAIMED --ClaimDevicesByClaimCode (products claimable by code)--------------------------> CLAIMED
    CLAIMED --UnclaimDevice (not placed)--> UNCLAIMED (disabled, tags and callbacks cleared)

``account_id`` is NULL exactly when UNCLAIMED. Only the owning account sees a CLAIMED device; every other
operation on another account's (or an unclaimed) device answers ResourceNotFoundException. New devices are
disabled. A click is recorded whatever the state; only a claimed, enabled device's events reach callbacks.

Events arrive from the broker's hook without waiting for the store. So that an API call made after a device
saw its acknowledgement (FinalizeDeviceClaim after the press, as the walkthrough does) sees the click, the
service keeps the recordings still running per device and operations on a device wait for them first.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from corral.oneclick.callbacks import CallbackDelivery, CallbackDispatcher, RecordingDispatcher
from corral.oneclick.common import arn, arn_resource, next_token, page_bounds
from corral.oneclick.errors import (
    Forbidden,
    InvalidRequest,
    PreconditionFailed,
    RangeNotSatisfiable,
    ResourceConflict,
    ResourceNotFound,
)
from corral.oneclick.events import (
    HEALTH_MONITOR,
    ON_CLICK,
    Placement,
    click_event,
    crossed_below,
    health_event,
    on_click_callback,
    remaining_life,
    reported_time,
    std_event,
)
from corral.oneclick.metrics import EventMetrics
from corral.oneclick.products import PRODUCTS, Product
from corral.oneclick.projects import placement_of
from corral.store.engine import Store
from corral.store.schema import oneclick_device_events, oneclick_devices

Params = dict[str, Any]
D, E = oneclick_devices, oneclick_device_events

UNCLAIMED, CLAIM_INITIATED, CLAIMED = "UNCLAIMED", "CLAIM_INITIATED", "CLAIMED"

DEVICE_METHODS = {  # method name -> device type that declares it (the guide's Device Methods table)
    "getDeviceHealthParameters": "device",
    "setDeviceHealthMonitorCallback": "device",
    "getDeviceHealthMonitorCallback": "device",
    "setOnClickCallback": "button",
    "getOnClickCallback": "button",
}
INVALID_PARAMETER = "A request parameter was invalid."


@dataclass(frozen=True, slots=True)
class NewDevice:
    device_id: str
    certificate_id: str


@dataclass(frozen=True, slots=True)
class RecordedClick:
    """What one click did: the event built, and whether it went to a callback."""

    std_event: str
    event: dict[str, Any]
    delivered: bool


class DeviceService:
    def __init__(
        self,
        store: Store,
        account_id: str,
        region: str,
        dispatcher: CallbackDispatcher | None = None,
        clock: Callable[[], float] = time.time,
        metrics: EventMetrics | None = None,
    ) -> None:
        self.store = store
        self.account_id = account_id
        self.region = region
        self.dispatcher: CallbackDispatcher = dispatcher or RecordingDispatcher()
        self.metrics = metrics or EventMetrics()
        self.clock = clock
        self._pending: dict[str, set[asyncio.Task[RecordedClick | None]]] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    def device_arn(self, device_id: str) -> str:
        return arn(self.region, self.account_id, f"devices/{device_id}")

    # -- the factory ---------------------------------------------------------------------------------

    async def add_devices(self, made: Product, devices: list[NewDevice], claim_code: str | None) -> None:
        now = self.clock()
        async with self.store.begin() as conn:
            for device in devices:
                await conn.execute(
                    insert(D).values(
                        account_id=None,
                        device_id=device.device_id,
                        product_type=made.key,
                        device_type=made.device_type,
                        certificate_id=device.certificate_id,
                        claim_code=claim_code,
                        claim_state=UNCLAIMED,
                        claim_initiated_at=None,
                        enabled=False,
                        rated_life=made.rated_life,
                        clicks=0,
                        tags={},
                        callbacks={},
                        manufactured_at=now,
                    )
                )

    async def exists(self, device_id: str) -> bool:
        async with self.store.read() as conn:
            return (
                await conn.execute(select(D.c.device_id).where(D.c.device_id == device_id))
            ).first() is not None

    async def certificate_of(self, device_id: str) -> str | None:
        async with self.store.read() as conn:
            return await conn.scalar(select(D.c.certificate_id).where(D.c.device_id == device_id))

    # -- claims --------------------------------------------------------------------------------------

    async def _row(self, conn: AsyncConnection, device_id: str, *, for_update: bool = False) -> Any:
        stmt = select(D).where(D.c.device_id == device_id)
        if for_update:
            stmt = stmt.with_for_update()
        row = (await conn.execute(stmt)).first()
        if row is None:
            raise ResourceNotFound(f"Device {device_id} not found")
        return row

    async def _owned(self, conn: AsyncConnection, device_id: str, *, for_update: bool = False) -> Any:
        row = await self._row(conn, device_id, for_update=for_update)
        if row.claim_state != CLAIMED or row.account_id != self.account_id:
            raise ResourceNotFound(f"Device {device_id} not found")
        return row

    def _set(self, device_id: str) -> Any:
        return update(D).where(D.c.device_id == device_id)

    async def initiate_device_claim(self, params: Params) -> Params:
        device_id = params["DeviceId"]
        async with self.store.begin() as conn:
            row = await self._row(conn, device_id, for_update=True)
            if row.claim_state == CLAIMED:
                raise ResourceConflict(f"Device {device_id} is already claimed")
            if row.claim_state == CLAIM_INITIATED and row.account_id != self.account_id:
                raise ResourceConflict(f"A claim of device {device_id} is in progress")
            await conn.execute(
                self._set(device_id).values(
                    account_id=self.account_id, claim_state=CLAIM_INITIATED, claim_initiated_at=self.clock()
                )
            )
        return {"State": CLAIM_INITIATED}

    async def finalize_device_claim(self, params: Params) -> Params:
        device_id = params["DeviceId"]
        await self.settle(device_id)
        async with self.store.begin() as conn:
            row = await self._row(conn, device_id, for_update=True)
            if row.claim_state != CLAIM_INITIATED or row.account_id != self.account_id:
                if row.claim_state == CLAIMED and row.account_id == self.account_id:
                    raise ResourceConflict(f"Device {device_id} is already claimed")
                raise ResourceConflict(f"No claim of device {device_id} was initiated")
            pressed = (
                await conn.execute(
                    select(E.c.event_id)
                    .where(and_(E.c.device_id == device_id, E.c.reported_at >= row.claim_initiated_at))
                    .limit(1)
                )
            ).first()
            if pressed is None:
                raise PreconditionFailed(
                    f"Device {device_id} has sent no event since the claim was initiated: press the button"
                )
            await conn.execute(
                self._set(device_id).values(
                    claim_state=CLAIMED, claim_initiated_at=None, tags=dict(params.get("Tags") or {})
                )
            )
        return {"State": CLAIMED}

    async def claim_devices_by_claim_code(self, params: Params) -> Params:
        code = params["ClaimCode"]
        async with self.store.begin() as conn:
            rows = (await conn.execute(select(D).where(D.c.claim_code == code).with_for_update())).all()
            if not rows:
                raise Forbidden(f"Claim code {code} is not valid")
            refused = sorted({r.product_type for r in rows if not PRODUCTS[r.product_type].claimable_by_code})
            if refused:
                names = ", ".join(PRODUCTS[p].name for p in refused)
                raise InvalidRequest(f"Devices of product type {names} cannot be claimed with a claim code")
            free = [r.device_id for r in rows if r.claim_state == UNCLAIMED]
            if not free and all(r.account_id != self.account_id for r in rows):
                raise Forbidden(f"Claim code {code} is not valid")
            for device_id in free:
                await conn.execute(
                    self._set(device_id).values(
                        account_id=self.account_id, claim_state=CLAIMED, claim_initiated_at=None
                    )
                )
        return {"ClaimCode": code, "Total": len(free)}

    async def unclaim_device(self, params: Params) -> Params:
        device_id = params["DeviceId"]
        async with self.store.begin() as conn:
            await self._owned(conn, device_id, for_update=True)
            if await placement_of(conn, self.account_id, self.region, device_id) is not None:
                raise InvalidRequest(
                    f"Device {device_id} is associated with a placement; disassociate it first"
                )
            await conn.execute(
                self._set(device_id).values(
                    account_id=None, claim_state=UNCLAIMED, enabled=False, tags={}, callbacks={}
                )
            )
        return {"State": UNCLAIMED}

    # -- descriptions --------------------------------------------------------------------------------

    def _description(self, row: Any, placement: Placement | None) -> Params:
        return {
            "Arn": self.device_arn(row.device_id),
            "Attributes": placement.device_attributes() if placement is not None else {},
            "DeviceId": row.device_id,
            "Enabled": bool(row.enabled),
            "RemainingLife": remaining_life(row.clicks, row.rated_life),
            "Type": row.device_type,
            "Tags": dict(row.tags),
        }

    async def describe_device(self, params: Params) -> Params:
        device_id = params["DeviceId"]
        await self.settle(device_id)
        async with self.store.read() as conn:
            row = await self._owned(conn, device_id)
            placement = await placement_of(conn, self.account_id, self.region, device_id)
        return {"DeviceDescription": self._description(row, placement)}

    async def list_devices(self, params: Params) -> Params:
        offset, size = page_bounds(params, "NextToken", "MaxResults")
        await self.settle_all()
        where = [D.c.account_id == self.account_id, D.c.claim_state == CLAIMED]
        if params.get("DeviceType"):
            where.append(D.c.device_type == params["DeviceType"])
        async with self.store.read() as conn:
            rows = (await conn.execute(select(D).where(and_(*where)).order_by(D.c.device_id))).all()
            page = rows[offset : offset + size]
            devices = [
                self._description(row, await placement_of(conn, self.account_id, self.region, row.device_id))
                for row in page
            ]
        result: Params = {"Devices": devices}
        token = next_token(offset, size, len(rows))
        if token is not None:
            result["NextToken"] = token
        return result

    async def update_device_state(self, params: Params) -> Params:
        device_id = params["DeviceId"]
        async with self.store.begin() as conn:
            await self._owned(conn, device_id, for_update=True)
            await conn.execute(self._set(device_id).values(enabled=bool(params.get("Enabled", False))))
        return {}

    # -- methods -------------------------------------------------------------------------------------

    async def get_device_methods(self, params: Params) -> Params:
        async with self.store.read() as conn:
            await self._owned(conn, params["DeviceId"])
        return {"DeviceMethods": [{"MethodName": name} for name in DEVICE_METHODS]}

    async def invoke_device_method(self, params: Params) -> Params:
        device_id = params["DeviceId"]
        method = params.get("DeviceMethod") or {}
        name = method.get("MethodName")
        declared_by = DEVICE_METHODS.get(name or "")
        if declared_by is None:
            raise InvalidRequest(INVALID_PARAMETER)
        device_type = method.get("DeviceType")
        if device_type is not None and device_type not in ("device", declared_by):
            raise InvalidRequest(INVALID_PARAMETER)
        raw = params.get("DeviceMethodParameters")
        if name is not None and name.startswith("get"):
            if raw is not None:
                raise InvalidRequest(INVALID_PARAMETER)
            arguments: Params = {}
        else:
            arguments = _method_arguments(raw, device_id)
        await self.settle(device_id)
        async with self.store.begin() as conn:
            row = await self._owned(conn, device_id, for_update=True)
            callbacks = dict(row.callbacks)
            if name == "getDeviceHealthParameters":
                answer: Params = {"remainingLife": remaining_life(row.clicks, row.rated_life)}
            elif name in ("getOnClickCallback", "getDeviceHealthMonitorCallback"):
                key = ON_CLICK if name == "getOnClickCallback" else HEALTH_MONITOR
                answer = dict(callbacks.get(key) or {})
            else:
                key = ON_CLICK if name == "setOnClickCallback" else HEALTH_MONITOR
                callbacks[key] = arguments
                await conn.execute(self._set(device_id).values(callbacks=callbacks))
                answer = {}
        return {"DeviceMethodResponse": json.dumps(answer)}

    # -- events --------------------------------------------------------------------------------------

    async def list_device_events(self, params: Params) -> Params:
        device_id = params["DeviceId"]
        start, end = _epoch(params["FromTimeStamp"]), _epoch(params["ToTimeStamp"])
        if start > end:
            raise RangeNotSatisfiable("fromTimeStamp must not be after toTimeStamp")
        offset, size = page_bounds(params, "NextToken", "MaxResults")
        await self.settle(device_id)
        async with self.store.read() as conn:
            row = await self._owned(conn, device_id)
            events = (
                await conn.execute(
                    select(E.c.std_event)
                    .where(
                        and_(
                            E.c.device_id == device_id,
                            E.c.account_id == self.account_id,
                            E.c.reported_at >= start,
                            E.c.reported_at <= end,
                        )
                    )
                    .order_by(E.c.reported_at, E.c.event_id)
                )
            ).all()
        device = {"Attributes": {}, "DeviceId": device_id, "Type": row.device_type}
        result: Params = {
            "Events": [{"Device": device, "StdEvent": e.std_event} for e in events[offset : offset + size]]
        }
        token = next_token(offset, size, len(events))
        if token is not None:
            result["NextToken"] = token
        return result

    def click(
        self, device_id: str, certificate_id: str, click_type: str
    ) -> asyncio.Task[RecordedClick | None]:
        """Record a click in the background (the broker's hook may not wait); API reads of the device wait."""
        task = asyncio.get_running_loop().create_task(
            self.record_click(device_id, certificate_id, click_type)
        )
        pending = self._pending.setdefault(device_id, set())
        pending.add(task)

        def done(finished: asyncio.Task[RecordedClick | None]) -> None:
            pending.discard(finished)
            if not pending:
                self._pending.pop(device_id, None)

        task.add_done_callback(done)
        return task

    async def settle(self, device_id: str) -> None:
        """Wait for the recordings of ``device_id`` that are still running."""
        pending = list(self._pending.get(device_id, ()))
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)

    async def settle_all(self) -> None:
        pending = [task for tasks in self._pending.values() for task in tasks]
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)

    async def record_click(
        self, device_id: str, certificate_id: str, click_type: str
    ) -> RecordedClick | None:
        """Store the click (the device's certificate must be the one it was made with), lower its remaining
        life, and hand the click event (and a health event, when life falls below the threshold) to the
        dispatcher when the device is claimed and enabled. None: not a device, or not its certificate."""
        lock = self._locks.setdefault(device_id, asyncio.Lock())
        async with lock:
            now = self.clock()
            reported = reported_time(now)
            async with self.store.begin() as conn:
                row = (
                    await conn.execute(select(D).where(D.c.device_id == device_id).with_for_update())
                ).first()
                if row is None or row.certificate_id != certificate_id:
                    return None
                before = remaining_life(row.clicks, row.rated_life)
                life = remaining_life(row.clicks + 1, row.rated_life)
                text = std_event(click_type, reported, certificate_id, life)
                await conn.execute(
                    insert(E).values(
                        account_id=row.account_id,
                        device_id=device_id,
                        event_id=uuid.uuid4().hex,
                        reported_at=now,
                        std_event=text,
                    )
                )
                await conn.execute(self._set(device_id).values(clicks=row.clicks + 1))
                claimed = row.claim_state == CLAIMED and row.account_id is not None
                placed = await placement_of(conn, row.account_id, self.region, device_id) if claimed else None
        live = claimed and bool(row.enabled)
        placement = placed if live else None
        event = click_event(device_id, row.device_type, click_type, reported, life, placement)
        project = placed.project_name if placed is not None else None
        product = PRODUCTS[row.product_type].name if row.product_type in PRODUCTS else row.product_type
        if claimed:
            await self.metrics.event(
                device_event="buttonClicked", device_type=row.device_type, product_type=product,
                project_name=project, remaining_life=life, at=now,
            )  # fmt: skip
        if not live:
            return RecordedClick(text, event, False)
        callbacks = dict(row.callbacks)
        target = on_click_callback(placement, callbacks)
        if target is not None:
            await self._dispatch(
                CallbackDelivery(row.account_id, device_id, ON_CLICK, target, event, project)
            )
        monitor = callbacks.get(HEALTH_MONITOR) or {}
        threshold = _threshold(monitor)
        if threshold is not None and crossed_below(before, life, threshold):
            health = health_event(device_id, row.device_type, life, threshold, placement)
            await self.metrics.event(
                device_event="deviceHealthMonitor", device_type=row.device_type, product_type=product,
                project_name=project, remaining_life=None, at=now,
            )  # fmt: skip
            await self._dispatch(
                CallbackDelivery(row.account_id, device_id, HEALTH_MONITOR, monitor, health, project)
            )
        return RecordedClick(text, event, target is not None)

    async def _dispatch(self, delivery: CallbackDelivery) -> None:
        with contextlib.suppress(Exception):
            await self.dispatcher.dispatch(delivery)

    # -- tags ----------------------------------------------------------------------------------------

    async def _tagged(self, conn: AsyncConnection, resource_arn: str, *, for_update: bool = False) -> Any:
        device_id = arn_resource(resource_arn, self.region, self.account_id, "devices")
        if device_id is None:
            raise ResourceNotFound(f"Resource {resource_arn} not found")
        return await self._owned(conn, device_id, for_update=for_update)

    async def tag_resource(self, params: Params) -> Params:
        async with self.store.begin() as conn:
            row = await self._tagged(conn, params["ResourceArn"], for_update=True)
            await conn.execute(self._set(row.device_id).values(tags={**dict(row.tags), **params["Tags"]}))
        return {}

    async def untag_resource(self, params: Params) -> Params:
        async with self.store.begin() as conn:
            row = await self._tagged(conn, params["ResourceArn"], for_update=True)
            keys = set(params["TagKeys"])
            tags = {k: v for k, v in dict(row.tags).items() if k not in keys}
            await conn.execute(self._set(row.device_id).values(tags=tags))
        return {}

    async def list_tags_for_resource(self, params: Params) -> Params:
        async with self.store.read() as conn:
            row = await self._tagged(conn, params["ResourceArn"])
        return {"Tags": dict(row.tags)}


def _epoch(value: Any) -> float:
    return value.timestamp() if isinstance(value, datetime) else float(value)


def _method_arguments(raw: str | None, device_id: str) -> Params:
    """A set method's DeviceMethodParameters: a JSON object (the guide's SetOnClickCallbackRequestParameters
    serialized: ``{"deviceId": ..., "callback": {"awsLambdaArn": ...}}``), ``deviceId`` optional."""
    if not raw:
        raise InvalidRequest(INVALID_PARAMETER)
    try:
        value = json.loads(raw)
    except ValueError:
        raise InvalidRequest(INVALID_PARAMETER) from None
    if not isinstance(value, dict) or not isinstance(value.get("callback"), dict | str):
        raise InvalidRequest(INVALID_PARAMETER)
    if value.get("deviceId", device_id) != device_id:
        raise InvalidRequest(INVALID_PARAMETER)
    return {k: v for k, v in value.items() if k != "deviceId"}


def _threshold(monitor: Params) -> float | None:
    """setDeviceHealthMonitorCallback's ``condition.remainingLifeLowerThan`` (the health event's field)."""
    condition = monitor.get("condition")
    if not isinstance(condition, dict):
        return None
    value = condition.get("remainingLifeLowerThan")
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None
