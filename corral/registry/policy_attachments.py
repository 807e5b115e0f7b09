"""Policy attachments: AttachPolicy, DetachPolicy, ListAttachedPolicies, ListTargetsForPolicy,
GetEffectivePolicies, the legacy AttachPrincipalPolicy, DetachPrincipalPolicy, ListPrincipalPolicies and
ListPolicyPrincipals (mixed into :class:`corral.registry.policies.Policies`), and
:func:`policies_for_certificate`, the documents the broker compiles for a connection.

A target is a certificate ARN of this account and region (the certificate must exist; its id is stored in
lowercase), a thing group ARN of this account and region (the group must exist), or a Cognito identity id
(``region:uuid``, taken as given: Corral has no Cognito). Another account's or region's ARN is not found
(404); anything else is 400 InvalidRequestException ([?] texts). The legacy operations name the same
attachments ``principal`` and accept certificates and Cognito ids only.

AWS behaviour, from docs/control-plane-facts.md §7 and §3 ("How group policies apply"); [?] marks choices:

- At most 10 policies per target (410 LimitExceededException, [?] text); the limit applies to groups too (the
  Developer Guide's "two policies per group" looks out of date) [?]. Attaching an attached policy is a no-op.
- DetachPolicy lists no ResourceNotFoundException: detaching what is not attached, or an unknown policy, is
  a successful no-op [?]. The legacy DetachPrincipalPolicy does list it: an unknown policy or certificate is
  404.
- ListAttachedPolicies with ``recursive`` on a group adds its ancestors' policies; items are sorted by name.
  ListTargetsForPolicy is sorted by target. ListPrincipalPolicies follows the policies' creation order and
  ListPolicyPrincipals the principals' text (attachments keep no time), newest/greatest first unless
  ``ascendingOrder``. ListPolicyPrincipals leaves thing groups out: they are targets, not principals.
- Policies reach a connection from its certificate and, when the thing whose name is the connection's client
  id is attached to that certificate, from that thing's groups and all their ancestors (AWS: "the clientId and
  the thing name must match"). GetEffectivePolicies answers the same: the principal's policies plus, with
  ``thingName``, its groups' policies, unless a certificate principal is given that the thing is not attached
  to [?]; ``thingName`` alone gives its groups' policies. Neither is 400 InvalidRequestException, and a
  ``cognitoIdentityPoolId`` alone answers no policies (Corral has no Cognito) [?].

Change notices: ``policy_attachment`` with the target (a certificate ARN, a group ARN or a Cognito id) as key,
after every attachment or detachment that changed something.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import Row, and_, delete, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from corral.auth.policy import MAX_POLICIES_PER_PRINCIPAL
from corral.registry.certificate_store import certificate_arn, normalize_id, require_certificate
from corral.registry.context import RegistryContext
from corral.registry.errors import InvalidRequest, LimitExceeded, ResourceNotFound
from corral.registry.policy_store import attached_policy_names, default_documents, require_policy
from corral.registry.security_common import Input, Output, list_page, marker_page, with_marker
from corral.registry.thing_common import require_group, require_thing
from corral.registry.thing_groups import ancestors
from corral.store.schema import (
    policies,
    policy_targets,
    thing_group_members,
    thing_groups,
    thing_principals,
)

CERT: Final = "cert"
GROUP: Final = "thinggroup"
COGNITO: Final = "cognito"
_ARN: Final = re.compile(
    r"arn:aws:iot:(?P<region>[^:]*):(?P<account>[^:]*):(?P<kind>cert|thinggroup)/(?P<name>[^/]+)"
)
_COGNITO_ID: Final = re.compile(r"[a-z]{2}(-[a-z]+)+-\d:[0-9a-fA-F-]{36}")


@dataclass(frozen=True, slots=True)
class Target:
    kind: str  # CERT, GROUP or COGNITO
    name: str  # certificate id, group name or the Cognito id
    value: str  # as stored in policy_targets.target


def parse_target(context: RegistryContext, text: str, *, principal: bool = False) -> Target:
    """What an attachment's ``target`` (or, with ``principal``, a legacy ``principal``) names."""
    noun = "principal" if principal else "target"
    match = _ARN.fullmatch(text)
    if match is not None:
        if (match["region"], match["account"]) != (context.region, context.account_id):
            raise ResourceNotFound(f"The {noun} {text} does not exist in this account and region")
        if match["kind"] == CERT:
            cert_id = normalize_id(match["name"])
            return Target(CERT, cert_id, certificate_arn(context, cert_id))
        if not principal:
            return Target(GROUP, match["name"], text)
    elif _COGNITO_ID.fullmatch(text):
        return Target(COGNITO, text, text)
    expected = "a certificate ARN" if principal else "a certificate ARN, a thing group ARN"
    raise InvalidRequest(f"Invalid {noun} {text}: expected {expected} or a Cognito identity id")


