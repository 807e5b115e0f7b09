"""Where 1-Click events go: the ``CallbackDispatcher`` interface.

A callback is what a device template's ``callbackOverrides`` or a device method (setOnClickCallback,
setDeviceHealthMonitorCallback) names: a Lambda function ARN (a local function) or, from the console's
predefined actions, "send SMS" / "send e-mail" (through SNS). The device service hands every event that
should reach a callback to a dispatcher and never waits for the callback itself.

The interface and a recording implementation (tests) live here; the server's dispatcher, delivering to
functions and through SNS, is :class:`corral.oneclick.dispatch.ServiceDispatcher`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True, slots=True)
class CallbackDelivery:
    account_id: str
    device_id: str
    kind: str  # events.ON_CLICK or events.HEALTH_MONITOR
    callback: Any  # a Lambda ARN (str) or a callback object as set through a device method
    event: dict[str, Any]
    project_name: str | None = None  # for the CallbackInvocationErrors metric's dimension


class CallbackDispatcher(Protocol):
    async def dispatch(self, delivery: CallbackDelivery) -> None:
        """Deliver one event; failures are the dispatcher's to record (CallbackInvocationErrors), never
        raised into the device service."""


@dataclass
class RecordingDispatcher:
    """Keeps every delivery: for tests, and for the console to show what would have been called."""

    deliveries: list[CallbackDelivery] = field(default_factory=list)

    async def dispatch(self, delivery: CallbackDelivery) -> None:
        self.deliveries.append(delivery)
