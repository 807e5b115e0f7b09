"""Thing principals: AttachThingPrincipal, DetachThingPrincipal, ListThingPrincipals(V2),
ListPrincipalThings(V2).

A principal is a certificate ARN of this account and region (the certificate must exist: this part reads the
``certificates`` table, never writes it) or a Cognito identity id (``region:uuid``, taken as given). Anything
else is an InvalidRequestException; a certificate ARN of another account or region is not found.

Invariants: a principal attached ``EXCLUSIVE_THING`` is attached to that thing only; attaching twice is a
no-op (with a new ``thingPrincipalType``, the type changes, subject to the same exclusivity rule).

Attaching or detaching announces ``Change("thing_principal", principal)``: the broker resolves a
certificate's things (policy variables, group policies) through this table.
"""

from __future__ import annotations

import re
from typing import Any, Final

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from corral.registry.context import RegistryContext
from corral.registry.errors import InvalidRequest, ResourceNotFound
from corral.registry.thing_common import Input, Output, find_thing, keyset_page, require_thing
from corral.store.schema import certificates, thing_principals

EXCLUSIVE: Final = "EXCLUSIVE_THING"
NON_EXCLUSIVE: Final = "NON_EXCLUSIVE_THING"
_CERT_ARN: Final = re.compile(
    r"arn:aws:iot:(?P<region>[^:]+):(?P<account>\d{12}):cert/(?P<id>[0-9a-fA-F]{64})"
)
_COGNITO_ID: Final = re.compile(r"[a-z]{2}(-[a-z]+)+-\d:[0-9a-fA-F-]{36}")


class Principals:
    def __init__(self, context: RegistryContext) -> None:
        self.context = context

    async def attach_thing_principal(self, params: Input) -> Output:
        """Unconfirmed: the exclusivity errors (InvalidRequestException, Corral's messages) and the unknown
        certificate's message."""
        thing_name: str = params["thingName"]
        principal: str = params["principal"]
        kind: str = params.get("thingPrincipalType") or NON_EXCLUSIVE
        tp = thing_principals.c
        async with self.context.store.begin() as conn:
            await require_thing(conn, self.context, thing_name, for_update=True)
            await self._require_principal(conn, principal)
            rows = await conn.execute(
                select(tp.thing_name, tp.principal_type).where(
                    tp.account_id == self.context.account_id, tp.principal == principal
                )
            )
            attached: dict[str, str] = {name: existing for name, existing in rows.all()}
            if attached.get(thing_name) == kind:
                return {}
            others = sorted(name for name in attached if name != thing_name)
            if kind == EXCLUSIVE and others:
                raise InvalidRequest(
                    f"Principal {principal} is attached to thing {others[0]}, so it cannot be attached "
                    f"exclusively to thing {thing_name}"
                )
            for other in others:
                if attached[other] == EXCLUSIVE:
                    raise InvalidRequest(f"Principal {principal} is exclusively attached to thing {other}")
            if thing_name in attached:
                await conn.execute(
                    update(thing_principals)
                    .where(*self._key(thing_name, principal))
                    .values(principal_type=kind)
                )
            else:
                await conn.execute(
                    thing_principals.insert().values(
                        account_id=self.context.account_id,
                        thing_name=thing_name,
                        principal=principal,
                        principal_type=kind,
                    )
                )
        self.context.changed("thing_principal", principal)
        return {}

    async def detach_thing_principal(self, params: Input) -> Output:
        """Unconfirmed: detaching a principal that is not attached succeeds and changes nothing (moto answers
        404; AWS detaches asynchronously and its answer is not documented)."""
        thing_name: str = params["thingName"]
        principal: str = params["principal"]
        async with self.context.store.begin() as conn:
            await require_thing(conn, self.context, thing_name, for_update=True)
            result = await conn.execute(delete(thing_principals).where(*self._key(thing_name, principal)))
        if result.rowcount:
            self.context.changed("thing_principal", principal)
        return {}

    async def list_thing_principals(self, params: Input) -> Output:
        rows, token = await self._thing_principals(params)
        return _page({"principals": [row.principal for row in rows]}, token)

    async def list_thing_principals_v2(self, params: Input) -> Output:
        rows, token = await self._thing_principals(params)
        objects = [{"principal": row.principal, "thingPrincipalType": row.principal_type} for row in rows]
        return _page({"thingPrincipalObjects": objects}, token)

    async def list_principal_things(self, params: Input) -> Output:
        rows, token = await self._principal_things(params)
        return _page({"things": [row.thing_name for row in rows]}, token)

    async def list_principal_things_v2(self, params: Input) -> Output:
        rows, token = await self._principal_things(params)
        objects = [{"thingName": row.thing_name, "thingPrincipalType": row.principal_type} for row in rows]
        return _page({"principalThingObjects": objects}, token)

    # -- helpers ---------------------------------------------------------------------------------------------

    def _key(self, thing_name: str, principal: str) -> tuple[Any, ...]:
        tp = thing_principals.c
        return (
            tp.account_id == self.context.account_id,
            tp.thing_name == thing_name,
            tp.principal == principal,
        )

    async def _require_principal(self, conn: AsyncConnection, principal: str) -> None:
        if _COGNITO_ID.fullmatch(principal):
            return
        match = _CERT_ARN.fullmatch(principal)
        if match is None:
            raise InvalidRequest(
                f"The principal {principal} is not a certificate ARN or a Cognito identity id"
            )
        found = 0
        if match["region"] == self.context.region and match["account"] == self.context.account_id:
            found = (
                await conn.scalar(
                    select(func.count())
                    .select_from(certificates)
                    .where(
                        certificates.c.account_id == self.context.account_id,
                        certificates.c.certificate_id == match["id"],
                    )
                )
                or 0
            )
        if not found:
            raise ResourceNotFound(f"The certificate {principal} does not exist")

    async def _thing_principals(self, params: Input) -> tuple[list[Any], str | None]:
        name: str = params["thingName"]
        tp = thing_principals.c
        stmt = select(thing_principals).where(tp.account_id == self.context.account_id, tp.thing_name == name)
        if params.get("thingPrincipalType"):
            stmt = stmt.where(tp.principal_type == params["thingPrincipalType"])
        async with self.context.store.read() as conn:
            if await find_thing(conn, self.context, name) is None:
                raise ResourceNotFound(
                    f"Failed to list principals for thing {name} because the thing does not exist in your "
                    "account"
                )
            return await keyset_page(conn, stmt, tp.principal, params)

    async def _principal_things(self, params: Input) -> tuple[list[Any], str | None]:
        principal: str = params["principal"]
        tp = thing_principals.c
        stmt = select(thing_principals).where(
            tp.account_id == self.context.account_id, tp.principal == principal
        )
        if params.get("thingPrincipalType"):
            stmt = stmt.where(tp.principal_type == params["thingPrincipalType"])
        async with self.context.store.read() as conn:
            await self._require_principal(conn, principal)
            return await keyset_page(conn, stmt, tp.thing_name, params)


def _page(out: Output, token: str | None) -> Output:
    if token is not None:
        out["nextToken"] = token
    return out
