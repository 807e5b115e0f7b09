"""The real aws CLI against a real `corral serve`, as a user runs it: with the exports `corral env` prints and
none of the caller's own ``AWS_*`` variables."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

from tests.harness import RunningServer

AWS = str(Path(sys.executable).parent / "aws")
CORRAL = str(Path(sys.executable).parent / "corral")


def corral_env(server: RunningServer) -> dict[str, str]:
    """What `corral env` tells a user to export, parsed."""
    out = subprocess.run(
        [CORRAL, "env", "--data-dir", str(server.data_dir)], capture_output=True, text=True, check=True
    ).stdout
    exports: dict[str, str] = {}
    for line in out.splitlines():
        assert line.startswith("export ")
        name, _, value = line[len("export ") :].partition("=")
        exports[name] = shlex.split(value)[0]
    return exports


def aws_environment(server: RunningServer, overrides: dict[str, str | None] | None = None) -> dict[str, str]:
    """This process's environment without its ``AWS_*`` variables, with `corral env`'s exports; ``overrides``
    change them (None removes a variable)."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    environment.update(corral_env(server))
    for name, value in (overrides or {}).items():
        if value is None:
            environment.pop(name, None)
        else:
            environment[name] = value
    return environment


def run_aws(
    environment: dict[str, str], *args: str, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """``aws ARGS`` in ``environment`` (from :func:`aws_environment`, made once for many runs), in ``cwd``."""
    return subprocess.run(
        [AWS, *args], capture_output=True, text=True, timeout=120, env=environment, cwd=cwd, check=False
    )


def aws(
    server: RunningServer, *args: str, env: dict[str, str | None] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """Runs the aws CLI with `corral env`'s exports, in ``cwd`` (where an outfile goes); ``env`` overrides
    them (None removes a variable)."""
    return run_aws(aws_environment(server, env), *args, cwd=cwd)


def ok(result: subprocess.CompletedProcess[str]) -> str:
    """The stdout of a run that must have succeeded; a failure shows its command and both outputs."""
    assert result.returncode == 0, f"{result.args}\n{result.stdout}\n{result.stderr}"
    return result.stdout
