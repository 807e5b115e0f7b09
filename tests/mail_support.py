"""Where the messages Corral sends people arrive in the end-to-end tests: a real SMTP server (aiosmtpd) for
the e-mails of SNS and 1-Click, and what their reader does with them; a small HTTP SMS gateway for the SMS of
SNS and 1-Click."""

from __future__ import annotations

import json
import queue
import re
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from email import message_from_bytes
from email.message import Message
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import httpx
from aiosmtpd.controller import Controller

from tests.harness import RunningServer, free_port, make_server

WAIT = 30.0


class Inbox:
    """aiosmtpd's handler: every message it accepts."""

    def __init__(self) -> None:
        self.messages: queue.Queue[Message] = queue.Queue()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.put(message_from_bytes(envelope.content))
        return "250 OK"


@contextmanager
def smtp_server() -> Iterator[tuple[Inbox, int]]:
    """aiosmtpd on a free loopback port, its messages in an Inbox; the inbox and the port."""
    inbox, port = Inbox(), free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


def server_with_mail(
    base: Path, *, sender: str | None = None, **options: Any
) -> Iterator[tuple[RunningServer, Inbox]]:
    """For a fixture's ``yield from``: a server under ``base`` (``options`` go to ``make_server``) whose
    e-mails go to a fresh ``smtp_server()``, from ``sender`` if given, and that server's inbox; both stopped
    afterwards."""
    with smtp_server() as (inbox, port):
        url = f"smtp://127.0.0.1:{port}" + (f"?from={sender}" if sender else "")
        server = make_server(base, extra_args=("--smtp-url", url), **options).start()
        try:
            yield server, inbox
        finally:
            server.stop()


def text_of(message: Message) -> str:
    payload = message.get_payload(decode=True)
    assert isinstance(payload, bytes)
    return payload.decode()


def confirm_subscription(server: RunningServer, confirmation: Message) -> None:
    """Opens the link in an SNS subscription-confirmation e-mail, as its reader would; it must succeed."""
    link = re.search(r"(https://\S+/_corral/sns/confirm\S+)", text_of(confirmation))
    assert link is not None
    ca = ssl.create_default_context(cafile=str(server.ca_file))
    assert httpx.get(link.group(1), verify=ca).status_code == 200


class SmsGateway(BaseHTTPRequestHandler):
    """The tiny HTTP SMS gateway ``sms_gateway_url`` points at: each POSTed JSON body is one SMS."""

    received: queue.Queue[dict[str, Any]] = queue.Queue()

    def do_POST(self) -> None:
        self.received.put(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
        self.send_response(200)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def sms_gateway() -> Iterator[str]:
    """An :class:`SmsGateway` serving on a free loopback port on its own thread; its URL, for
    ``sms_gateway_url``. What it receives is in ``SmsGateway.received``."""
    server = HTTPServer(("127.0.0.1", 0), SmsGateway)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/sms"
    finally:
        server.shutdown()
        server.server_close()
