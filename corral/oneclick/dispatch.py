"""The server's :class:`~corral.oneclick.callbacks.CallbackDispatcher`: events to local functions and to the
predefined actions, through the embedded SNS.

- A Lambda callback: ``FunctionService.invoke(reference, event, "Event")``, as 1-Click invoked Lambda
  asynchronously: the function's own failures are its log's business; not finding the function, or a
  payload it cannot take, is an invocation error.
- ``SendSMS`` / ``SendEmail`` (actions.py): the placement's ``phoneNumber``/``message`` or
  ``email``/``subject``/``body``, sent by SNS's SMS and e-mail transports (the ``sms_gateway_url`` setting,
  ``--smtp-url``) directly, with no topic in between: a topic's e-mail subscription would first wait for its
  recipient to confirm it, which the console's action never asked for.

A function is invoked within the click's recording (an ``Event`` invocation returns once queued), so an API
call that waits for the device's recordings sees its outcome; an SMS or e-mail is sent in a task of its own
(API calls never wait for SMTP). A failure is logged, counted in :attr:`ServiceDispatcher.stats` and in the
``CallbackInvocationErrors`` metric, and never retried.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import orjson

from corral.oneclick.actions import SEND_EMAIL, ActionTarget, FunctionTarget, Target, action_fields, target_of
from corral.oneclick.callbacks import CallbackDelivery
from corral.oneclick.metrics import EventMetrics

if TYPE_CHECKING:
    from corral.services.sns.service import SnsService

log = logging.getLogger(__name__)

SENDER_NAME = "AWS IoT 1-Click"


Send = Callable[[], Awaitable[None]]


class CallbackFailed(Exception):
    """A callback that could not be invoked: the reason is the message."""


class FunctionInvoker(Protocol):
    """What 1-Click needs of corral.functions' FunctionService."""

    async def invoke(self, function: str, payload: bytes, invocation_type: str = ...) -> Any: ...


class Notifier(Protocol):
    async def send_sms(self, phone_number: str, message: str) -> None: ...

    async def send_email(self, address: str, subject: str, body: str) -> None: ...


class SnsNotifier:
    """SMS and e-mail through the embedded SNS's transports."""

    def __init__(self, sns: SnsService) -> None:
        self.sns = sns

    async def _send(self, protocol: str, endpoint: str, body: str, subject: str | None = None) -> None:
        from corral.services.sns.delivery import Delivery

        await self.sns.transports.send(
            Delivery("iot1click", protocol, endpoint, body, subject=subject, sender_name=SENDER_NAME)
        )

    async def send_sms(self, phone_number: str, message: str) -> None:
        await self._send("sms", phone_number, message)

    async def send_email(self, address: str, subject: str, body: str) -> None:
        await self._send("email", address, body, subject)


@dataclass(slots=True)
class DispatchStats:
    delivered: int = 0
    failed: int = 0


class ServiceDispatcher:
    def __init__(
        self,
        functions: FunctionInvoker | None,
        notifier: Notifier | None,
        metrics: EventMetrics | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.functions = functions
        self.notifier = notifier
        self.metrics = metrics or EventMetrics()
        self.clock = clock
        self.stats = DispatchStats()
        self._tasks: set[asyncio.Task[None]] = set()

    async def dispatch(self, delivery: CallbackDelivery) -> None:
        target = target_of(delivery.callback)
        try:
            send = await self._prepare(target, delivery)
        except Exception as exc:
            await self._failed(target, delivery, exc)
            return
        if send is None:
            self.stats.delivered += 1
            return
        task = asyncio.get_running_loop().create_task(self._deliver(target, delivery, send))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def drain(self) -> None:
        """Wait for every SMS and e-mail under way (shutdown, tests)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def _prepare(self, target: Target, delivery: CallbackDelivery) -> Send | None:
        """Invokes a function at once (an ``Event`` invocation only queues it); an action's send, for a task
        of its own; raises when the callback cannot be invoked."""
        if isinstance(target, FunctionTarget):
            if self.functions is None:
                raise CallbackFailed("Corral's function service is not running")
            await self.functions.invoke(target.reference, orjson.dumps(delivery.event), "Event")
            return None
        if isinstance(target, ActionTarget):
            fields = action_fields(target.action, _attributes(delivery.event))
            if isinstance(fields, str):
                raise CallbackFailed(fields)
            notifier = self.notifier
            if notifier is None:
                raise CallbackFailed("Corral's SNS service is not running")
            if target.action == SEND_EMAIL:
                return lambda: notifier.send_email(fields["email"], fields["subject"], fields["body"])
            return lambda: notifier.send_sms(fields["phoneNumber"], fields["message"])
        raise CallbackFailed(target.reason)

    async def _deliver(self, target: Target, delivery: CallbackDelivery, send: Send) -> None:
        try:
            await send()
        except Exception as exc:
            await self._failed(target, delivery, exc)
        else:
            self.stats.delivered += 1

    async def _failed(self, target: Target, delivery: CallbackDelivery, exc: Exception) -> None:
        self.stats.failed += 1
        log.warning("1-Click %s of %s to %s failed: %s", delivery.kind, delivery.device_id, target.label, exc)
        await self.metrics.error(
            callback=target.label,
            device_type=str(delivery.event.get("deviceInfo", {}).get("type", "")),
            project_name=delivery.project_name,
            at=self.clock(),
        )


def _attributes(event: Mapping[str, Any]) -> dict[str, str]:
    """The placement's attributes (its template's defaults under its own) as the event carries them."""
    placement = event.get("placementInfo") or {}
    attributes = placement.get("attributes") or event.get("deviceInfo", {}).get("attributes") or {}
    return {str(k): str(v) for k, v in attributes.items()}
