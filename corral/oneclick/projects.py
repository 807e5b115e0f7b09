"""The ``iot1click-projects`` service: projects with their placement template, placements, and the devices
placed in them (one per device template; a device in one placement at most).

Invariants: a project's ``device_templates`` maps template name -> ``{"deviceType", "callbackOverrides"}``
(both always present), at most ``max_device_templates`` of them; a project is deleted only without
placements, a placement only without devices; a device is placed only when the account has claimed it and
its type is the template's. Dates are epoch seconds; ``updatedDate`` moves when the project's or the
placement's own fields change (placing a device leaves the placement's alone, as the walkthrough's
describe-placement shows).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy import and_, delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from corral.oneclick.actions import template_problem
from corral.oneclick.common import arn, arn_resource, epoch_seconds, next_token, page_bounds
from corral.oneclick.errors import InvalidRequest, ResourceConflict, ResourceNotFound
from corral.oneclick.events import Placement
from corral.oneclick.settings import OneClickSettings
from corral.store.engine import Store
from corral.store.errors import ConstraintViolation
from corral.store.schema import (
    oneclick_devices,
    oneclick_placement_devices,
    oneclick_placements,
    oneclick_projects,
)

Params = dict[str, Any]
CLAIMED = "CLAIMED"

P, PL, PD = oneclick_projects, oneclick_placements, oneclick_placement_devices


async def placement_of(
    conn: AsyncConnection, account_id: str, region: str, device_id: str
) -> Placement | None:
    """Where ``device_id`` is placed in ``account_id``'s projects, with what its events need."""
    slot = (
        await conn.execute(select(PD).where(and_(PD.c.account_id == account_id, PD.c.device_id == device_id)))
    ).first()
    if slot is None:
        return None
    project = (
        await conn.execute(
            select(P).where(and_(P.c.account_id == account_id, P.c.project_name == slot.project_name))
        )
    ).one()
    placement = (
        await conn.execute(
            select(PL).where(
                and_(
                    PL.c.account_id == account_id,
                    PL.c.project_name == slot.project_name,
                    PL.c.placement_name == slot.placement_name,
                )
            )
        )
    ).one()
    devices = await _devices_in(conn, account_id, slot.project_name, slot.placement_name)
    template = dict(project.device_templates).get(slot.template_name, {})
    return Placement(
        region=region,
        project_name=slot.project_name,
        placement_name=slot.placement_name,
        template_name=slot.template_name,
        default_attributes=dict(project.default_attributes),
        attributes=dict(placement.attributes),
        devices=devices,
        callback_overrides=dict(template.get("callbackOverrides") or {}),
    )


async def _devices_in(conn: AsyncConnection, account_id: str, project: str, placement: str) -> dict[str, str]:
    rows = await conn.execute(
        select(PD.c.template_name, PD.c.device_id)
        .where(
            and_(
                PD.c.account_id == account_id, PD.c.project_name == project, PD.c.placement_name == placement
            )
        )
        .order_by(PD.c.template_name)
    )
    return {row.template_name: row.device_id for row in rows}


def _templates(value: Mapping[str, Any] | None) -> dict[str, dict[str, Any]]:
    return {
        name: {
            "deviceType": t.get("deviceType", ""),
            "callbackOverrides": dict(t.get("callbackOverrides") or {}),
        }
        for name, t in (value or {}).items()
    }


