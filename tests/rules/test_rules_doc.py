"""docs/rules.md, run as a newcomer would: every shell block in order, against a real server (the aws CLI
makes the rules, mosquitto_rr plays the devices), and the page's [rules] example read by Corral's loader."""

from __future__ import annotations

import base64
import json
from pathlib import Path

from corral.config import load_config
from corral.rules.settings import RulesSettings
from tests.doc_support import ROOT, fenced_blocks, json_objects, run_shell_blocks, shell_blocks
from tests.harness import RunningServer

DOC = ROOT / "docs" / "rules.md"


def test_the_walkthrough_runs(server: RunningServer, tmp_path: Path) -> None:
    blocks = shell_blocks(DOC.read_text())
    assert len(blocks) == 8
    outputs = run_shell_blocks(server, tmp_path, blocks)

    assert outputs[0] == ""
    (rule,) = json_objects(outputs[1])  # create-topic-rule prints nothing, get-topic-rule the rule
    assert rule["ruleArn"] == "arn:aws:iot:us-east-1:000000000000:rule/hot_rooms"
    assert rule["rule"]["sql"] == "SELECT temp, topic(2) AS room FROM 'sensors/+' WHERE temp > 50"
    assert rule["rule"]["ruleDisabled"] is False
    assert outputs[2].strip() == '{"temp":61,"room":"kitchen"}'
    assert outputs[3].strip() == '{"temp":80,"room":"attic"}'
    (accepted,) = json_objects(outputs[4])
    assert accepted["state"] == {"reported": {"connected": False}}
    (report,) = json_objects(outputs[5])
    assert report["ruleName"] == "orders_to_erp" and report["topic"] == "orders/1001"
    assert base64.b64decode(report["base64OriginalPayload"]) == b'{"id": 1001}'
    (failure,) = report["failures"]
    assert failure["failedAction"] == "HttpAction"
    assert failure["failedResource"] == "http://127.0.0.1:9/orders"
    assert failure["errorMessage"].startswith("HTTP request failed: ConnectError")
    health = json.loads(outputs[6])
    assert health["status"] == "ok" and "rule_loops_cut" in health
    refused = outputs[7].splitlines()
    assert refused == [
        "",
        "An error occurred (InvalidRequestException) when calling the CreateTopicRule operation: "
        "The function get_secret() is not supported: "
        "get_secret() reads AWS Secrets Manager, which Corral does not host",
        "refused",
    ]
    assert "Traceback" not in server.log()


def test_the_settings_example_is_read_by_corral(tmp_path: Path) -> None:
    """The page's [rules] example is a corral.toml Corral accepts, and it shows the defaults."""
    (toml,) = fenced_blocks(DOC.read_text(), "toml")
    config_file = tmp_path / "corral.toml"
    config_file.write_text(toml)
    config = load_config({}, config_file=config_file, environ={})
    assert config.rules == RulesSettings()
