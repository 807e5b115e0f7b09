"""The ``policies``, ``policy_versions`` and ``policy_targets`` rows: lookups shared by the policy parts and
by :func:`corral.registry.policy_attachments.policies_for_certificate`.

Invariants: a policy always has its default version among its versions (CreatePolicy writes version 1 as the
default; the default version can't be deleted; DeletePolicy removes the policy with it); version ids are
positive integers, shown as decimal strings, each given out once per policy (``policies.last_version_id`` is
the highest so far, never lowered, at least every id present); ``policy_targets.target`` is a certificate
ARN (lowercase id), a thing group ARN or a Cognito identity id, exactly as the attachment named it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row, and_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from corral.registry.context import RegistryContext
from corral.registry.errors import ResourceNotFound
from corral.store.schema import policies, policy_targets, policy_versions


def policy_arn(context: RegistryContext, name: str) -> str:
    return context.arn(f"policy/{name}")


async def find_policy(
    conn: AsyncConnection, context: RegistryContext, name: str, *, for_update: bool = False
) -> Row[Any] | None:
    stmt = select(policies).where(policies.c.account_id == context.account_id, policies.c.policy_name == name)
    if for_update:
        stmt = stmt.with_for_update()
    return (await conn.execute(stmt)).first()


async def require_policy(
    conn: AsyncConnection, context: RegistryContext, name: str, *, for_update: bool = False
) -> Row[Any]:
    row = await find_policy(conn, context, name, for_update=for_update)
    if row is None:
        raise ResourceNotFound(f"Policy {name} does not exist")
    return row


async def require_version(
    conn: AsyncConnection, context: RegistryContext, name: str, version_id: str
) -> Row[Any]:
    found = None
    if version_id.isdigit():
        found = (
            await conn.execute(
                select(policy_versions).where(
                    policy_versions.c.account_id == context.account_id,
                    policy_versions.c.policy_name == name,
                    policy_versions.c.version_id == int(version_id),
                )
            )
        ).first()
    if found is None:
        raise ResourceNotFound(f"Policy {name} version {version_id} does not exist")
    return found


async def attached_policy_names(
    conn: AsyncConnection, context: RegistryContext, targets: Sequence[str]
) -> list[str]:
    """The names of the policies attached to any of ``targets``, sorted, each once."""
    if not targets:
        return []
    rows = await conn.execute(
        select(policy_targets.c.policy_name)
        .where(policy_targets.c.account_id == context.account_id, policy_targets.c.target.in_(list(targets)))
        .distinct()
        .order_by(policy_targets.c.policy_name)
    )
    return list(rows.scalars())


async def default_documents(
    conn: AsyncConnection, context: RegistryContext, names: Sequence[str]
) -> list[tuple[str, str, str]]:
    """``(policyName, policyArn, document of the default version)`` for each of ``names``, in that order."""
    if not names:
        return []
    rows = await conn.execute(
        select(policies.c.policy_name, policies.c.policy_arn, policy_versions.c.document)
        .join(
            policy_versions,
            and_(
                policy_versions.c.account_id == policies.c.account_id,
                policy_versions.c.policy_name == policies.c.policy_name,
                policy_versions.c.version_id == policies.c.default_version_id,
            ),
        )
        .where(policies.c.account_id == context.account_id, policies.c.policy_name.in_(list(names)))
    )
    found = {name: (name, arn, document) for name, arn, document in rows.all()}
    return [found[name] for name in dict.fromkeys(names) if name in found]
