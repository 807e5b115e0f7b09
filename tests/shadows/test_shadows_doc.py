"""docs/shadows.md, run as a newcomer would: every shell block in order against a real server, and the
configuration example read by Corral's own loader."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

from corral.config import load_config
from tests.harness import RunningServer
from tests.registry.test_control_plane_doc import shell_blocks

ROOT = Path(__file__).resolve().parent.parent.parent
DOC = ROOT / "docs" / "shadows.md"


def fenced_blocks(text: str, language: str) -> list[str]:
    """The fenced blocks of one language, in order."""
    blocks: list[str] = []
    current: list[str] | None = None
    for line in text.splitlines():
        if line.startswith("```"):
            if current is None:
                current = [] if line[3:].strip() == language else None
                if current is None:
                    current = ["\0skip"]
            else:
                if current[:1] != ["\0skip"]:
                    blocks.append("\n".join(current))
                current = None
        elif current is not None:
            current.append(line)
    return blocks


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


def test_the_walkthrough_runs(shared_server: RunningServer, tmp_path: Path) -> None:
    """ "Device Shadows Data Flow" as docs/shadows.md tells it: mosquitto_rr as the light bulb, the aws CLI as
    the app; each block's output is what the page says it is."""
    (tmp_path / ".venv").symlink_to(ROOT / ".venv")
    (tmp_path / "corral-data").symlink_to(shared_server.data_dir)
    port = shared_server.endpoints["mqtts"].rsplit(":", 1)[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "CORRAL_"))}
    blocks = shell_blocks(DOC.read_text())
    assert len(blocks) == 8
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

    printed = [json_objects(output) for output in outputs]
    assert printed[0] == []
    (policy,) = printed[1]  # create-policy prints the policy
    assert policy["policyName"] == "light-bulb"
    (reported,) = printed[2]
    assert (reported["state"], reported["version"]) == ({"reported": {"color": "red"}}, 1)
    got, desired = printed[3]
    assert (got["state"], got["version"]) == ({"reported": {"color": "red"}}, 1)
    assert (desired["state"], desired["version"]) == ({"desired": {"color": "green"}}, 2)
    (offline,) = printed[4]
    assert offline["state"] == {
        "desired": {"color": "green"},
        "reported": {"color": "red"},
        "delta": {"color": "green"},
    }
    (green,) = printed[5]
    assert (green["state"], green["version"]) == ({"reported": {"color": "green"}, "desired": None}, 3)
    (final,) = printed[6]
    assert (final["state"], final["version"]) == ({"reported": {"color": "green"}}, 3)
    listed, named_deleted, classic_deleted = printed[7]
    assert listed["results"] == ["schedule"]
    assert named_deleted["version"] == 1 and classic_deleted["version"] == 3
    assert "Traceback" not in shared_server.log()


def test_the_configuration_example_is_read_by_corral(tmp_path: Path) -> None:
    """The page's [shadow_limits] example is a corral.toml Corral accepts, with the meaning the page gives."""
    (toml,) = fenced_blocks(DOC.read_text(), "toml")
    config_file = tmp_path / "corral.toml"
    config_file.write_text(toml)
    config = load_config({}, config_file=config_file, environ={})
    assert config.shadow_limits.max_state_bytes == 30720
    assert config.shadow_limits.max_depth == 6  # the others keep AWS's defaults