async def _require_target(
    conn: AsyncConnection, context: RegistryContext, target: Target, *, for_update: bool = False
) -> None:
    if target.kind == CERT:
        await require_certificate(conn, context, target.name, for_update=for_update)
    elif target.kind == GROUP:
        await require_group(conn, context, target.name, for_update=for_update)


async def _group_targets(conn: AsyncConnection, context: RegistryContext, group: Row[Any]) -> list[str]:
    """The ARNs of ``group`` and its ancestors: the groups whose policies apply to its things."""
    chain = await ancestors(conn, context, group.parent_group_name)
    return [row.group_arn for row in chain] + [group.group_arn]


async def _thing_group_targets(conn: AsyncConnection, context: RegistryContext, thing_name: str) -> list[str]:
    rows = await conn.execute(
        select(thing_groups)
        .join(
            thing_group_members,
            and_(
                thing_group_members.c.account_id == thing_groups.c.account_id,
                thing_group_members.c.group_name == thing_groups.c.group_name,
            ),
        )
        .where(
            thing_group_members.c.account_id == context.account_id,
            thing_group_members.c.thing_name == thing_name,
        )
        .order_by(thing_groups.c.group_name)
    )
    arns: list[str] = []
    for group in rows.all():
        arns.extend(await _group_targets(conn, context, group))
    return list(dict.fromkeys(arns))


async def _thing_attached(
    conn: AsyncConnection, context: RegistryContext, thing_name: str, principal: str
) -> bool:
    found = await conn.execute(
        select(thing_principals.c.thing_name).where(
            thing_principals.c.account_id == context.account_id,
            thing_principals.c.thing_name == thing_name,
            thing_principals.c.principal == principal,
        )
    )
    return found.first() is not None


async def policies_for_certificate(
    context: RegistryContext, certificate_id: str, thing_name: str | None
) -> list[str]:
    """The documents (default versions) of the policies that govern a connection authenticated by the
    certificate ``certificate_id``: the certificate's, then, when the thing ``thing_name`` (the connection's
    client id) is attached to that certificate, those of the thing's groups and their ancestors. Each policy
    once, the certificate's first, each set sorted by name."""
    arn = certificate_arn(context, normalize_id(certificate_id))
    async with context.store.read() as conn:
        names = await attached_policy_names(conn, context, [arn])
        if thing_name and await _thing_attached(conn, context, thing_name, arn):
            groups = await _thing_group_targets(conn, context, thing_name)
            names += await attached_policy_names(conn, context, groups)
        return [document for _, _, document in await default_documents(conn, context, names)]


