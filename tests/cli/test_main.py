"""The ``corral`` command line, driven in-process with click's CliRunner (no server is started)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from corral.cli.main import main

# The flags DESIGN.md promises for `corral serve`.
SERVE_CONTRACT_FLAGS = [
    "--data-dir",
    "--host",
    "--mqtts-port",
    "--https-port",
    "--http-port",
    "--insecure-mqtt-port",
    "--smtp-url",
    "--database-url",
]


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # No corral.toml, data dir or CORRAL_* variable from the machine running the tests.
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.startswith("CORRAL_"):
            monkeypatch.delenv(name)


def run(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(main, list(args), env=env)


def test_help() -> None:
    result = run("--help")
    assert result.exit_code == 0, result.output
    assert "serve" in result.output and "env" in result.output
    assert "issue-certificate" not in result.output  # device certificates come from the API


def test_no_command_shows_usage() -> None:
    result = run()
    assert "Usage:" in result.output
    assert "serve" in result.output


def test_serve_help_lists_the_contract_flags() -> None:
    result = run("serve", "--help")
    assert result.exit_code == 0, result.output
    for flag in SERVE_CONTRACT_FLAGS:
        assert flag in result.output, flag


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--mqtts-port", "abc"], "'abc' is not a valid integer"),
        (["--http-port", "1.5"], "not a valid integer"),
        (["--log-level", "loud"], "loud"),
        (["--mqtts-port", "70000"], "between 0 and 65535"),
        (["--insecure-mqtt-port", "-1"], "between 0 and 65535"),
        (["--account-id", "123"], "account_id must be 12 digits"),
        (["--no-such-flag"], "No such option"),
        (["--config", "missing.toml"], "missing.toml"),
    ],
)
def test_serve_bad_flag_is_a_usage_error(tmp_path: Path, args: list[str], message: str) -> None:
    result = run("serve", "--data-dir", str(tmp_path / "data"), *args)
    assert result.exit_code == 2, result.output
    assert "Usage:" in result.output or "Error:" in result.output
    assert message in result.output
    assert not (tmp_path / "data").exists()  # nothing was started


def test_serve_bad_config_file_is_a_usage_error(tmp_path: Path) -> None:
    config = tmp_path / "corral.toml"
    config.write_text("no_such_setting = 1\n")
    result = run("serve", "--config", str(config))
    assert result.exit_code == 2, result.output
    assert "unknown setting 'no_such_setting'" in result.output


def test_serve_bad_environment_is_a_usage_error() -> None:
    result = run("serve", env={"CORRAL_HTTPS_PORT": "x"})
    assert result.exit_code == 2, result.output
    assert "https_port must be a port number" in result.output
