"""The lambda action: the statement's output handed to a function, invoked asynchronously (``Event``).

AWS (developerguide/lambda-rule-action.html): ``functionArn`` (required, templates). AWS invokes the function
asynchronously; so does Corral, through ``corral.functions``' FunctionService or, with ``[services.lambda]``
in corral.toml, an external Lambda endpoint through boto3. An invocation the service refuses (unknown
function, throttled, payload not JSON...; AWSServiceError or botocore's errors) or a result with
``function_error`` is a failed action: retried, then reported to the error action.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from corral.rules.actions.base import ActionContext, ActionError, ActionServices, require_str
from corral.rules.actions.calls import call
from corral.rules.templates import Template, TemplateCompiler


@dataclass(frozen=True, slots=True)
class LambdaAction:
    function_arn: Template
    services: ActionServices
    failed_action: str = "LambdaAction"

    async def run(self, payload: bytes, ctx: ActionContext) -> None:
        arn = await ctx.render(self.function_arn)
        functions = self.services.functions
        if functions is None:
            raise ActionError("Functions are not available on this server", arn)
        try:
            # The embedded FunctionService raises AWSServiceError; external mode's boto3 adapter botocore's
            # errors: call() makes either "{code}: {message}".
            result = await call(functions.invoke(arn, payload, "Event"), arn)
        except ActionError as exc:
            raise ActionError(f"Failed to invoke the function: {exc.message}", arn) from exc
        error = getattr(result, "function_error", None)
        if error:
            raise ActionError(f"The function failed ({error})", arn)


def build(spec: Mapping[str, Any], compile: TemplateCompiler, services: ActionServices) -> LambdaAction:
    return LambdaAction(compile(require_str(spec, "functionArn", "lambda")), services)