class ProjectService:
    def __init__(
        self,
        store: Store,
        account_id: str,
        region: str,
        settings: OneClickSettings | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.account_id = account_id
        self.region = region
        self.settings = settings or OneClickSettings()
        self.clock = clock

    def project_arn(self, name: str) -> str:
        return arn(self.region, self.account_id, f"projects/{name}")

    # -- projects ------------------------------------------------------------------------------------

    def _check_template(self, template: Mapping[str, Any] | None) -> None:
        count = len((template or {}).get("deviceTemplates") or {})
        if count > self.settings.max_device_templates:
            raise InvalidRequest(
                f"A placement template can have at most {self.settings.max_device_templates} device templates"
            )

    @staticmethod
    def _check_actions(device_templates: Mapping[str, Any], default_attributes: Mapping[str, str]) -> None:
        """A predefined action's fields are required default attributes (actions.py)."""
        for name, template in device_templates.items():
            problem = template_problem(name, template, default_attributes)
            if problem is not None:
                raise InvalidRequest(problem)

    async def create_project(self, params: Params) -> Params:
        name = params["projectName"]
        template = params.get("placementTemplate") or {}
        self._check_template(template)
        self._check_actions(
            _templates(template.get("deviceTemplates")), dict(template.get("defaultAttributes") or {})
        )
        now = self.clock()
        async with self.store.begin() as conn:
            count = await conn.scalar(
                select(func.count()).select_from(P).where(P.c.account_id == self.account_id)
            )
            if (count or 0) >= self.settings.max_projects:
                raise InvalidRequest(f"An account can have at most {self.settings.max_projects} projects")
            if await self._project(conn, name, missing_ok=True) is not None:
                raise ResourceConflict(f"Project {name} already exists")
            await conn.execute(
                insert(P).values(
                    account_id=self.account_id,
                    project_name=name,
                    description=params.get("description"),
                    default_attributes=dict(template.get("defaultAttributes") or {}),
                    device_templates=_templates(template.get("deviceTemplates")),
                    tags=dict(params.get("tags") or {}),
                    created_at=now,
                    updated_at=now,
                )
            )
        return {}

    async def _project(self, conn: AsyncConnection, name: str, *, missing_ok: bool = False) -> Any:
        row = (
            await conn.execute(
                select(P).where(and_(P.c.account_id == self.account_id, P.c.project_name == name))
            )
        ).first()
        if row is None and not missing_ok:
            raise ResourceNotFound(f"Project {name} not found")
        return row

    async def describe_project(self, params: Params) -> Params:
        async with self.store.read() as conn:
            row = await self._project(conn, params["projectName"])
        project: Params = {
            "arn": self.project_arn(row.project_name),
            "projectName": row.project_name,
            "createdDate": epoch_seconds(row.created_at),
            "updatedDate": epoch_seconds(row.updated_at),
            "placementTemplate": {
                "defaultAttributes": dict(row.default_attributes),
                "deviceTemplates": _templates(row.device_templates),
            },
            "tags": dict(row.tags),
        }
        if row.description is not None:
            project["description"] = row.description
        return {"project": project}

    async def update_project(self, params: Params) -> Params:
        name = params["projectName"]
        values: Params = {}
        if params.get("description") is not None:
            values["description"] = params["description"]
        template = params.get("placementTemplate")
        if template is not None:
            self._check_template(template)
            if template.get("defaultAttributes") is not None:
                values["default_attributes"] = dict(template["defaultAttributes"])
            if template.get("deviceTemplates") is not None:
                values["device_templates"] = _templates(template["deviceTemplates"])
        async with self.store.begin() as conn:
            row = await self._project(conn, name)
            self._check_actions(
                values.get("device_templates", _templates(row.device_templates)),
                values.get("default_attributes", dict(row.default_attributes)),
            )
            await conn.execute(
                update(P)
                .where(and_(P.c.account_id == self.account_id, P.c.project_name == name))
                .values(**values, updated_at=self.clock())
            )
        return {}

    async def list_projects(self, params: Params) -> Params:
        offset, size = page_bounds(params, "nextToken", "maxResults")
        async with self.store.read() as conn:
            rows = (
                await conn.execute(
                    select(P).where(P.c.account_id == self.account_id).order_by(P.c.project_name)
                )
            ).all()
        page = rows[offset : offset + size]
        result: Params = {
            "projects": [
                {
                    "arn": self.project_arn(row.project_name),
                    "projectName": row.project_name,
                    "createdDate": epoch_seconds(row.created_at),
                    "updatedDate": epoch_seconds(row.updated_at),
                    "tags": dict(row.tags),
                }
                for row in page
            ]
        }
        token = next_token(offset, size, len(rows))
        if token is not None:
            result["nextToken"] = token
        return result

    async def delete_project(self, params: Params) -> Params:
        name = params["projectName"]
        async with self.store.begin() as conn:
            await self._project(conn, name)
            placed = await conn.scalar(
                select(func.count())
                .select_from(PL)
                .where(and_(PL.c.account_id == self.account_id, PL.c.project_name == name))
            )
            if placed:
                raise InvalidRequest(f"Project {name} has placements; delete them first")
            await conn.execute(
                delete(P).where(and_(P.c.account_id == self.account_id, P.c.project_name == name))
            )
        return {}

    # -- placements ----------------------------------------------------------------------------------

    def _placement_where(self, project: str, placement: str) -> Any:
        return and_(
            PL.c.account_id == self.account_id, PL.c.project_name == project, PL.c.placement_name == placement
        )

    async def _placement(self, conn: AsyncConnection, project: str, placement: str) -> Any:
        await self._project(conn, project)
        row = (await conn.execute(select(PL).where(self._placement_where(project, placement)))).first()
        if row is None:
            raise ResourceNotFound(f"Placement {placement} not found in project {project}")
        return row

    async def create_placement(self, params: Params) -> Params:
        project, placement = params["projectName"], params["placementName"]
        now = self.clock()
        async with self.store.begin() as conn:
            await self._project(conn, project)
            exists = (
                await conn.execute(
                    select(PL.c.placement_name).where(self._placement_where(project, placement))
                )
            ).first()
            if exists is not None:
                raise ResourceConflict(f"Placement {placement} already exists in project {project}")
            await conn.execute(
                insert(PL).values(
                    account_id=self.account_id,
                    project_name=project,
                    placement_name=placement,
                    attributes=dict(params.get("attributes") or {}),
                    created_at=now,
                    updated_at=now,
                )
            )
        return {}

    async def update_placement(self, params: Params) -> Params:
        """Given attributes replace those of the same name; an empty value removes one."""
        project, placement = params["projectName"], params["placementName"]
        async with self.store.begin() as conn:
            row = await self._placement(conn, project, placement)
            attributes = dict(row.attributes)
            for key, value in (params.get("attributes") or {}).items():
                if value == "":
                    attributes.pop(key, None)
                else:
                    attributes[key] = value
            await conn.execute(
                update(PL)
                .where(self._placement_where(project, placement))
                .values(attributes=attributes, updated_at=self.clock())
            )
        return {}

    async def describe_placement(self, params: Params) -> Params:
        async with self.store.read() as conn:
            row = await self._placement(conn, params["projectName"], params["placementName"])
        return {
            "placement": {
                "projectName": row.project_name,
                "placementName": row.placement_name,
                "attributes": dict(row.attributes),
                "createdDate": epoch_seconds(row.created_at),
                "updatedDate": epoch_seconds(row.updated_at),
            }
        }

    async def list_placements(self, params: Params) -> Params:
        project = params["projectName"]
        offset, size = page_bounds(params, "nextToken", "maxResults")
        async with self.store.read() as conn:
            await self._project(conn, project)
            rows = (
                await conn.execute(
                    select(PL)
                    .where(and_(PL.c.account_id == self.account_id, PL.c.project_name == project))
                    .order_by(PL.c.placement_name)
                )
            ).all()
        result: Params = {
            "placements": [
                {
                    "projectName": row.project_name,
                    "placementName": row.placement_name,
                    "createdDate": epoch_seconds(row.created_at),
                    "updatedDate": epoch_seconds(row.updated_at),
                }
                for row in rows[offset : offset + size]
            ]
        }
        token = next_token(offset, size, len(rows))
        if token is not None:
            result["nextToken"] = token
        return result

    async def delete_placement(self, params: Params) -> Params:
        project, placement = params["projectName"], params["placementName"]
        async with self.store.begin() as conn:
            await self._placement(conn, project, placement)
            if await _devices_in(conn, self.account_id, project, placement):
                raise InvalidRequest(f"Placement {placement} has devices; disassociate them first")
            await conn.execute(delete(PL).where(self._placement_where(project, placement)))
        return {}

    # -- devices in placements -----------------------------------------------------------------------

    async def associate_device_with_placement(self, params: Params) -> Params:
        project, placement = params["projectName"], params["placementName"]
        template, device_id = params["deviceTemplateName"], params["deviceId"]
        try:
            async with self.store.begin() as conn:
                await self._placement(conn, project, placement)
                templates = _templates((await self._project(conn, project)).device_templates)
                if template not in templates:
                    raise ResourceNotFound(f"Device template {template} not found in project {project}")
                device = (
                    await conn.execute(
                        select(oneclick_devices.c.device_type).where(
                            and_(
                                oneclick_devices.c.device_id == device_id,
                                oneclick_devices.c.account_id == self.account_id,
                                oneclick_devices.c.claim_state == CLAIMED,
                            )
                        )
                    )
                ).first()
                if device is None:
                    raise ResourceNotFound(f"Device {device_id} not found")
                wanted = templates[template]["deviceType"]
                if wanted and wanted != device.device_type:
                    raise InvalidRequest(
                        f"Device {device_id} is a {device.device_type}, the template wants {wanted}"
                    )
                taken = await _devices_in(conn, self.account_id, project, placement)
                if template in taken:
                    raise ResourceConflict(
                        f"Device template {template} of placement {placement} already has a device"
                    )
                await conn.execute(
                    insert(PD).values(
                        account_id=self.account_id,
                        project_name=project,
                        placement_name=placement,
                        template_name=template,
                        device_id=device_id,
                    )
                )
        except ConstraintViolation:
            raise ResourceConflict(f"Device {device_id} is already associated with a placement") from None
        return {}

    async def disassociate_device_from_placement(self, params: Params) -> Params:
        project, placement, template = (
            params["projectName"],
            params["placementName"],
            params["deviceTemplateName"],
        )
        async with self.store.begin() as conn:
            await self._placement(conn, project, placement)
            gone = await conn.execute(
                delete(PD).where(
                    and_(
                        PD.c.account_id == self.account_id,
                        PD.c.project_name == project,
                        PD.c.placement_name == placement,
                        PD.c.template_name == template,
                    )
                )
            )
            if gone.rowcount == 0:
                raise ResourceNotFound(
                    f"No device is associated with template {template} of placement {placement}"
                )
        return {}

    async def get_devices_in_placement(self, params: Params) -> Params:
        project, placement = params["projectName"], params["placementName"]
        async with self.store.read() as conn:
            await self._placement(conn, project, placement)
            return {"devices": await _devices_in(conn, self.account_id, project, placement)}

    # -- tags ----------------------------------------------------------------------------------------

    async def _tagged(self, conn: AsyncConnection, resource_arn: str) -> Any:
        name = arn_resource(resource_arn, self.region, self.account_id, "projects")
        if name is None:
            raise ResourceNotFound(f"Resource {resource_arn} not found")
        row = await self._project(conn, name, missing_ok=True)
        if row is None:
            raise ResourceNotFound(f"Resource {resource_arn} not found")
        return row

    async def _set_tags(self, conn: AsyncConnection, name: str, tags: dict[str, str]) -> None:
        await conn.execute(
            update(P)
            .where(and_(P.c.account_id == self.account_id, P.c.project_name == name))
            .values(tags=tags)
        )

    async def tag_resource(self, params: Params) -> Params:
        async with self.store.begin() as conn:
            row = await self._tagged(conn, params["resourceArn"])
            await self._set_tags(conn, row.project_name, {**dict(row.tags), **params["tags"]})
        return {}

    async def untag_resource(self, params: Params) -> Params:
        async with self.store.begin() as conn:
            row = await self._tagged(conn, params["resourceArn"])
            keys = set(params["tagKeys"])
            await self._set_tags(
                conn, row.project_name, {k: v for k, v in dict(row.tags).items() if k not in keys}
            )
        return {}

    async def list_tags_for_resource(self, params: Params) -> Params:
        async with self.store.read() as conn:
            row = await self._tagged(conn, params["resourceArn"])
        return {"tags": dict(row.tags)}
