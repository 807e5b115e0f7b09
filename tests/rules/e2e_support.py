"""What the rules end-to-end tests share, in tests/rules and in the services' rule-action tests: topic rules
created with the real aws CLI as a user would, and the server's health document."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path
from typing import Any

from tests.aws_cli import aws, ok
from tests.broker.clients import uid
from tests.harness import RunningServer

ROLE = "arn:aws:iam::000000000000:role/corral-rules"
QUICK_RETRIES = "[rules]\naction_retries = 1\nretry_base_delay = 0.05\n"
"""A ``corral.toml`` whose failing actions are retried once, quickly."""


def create_rule(server: RunningServer, tmp_path: Path, name: str, rule: dict[str, Any]) -> None:
    """``aws iot create-topic-rule --topic-rule-payload file://rule.json``, as a user would."""
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps(rule))
    ok(aws(server, "iot", "create-topic-rule", "--rule-name", name, "--topic-rule-payload", f"file://{path}"))


def new_rule(
    server: RunningServer, tmp_path: Path, sql: str, actions: list[dict[str, Any]], **extra: Any
) -> str:
    """A rule of a fresh name (returned) with SQL version 2016-03-23, through :func:`create_rule`; ``extra``
    are more members of its payload (``errorAction``...)."""
    name = uid("seed").replace("-", "_")
    rule = {"sql": sql, "awsIotSqlVersion": "2016-03-23", "actions": actions, **extra}
    create_rule(server, tmp_path, name, rule)
    return name


def republish(topic: str, **extra: Any) -> dict[str, Any]:
    return {"republish": {"topic": topic, "roleArn": ROLE, **extra}}


def health(server: RunningServer) -> dict[str, Any]:
    with urllib.request.urlopen(f"http://{server.endpoints['http']}/health", timeout=10) as response:
        result: dict[str, Any] = json.loads(response.read())
        return result