class PolicyAttachments:
    context: RegistryContext

    async def attach_policy(self, params: Input) -> Output:
        return await self._attach(params["policyName"], parse_target(self.context, params["target"]))

    async def attach_principal_policy(self, params: Input) -> Output:
        target = parse_target(self.context, params["principal"], principal=True)
        return await self._attach(params["policyName"], target)

    async def detach_policy(self, params: Input) -> Output:
        target = parse_target(self.context, params["target"])
        async with self.context.store.begin() as conn:
            detached = await self._detach(conn, params["policyName"], target)
        if detached:
            self.context.changed("policy_attachment", target.value)
        return {}

    async def detach_principal_policy(self, params: Input) -> Output:
        target = parse_target(self.context, params["principal"], principal=True)
        async with self.context.store.begin() as conn:
            await require_policy(conn, self.context, params["policyName"])
            await _require_target(conn, self.context, target)
            detached = await self._detach(conn, params["policyName"], target)
        if detached:
            self.context.changed("policy_attachment", target.value)
        return {}

    async def _attach(self, name: str, target: Target) -> Output:
        account = self.context.account_id
        async with self.context.store.begin() as conn:
            await require_policy(conn, self.context, name, for_update=True)
            await _require_target(conn, self.context, target, for_update=True)
            attached = await attached_policy_names(conn, self.context, [target.value])
            if name in attached:
                return {}
            if len(attached) >= MAX_POLICIES_PER_PRINCIPAL:
                raise LimitExceeded(
                    f"Cannot attach policy {name}: {target.value} already has the maximum of "
                    f"{MAX_POLICIES_PER_PRINCIPAL} policies attached"
                )
            await conn.execute(
                insert(policy_targets).values(account_id=account, policy_name=name, target=target.value)
            )
        self.context.changed("policy_attachment", target.value)
        return {}

    async def _detach(self, conn: AsyncConnection, name: str, target: Target) -> bool:
        result = await conn.execute(
            delete(policy_targets).where(
                policy_targets.c.account_id == self.context.account_id,
                policy_targets.c.policy_name == name,
                policy_targets.c.target == target.value,
            )
        )
        return bool(result.rowcount)

    async def list_attached_policies(self, params: Input) -> Output:
        target = parse_target(self.context, params["target"])
        async with self.context.store.read() as conn:
            targets = [target.value]
            if target.kind == GROUP:
                group = await require_group(conn, self.context, target.name)
                if params.get("recursive"):
                    targets = await _group_targets(conn, self.context, group)
            else:
                await _require_target(conn, self.context, target)
            names = await attached_policy_names(conn, self.context, targets)
        page, marker = list_page(names, lambda name: name, params)
        items = [{"policyName": name, "policyArn": self.context.arn(f"policy/{name}")} for name in page]
        return with_marker({"policies": items}, marker)

    async def list_targets_for_policy(self, params: Input) -> Output:
        name: str = params["policyName"]
        stmt = select(policy_targets.c.target).where(
            policy_targets.c.account_id == self.context.account_id, policy_targets.c.policy_name == name
        )
        async with self.context.store.read() as conn:
            await require_policy(conn, self.context, name)
            rows, marker = await marker_page(conn, stmt, [policy_targets.c.target], params)
        return with_marker({"targets": [row.target for row in rows]}, marker)

    async def list_principal_policies(self, params: Input) -> Output:
        target = parse_target(self.context, params["principal"], principal=True)
        stmt = (
            select(policies)
            .join(
                policy_targets,
                and_(
                    policy_targets.c.account_id == policies.c.account_id,
                    policy_targets.c.policy_name == policies.c.policy_name,
                ),
            )
            .where(policies.c.account_id == self.context.account_id, policy_targets.c.target == target.value)
        )
        order = [policies.c.created_at, policies.c.policy_name]
        async with self.context.store.read() as conn:
            await _require_target(conn, self.context, target)
            rows, marker = await marker_page(
                conn, stmt, order, params, ascending=bool(params.get("ascendingOrder"))
            )
        items = [{"policyName": row.policy_name, "policyArn": row.policy_arn} for row in rows]
        return with_marker({"policies": items}, marker)

    async def list_policy_principals(self, params: Input) -> Output:
        name: str = params["policyName"]
        stmt = select(policy_targets.c.target).where(
            policy_targets.c.account_id == self.context.account_id,
            policy_targets.c.policy_name == name,
            policy_targets.c.target.not_like(f"%:{GROUP}/%"),
        )
        async with self.context.store.read() as conn:
            await require_policy(conn, self.context, name)
            rows, marker = await marker_page(
                conn, stmt, [policy_targets.c.target], params, ascending=bool(params.get("ascendingOrder"))
            )
        return with_marker({"principals": [row.target for row in rows]}, marker)

    async def get_effective_policies(self, params: Input) -> Output:
        principal: str | None = params.get("principal")
        thing_name: str | None = params.get("thingName")
        if not principal and not thing_name:
            if params.get("cognitoIdentityPoolId"):
                return {"effectivePolicies": []}
            raise InvalidRequest("Either principal or thingName must be specified")
        target = parse_target(self.context, principal, principal=True) if principal else None
        async with self.context.store.read() as conn:
            names: list[str] = []
            if target is not None:
                await _require_target(conn, self.context, target)
                names += await attached_policy_names(conn, self.context, [target.value])
            if thing_name:
                await require_thing(conn, self.context, thing_name)
                if (
                    target is None
                    or target.kind != CERT
                    or await _thing_attached(conn, self.context, thing_name, target.value)
                ):
                    names += await attached_policy_names(
                        conn, self.context, await _thing_group_targets(conn, self.context, thing_name)
                    )
            documents = await default_documents(conn, self.context, names)
        return {
            "effectivePolicies": [
                {"policyName": name, "policyArn": arn, "policyDocument": document}
                for name, arn, document in documents
            ]
        }
