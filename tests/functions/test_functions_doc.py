"""docs/functions.md, run as a newcomer would: every shell block in order, against a real server."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from tests.functions.function_support import assert_no_traceback
from tests.harness import RunningServer
from tests.registry.test_control_plane_doc import shell_blocks

ROOT = Path(__file__).resolve().parent.parent.parent
DOC = ROOT / "docs" / "functions.md"


def test_the_walkthrough_runs(server: RunningServer, tmp_path: Path) -> None:
    (tmp_path / ".venv").symlink_to(ROOT / ".venv")
    (tmp_path / "corral-data").symlink_to(server.data_dir)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "CORRAL_"))}
    blocks = shell_blocks(DOC.read_text())
    assert len(blocks) == 8
    outputs: list[str] = []
    for block in blocks:
        # Each block runs with the environment the first one set up, as in one shell session.
        result = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", blocks[0] + "\n" + block],
            cwd=tmp_path, capture_output=True, text=True, timeout=120, env=env,
        )  # fmt: skip
        assert result.returncode == 0, f"{block}\n---\n{result.stdout}\n{result.stderr}"
        outputs.append(result.stdout)
    created = json.loads(outputs[1])
    assert created["FunctionArn"] == "arn:aws:lambda:us-east-1:000000000000:function:hello"
    assert (created["State"], created["LastUpdateStatus"]) == ("Active", "Successful")
    invoked = outputs[2].splitlines()
    assert json.loads("\n".join(invoked[:-1])) == {"StatusCode": 200, "ExecutedVersion": "$LATEST"}
    assert json.loads(invoked[-1])["greeting"] == "Hello, Ada!"
    assert outputs[3].startswith("START RequestId: ") and "hello Tail\n" in outputs[3]
    assert "REPORT RequestId: " in outputs[3]
    assert json.loads(outputs[4].splitlines()[-1])["greeting"] == "Howdy, Ada!"
    statement = json.loads(outputs[5].split("\n}\n", 1)[0] + "}")["Statement"]
    policy = json.loads(json.loads(outputs[5].split("\n}\n", 1)[1])["Policy"])
    assert policy["Statement"] == [json.loads(statement)]
    assert policy["Statement"][0]["Principal"] == {"Service": "iot.amazonaws.com"}
    assert outputs[6].count("START RequestId: ") == 3 and "hello Ada\n" in outputs[6]
    assert '"hello"' in outputs[7]
    assert_no_traceback(server)
