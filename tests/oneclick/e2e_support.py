"""What the 1-Click end-to-end tests share: the real aws CLI with the models ``corral aws-models install``
fetched and ``corral env``'s variables, ``corral oneclick manufacture`` and ``corral button press``."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from tests.aws_cli import CORRAL, aws_environment, run_aws
from tests.harness import RunningServer

WAIT = 60.0


def corral(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run([CORRAL, *args], capture_output=True, text=True, timeout=120, check=check)


def install_models(base: Path) -> str:
    """``corral aws-models install --print-data-path``: the AWS_DATA_PATH holding the two models."""
    return corral("aws-models", "install", "--print-data-path", "--data-dir", str(base)).stdout.strip()


class CLI:
    """The aws CLI as a user runs it after ``eval "$(corral env)"``."""

    def __init__(
        self, server: RunningServer, data_path: str, workdir: Path, env: dict[str, str | None] | None = None
    ) -> None:
        """``env`` overrides the exports (None removes a variable); AWS_DATA_PATH is ``data_path``."""
        self.server = server
        self.workdir = workdir
        self.env = aws_environment(server, {"AWS_DATA_PATH": data_path, **(env or {})})

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return run_aws(self.env, *args, cwd=self.workdir)

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
