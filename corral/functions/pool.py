"""The warm workers of one function, and its concurrency.

Invariants:

- At most ``concurrency`` invocations of the function run at once. A synchronous invocation that finds every
  slot busy is throttled at once (TooManyRequestsException, as Lambda does); an asynchronous (Event) one
  waits for a slot, as Lambda's internal queue does.
- A worker runs one invocation at a time; an idle worker of the current generation is reused (warm start),
  otherwise a new one is started (cold start: its init duration is reported).
- ``retire(spec)`` starts a new generation: idle workers of older generations are stopped at once, busy
  ones when their invocation ends. No invocation starts on an old generation's worker after ``retire``.
- A worker that timed out, crashed, failed to load its handler or asked to be retired is never reused.
- Idle workers beyond ``IDLE_SECONDS`` without an invocation are stopped when the pool is next used.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass
from typing import Any

from corral.functions.worker import InitResult, Reply, Worker, WorkerSpec

IDLE_SECONDS = 600.0


class Throttled(Exception):
    """Every slot of the function is busy."""


@dataclass(slots=True)
class Outcome:
    reply: Reply
    init: InitResult | None  # set on a cold start


class FunctionPool:
    def __init__(self, spec: WorkerSpec, concurrency: int) -> None:
        self.spec = spec
        self.concurrency = concurrency
        self.generation = 0
        self.busy = 0
        self.idle: list[Worker] = []
        self.workers: set[Worker] = set()
        self._slot_freed = asyncio.Condition()
        self._closed = False

    async def run(self, request: dict[str, Any], seconds: float, *, wait: bool) -> Outcome:
        """Runs ``request`` on a worker; ``wait``: wait for a free slot instead of raising ``Throttled``."""
        await self._acquire(wait)
        worker: Worker | None = None
        try:
            await self._reap_idle()
            worker, init = await self._checkout()
            if init is not None and init.error is not None:
                return Outcome(Reply(False, init.error, b"", 0), init)
            reply = await worker.invoke(request, seconds)
            return Outcome(reply, init)
        finally:
            if worker is not None:
                await self._checkin(worker)
            await self._release()

    async def retire(self, spec: WorkerSpec | None = None) -> None:
        """New invocations use ``spec`` (or the same spec on fresh workers); old workers go."""
        if spec is not None:
            self.spec = spec
        self.generation += 1
        idle, self.idle = self.idle, []
        for worker in idle:
            await self._stop(worker)

    async def close(self) -> None:
        self._closed = True
        await self.retire()
        for worker in list(self.workers):
            await self._stop(worker)
        async with self._slot_freed:
            self._slot_freed.notify_all()

    async def _acquire(self, wait: bool) -> None:
        async with self._slot_freed:
            while self.busy >= self.concurrency:
                if not wait or self._closed:
                    raise Throttled
                await self._slot_freed.wait()
            self.busy += 1

    async def _release(self) -> None:
        async with self._slot_freed:
            self.busy -= 1
            self._slot_freed.notify()

    async def _checkout(self) -> tuple[Worker, InitResult | None]:
        while self.idle:
            worker = self.idle.pop()
            if worker.alive and worker.generation == self.generation:
                return worker, None
            await self._stop(worker)
        worker = Worker(self.spec, self.generation)
        self.workers.add(worker)
        return worker, await worker.start()

    async def _checkin(self, worker: Worker) -> None:
        if worker.alive and worker.generation == self.generation and not self._closed:
            self.idle.append(worker)
        else:
            await self._stop(worker)

    async def _stop(self, worker: Worker) -> None:
        self.workers.discard(worker)
        with contextlib.suppress(ProcessLookupError):
            await worker.stop()

    async def _reap_idle(self) -> None:
        now = time.monotonic()
        stale = [w for w in self.idle if now - w.last_used > IDLE_SECONDS]
        for worker in stale:
            self.idle.remove(worker)
            await self._stop(worker)
