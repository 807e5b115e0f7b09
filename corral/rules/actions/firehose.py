"""The firehose action: the statement's output put on a Firehose delivery stream.

AWS (developerguide/kinesis-firehose-rule-action.html, API FirehoseAction): ``deliveryStreamName`` (required,
templates), ``separator`` (appended to each record: ``\\n``, ``\\t``, ``\\r\\n`` or ``,``), ``batchMode`` (the
output must be a JSON array of at most 500 elements; each element, as JSON, is one record of a
PutRecordBatch), ``roleArn`` (required, kept, unused). A missing stream, an output that is not an array in
batch mode, or records the stream refuses are a failed action.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from corral.rules.actions.base import ActionContext, ActionError, ActionServices, ActionSpecError
from corral.rules.actions.calls import call, missing
from corral.rules.actions.common import flag, role_arn, scoped, template
from corral.rules.templates import Template, TemplateCompiler

SEPARATORS = ("\n", "\t", "\r\n", ",")
BATCH_MAX = 500


@dataclass(frozen=True, slots=True)
class FirehoseAction:
    stream: Template
    separator: bytes
    batch: bool
    services: ActionServices
    failed_action: str = "FirehoseAction"

    async def run(self, payload: bytes, ctx: ActionContext) -> None:
        stream = await ctx.render(self.stream)
        firehose = self.services.firehose
        if not self.batch:
            if firehose is None:
                raise missing("Firehose", stream)
            await call(firehose.put_record(stream, payload + self.separator), stream)
            return
        try:
            elements = orjson.loads(payload)
        except orjson.JSONDecodeError:
            elements = None
        if not isinstance(elements, list) or not elements:
            raise ActionError("In batch mode the message payload must be a non-empty JSON array", stream)
        if len(elements) > BATCH_MAX:
            raise ActionError(f"A batch holds at most {BATCH_MAX} records, got {len(elements)}", stream)
        if firehose is None:
            raise missing("Firehose", stream)
        records = [orjson.dumps(element) + self.separator for element in elements]
        result = await call(firehose.put_record_batch(stream, records), stream)
        failed = result.get("FailedPutCount", 0) if isinstance(result, Mapping) else 0
        if failed:
            raise ActionError(f"{failed} of {len(records)} records were not delivered", stream)


def build(spec: Mapping[str, Any], compile: TemplateCompiler, services: ActionServices) -> FirehoseAction:
    role_arn(spec, "firehose")
    services = scoped(services, "firehose")
    separator = spec.get("separator")
    if separator is not None and separator not in SEPARATORS:
        raise ActionSpecError("The firehose action's separator must be one of '\\n', '\\t', '\\r\\n', ','")
    return FirehoseAction(
        template(spec, "deliveryStreamName", "firehose", compile),
        (separator or "").encode(),
        flag(spec, "batchMode", "firehose"),
        services,
    )
