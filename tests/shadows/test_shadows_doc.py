"""docs/shadows.md, run as a newcomer would: every shell block in order against a real server, and the
configuration example read by Corral's own loader."""

from __future__ import annotations

from pathlib import Path

from corral.config import load_config
from tests.doc_support import ROOT, fenced_blocks, json_objects, run_shell_blocks, shell_blocks
from tests.harness import RunningServer

DOC = ROOT / "docs" / "shadows.md"


def test_the_walkthrough_runs(shared_server: RunningServer, tmp_path: Path) -> None:
    """ "Device Shadows Data Flow" as docs/shadows.md tells it: mosquitto_rr as the light bulb, the aws CLI as
    the app; each block's output is what the page says it is."""
    blocks = shell_blocks(DOC.read_text())
    assert len(blocks) == 8
    outputs = run_shell_blocks(shared_server, tmp_path, blocks)

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
