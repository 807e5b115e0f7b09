"""FunctionService: the one object the Lambda API, the rules engine and 1-Click call to run functions.

``invoke`` is the interface other domains rely on; keep its signature.
"""

from __future__ import annotations

from dataclasses import dataclass

from corral.functions.errors import function_not_found

INVOCATION_TYPES = ("RequestResponse", "Event", "DryRun")


@dataclass(frozen=True, slots=True)
class InvokeResult:
    """What an invocation answered, as Lambda's Invoke does.

    ``status_code``: 200 (RequestResponse), 202 (Event: queued, nothing more is known), 204 (DryRun).
    ``payload``: the handler's return value as JSON bytes, or AWS's error payload (``errorMessage``,
    ``errorType``, ``stackTrace``…) when ``function_error`` is set; empty for Event and DryRun.
    ``function_error``: ``"Unhandled"`` when the function raised, timed out or crashed, else None.
    ``log_tail``: the invocation's log (START … REPORT lines), its last 4 KB, as text (the API base64s it).
    """

    status_code: int
    payload: bytes
    function_error: str | None = None
    log_tail: str = ""
    executed_version: str = "$LATEST"


class FunctionService:
    async def invoke(
        self, function: str, payload: bytes, invocation_type: str = "RequestResponse"
    ) -> InvokeResult:
        """Runs ``function`` (a name, a full ARN or a partial ARN ``ACCOUNT:function:NAME``) with ``payload``
        (JSON bytes; empty is ``{}``).

        Raises (all ``AWSServiceError``s, from corral.functions.errors): ``ResourceNotFound`` for an unknown
        function, ``InvalidRequestContent`` for a payload that is not JSON, ``RequestTooLarge`` beyond
        Lambda's payload quota, ``TooManyRequests`` when a synchronous invocation finds every slot of the
        function's concurrency busy (an ``Event`` invocation waits for a slot instead), and
        ``InvalidParameterValue`` for an unknown invocation type. A function that fails is not an exception:
        it is a result with ``function_error``.
        """
        raise function_not_found(function)
