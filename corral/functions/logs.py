"""Function logs as Lambda writes them (START, the function's output, END, REPORT), one file per function.

``DATA_DIR/function-logs/{name}.log``, rotated to ``{name}.log.1`` past ``MAX_LOG_BYTES``. Read by
``corral functions logs NAME``. Standard library only: the CLI imports it.
"""

from __future__ import annotations

import os
from pathlib import Path

LOG_DIR = "function-logs"
MAX_LOG_BYTES = 4 * 1024 * 1024


def log_files(data_dir: Path, name: str) -> list[Path]:
    """The function's log files, oldest first (those that exist)."""
    current = data_dir / LOG_DIR / f"{name}.log"
    return [path for path in (current.with_name(current.name + ".1"), current) if path.is_file()]


def append(data_dir: Path, name: str, text: bytes) -> None:
    """Appends one invocation's log. Blocking: run in a thread."""
    folder = data_dir / LOG_DIR
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.log"
    try:
        if path.stat().st_size + len(text) > MAX_LOG_BYTES:
            os.replace(path, path.with_name(path.name + ".1"))
    except FileNotFoundError:
        pass
    with open(path, "ab") as fh:
        fh.write(text)
