"""The s3 action: the statement's output written as one object.

AWS (developerguide/s3-rule-action.html, API S3Action): ``bucketName`` and ``key`` (required, templates:
``${topic()}/${timestamp()}`` is the classic key), ``cannedAcl`` (one of S3's canned ACLs; accepted and
checked, not applied: Corral's S3 has no ACLs), ``roleArn`` (required, kept, unused). The object replaces
any object with that key. A missing bucket is a failed action.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from corral.rules.actions.base import ActionContext, ActionError, ActionServices, ActionSpecError
from corral.rules.actions.calls import call, missing
from corral.rules.actions.common import role_arn, scoped, template
from corral.rules.templates import Template, TemplateCompiler

CANNED_ACLS = (
    "private", "public-read", "public-read-write", "aws-exec-read", "authenticated-read",
    "bucket-owner-read", "bucket-owner-full-control", "log-delivery-write",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class S3Action:
    bucket: Template
    key: Template
    services: ActionServices
    failed_action: str = "S3Action"

    async def run(self, payload: bytes, ctx: ActionContext) -> None:
        bucket = await ctx.render(self.bucket)
        key = await ctx.render(self.key)
        resource = f"{bucket}/{key}"
        if not bucket or not key:
            raise ActionError("The bucket name and the object key must not be empty", resource)
        s3 = self.services.s3
        if s3 is None:
            raise missing("S3", resource)
        await call(s3.put_object(bucket, key, payload), resource)


def build(spec: Mapping[str, Any], compile: TemplateCompiler, services: ActionServices) -> S3Action:
    role_arn(spec, "s3")
    services = scoped(services, "s3")
    acl = spec.get("cannedAcl")
    if acl is not None and acl not in CANNED_ACLS:
        raise ActionSpecError(f"The s3 action's cannedAcl must be one of {', '.join(CANNED_ACLS)}")
    return S3Action(
        template(spec, "bucketName", "s3", compile), template(spec, "key", "s3", compile), services
    )
