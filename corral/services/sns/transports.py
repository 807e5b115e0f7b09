"""How each protocol sends a :class:`~corral.services.sns.delivery.Delivery`.

E-mail over SMTP (aiosmtplib, ``--smtp-url``), HTTP(S) POSTs (httpx), SMS as a JSON POST of
``{"phoneNumber", "message"}`` to the configured gateway, Lambda through the function service (``Event``
invocation), SQS through the embedded queues. A transport raises on failure; a
:class:`~corral.services.sns.delivery.PermanentFailure` when no retry can help.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from email.message import EmailMessage
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import parse_qs, unquote, urlparse

import aiosmtplib
import httpx

from corral.services.sns.delivery import Delivery, PermanentFailure
from corral.services.sqs.errors import SqsError
from corral.services.sqs.messages import from_store

if TYPE_CHECKING:
    from corral.services.sqs.service import SqsService

HTTP_TIMEOUT = 15.0


class FunctionInvoker(Protocol):
    """What SNS needs of corral.functions' FunctionService."""

    async def invoke(self, function: str, payload: bytes, invocation_type: str = ...) -> Any: ...


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


class Transports:
    def __init__(
        self,
        smtp: SmtpSettings | None,
        sms_gateway_url: str | None,
        functions: FunctionInvoker | None,
        sqs: SqsService | None,
        https_verify: Any = True,
    ) -> None:
        self.smtp = smtp
        self.sms_gateway_url = sms_gateway_url
        self.functions = functions
        self.sqs = sqs
        self.https_verify = https_verify

    async def send(self, delivery: Delivery) -> None:
        protocol = delivery.protocol
        if protocol in ("http", "https"):
            await post_http(delivery.endpoint, delivery.body, delivery.headers, self.https_verify)
        elif protocol in ("email", "email-json"):
            subject = delivery.subject or "AWS Notification Message"
            await send_email(self.smtp, delivery.endpoint, subject, delivery.body, delivery.sender_name)
        elif protocol == "sms":
            await send_sms(self.sms_gateway_url, delivery.endpoint, delivery.body)
        elif protocol == "lambda":
            await invoke_function(self.functions, delivery.endpoint, delivery.body.encode())
        elif protocol == "sqs":
            await self.to_queue(delivery)
        else:
            raise PermanentFailure(f"no transport for protocol {protocol!r}")

    async def to_queue(self, delivery: Delivery) -> None:
        if self.sqs is None:
            raise PermanentFailure("Corral's SQS service is not running")
        attributes = from_store(delivery.message_attributes) if delivery.message_attributes else None
        try:
            await self.sqs.send_message(
                delivery.endpoint,
                delivery.body,
                message_attributes=attributes,
                group_id=delivery.group_id,
                deduplication_id=delivery.deduplication_id,
            )
        except SqsError as exc:
            if exc.code == "QueueDoesNotExist":
                raise PermanentFailure(f"the queue {delivery.endpoint} does not exist") from exc
            raise


async def post_http(url: str, body: str, headers: Mapping[str, str], verify: Any = True) -> None:
    async with httpx.AsyncClient(timeout=HTTP_TIMEOUT, verify=verify) as client:
        response = await client.post(url, content=body.encode(), headers=dict(headers))
    if not 200 <= response.status_code < 300:
        raise RuntimeError(f"{url} answered HTTP {response.status_code}")


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
