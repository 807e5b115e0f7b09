"""docs/functions.md, run as a newcomer would: every shell block in order, against a real server."""

from __future__ import annotations

import json
from pathlib import Path

from tests.doc_support import ROOT, run_shell_blocks, shell_blocks
from tests.functions.function_support import assert_no_traceback
from tests.harness import RunningServer

DOC = ROOT / "docs" / "functions.md"


def test_the_walkthrough_runs(server: RunningServer, tmp_path: Path) -> None:
    blocks = shell_blocks(DOC.read_text())
    assert len(blocks) == 8
    outputs = run_shell_blocks(server, tmp_path, blocks)
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
