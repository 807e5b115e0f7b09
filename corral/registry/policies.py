"""IoT policies and their versions: CreatePolicy, GetPolicy, ListPolicies, DeletePolicy, CreatePolicyVersion,
GetPolicyVersion, ListPolicyVersions, SetDefaultPolicyVersion, DeletePolicyVersion; and (from
:mod:`corral.registry.policy_attachments`) AttachPolicy, DetachPolicy, ListAttachedPolicies,
ListTargetsForPolicy, GetEffectivePolicies, the legacy principal-policy operations and
:func:`policies_for_certificate`, which the broker's authorizer calls.

AWS behaviour, from docs/control-plane-facts.md §7; choices where AWS's is unconfirmed are marked [?]:

- Documents are validated by the policy engine (:func:`corral.auth.policy.parse_policy`): 400
  MalformedPolicyException with AWS's texts, 2,048 characters excluding whitespace at most.
- CreatePolicy is not idempotent: an existing name is 409 ResourceAlreadyExistsException with AWS's text.
  Version 1 is the default.
- DeletePolicy: attached to any target, or having versions besides the default, is 409
  DeleteConflictException with AWS's texts (the doubled "than" is AWS's).
- CreatePolicyVersion: at most 5 versions (409 VersionsLimitExceededException, AWS's text); ``setAsDefault``
  makes the new version the default at once. A new version's id is one more than the highest id the policy
  ever gave out (``policies.last_version_id``), so the id of a deleted version never comes back, as on AWS.
- DeletePolicyVersion of the default version is 409 DeleteConflictException (the model's error) [?] text.
- ListPolicies: creation order (newest first unless ``ascendingOrder``), 25 a page by default [?].
  ListPolicyVersions: newest first, no paging.
- Unknown policies and versions are 404 ResourceNotFoundException ([?] texts).

Change notices: ``policy`` (key: the policy name) when a policy is created or deleted and when its versions or
default version change; attachments announce ``policy_attachment`` (see :mod:`policy_attachments`).
"""

from __future__ import annotations

from typing import Final

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from corral.auth.policy import MAX_POLICY_VERSIONS, MalformedPolicyError, parse_policy
from corral.registry.context import RegistryContext
from corral.registry.errors import (
    DeleteConflict,
    MalformedPolicy,
    ResourceAlreadyExists,
    VersionsLimitExceeded,
)
from corral.registry.policy_attachments import PolicyAttachments, policies_for_certificate
from corral.registry.policy_store import policy_arn, require_policy, require_version
from corral.registry.security_common import Input, Output, marker_page, new_generation_id, with_marker
from corral.registry.tags import delete_tags, insert_tags
from corral.registry.thing_common import to_datetime
from corral.store.errors import ConstraintViolation
from corral.store.schema import epoch_now, policies, policy_targets, policy_versions

__all__ = ["Policies", "policies_for_certificate"]

FIRST_VERSION: Final = 1


def _validate(document: str, name: str) -> None:
    try:
        parse_policy(document, name=name)
    except MalformedPolicyError as exc:
        raise MalformedPolicy(exc.message) from exc


