"""The worker pool and the handler contract, without a server: real worker processes of both runtimes."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

from corral.functions.pool import FunctionPool, Throttled
from corral.functions.runtime import node_executable, resolve
from corral.functions.worker import WorkerSpec

ARN = "arn:aws:lambda:us-east-1:000000000000:function:f"


def spec(tmp_path: Path, code: str, *, runtime: str = "python3.11", handler: str = "app.handler",
         memory_mb: int = 256, filename: str = "app.py") -> WorkerSpec:  # fmt: skip
    root = tmp_path / "code"
    root.mkdir(exist_ok=True)
    (root / filename).write_text(textwrap.dedent(code))
    environment = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LAMBDA_TASK_ROOT": str(root),
        "_HANDLER": handler,
        "AWS_LAMBDA_FUNCTION_NAME": "f",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(memory_mb),
        "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/f",
        "AWS_LAMBDA_LOG_STREAM_NAME": "2026/11/22/[$LATEST]abc",
    }
    return WorkerSpec(resolve(runtime).command, environment, root, memory_mb)


def request(request_id: str, event: Any = None, *, seconds: float = 30.0) -> dict[str, Any]:
    return {
        "id": request_id,
        "payload": json.dumps(event if event is not None else {}),
        "deadline_ms": int((time.time() + seconds) * 1000),
        "arn": ARN,
        "client_context": {"custom": {"k": "v"}, "client": {"app_title": "t"}},
    }


CONTEXT_ECHO = """
    import os

    def handler(event, context):
        print("hello from", context.function_name)
        return {
            "event": event,
            "function_name": context.function_name,
            "function_version": context.function_version,
            "invoked_function_arn": context.invoked_function_arn,
            "memory_limit_in_mb": context.memory_limit_in_mb,
            "aws_request_id": context.aws_request_id,
            "log_group_name": context.log_group_name,
            "log_stream_name": context.log_stream_name,
            "remaining": context.get_remaining_time_in_millis(),
            "identity": [context.identity.cognito_identity_id, context.identity.cognito_identity_pool_id],
            "client_context": [context.client_context.custom, context.client_context.client.app_title],
            "pid": os.getpid(),
            "cwd": os.getcwd(),
        }
