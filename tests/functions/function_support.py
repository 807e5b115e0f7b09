"""Deployment packages and CLI helpers for the functions tests."""

from __future__ import annotations

import io
import os
import shlex
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

from tests.harness import RunningServer

AWS = str(Path(sys.executable).parent / "aws")
CORRAL = str(Path(sys.executable).parent / "corral")
ROLE = "arn:aws:iam::000000000000:role/x"


def package(files: dict[str, str]) -> bytes:
    """A zip, as `zip` or a build tool would make it, of ``files`` (name -> source, dedented)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, source in files.items():
            archive.writestr(name, textwrap.dedent(source))
    return buffer.getvalue()


def corral_env(server: RunningServer) -> dict[str, str]:
    out = subprocess.run(
        [CORRAL, "env", "--data-dir", str(server.data_dir)], capture_output=True, text=True, check=True
    ).stdout
    exports: dict[str, str] = {}
    for line in out.splitlines():
        name, _, value = line.removeprefix("export ").partition("=")
        exports[name] = shlex.split(value)[0]
    return exports


def aws(server: RunningServer, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """The real aws CLI with `corral env`'s exports."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    environment.update(corral_env(server))
    return subprocess.run([AWS, *args], capture_output=True, text=True, timeout=120, env=environment, cwd=cwd)


def assert_no_traceback(server: RunningServer) -> None:
    """Nothing went wrong on the server's side (204 answers, e.g. DeleteFunction, carry no body)."""
    assert "Traceback" not in server.log(), server.log()
