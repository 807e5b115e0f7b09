"""The sqs action: the statement's output sent as one message to a queue.

AWS (developerguide/sqs-rule-action.html, API SqsAction): ``queueUrl`` (required, templates), ``useBase64``
(the output is base64-encoded before it is sent: for binary payloads), ``roleArn`` (required, kept, unused).
A queue URL whose path is ``/{account}/{name}`` names that queue on Corral, whatever its host, so a rule
written for AWS (``https://sqs.us-east-1.amazonaws.com/123456789012/orders``) works unchanged. A missing
queue or a body SQS refuses is a failed action.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from corral.rules.actions.base import ActionContext, ActionServices
from corral.rules.actions.calls import call, missing
from corral.rules.actions.common import flag, payload_text, role_arn, scoped, template
from corral.rules.templates import Template, TemplateCompiler


@dataclass(frozen=True, slots=True)
class SqsAction:
    queue_url: Template
    use_base64: bool
    services: ActionServices
    failed_action: str = "SqsAction"

    async def run(self, payload: bytes, ctx: ActionContext) -> None:
        url = await ctx.render(self.queue_url)
        body = base64.b64encode(payload).decode() if self.use_base64 else payload_text(payload, url)
        sqs = self.services.sqs
        if sqs is None:
            raise missing("SQS", url)
        await call(sqs.send_message(url, body), url)


def build(spec: Mapping[str, Any], compile: TemplateCompiler, services: ActionServices) -> SqsAction:
    role_arn(spec, "sqs")
    services = scoped(services, "sqs")
    return SqsAction(template(spec, "queueUrl", "sqs", compile), flag(spec, "useBase64", "sqs"), services)
