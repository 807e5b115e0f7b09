"""Deliveries to subscribers, each in a background task with retries and exponential backoff.

Every attempt's outcome is counted in :class:`DeliveryStats` (``/health`` shows them), logged when it fails,
and recorded on the subscription (``deliveries``, ``delivery_failures``, ``last_failure``), which
GetSubscriptionAttributes shows as ``CorralDeliveries``, ``CorralDeliveryFailures`` and
``CorralLastDeliveryFailure``. A :class:`PermanentFailure` (no SMTP server, no SMS gateway, no function
service, a queue that does not exist) is not retried.

The transports: e-mail over SMTP (aiosmtplib, ``--smtp-url``), HTTP(S) POSTs (httpx), SMS as a JSON POST of
``{"phoneNumber", "message"}`` to the configured gateway, Lambda through the function service (``Event``
invocation), SQS through the embedded queues.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any, Protocol
from urllib.parse import parse_qs, unquote, urlparse

import aiosmtplib
import httpx

log = logging.getLogger(__name__)

BACKOFF = (1.0, 4.0, 16.0)
"""Seconds before the 2nd, 3rd and 4th attempt."""
HTTP_TIMEOUT = 15.0


class PermanentFailure(Exception):
    """A delivery that no retry can make succeed."""


class FunctionInvoker(Protocol):
    """What SNS needs of corral.functions' FunctionService."""

    async def invoke(self, function: str, payload: bytes, invocation_type: str = ...) -> Any: ...


@dataclass(slots=True)
class DeliveryStats:
    attempts: int = 0
    delivered: int = 0
    failed_attempts: int = 0
    abandoned: int = 0


Record = Callable[[str, bool, str | None], Awaitable[None]]
"""(subscription id, succeeded, failure text) -> stored on the subscription."""


class Deliveries:
    def __init__(self, record: Record, backoff: tuple[float, ...] = BACKOFF) -> None:
        self.record = record
        self.backoff = backoff
        self.stats = DeliveryStats()
        self._tasks: set[asyncio.Task[None]] = set()

    def submit(self, subscription_id: str, what: str, attempt: Callable[[], Awaitable[None]]) -> None:
        task = asyncio.get_running_loop().create_task(self._run(subscription_id, what, attempt))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(self, subscription_id: str, what: str, attempt: Callable[[], Awaitable[None]]) -> None:
        for number, delay in enumerate((0.0, *self.backoff), start=1):
            if delay:
                await asyncio.sleep(delay)  # the retry policy's backoff
            self.stats.attempts += 1
            try:
                await attempt()
            except Exception as exc:
                self.stats.failed_attempts += 1
                text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
                log.warning("SNS delivery %s (attempt %d) failed: %s", what, number, text)
                await self._record(subscription_id, False, text)
                if isinstance(exc, PermanentFailure):
                    break
                continue
            self.stats.delivered += 1
            await self._record(subscription_id, True, None)
            return
        self.stats.abandoned += 1
        log.error("SNS delivery %s abandoned", what)

    async def _record(self, subscription_id: str, ok: bool, text: str | None) -> None:
        try:
            await self.record(subscription_id, ok, text)
        except Exception:
            log.exception("cannot record an SNS delivery outcome")

    async def drain(self) -> None:
        """Waits for every delivery under way (retries included)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.gather(*list(self._tasks), return_exceptions=True)


# -- transports --------------------------------------------------------------------------------------------


async def post_http(url: str, body: str, headers: Mapping[str, str], verify: Any = True) -> None:
    async with httpx.AsyncClient(timeout=HTTP_TIMEOUT, verify=verify) as client:
        response = await client.post(url, content=body.encode(), headers=dict(headers))
    if not 200 <= response.status_code < 300:
        raise RuntimeError(f"{url} answered HTTP {response.status_code}")


@dataclass(frozen=True, slots=True)
class SmtpSettings:
    hostname: str
    port: int
    use_tls: bool
    username: str | None
    password: str | None
    sender: str

    @classmethod
    def from_url(cls, url: str) -> SmtpSettings:
        """``smtp://[user:password@]host[:port][?from=address]`` (STARTTLS when the server offers it) or
        ``smtps://…`` (TLS from the start)."""
        parsed = urlparse(url)
        if parsed.scheme not in ("smtp", "smtps") or not parsed.hostname:
            raise ValueError(f"--smtp-url must be smtp://host[:port] or smtps://host[:port], got {url!r}")
        use_tls = parsed.scheme == "smtps"
        sender = parse_qs(parsed.query).get("from", ["no-reply@sns.corral.invalid"])[0]
        return cls(
            parsed.hostname,
            parsed.port or (465 if use_tls else 25),
            use_tls,
            unquote(parsed.username) if parsed.username else None,
            unquote(parsed.password) if parsed.password else None,
            sender,
        )


async def send_email(
    settings: SmtpSettings | None, to: str, subject: str, body: str, display_name: str | None
) -> None:
    if settings is None:
        raise PermanentFailure("no SMTP server is configured (corral serve --smtp-url)")
    message = EmailMessage()
    message["From"] = f"{display_name or 'AWS Notifications'} <{settings.sender}>"
    message["To"] = to
    message["Subject"] = subject
    message.set_content(body)
    await aiosmtplib.send(
        message,
        hostname=settings.hostname,
        port=settings.port,
        username=settings.username,
        password=settings.password,
        use_tls=settings.use_tls,
        timeout=HTTP_TIMEOUT,
    )


async def send_sms(gateway: str | None, phone_number: str, text: str) -> None:
    if not gateway:
        raise PermanentFailure("no SMS gateway is configured (sms_gateway_url in corral.toml)")
    async with httpx.AsyncClient(timeout=HTTP_TIMEOUT) as client:
        response = await client.post(gateway, json={"phoneNumber": phone_number, "message": text})
    if not 200 <= response.status_code < 300:
        raise RuntimeError(f"the SMS gateway answered HTTP {response.status_code}")


async def invoke_function(functions: FunctionInvoker | None, function: str, payload: bytes) -> None:
    if functions is None:
        raise PermanentFailure("Corral's function service is not running")
    await functions.invoke(function, payload, "Event")
