"""The README's commands, run as a newcomer would: `make run`, then its examples against that server."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from corral.config import load_config

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def _blocks(language: str) -> list[str]:
    """The README's fenced code blocks in the given language ("" for blocks without one), in order."""
    blocks: list[str] = []
    current: list[str] | None = None
    current_language = ""
    for line in README.splitlines():
        if line.startswith("```"):
            if current is None:
                current, current_language = [], line[3:].strip()
            else:
                if current_language == language:
                    blocks.append("\n".join(current) + "\n")
                current = None
        elif current is not None:
            current.append(line)
    return blocks


@pytest.fixture(scope="module")
def make_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, dict[str, str]]]:
    """`make run` from the repository, with free ports and its data dir in a temp folder."""
    work = tmp_path_factory.mktemp("newcomer")
    (work / ".venv").symlink_to(ROOT / ".venv")
    data_dir = work / "corral-data"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CORRAL_", "MAKE", "MFLAGS"))}
    with (work / "make-run.log").open("wb") as log:
        process = subprocess.Popen(
        [
            "make",
            "--no-print-directory",
            "run",
            f"DATA_DIR={data_dir}",
            "SERVE_ARGS=--host 127.0.0.1 --mqtts-port 0 --https-port 0 --http-port 0",
        ],
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
        start_new_session=True,
    )  # fmt: skip
    endpoints_file = data_dir / "endpoints.json"
    deadline = time.monotonic() + 180
    while not endpoints_file.exists():
        assert process.poll() is None, (work / "make-run.log").read_text()
        assert time.monotonic() < deadline, "make run did not bring the server up"
        time.sleep(0.1)
    endpoints = json.loads(endpoints_file.read_text())
    yield work, endpoints
    # Stop the server as an operator would (SIGTERM to corral serve); make then exits with its status.
    children = Path(f"/proc/{process.pid}/task/{process.pid}/children").read_text().split()
    assert len(children) == 1, children
    os.kill(int(children[0]), signal.SIGTERM)
    assert process.wait(30) == 0, (work / "make-run.log").read_text()
    output = (work / "make-run.log").read_text()
    assert "Corral is up" in output and "Corral stopped." in output
    assert not endpoints_file.exists()


def _port(hostport: str) -> str:
    return hostport.rsplit(":", 1)[1]


def test_readme_opens_with_the_two_commands() -> None:
    first = _blocks("sh")[0].splitlines()
    assert first[0].startswith("make run") and first[1].startswith("make test")


def _run_device_example(work: Path, endpoints: dict[str, str]) -> subprocess.CompletedProcess[str]:
    script = _blocks("sh")[2].replace("-p 8883", f"-p {_port(endpoints['mqtts'])}")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    command = ["bash", "-euo", "pipefail", "-c", script]
    return subprocess.run(command, cwd=work, capture_output=True, text=True, timeout=90, env=env)


def test_readme_aws_cli_example(make_run: tuple[Path, dict[str, str]]) -> None:
    work, endpoints = make_run
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    command = ["bash", "-euo", "pipefail", "-c", _blocks("sh")[1]]
    result = subprocess.run(command, cwd=work, capture_output=True, text=True, timeout=60, env=env)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"endpointAddress": endpoints["mqtts"]}


def test_readme_device_example_with_mosquitto(make_run: tuple[Path, dict[str, str]]) -> None:
    work, endpoints = make_run
    result = _run_device_example(work, endpoints)
    assert result.returncode == 0, result.stderr
    assert "hello/world hi" in result.stdout
    assert (work / "my-device.arn").read_text().startswith("arn:aws:iot:us-east-1:000000000000:cert/")


def test_readme_device_sdk_example(make_run: tuple[Path, dict[str, str]]) -> None:
    work, endpoints = make_run
    if not (work / "my-device.pem.crt").exists():
        assert _run_device_example(work, endpoints).returncode == 0
    code = _blocks("python")[0].replace("port=8883", f"port={_port(endpoints['mqtts'])}")
    code += "\nprint('connected', connection.disconnect().result(10))\n"
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=work, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert "connected" in result.stdout


def test_readme_config_example_loads(tmp_path: Path) -> None:
    toml = _blocks("toml")[0]
    (tmp_path / "corral.toml").write_text(toml)
    config = load_config({}, config_file=tmp_path / "corral.toml", environ={})
    assert config.mqtts_port == 8883
    assert config.limits.keep_alive_min == 30
    assert config.limits.session_expiry_max == 3600


def test_readme_serve_usage_matches_the_cli() -> None:
    usage = _blocks("")[0]
    flags = set(re.findall(r"--[a-z-]+", usage))
    result = subprocess.run(
        [str(ROOT / ".venv/bin/corral"), "serve", "--help"], capture_output=True, text=True, check=True
    )
    for flag in flags:
        assert flag in result.stdout, flag
