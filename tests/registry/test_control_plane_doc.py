"""docs/control-plane.md, run as a newcomer would: every shell block in order, against a real server."""

from __future__ import annotations

from pathlib import Path

from tests.doc_support import ROOT, run_shell_blocks, shell_blocks
from tests.harness import RunningServer

DOC = ROOT / "docs" / "control-plane.md"


def test_the_walkthrough_runs(server: RunningServer, tmp_path: Path) -> None:
    blocks = shell_blocks(DOC.read_text())
    assert len(blocks) >= 6
    outputs = run_shell_blocks(server, tmp_path, blocks)
    assert '"dumpster-7"' in outputs[1]  # list-things --thing-type-name dumpster
    assert "dumpster-policy" in outputs[3]  # get-effective-policies
    log = server.log()
    assert "Traceback" not in log