class Policies(PolicyAttachments):
    def __init__(self, context: RegistryContext) -> None:
        self.context = context

    async def create_policy(self, params: Input) -> Output:
        name: str = params["policyName"]
        document: str = params["policyDocument"]
        _validate(document, name)
        arn = policy_arn(self.context, name)
        exists = ResourceAlreadyExists(
            f"Policy cannot be created - name already exists (name={name})", resourceId=name, resourceArn=arn
        )
        account = self.context.account_id
        now = epoch_now()
        try:
            async with self.context.store.begin() as conn:
                found = await conn.execute(
                    select(policies.c.policy_name).where(
                        policies.c.account_id == account, policies.c.policy_name == name
                    )
                )
                if found.first() is not None:
                    raise exists
                await conn.execute(
                    insert(policies).values(
                        account_id=account,
                        policy_name=name,
                        policy_arn=arn,
                        default_version_id=FIRST_VERSION,
                        last_version_id=FIRST_VERSION,
                        created_at=now,
                        last_modified_at=now,
                        generation_id=new_generation_id(),
                    )
                )
                await conn.execute(
                    insert(policy_versions).values(
                        account_id=account,
                        policy_name=name,
                        version_id=FIRST_VERSION,
                        document=document,
                        created_at=now,
                    )
                )
                if params.get("tags"):
                    await insert_tags(conn, self.context, arn, params["tags"])
        except ConstraintViolation as exc:  # lost a race with another CreatePolicy of the same name
            raise exists from exc
        self.context.changed("policy", name)
        return {
            "policyName": name,
            "policyArn": arn,
            "policyDocument": document,
            "policyVersionId": str(FIRST_VERSION),
        }

    async def get_policy(self, params: Input) -> Output:
        name: str = params["policyName"]
        async with self.context.store.read() as conn:
            policy = await require_policy(conn, self.context, name)
            version = await require_version(conn, self.context, name, str(policy.default_version_id))
        return {
            "policyName": name,
            "policyArn": policy.policy_arn,
            "policyDocument": version.document,
            "defaultVersionId": str(policy.default_version_id),
            "creationDate": to_datetime(policy.created_at),
            "lastModifiedDate": to_datetime(policy.last_modified_at),
            "generationId": policy.generation_id,
        }

    async def list_policies(self, params: Input) -> Output:
        stmt = select(policies).where(policies.c.account_id == self.context.account_id)
        order = [policies.c.created_at, policies.c.policy_name]
        async with self.context.store.read() as conn:
            rows, marker = await marker_page(
                conn, stmt, order, params, ascending=bool(params.get("ascendingOrder"))
            )
        items = [{"policyName": row.policy_name, "policyArn": row.policy_arn} for row in rows]
        return with_marker({"policies": items}, marker)

    async def delete_policy(self, params: Input) -> Output:
        name: str = params["policyName"]
        account = self.context.account_id
        async with self.context.store.begin() as conn:
            policy = await require_policy(conn, self.context, name, for_update=True)
            attached = await conn.execute(
                select(policy_targets.c.target)
                .where(policy_targets.c.account_id == account, policy_targets.c.policy_name == name)
                .limit(1)
            )
            if attached.first() is not None:
                raise DeleteConflict(
                    "The policy cannot be deleted as the policy is attached to one or more principals "
                    f"(name={name})"
                )
            versions = policy_versions.c.account_id == account, policy_versions.c.policy_name == name
            others = await conn.execute(
                select(policy_versions.c.version_id)
                .where(*versions, policy_versions.c.version_id != policy.default_version_id)
                .limit(1)
            )
            if others.first() is not None:
                raise DeleteConflict(
                    "The policy cannot be deleted as versions other than than default version exist"
                )
            await conn.execute(delete(policy_versions).where(*versions))
            await conn.execute(
                delete(policies).where(policies.c.account_id == account, policies.c.policy_name == name)
            )
            await delete_tags(conn, self.context, policy.policy_arn)
        self.context.changed("policy", name)
        return {}

    # -- versions -----------------------------------------------------------------------------------------

    async def create_policy_version(self, params: Input) -> Output:
        name: str = params["policyName"]
        document: str = params["policyDocument"]
        _validate(document, name)
        set_default = bool(params.get("setAsDefault"))
        account = self.context.account_id
        async with self.context.store.begin() as conn:
            policy = await require_policy(conn, self.context, name, for_update=True)
            count = await conn.scalar(
                select(func.count()).where(
                    policy_versions.c.account_id == account, policy_versions.c.policy_name == name
                )
            )
            if (count or 0) >= MAX_POLICY_VERSIONS:
                raise VersionsLimitExceeded(
                    f"The policy {name} already has the maximum number of versions ({MAX_POLICY_VERSIONS})"
                )
            version_id = policy.last_version_id + 1
            await conn.execute(
                update(policies)
                .where(policies.c.account_id == account, policies.c.policy_name == name)
                .values(last_version_id=version_id)
            )
            await conn.execute(
                insert(policy_versions).values(
                    account_id=account,
                    policy_name=name,
                    version_id=version_id,
                    document=document,
                    created_at=epoch_now(),
                )
            )
            if set_default:
                await self._set_default(conn, name, version_id)
        self.context.changed("policy", name)
        return {
            "policyArn": policy.policy_arn,
            "policyDocument": document,
            "policyVersionId": str(version_id),
            "isDefaultVersion": set_default,
        }

    async def get_policy_version(self, params: Input) -> Output:
        name: str = params["policyName"]
        async with self.context.store.read() as conn:
            policy = await require_policy(conn, self.context, name)
            version = await require_version(conn, self.context, name, params["policyVersionId"])
        return {
            "policyArn": policy.policy_arn,
            "policyName": name,
            "policyDocument": version.document,
            "policyVersionId": str(version.version_id),
            "isDefaultVersion": version.version_id == policy.default_version_id,
            "creationDate": to_datetime(version.created_at),
            "lastModifiedDate": to_datetime(version.created_at),
            "generationId": policy.generation_id,
        }

    async def list_policy_versions(self, params: Input) -> Output:
        name: str = params["policyName"]
        async with self.context.store.read() as conn:
            policy = await require_policy(conn, self.context, name)
            rows = await conn.execute(
                select(policy_versions.c.version_id, policy_versions.c.created_at)
                .where(
                    policy_versions.c.account_id == self.context.account_id,
                    policy_versions.c.policy_name == name,
                )
                .order_by(policy_versions.c.version_id.desc())
            )
            versions = [
                {
                    "versionId": str(version_id),
                    "isDefaultVersion": version_id == policy.default_version_id,
                    "createDate": to_datetime(created_at),
                }
                for version_id, created_at in rows.all()
            ]
        return {"policyVersions": versions}

    async def set_default_policy_version(self, params: Input) -> Output:
        name: str = params["policyName"]
        async with self.context.store.begin() as conn:
            policy = await require_policy(conn, self.context, name, for_update=True)
            version = await require_version(conn, self.context, name, params["policyVersionId"])
            if version.version_id == policy.default_version_id:
                return {}
            await self._set_default(conn, name, version.version_id)
        self.context.changed("policy", name)
        return {}

    async def delete_policy_version(self, params: Input) -> Output:
        name: str = params["policyName"]
        async with self.context.store.begin() as conn:
            policy = await require_policy(conn, self.context, name, for_update=True)
            version = await require_version(conn, self.context, name, params["policyVersionId"])
            if version.version_id == policy.default_version_id:
                raise DeleteConflict(
                    "Cannot delete the default version of a policy; delete the policy itself or make another "
                    "version the default first"
                )
            await conn.execute(
                delete(policy_versions).where(
                    policy_versions.c.account_id == self.context.account_id,
                    policy_versions.c.policy_name == name,
                    policy_versions.c.version_id == version.version_id,
                )
            )
        self.context.changed("policy", name)
        return {}

    async def _set_default(self, conn: AsyncConnection, name: str, version_id: int) -> None:
        await conn.execute(
            update(policies)
            .where(policies.c.account_id == self.context.account_id, policies.c.policy_name == name)
            .values(
                default_version_id=version_id, last_modified_at=epoch_now(), generation_id=new_generation_id()
            )
        )
