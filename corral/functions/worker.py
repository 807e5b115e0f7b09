"""One warm worker process of a function: started once, then handed one invocation at a time.

The server's end of the protocol described in ``runtimes/__init__.py``. The process runs in its own session
(process group) with its memory capped (RLIMIT_DATA, see ``WorkerSpec.memory_mb``), so a timeout or a
retirement kills it and whatever it started.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import resource
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

RESPONSE_LIMIT = 32 * 1024 * 1024
LOG_DRAIN_SECONDS = 2.0


@dataclass(frozen=True, slots=True)
class WorkerSpec:
    """How to start a worker of one function at one configuration."""

    command: tuple[str, ...]
    environment: dict[str, str]
    task_root: Path
    memory_mb: int
    """The worker's RLIMIT_DATA (heap and private writable mappings, not address-space reservations): the
    nearest Linux limit to Lambda's memory size that lets Node.js reserve its virtual address space."""
    init_timeout: float = 10.0
    """Lambda's init phase limit: the handler's module must load within it."""


@dataclass(slots=True)
class Reply:
    """What a worker answered one invocation."""

    ok: bool
    body: bytes
    log: bytes
    max_memory_mb: int
    timed_out: bool = False
    crashed: str | None = None  # how the process ended, when it died instead of answering


@dataclass(slots=True)
class InitResult:
    log: bytes
    init_ms: float
    error: bytes | None = None


@dataclass(slots=True)
class _LogBuffer:
    data: bytearray = field(default_factory=bytearray)
    eof: bool = False
    changed: asyncio.Event = field(default_factory=asyncio.Event)


def _marker(name: str) -> bytes:
    return b"\0\0corral:" + name.encode() + b"\0\n"


class Worker:
    def __init__(self, spec: WorkerSpec, generation: int) -> None:
        self.spec = spec
        self.generation = generation
        self.process: asyncio.subprocess.Process | None = None
        self._responses: asyncio.StreamReader | None = None
        self._log = _LogBuffer()
        self._log_task: asyncio.Task[None] | None = None
        self._response_transport: asyncio.ReadTransport | None = None
        self.started_at = time.monotonic()
        self.last_used = self.started_at
        self.invocations = 0

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.returncode is None

    async def start(self) -> InitResult:
        """Starts the process and waits for its handler to load (or fail to)."""
        loop = asyncio.get_running_loop()
        read_fd, write_fd = os.pipe()
        memory = self.spec.memory_mb * 1024 * 1024

        def limit_memory() -> None:
            resource.setrlimit(resource.RLIMIT_DATA, (memory, memory))

        try:
            self.process = await asyncio.create_subprocess_exec(
                *self.spec.command,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT,
                cwd=self.spec.task_root,
                env={**self.spec.environment, "_CORRAL_RESPONSE_FD": str(write_fd)},
                pass_fds=(write_fd,),
                start_new_session=True,
                preexec_fn=limit_memory,
            )
        finally:
            os.close(write_fd)
        reader = asyncio.StreamReader(limit=RESPONSE_LIMIT)
        self._response_transport, _ = await loop.connect_read_pipe(
            lambda: asyncio.StreamReaderProtocol(reader), os.fdopen(read_fd, "rb", buffering=0)
        )
        self._responses = reader
        self._log_task = asyncio.create_task(self._pump_log())
        try:
            message = await asyncio.wait_for(self._next_message(), self.spec.init_timeout)
        except TimeoutError:
            await self.kill()
            log = await self._take_log("init")
            error = orjson.dumps(
                {
                    "errorMessage": f"Init timed out after {self.spec.init_timeout:.2f} seconds",
                    "errorType": "Runtime.InitTimeout",
                }
            )
            return InitResult(log, 0.0, error)
        log = await self._take_log("init")
        if message is None:
            code = await self._exit_description()
            error = orjson.dumps(
                {"errorMessage": f"Runtime exited with error: {code}", "errorType": "Runtime.ExitError"}
            )
            return InitResult(log, 0.0, error)
        error_text = message.get("error")
        init_ms = float(message.get("init_ms") or 0.0)
        if error_text is not None:
            await self.stop()
            return InitResult(log, init_ms, str(error_text).encode())
        return InitResult(log, init_ms)

    async def invoke(self, request: dict[str, Any], seconds: float) -> Reply:
        """Hands the worker one request; kills it if it has not answered within ``seconds``."""
        assert self.process is not None and self.process.stdin is not None
        self.invocations += 1
        request_id = str(request["id"])
        try:
            self.process.stdin.write(orjson.dumps(request) + b"\n")
            await self.process.stdin.drain()
        except (ConnectionError, BrokenPipeError):
            pass  # the process is gone: the read below sees it
        try:
            message = await asyncio.wait_for(self._next_message(), seconds)
        except TimeoutError:
            await self.kill()
            return Reply(False, b"", await self._take_log(request_id), 0, timed_out=True)
        finally:
            self.last_used = time.monotonic()
        log = await self._take_log(request_id)
        if message is None:
            return Reply(False, b"", log, 0, crashed=await self._exit_description())
        max_memory_mb = max(1, int(message.get("max_rss_kb") or 0) // 1024)
        return Reply(bool(message["ok"]), str(message["body"]).encode(), log, max_memory_mb)

    async def stop(self) -> None:
        """Ends the worker: closes its input (a worker waiting for a request exits), then kills its group."""
        if self.process is not None and self.process.stdin is not None:
            self.process.stdin.close()
        await self.kill()
        if self._response_transport is not None:
            self._response_transport.close()
        if self._log_task is not None:
            self._log_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._log_task

    async def kill(self) -> None:
        process = self.process
        if process is None:
            return
        if process.returncode is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGKILL)
        await process.wait()

    async def _next_message(self) -> dict[str, Any] | None:
        assert self._responses is not None
        line = await self._responses.readline()
        if not line:
            return None
        message: dict[str, Any] = orjson.loads(line)
        return message

    async def _exit_description(self) -> str:
        assert self.process is not None
        code = await self.process.wait()
        if code < 0:
            return f"signal: {signal.Signals(-code).name.removeprefix('SIG').lower()}"
        return f"exit status {code}"

    async def _pump_log(self) -> None:
        assert self.process is not None and self.process.stdout is not None
        stream = self.process.stdout
        buffer = self._log
        while chunk := await stream.read(65536):
            buffer.data += chunk
            buffer.changed.set()
        buffer.eof = True
        buffer.changed.set()

    async def _take_log(self, name: str) -> bytes:
        """The log up to ``name``'s marker (or, once the process is dead, whatever it wrote)."""
        marker = _marker(name)
        buffer = self._log
        dead_since: float | None = None
        while True:
            index = buffer.data.find(marker)
            if index >= 0:
                taken = bytes(buffer.data[:index])
                del buffer.data[: index + len(marker)]
                return taken
            if buffer.eof or (dead_since is not None and time.monotonic() - dead_since > LOG_DRAIN_SECONDS):
                # A killed worker's descendants may hold the pipe open; what arrived by now is the log.
                taken = bytes(buffer.data)
                buffer.data.clear()
                return taken
            if dead_since is None and not self.alive:
                dead_since = time.monotonic()
            buffer.changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(buffer.changed.wait(), LOG_DRAIN_SECONDS if dead_since else None)
