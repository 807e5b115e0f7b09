"""docs/oneclick.md, run as a newcomer would: every shell block in order against a real ``corral serve``
started with ``--smtp-url`` at an aiosmtpd server, with a home of its own (``corral aws-models install``
writes ``~/.aws/models``); the click's e-mail arrives."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.doc_support import ROOT, fenced_blocks, json_objects, run_shell_blocks, shell_blocks
from tests.harness import RunningServer
from tests.mail_support import Inbox, server_with_mail, text_of
from tests.oneclick.e2e_support import WAIT

DOC = ROOT / "docs" / "oneclick.md"
DEVICE = "G030PM0000001001"


@pytest.fixture
def mail(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[RunningServer, Inbox]]:
    yield from server_with_mail(tmp_path_factory.mktemp("oneclick-doc"), sender="buttons@example.com")


def test_the_page_runs(
    mail: tuple[RunningServer, Inbox], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server, inbox = mail
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    workdir = tmp_path / "work"
    workdir.mkdir()
    blocks = shell_blocks(DOC.read_text())
    assert len(blocks) == 8
    outputs = run_shell_blocks(server, workdir, blocks)

    assert (home / ".aws" / "models" / "iot1click-devices" / "2018-05-14" / "service-2.json").is_file()
    [made] = json.loads(outputs[2])
    assert (made["deviceId"], made["deviceType"]) == (DEVICE, "button")
    pressed = [line for line in outputs[3].splitlines() if line.startswith("solid green")]
    claimed = json_objects("\n".join(line for line in outputs[3].splitlines() if line not in pressed))
    assert [c["State"] for c in claimed] == ["CLAIM_INITIATED", "CLAIMED"]
    assert len(pressed) == 1
    [described] = json_objects(outputs[4])
    assert described["DeviceDescription"]["Attributes"] == {
        "projectRegion": server.endpoints["region"],
        "projectName": "MeetingRoomSatisfaction",
        "placementName": "room-1001",
        "deviceTemplateName": "Satisfied",
    }
    assert described["DeviceDescription"]["Enabled"] is True
    assert outputs[5].startswith("solid green")

    message = inbox.messages.get(timeout=WAIT)
    assert message["To"] == "facilities@example.com"
    assert message["Subject"] == "Meeting Room Feedback"
    assert text_of(message).strip() == "Either positive or negative meeting room feedback has been provided."
    assert "buttons@example.com" in str(message["From"])

    [events] = json_objects(outputs[6])
    std = [json.loads(e["StdEvent"]) for e in events["Events"]]
    assert [e["clickType"] for e in std] == ["SINGLE", "SINGLE"]
    assert std[-1]["remainingLife"] == pytest.approx(99.9)
    [statistics] = json_objects(outputs[7])
    assert sum(p["Sum"] for p in statistics["Datapoints"]) == 1.0  # the click after placing
    assert "Traceback" not in server.log()


def test_the_lambda_event_example_is_the_events_shape() -> None:
    """The page's click event is JSON with the guide's three parts."""
    (example,) = fenced_blocks(DOC.read_text(), "json")
    event = json.loads(example)
    assert set(event) == {"deviceEvent", "deviceInfo", "placementInfo"}
    assert set(event["placementInfo"]) == {"projectName", "placementName", "attributes", "devices"}