"""


async def test_the_python_handler_contract(tmp_path: Path) -> None:
    pool = FunctionPool(spec(tmp_path, CONTEXT_ECHO), concurrency=2)
    try:
        first = await pool.run(request("r1", {"a": 1}), 30.0, wait=False)
        assert first.init is not None and first.init.error is None
        assert first.reply.ok, first.reply.body
        body = json.loads(first.reply.body)
        assert body["event"] == {"a": 1}
        assert body["function_name"] == "f"
        assert body["function_version"] == "$LATEST"
        assert body["invoked_function_arn"] == ARN
        assert body["memory_limit_in_mb"] == "256"  # a string, as AWS's runtime gives it
        assert body["aws_request_id"] == "r1"
        assert body["log_group_name"] == "/aws/lambda/f"
        assert body["log_stream_name"] == "2026/11/22/[$LATEST]abc"
        assert 0 < body["remaining"] <= 30_000
        assert body["identity"] == [None, None]
        assert body["client_context"] == [{"k": "v"}, "t"]
        assert body["cwd"] == str(tmp_path / "code")
        assert first.reply.log == b"hello from f\n"
        assert first.reply.max_memory_mb > 0
        # warm: the same process answers the next invocation, with no init
        second = await pool.run(request("r2"), 30.0, wait=False)
        assert second.init is None
        assert json.loads(second.reply.body)["pid"] == body["pid"]
    finally:
        await pool.close()
    assert not pool.workers


async def test_an_exception_is_the_error_payload(tmp_path: Path) -> None:
    code = """
        def handler(event, context):
            raise ValueError("boom: " + event["why"])
    """
    pool = FunctionPool(spec(tmp_path, code), concurrency=1)
    try:
        outcome = await pool.run(request("r1", {"why": "because"}), 30.0, wait=False)
    finally:
        await pool.close()
    assert not outcome.reply.ok
    error = json.loads(outcome.reply.body)
    assert error["errorType"] == "ValueError"
    assert error["errorMessage"] == "boom: because"
    assert error["requestId"] == "r1"
    assert len(error["stackTrace"]) == 1
    assert 'app.py", line 3, in handler' in error["stackTrace"][0]
    assert b"[ERROR] ValueError: boom: because\nTraceback (most recent call last):" in outcome.reply.log


@pytest.mark.parametrize(
    ("code", "handler", "error_type", "message"),
    [
        ("x = 1\n", "app.handler", "Runtime.HandlerNotFound", "Handler 'handler' missing on module 'app'"),
        ("x = 1\n", "missing.handler", "Runtime.ImportModuleError",
         "Unable to import module 'missing': No module named 'missing'"),
        ("def handler(:\n", "app.handler", "Runtime.UserCodeSyntaxError", "Syntax error in module 'app'"),
        ("x = 1\n", "nodot", "Runtime.MalformedHandlerName", "Bad handler 'nodot'"),
    ],
)  # fmt: skip
async def test_a_handler_that_cannot_load(
    tmp_path: Path, code: str, handler: str, error_type: str, message: str
) -> None:
    pool = FunctionPool(spec(tmp_path, code, handler=handler), concurrency=1)
    try:
        outcome = await pool.run(request("r1"), 30.0, wait=False)
    finally:
        await pool.close()
    assert outcome.init is not None and outcome.init.error is not None
    error = json.loads(outcome.reply.body)
    assert error["errorType"] == error_type
    assert error["errorMessage"].startswith(message)
    assert f"[ERROR] {error_type}".encode() in outcome.init.log


async def test_an_unserializable_result_is_a_marshal_error(tmp_path: Path) -> None:
    pool = FunctionPool(spec(tmp_path, "def handler(event, context):\n    return {1, 2}\n"), concurrency=1)
    try:
        outcome = await pool.run(request("r1"), 30.0, wait=False)
    finally:
        await pool.close()
    error = json.loads(outcome.reply.body)
    assert error["errorType"] == "Runtime.MarshalError"
    assert "Unable to marshal response: Object of type set is not JSON serializable" in error["errorMessage"]


async def test_a_timeout_kills_the_worker_and_keeps_its_log(tmp_path: Path) -> None:
    code = """
        import time

        def handler(event, context):
            if event.get("sleep"):
                print("going to sleep", flush=True)
                time.sleep(3600)
            return "awake"
    """
    pool = FunctionPool(spec(tmp_path, code), concurrency=1)
    try:
        outcome = await pool.run(request("r1", {"sleep": True}), 0.5, wait=False)
        assert outcome.reply.timed_out
        assert outcome.reply.log == b"going to sleep\n"
        assert not pool.workers  # the killed worker is not kept
        again = await pool.run(request("r2", {}), 30.0, wait=False)
        assert again.init is not None  # a new worker
        assert json.loads(again.reply.body) == "awake"
    finally:
        await pool.close()


async def test_a_crash_is_reported_with_the_exit_status(tmp_path: Path) -> None:
    pool = FunctionPool(spec(tmp_path, "import os\ndef handler(e, c):\n    os._exit(3)\n"), concurrency=1)
    try:
        outcome = await pool.run(request("r1"), 30.0, wait=False)
    finally:
        await pool.close()
    assert outcome.reply.crashed == "exit status 3"


async def test_the_memory_limit_is_enforced(tmp_path: Path) -> None:
    code = """
        def handler(event, context):
            return len(bytearray(event["mb"] * 1024 * 1024))
    """
    pool = FunctionPool(spec(tmp_path, code, memory_mb=128), concurrency=1)
    try:
        small = await pool.run(request("r1", {"mb": 16}), 30.0, wait=False)
        assert small.reply.ok
        big = await pool.run(request("r2", {"mb": 512}), 30.0, wait=False)
        assert not big.reply.ok
        assert json.loads(big.reply.body)["errorType"] == "Runtime.OutOfMemory"
    finally:
        await pool.close()


async def test_concurrency_throttles_synchronous_and_queues_waiting_invocations(tmp_path: Path) -> None:
    code = """
        import os, time

        def handler(event, context):
            while not os.path.exists(event["release"]):
                time.sleep(0.01)
            return os.getpid()
    """
    release = tmp_path / "release"
    pool = FunctionPool(spec(tmp_path, code), concurrency=2)
    try:
        event = {"release": str(release)}
        running = [asyncio.create_task(pool.run(request(f"r{i}", event), 60.0, wait=False)) for i in range(2)]
        await asyncio.sleep(0)  # each task takes its slot before its first suspension
        assert pool.busy == 2
        with pytest.raises(Throttled):
            await pool.run(request("r3", {"release": str(release)}), 60.0, wait=False)
        waiting = asyncio.create_task(pool.run(request("r4", {"release": str(release)}), 60.0, wait=True))
        await asyncio.sleep(0)
        assert not waiting.done()
        release.touch()
        pids = {json.loads((await task).reply.body) for task in running}
        assert len(pids) == 2  # two workers ran side by side
        assert json.loads((await waiting).reply.body) in pids  # then a warm one took the queued invocation
        assert len(pool.workers) == 2
    finally:
        await pool.close()


async def test_retire_replaces_workers(tmp_path: Path) -> None:
    code = "import os\ndef handler(e, c):\n    return [os.getpid(), os.environ.get('GREETING')]\n"
    first_spec = spec(tmp_path, code)
    pool = FunctionPool(first_spec, concurrency=1)
    try:
        before = json.loads((await pool.run(request("r1"), 30.0, wait=False)).reply.body)
        environment = {**first_spec.environment, "GREETING": "hi"}
        await pool.retire(WorkerSpec(first_spec.command, environment, first_spec.task_root, 256))
        after = json.loads((await pool.run(request("r2"), 30.0, wait=False)).reply.body)
        assert after[1] == "hi" and after[0] != before[0]
        assert len(pool.workers) == 1
    finally:
        await pool.close()


NODE_HANDLERS = {
    "async": "exports.handler = async (event, context) => ({event, name: context.functionName, "
    "arn: context.invokedFunctionArn, memory: context.memoryLimitInMB, id: context.awsRequestId, "
    "remaining: context.getRemainingTimeInMillis() > 0});\n",
    "callback": "exports.handler = (event, context, callback) => { console.log('cb', event.a); "
    "setTimeout(() => callback(null, {event, name: context.functionName, arn: context.invokedFunctionArn, "
    "memory: context.memoryLimitInMB, id: context.awsRequestId, remaining: true}), 1); };\n",
}


@pytest.mark.skipif(node_executable() is None, reason="node is not installed")
@pytest.mark.parametrize("style", sorted(NODE_HANDLERS))
async def test_the_nodejs_handler_contract(tmp_path: Path, style: str) -> None:
    code = NODE_HANDLERS[style]
    worker_spec = spec(tmp_path, code, runtime="nodejs20.x", handler="index.handler", filename="index.js")
    pool = FunctionPool(worker_spec, concurrency=1)
    try:
        outcome = await pool.run(request("r1", {"a": 1}), 30.0, wait=False)
    finally:
        await pool.close()
    assert outcome.reply.ok, outcome.reply.body
    assert json.loads(outcome.reply.body) == {
        "event": {"a": 1}, "name": "f", "arn": ARN, "memory": "256", "id": "r1", "remaining": True,
    }  # fmt: skip
    if style == "callback":
        assert outcome.reply.log.endswith(b"\tr1\tINFO\tcb 1\n")


@pytest.mark.skipif(node_executable() is None, reason="node is not installed")
async def test_a_nodejs_error_is_the_error_payload(tmp_path: Path) -> None:
    code = "export const handler = async () => { throw new TypeError('bad ' + 1); };\n"
    pool = FunctionPool(
        spec(tmp_path, code, runtime="nodejs20.x", handler="index.handler", filename="index.mjs"),
        concurrency=1,
    )
    try:
        outcome = await pool.run(request("r1"), 30.0, wait=False)
    finally:
        await pool.close()
    error = json.loads(outcome.reply.body)
    assert error["errorType"] == "TypeError"
    assert error["errorMessage"] == "bad 1"
    assert error["trace"][0] == "TypeError: bad 1"


def test_the_python_runtime_is_this_interpreter() -> None:
    assert resolve("python3.13").command[0] == sys.executable
