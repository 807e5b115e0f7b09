"""``corral button press``: the LED the Enterprise Button user guide lists for what actually went wrong.

The press is the real command against a real ``corral serve``; the failures are made real too (no server, a
name that does not resolve, a closed port, a server certificate from another CA, a revoked device
certificate)."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from corral.auth.ca import ensure_pki
from tests.harness import RunningServer, free_port, make_server, serving
from tests.oneclick.e2e_support import corral


def press(data_dir: Path, device_id: str, *flags: str) -> subprocess.CompletedProcess[str]:
    return corral("button", "press", device_id, *flags, "--data-dir", str(data_dir), check=False)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    yield from serving(make_server(tmp_path_factory.mktemp("button")))


def manufacture(server: RunningServer) -> dict[str, Any]:
    """``corral oneclick manufacture``'s one enterprise button."""
    [made] = json.loads(
        corral(
            "oneclick", "manufacture", "--product", "enterprise-button", "--data-dir", str(server.data_dir)
        ).stdout
    )
    assert isinstance(made, dict)
    return made


@pytest.fixture(scope="module")
def device(server: RunningServer) -> str:
    made = manufacture(server)
    assert made["deviceId"].startswith("G030PM") and len(made["deviceId"]) == 16
    return str(made["deviceId"])


def elsewhere(server: RunningServer, device: str, tmp_path: Path, **changes: str) -> Path:
    """A data dir with the server's endpoints (``changes`` applied) and the device's flash."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    endpoints = {**server.endpoints, **changes}
    (tmp_path / "endpoints.json").write_text(json.dumps(endpoints))
    flash = Path("oneclick") / "devices" / device
    shutil.copytree(server.data_dir / flash, tmp_path / flash)
    return tmp_path


def test_a_press_is_solid_green_and_recorded(server: RunningServer, device: str) -> None:
    for flag in ("--single", "--double", "--long"):
        done = press(server.data_dir, device, flag)
        assert done.returncode == 0, done.stderr
        assert done.stdout.startswith("solid green")
    iot = server.iot()
    cert_id = iot.list_certificates()["certificates"]
    assert any(c["status"] == "ACTIVE" for c in cert_id)


def test_no_server_or_no_certificate_is_solid_orange(server: RunningServer, tmp_path: Path) -> None:
    done = press(tmp_path, "G030PM0000000000")
    assert done.returncode == 1 and done.stdout.startswith("solid orange")
    done = press(server.data_dir, "G030PM0000000000")  # never manufactured here
    assert done.returncode == 1 and done.stdout.startswith("solid orange")


def test_an_unknown_host_is_red_short_long_short(server: RunningServer, device: str, tmp_path: Path) -> None:
    data_dir = elsewhere(server, device, tmp_path, mqtts="no-such-host.invalid:8883")
    done = press(data_dir, device)
    assert done.returncode == 1 and done.stdout.startswith("red: short, long, short"), done.stdout


def test_a_closed_port_is_red_short_long_long(server: RunningServer, device: str, tmp_path: Path) -> None:
    data_dir = elsewhere(server, device, tmp_path, mqtts=f"127.0.0.1:{free_port()}")
    done = press(data_dir, device)
    assert done.returncode == 1 and done.stdout.startswith("red: short, long, long"), done.stdout


def test_a_server_of_another_ca_is_red_long_short_short(
    server: RunningServer, device: str, tmp_path: Path
) -> None:
    other = ensure_pki(tmp_path / "other")
    data_dir = elsewhere(server, device, tmp_path / "dir", ca_file=str(other.ca_cert_file))
    done = press(data_dir, device)
    assert done.returncode == 1 and done.stdout.startswith("red: long, short, short"), done.stdout


def test_a_revoked_certificate_is_red_long_short_long(server: RunningServer, tmp_path: Path) -> None:
    made = manufacture(server)
    server.iot().update_certificate(certificateId=made["certificateId"], newStatus="REVOKED")
    done = press(server.data_dir, made["deviceId"])
    assert done.returncode == 1 and done.stdout.startswith("red: long, short, long"), done.stdout
