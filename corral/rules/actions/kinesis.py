"""The kinesis action: the statement's output put as one record on a Kinesis data stream.

AWS (developerguide/kinesis-rule-action.html, API KinesisAction): ``streamName`` (required), ``partitionKey``
(templates, usually ``${topic()}`` or ``${newuuid()}``), ``roleArn`` (required, kept, unused). Without a
partition key Corral uses a new random UUID per record, so records spread over the shards. A missing stream
is a failed action.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from corral.rules.actions.base import ActionContext, ActionError, ActionServices
from corral.rules.actions.calls import call, missing
from corral.rules.actions.common import optional_template, role_arn, scoped, template
from corral.rules.templates import Template, TemplateCompiler


@dataclass(frozen=True, slots=True)
class KinesisAction:
    stream: Template
    partition_key: Template | None
    services: ActionServices
    failed_action: str = "KinesisAction"

    async def run(self, payload: bytes, ctx: ActionContext) -> None:
        stream = await ctx.render(self.stream)
        if self.partition_key is None:
            key = str(uuid.uuid4())
        else:
            key = await ctx.render(self.partition_key)
            if not key:
                raise ActionError("The partition key is empty", stream)
        kinesis = self.services.kinesis
        if kinesis is None:
            raise missing("Kinesis", stream)
        await call(kinesis.put_record(stream, payload, key), stream)


def build(spec: Mapping[str, Any], compile: TemplateCompiler, services: ActionServices) -> KinesisAction:
    role_arn(spec, "kinesis")
    services = scoped(services, "kinesis")
    return KinesisAction(
        template(spec, "streamName", "kinesis", compile),
        optional_template(spec, "partitionKey", "kinesis", compile),
        services,
    )
