"""FunctionService: the one object the Lambda API, the rules engine and 1-Click call to run functions.

``invoke`` is the interface other domains rely on; keep its signature. The service keeps one
``FunctionPool`` per function that has run, built from the function's record (``WorkerSpec``); creating,
updating or deleting a function goes through here so its pool is retired with the old configuration.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import logging
import math
import os
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from corral.functions import logs, names, runtime
from corral.functions.code import CodeStore
from corral.functions.errors import (
    InvalidParameterValue,
    InvalidRequestContent,
    RequestTooLarge,
    TooManyRequests,
    function_not_found,
)
from corral.functions.pool import FunctionPool, Outcome, Throttled
from corral.functions.repository import FunctionRecord, FunctionRepository
from corral.functions.worker import Reply, WorkerSpec
from corral.store.engine import Store

log = logging.getLogger(__name__)

INVOCATION_TYPES = ("RequestResponse", "Event", "DryRun")
SYNC_PAYLOAD_MAX = 6_291_456
EVENT_PAYLOAD_MAX = 262_144
LOG_TAIL_BYTES = 4096
DEFAULT_CONCURRENCY = 10
VERSION = "$LATEST"


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
    executed_version: str = VERSION


@dataclass(frozen=True, slots=True)
class FunctionCredentials:
    access_key_id: str
    secret_access_key: str


class FunctionService:
    def __init__(
        self,
        store: Store,
        data_dir: Path,
        account_id: str,
        region: str,
        *,
        endpoint_url: str,
        credentials: FunctionCredentials,
        default_concurrency: int = DEFAULT_CONCURRENCY,
    ) -> None:
        self.repository = FunctionRepository(store, account_id)
        self.data_dir = data_dir
        self.code = CodeStore(data_dir / "functions")
        self.account_id = account_id
        self.region = region
        self.endpoint_url = endpoint_url
        self.credentials = credentials
        self.default_concurrency = default_concurrency
        self._records: dict[str, FunctionRecord] = {}
        self._pools: dict[str, FunctionPool] = {}
        self._background: set[asyncio.Task[None]] = set()
        self._locks: dict[str, asyncio.Lock] = {}

    async def start(self) -> None:
        """Loads the functions and removes packages no function points at (left by a crash)."""
        records = await self.repository.all()
        self._records = {record.name: record for record in records}
        await asyncio.to_thread(self.code.cleanup, {r.name: r.code_revision for r in records})

    async def close(self) -> None:
        for task in list(self._background):
            task.cancel()
        for task in list(self._background):
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for pool in list(self._pools.values()):
            await pool.close()
        self._pools.clear()

    # -- records, for the API ---------------------------------------------------------------------------

    def lock(self, name: str) -> asyncio.Lock:
        """Serializes the changes of one function."""
        return self._locks.setdefault(name, asyncio.Lock())

    def name_of(self, reference: str, qualifier: str | None = None) -> str:
        return names.resolve(reference, self.region, self.account_id, qualifier)

    def arn_of(self, name: str) -> str:
        return names.function_arn(self.region, self.account_id, name)

    async def record(self, name: str) -> FunctionRecord:
        record = self._records.get(name)
        if record is None:
            record = await self.repository.get(name)
            if record is None:
                raise function_not_found(self.arn_of(name))
            self._records[name] = record
        return record

    def records(self) -> list[FunctionRecord]:
        return sorted(self._records.values(), key=lambda record: record.name)

    async def changed(self, record: FunctionRecord) -> None:
        """``record`` was written: later invocations run it; workers of the old configuration retire."""
        old = self._records.get(record.name)
        self._records[record.name] = record
        pool = self._pools.get(record.name)
        relevant = self._worker_relevant
        if pool is not None and old is not None and relevant(old) != relevant(record):
            await pool.retire(self._spec(record))
            if old.code_revision != record.code_revision and pool.busy == 0:
                await asyncio.to_thread(self.code.discard, record.name, old.code_revision)
        if pool is not None:
            pool.concurrency = self._concurrency(record)

    async def deleted(self, name: str) -> None:
        self._records.pop(name, None)
        pool = self._pools.pop(name, None)
        if pool is not None:
            await pool.close()
        await asyncio.to_thread(self.code.remove, name)

    def new_revision_id(self) -> str:
        return str(uuid.uuid4())

    # -- invoking ---------------------------------------------------------------------------------------

    async def invoke(
        self,
        function: str,
        payload: bytes,
        invocation_type: str = "RequestResponse",
        *,
        tail_log: bool = True,
        client_context: dict[str, Any] | None = None,
        qualifier: str | None = None,
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
        if invocation_type not in INVOCATION_TYPES:
            raise InvalidParameterValue(f"Unsupported invocation type: {invocation_type}")
        name = self.name_of(function, qualifier)
        record = await self.record(name)
        limit = EVENT_PAYLOAD_MAX if invocation_type == "Event" else SYNC_PAYLOAD_MAX
        if len(payload) > limit:
            raise RequestTooLarge(
                f"{len(payload)} byte payload is too large for the {invocation_type} invocation type "
                f"(limit {limit} bytes)"
            )
        text = _event_text(payload)
        if invocation_type == "DryRun":
            return InvokeResult(204, b"")
        invoked_arn = function if function.startswith("arn:") else record.arn
        request = {"payload": text, "arn": invoked_arn, "client_context": client_context}
        if invocation_type == "Event":
            task = asyncio.create_task(self._run_event(record, request))
            self._background.add(task)
            task.add_done_callback(self._background.discard)
            return InvokeResult(202, b"")
        return await self._run(record, request, wait=False, tail_log=tail_log)

    async def _run_event(self, record: FunctionRecord, request: dict[str, Any]) -> None:
        if self._concurrency(record) == 0:
            log.warning("%s has reserved concurrency 0: an Event invocation was dropped", record.name)
            return
        try:
            await self._run(record, request, wait=True, tail_log=False)
        except Exception:
            log.exception("asynchronous invocation of %s failed", record.name)

    async def _run(
        self, record: FunctionRecord, request: dict[str, Any], *, wait: bool, tail_log: bool
    ) -> InvokeResult:
        request_id = str(uuid.uuid4())
        pool = self._pool(record)
        started = time.monotonic()
        request = {**request, "id": request_id, "deadline_ms": int((time.time() + record.timeout) * 1000)}
        try:
            outcome = await pool.run(request, float(record.timeout), wait=wait)
        except Throttled:
            reason = (
                "ReservedFunctionConcurrentInvocationLimitExceeded"
                if record.reserved_concurrency is not None
                else "ConcurrentInvocationLimitExceeded"
            )
            raise TooManyRequests("Rate Exceeded.", Reason=reason) from None
        duration_ms = (time.monotonic() - started) * 1000
        payload, function_error, note = _payload(outcome.reply, request_id, record.timeout)
        text = self._log_text(record, request_id, outcome, duration_ms, note)
        await asyncio.to_thread(logs.append, self.data_dir, record.name, text)
        tail = text[-LOG_TAIL_BYTES:].decode("utf-8", "ignore") if tail_log else ""
        return InvokeResult(200, payload, function_error, tail)

    def _log_text(
        self, record: FunctionRecord, request_id: str, outcome: Outcome, duration_ms: float, note: bytes
    ) -> bytes:
        reply = outcome.reply
        init = outcome.init
        lines: list[bytes] = []
        if init is not None:
            lines.append(init.log)
        lines.append(f"START RequestId: {request_id} Version: {VERSION}\n".encode())
        lines.append(reply.log)
        if reply.log and not reply.log.endswith(b"\n"):
            lines.append(b"\n")
        lines.append(note)
        lines.append(f"END RequestId: {request_id}\n".encode())
        report = [
            f"REPORT RequestId: {request_id}",
            f"Duration: {duration_ms:.2f} ms",
            f"Billed Duration: {math.ceil(duration_ms)} ms",
            f"Memory Size: {record.memory_size} MB",
            f"Max Memory Used: {reply.max_memory_mb} MB",
        ]
        if init is not None:
            report.append(f"Init Duration: {init.init_ms:.2f} ms")
        if reply.timed_out:
            report.append("Status: timeout")
        lines.append(("\t".join(report) + "\t\n").encode())
        return b"".join(lines)

    def _pool(self, record: FunctionRecord) -> FunctionPool:
        pool = self._pools.get(record.name)
        if pool is None:
            pool = FunctionPool(self._spec(record), self._concurrency(record))
            self._pools[record.name] = pool
        return pool

    def _concurrency(self, record: FunctionRecord) -> int:
        if record.reserved_concurrency is not None:
            return record.reserved_concurrency
        return self.default_concurrency

    @staticmethod
    def _worker_relevant(record: FunctionRecord) -> tuple[Any, ...]:
        return (record.runtime, record.handler, record.timeout, record.memory_size,
                orjson.dumps(record.environment), record.code_revision)  # fmt: skip

    def _spec(self, record: FunctionRecord) -> WorkerSpec:
        chosen = runtime.resolve(record.runtime)
        task_root = self.code.folder(record.name, record.code_revision)
        day = datetime.now(UTC).strftime("%Y/%m/%d")
        environment = {
            "PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
            "LANG": "C.UTF-8",
            "TZ": ":UTC",
            "LAMBDA_TASK_ROOT": str(task_root),
            "_HANDLER": record.handler,
            "AWS_EXECUTION_ENV": chosen.execution_env,
            "AWS_LAMBDA_FUNCTION_NAME": record.name,
            "AWS_LAMBDA_FUNCTION_VERSION": VERSION,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(record.memory_size),
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{record.name}",
            "AWS_LAMBDA_LOG_STREAM_NAME": f"{day}/[{VERSION}]{uuid.uuid4().hex}",
            "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
            "AWS_REGION": self.region,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_ACCESS_KEY_ID": self.credentials.access_key_id,
            "AWS_SECRET_ACCESS_KEY": self.credentials.secret_access_key,
            "AWS_ENDPOINT_URL": self.endpoint_url,
            # Nothing of the server's user's AWS configuration leaks in.
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        }
        for variable in ("PYTHONPATH", "NODE_PATH"):
            if variable in os.environ:
                environment[variable] = os.environ[variable]
        environment.update(record.environment or {})
        return WorkerSpec(chosen.command, environment, task_root, record.memory_size)


def _event_text(payload: bytes) -> str:
    if not payload.strip():
        return "{}"
    try:
        text = payload.decode("utf-8")
        orjson.loads(payload)
    except (UnicodeDecodeError, orjson.JSONDecodeError) as exc:
        raise InvalidRequestContent(
            f"Could not parse request body into json: Could not parse payload into json: {exc}"
        ) from None
    return text


def _payload(reply: Reply, request_id: str, timeout: int) -> tuple[bytes, str | None, bytes]:
    """(payload, FunctionError, a log line to add) for what the worker answered."""
    if reply.ok:
        return reply.body, None, b""
    if reply.timed_out:
        message = f"Task timed out after {float(timeout):.2f} seconds"
        stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
        body = {"errorType": "Sandbox.Timedout", "errorMessage": f"RequestId: {request_id} Error: {message}"}
        return orjson.dumps(body), "Unhandled", f"{stamp} {request_id} {message}\n".encode()
    if reply.crashed is not None:
        message = f"RequestId: {request_id} Error: Runtime exited with error: {reply.crashed}"
        body = {"errorType": "Runtime.ExitError", "errorMessage": message}
        return orjson.dumps(body), "Unhandled", f"{message}\n".encode()
    return reply.body, "Unhandled", b""


def decode_client_context(value: str | None) -> dict[str, Any] | None:
    """``X-Amz-Client-Context``: base64 JSON (up to 3583 bytes), or InvalidRequestContent."""
    if not value:
        return None
    try:
        decoded = orjson.loads(base64.b64decode(value, validate=True))
    except (binascii.Error, orjson.JSONDecodeError, ValueError):
        raise InvalidRequestContent("Client context must be a valid Base64-encoded JSON object.") from None
    if not isinstance(decoded, dict):
        raise InvalidRequestContent("Client context must be a valid Base64-encoded JSON object.")
    return decoded
