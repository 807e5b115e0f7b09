"""The sns action: the statement's output published to an SNS topic.

AWS (developerguide/sns-rule-action.html, API SnsAction): ``targetArn`` (required; templates through the API
and CLI), ``messageFormat`` ``RAW`` (default: the output is the message) or ``JSON`` (the output is an SNS
JSON message structure, ``{"default": ..., "email": ...}``, published with ``MessageStructure=json``),
``roleArn`` (required, kept, unused). A missing topic or a message SNS refuses is a failed action.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from corral.rules.actions.base import ActionContext, ActionServices
from corral.rules.actions.calls import call, missing
from corral.rules.actions.common import choice, payload_text, role_arn, scoped, template
from corral.rules.templates import Template, TemplateCompiler


@dataclass(frozen=True, slots=True)
class SnsAction:
    target_arn: Template
    message_format: str
    services: ActionServices
    failed_action: str = "SnsAction"

    async def run(self, payload: bytes, ctx: ActionContext) -> None:
        arn = await ctx.render(self.target_arn)
        message = payload_text(payload, arn)
        sns = self.services.sns
        if sns is None:
            raise missing("SNS", arn)
        structure = "json" if self.message_format == "JSON" else None
        await call(sns.publish(arn, message, None, structure), arn)


def build(spec: Mapping[str, Any], compile: TemplateCompiler, services: ActionServices) -> SnsAction:
    role_arn(spec, "sns")
    services = scoped(services, "sns")
    message_format = choice(spec, "messageFormat", "sns", ("RAW", "JSON"), "RAW")
    return SnsAction(template(spec, "targetArn", "sns", compile), message_format, services)
