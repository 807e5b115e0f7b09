"""Running a page of docs/ as a newcomer would: its fenced blocks, the JSON its commands print, and its shell
blocks run in order against a real server, each in a fresh ``bash`` after the first block (the page's setup),
as in one shell session."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.harness import RunningServer

ROOT = Path(__file__).resolve().parent.parent


def fenced_blocks(text: str, language: str) -> list[str]:
    """The fenced blocks of one language in a Markdown text, in order."""
    blocks: list[str] = []
    current: list[str] | None = None
    current_language = ""
    for line in text.splitlines():
        if not line.startswith("```"):
            if current is not None:
                current.append(line)
        elif current is None:
            current, current_language = [], line[3:].strip()
        else:
            if current_language == language:
                blocks.append("\n".join(current))
            current = None
    return blocks


def shell_blocks(text: str) -> list[str]:
    """The ```sh blocks of a Markdown text, in order."""
    return fenced_blocks(text, "sh")


def json_objects(text: str) -> list[dict[str, Any]]:
    """The JSON objects a block printed one after another (mosquitto_rr, ``cat`` of an outfile and the CLI
    with /dev/stdout print one each, with or without a newline between them)."""
    decoder = json.JSONDecoder()
    objects: list[dict[str, Any]] = []
    position = 0
    text = text.strip()
    while position < len(text):
        body, end = decoder.raw_decode(text, position)
        assert isinstance(body, dict), text
        objects.append(body)
        position = end
        while position < len(text) and text[position].isspace():
            position += 1
    return objects


def run_shell_blocks(
    server: RunningServer,
    tmp_path: Path,
    blocks: list[str],
    after: Callable[[int], None] | None = None,
) -> list[str]:
    """Runs ``blocks`` in ``tmp_path`` (holding ``.venv`` and ``corral-data`` as the repository's and the
    server's), the page's MQTT port 8883 replaced by the server's, without the caller's AWS_/CORRAL_
    variables; each must succeed, and ``after`` (if given) is called with its index once it has (what the
    reader does between two blocks). Their outputs, in order."""
    (tmp_path / ".venv").symlink_to(ROOT / ".venv")
    (tmp_path / "corral-data").symlink_to(server.data_dir)
    port = server.endpoints["mqtts"].rsplit(":", 1)[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "CORRAL_"))}
    outputs: list[str] = []
    for block in blocks:
        script = block.replace("-p 8883", f"-p {port}")
        result = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", blocks[0] + "\n" + script],
            cwd=tmp_path, capture_output=True, text=True, timeout=120, env=env,
        )  # fmt: skip
        assert result.returncode == 0, f"{script}\n---\n{result.stdout}\n{result.stderr}"
        outputs.append(result.stdout)
        if after is not None:
            after(len(outputs) - 1)
    return outputs
