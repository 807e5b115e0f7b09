"""Which Lambda runtimes Corral runs, and how a worker process of each is started.

- ``python3.*``: every Python runtime runs on the server's own interpreter (``sys.executable``), whatever
  minor version is asked, so a function sees the packages installed beside Corral (boto3 among them).
- ``nodejs*``: the ``node`` found on ``PATH`` when the server started, if any.
- Anything else (java, dotnet, ruby, provided.*) is refused with InvalidParameterValueException.
"""

from __future__ import annotations

import functools
import platform
import shutil
import subprocess
import sys
from dataclasses import dataclass

from corral.functions.errors import InvalidParameterValue
from corral.functions.runtimes import NODE_BOOTSTRAP, PYTHON_BOOTSTRAP


@dataclass(frozen=True, slots=True)
class Runtime:
    name: str
    language: str  # "python" | "nodejs"
    command: tuple[str, ...]

    @property
    def execution_env(self) -> str:
        return f"AWS_Lambda_{self.name}"


@functools.cache
def node_executable() -> tuple[str, str] | None:
    """(path, version) of ``node``, or None when it is not installed."""
    path = shutil.which("node") or shutil.which("nodejs")
    if path is None:
        return None
    try:
        version = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    return path, version.strip()


def describe_supported() -> str:
    python = f"python3.x (run by Python {platform.python_version()})"
    node = node_executable()
    return f"{python}, nodejs* (run by node {node[1]})" if node else python


def resolve(name: str) -> Runtime:
    """The runtime ``name`` (as CreateFunction's ``Runtime``), or InvalidParameterValue naming it."""
    if name.startswith("python3"):
        return Runtime(name, "python", (sys.executable, "-u", str(PYTHON_BOOTSTRAP)))
    if name.startswith("nodejs"):
        node = node_executable()
        if node is not None:
            return Runtime(name, "nodejs", (node[0], str(NODE_BOOTSTRAP)))
    raise InvalidParameterValue(
        f"The runtime parameter of {name} is not supported by Corral. Corral runs: {describe_supported()}."
    )
