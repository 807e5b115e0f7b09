"""docs/control-plane.md, run as a newcomer would: every shell block in order, against a real server."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from tests.harness import RunningServer

ROOT = Path(__file__).resolve().parent.parent.parent
DOC = ROOT / "docs" / "control-plane.md"


def shell_blocks(text: str) -> list[str]:
    """The ```sh blocks of a Markdown text, in order."""
    blocks: list[str] = []
    current: list[str] | None = None
    language = ""
    for line in text.splitlines():
        if not line.startswith("```"):
            if current is not None:
                current.append(line)
        elif current is None:
            current, language = [], line[3:].strip()
        else:
            if language == "sh":
                blocks.append("\n".join(current))
            current = None
    return blocks


def test_the_walkthrough_runs(server: RunningServer, tmp_path: Path) -> None:
    (tmp_path / ".venv").symlink_to(ROOT / ".venv")
    (tmp_path / "corral-data").symlink_to(server.data_dir)
    port = server.endpoints["mqtts"].rsplit(":", 1)[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "CORRAL_"))}
    blocks = shell_blocks(DOC.read_text())
    assert len(blocks) >= 6
    outputs: list[str] = []
    for block in blocks:
        script = block.replace("-p 8883", f"-p {port}")
        # Each block runs with the environment the first one set up, as in one shell session.
        result = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", blocks[0] + "\n" + script],
            cwd=tmp_path, capture_output=True, text=True, timeout=120, env=env,
        )  # fmt: skip
        assert result.returncode == 0, f"{script}\n---\n{result.stdout}\n{result.stderr}"
        outputs.append(result.stdout)
    assert '"dumpster-7"' in outputs[1]  # list-things --thing-type-name dumpster
    assert "dumpster-policy" in outputs[3]  # get-effective-policies
    log = server.log()
    assert "Traceback" not in log
