"""A real SMTP server (aiosmtpd) for the e-mails SNS sends, and what their reader does with them."""

from __future__ import annotations

import queue
import re
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from email import message_from_bytes
from email.message import Message
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


def server_with_mail(base: Path) -> Iterator[tuple[RunningServer, Inbox]]:
    """For a fixture's ``yield from``: a server under ``base`` whose e-mails go to a fresh ``smtp_server()``,
    and that server's inbox; both stopped afterwards."""
    with smtp_server() as (inbox, port):
        server = make_server(base, extra_args=("--smtp-url", f"smtp://127.0.0.1:{port}")).start()
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
