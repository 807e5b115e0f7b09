"""What the 1-Click end-to-end tests share: the real aws CLI with the models ``corral aws-models install``
fetched and ``corral env``'s variables, ``corral oneclick manufacture`` and ``corral button press``, a paho
subscriber, an SMTP server (aiosmtpd) and an SMS gateway."""

from __future__ import annotations

import json
import os
import queue
import shlex
import subprocess
import sys
import uuid
from email import message_from_bytes
from email.message import Message
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from tests.harness import RunningServer

AWS = str(Path(sys.executable).parent / "aws")
CORRAL = str(Path(sys.executable).parent / "corral")
WAIT = 60.0


def corral(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run([CORRAL, *args], capture_output=True, text=True, timeout=120, check=check)


def install_models(base: Path) -> str:
    """``corral aws-models install --print-data-path``: the AWS_DATA_PATH holding the two models."""
    return corral("aws-models", "install", "--print-data-path", "--data-dir", str(base)).stdout.strip()


class CLI:
    """The aws CLI as a user runs it after ``eval "$(corral env)"``."""

    def __init__(self, server: RunningServer, data_path: str, workdir: Path) -> None:
        self.server = server
        self.workdir = workdir
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        for line in corral("env", "--data-dir", str(server.data_dir)).stdout.splitlines():
            name, _, value = line.removeprefix("export ").partition("=")
            env[name] = shlex.split(value)[0]
        env["AWS_DATA_PATH"] = data_path
        self.env = env

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [AWS, *args], capture_output=True, text=True, timeout=120, env=self.env, cwd=self.workdir
        )

    def __call__(self, *args: str) -> Any:
        done = self.run(*args)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout) if done.stdout.strip() else None

    def write(self, name: str, body: Any) -> str:
        (self.workdir / name).write_text(json.dumps(body, indent=2))
        return f"file://{name}"

    def manufacture(self, count: int) -> list[str]:
        out = corral(
            "oneclick", "manufacture", "--product", "enterprise-button", "--count", str(count),
            "--data-dir", str(self.server.data_dir),
        ).stdout  # fmt: skip
        return [str(device["deviceId"]) for device in json.loads(out)]

    def press(self, device_id: str, click: str = "single") -> None:
        done = corral(
            "button", "press", device_id, f"--{click}", "--data-dir", str(self.server.data_dir), check=False
        )
        assert done.returncode == 0 and done.stdout.startswith("solid green"), done.stdout + done.stderr

    def claim(self, device_id: str, *, enabled: bool = True) -> None:
        """The walkthrough's claim (initiate, press, finalize), then enabled (only enabled devices call
        back)."""
        assert self("iot1click-devices", "initiate-device-claim", "--device-id", device_id)
        self.press(device_id)
        assert self("iot1click-devices", "finalize-device-claim", "--device-id", device_id) == {
            "State": "CLAIMED"
        }
        if enabled:
            self("iot1click-devices", "update-device-state", "--device-id", device_id, "--enabled")

    def events(self, device_id: str) -> list[dict[str, Any]]:
        """ListDeviceEvents over all time: it waits for the device's recordings, metrics and callbacks."""
        window = ("--from-time-stamp", "2000-01-01T00:00:00Z", "--to-time-stamp", "2100-01-01T00:00:00Z")
        found = self("iot1click-devices", "list-device-events", "--device-id", device_id, *window)
        return [json.loads(event["StdEvent"]) for event in found["Events"]]


class Subscriber:
    """A paho client on the loopback MQTT port, collecting what it receives."""

    def __init__(self, server: RunningServer, topic: str) -> None:
        self.messages: queue.Queue[mqtt.MQTTMessage] = queue.Queue()
        subscribed: queue.Queue[bool] = queue.Queue()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"sub-{uuid.uuid4().hex[:8]}")
        self.client.on_message = lambda client, userdata, message: self.messages.put(message)
        self.client.on_subscribe = lambda *args: subscribed.put(True)
        self.client.on_connect = lambda client, *args: client.subscribe(topic, qos=1)
        self.client.connect("127.0.0.1", server.insecure_port)
        self.client.loop_start()
        assert subscribed.get(timeout=WAIT)

    def next(self) -> tuple[str, dict[str, Any]]:
        message = self.messages.get(timeout=WAIT)
        return message.topic, json.loads(message.payload)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


class Inbox:
    """aiosmtpd's handler: every message it accepts."""

    def __init__(self) -> None:
        self.messages: queue.Queue[Message] = queue.Queue()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.put(message_from_bytes(envelope.content))
        return "250 OK"


def text_of(message: Message) -> str:
    payload = message.get_payload(decode=True)
    assert isinstance(payload, bytes)
    return payload.decode()


class SmsGateway(BaseHTTPRequestHandler):
    """The tiny HTTP SMS gateway ``sms_gateway_url`` points at: each POSTed JSON body is one SMS."""

    received: queue.Queue[dict[str, Any]] = queue.Queue()

    def do_POST(self) -> None:
        self.received.put(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
        self.send_response(200)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


def sms_gateway() -> HTTPServer:
    return HTTPServer(("127.0.0.1", 0), SmsGateway)
