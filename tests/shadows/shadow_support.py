"""Tools for the Device Shadow end-to-end tests: an inbox over a paho client that hands out each shadow
message once, the wall-clock window a server timestamp must fall in, and the iot-data clients (boto3 and the
real aws CLI) with the administrator's key the server wrote.

Nothing here sleeps to synchronize: every wait is for a message, with a timeout.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import paho.mqtt.client as mqtt
from botocore.config import Config

from tests.aws_cli import aws
from tests.broker.clients import TIMEOUT, ClientPool, PahoClient
from tests.harness import DeviceCertificate, RunningServer

Body = dict[str, Any]
OPERATIONS = ("get", "update", "delete")


# -- topics --------------------------------------------------------------------------------------------


def shadow_base(thing: str, shadow: str | None = None) -> str:
    """``$aws/things/T/shadow`` (classic) or ``$aws/things/T/shadow/name/S`` (named)."""
    base = f"$aws/things/{thing}/shadow"
    return base if shadow is None else f"{base}/name/{shadow}"


def response_topics(thing: str, shadow: str | None = None) -> list[str]:
    """The eight topics the Device Shadow service answers on, as the developer guide lists them."""
    base = shadow_base(thing, shadow)
    return [
        f"{base}/delete/accepted",
        f"{base}/delete/rejected",
        f"{base}/get/accepted",
        f"{base}/get/rejected",
        f"{base}/update/accepted",
        f"{base}/update/rejected",
        f"{base}/update/delta",
        f"{base}/update/documents",
    ]


# -- time ----------------------------------------------------------------------------------------------


@dataclass
class Window:
    """The wall-clock seconds a test step ran in: a server timestamp made during it lies in [start, end]."""

    start: int
    end: int = -1

    def check(self, timestamp: Any) -> int:
        assert isinstance(timestamp, int) and not isinstance(timestamp, bool), timestamp
        assert self.end >= self.start, "the window is still open"
        assert self.start <= timestamp <= self.end, f"{timestamp} outside [{self.start}, {self.end}]"
        return timestamp


@contextmanager
def wall_clock() -> Iterator[Window]:
    """A window opened before the block and closed after it (epoch seconds, as the server rounds them)."""
    window = Window(int(time.time()))
    yield window
    window.end = int(time.time())


# -- MQTT ----------------------------------------------------------------------------------------------


@dataclass
class Inbox:
    """A connected paho client's shadow messages, each handed out once, in arrival order per topic."""

    client: PahoClient
    taken: set[int] = field(default_factory=set)

    def take(self, topic: str, match: Callable[[Body], bool] | None = None, timeout: float = TIMEOUT) -> Body:
        """The body of the next not yet taken message on ``topic`` (that satisfies ``match``)."""

        def wanted(message: mqtt.MQTTMessage) -> bool:
            if id(message) in self.taken or message.topic != topic:
                return False
            return match is None or match(json.loads(message.payload))

        message = self.client.wait_for(wanted, timeout)
        self.taken.add(id(message))
        body = json.loads(message.payload)
        assert isinstance(body, dict), body
        return body

    def waiting(self, topic: str) -> list[Body]:
        """The bodies of the messages on ``topic`` received and not taken yet (they are not taken now)."""
        return [
            json.loads(m.payload)
            for m in self.client.seen(lambda m: m.topic == topic)
            if id(m) not in self.taken
        ]

    def publish(self, topic: str, payload: bytes | str | Body) -> None:
        """A QoS 1 publish, waiting for its PUBACK (0: accepted)."""
        if isinstance(payload, dict):
            payload = json.dumps(payload)
        data = payload.encode() if isinstance(payload, str) else payload
        assert self.client.publish(topic, data, qos=1) == 0


def shadow_client(
    pool: ClientPool,
    server: RunningServer,
    client_id: str,
    device: DeviceCertificate,
    topics: list[str],
    *,
    version: int,
) -> Inbox:
    """A paho client connected with ``device``'s certificate and subscribed (QoS 1) to ``topics``."""
    client = pool.connected(server, client_id, device=device, version=version)
    granted = client.subscribe(*topics, qos=1)
    assert granted == [1] * len(topics), granted
    return Inbox(client)


# -- the iot-data API ----------------------------------------------------------------------------------


def admin_key(server: RunningServer) -> tuple[str, str]:
    """The administrator's access key id and secret from the credentials file the server wrote."""
    values: dict[str, str] = {}
    for line in Path(server.endpoints["credentials_file"]).read_text().splitlines():
        name, _, value = (part.strip() for part in line.partition("="))
        values[name] = value
    return values["aws_access_key_id"], values["aws_secret_access_key"]


def iot_data(server: RunningServer, *, https: bool = False) -> Any:
    """A boto3 ``iot-data`` client (it signs as ``iotdata``) on the loopback HTTP port, or on HTTPS with the
    Corral root CA; no retries, so an error is the server's first answer."""
    key_id, secret = admin_key(server)
    url = f"https://{server.endpoints['https']}" if https else f"http://{server.endpoints['http']}"
    return boto3.client(
        "iot-data",
        endpoint_url=url,
        region_name=server.endpoints["region"],
        aws_access_key_id=key_id,
        aws_secret_access_key=secret,
        verify=str(server.ca_file) if https else None,
        config=Config(retries={"total_max_attempts": 1}),
    )


def aws_cli(
    server: RunningServer, *args: str, cwd: Path | None = None, check: bool = True
) -> subprocess.CompletedProcess[str]:
    """The real aws CLI with the exports `corral env` prints, run in ``cwd`` (where an outfile goes); with
    ``check`` it must succeed."""
    result = aws(server, *args, cwd=cwd)
    if check:
        assert result.returncode == 0, f"aws {' '.join(args)}: {result.stderr}"
    return result


def read_json(path: Path) -> Body:
    body = json.loads(path.read_text())
    assert isinstance(body, dict), body
    return body
