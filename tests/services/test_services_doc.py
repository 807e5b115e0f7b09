"""docs/services.md, run as a newcomer would: every shell block in order against a real server whose SNS
e-mails go to a real SMTP server (aiosmtpd), and the external-mode example read by Corral's own loader."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from corral.config import ExternalEndpoint, load_config
from tests.doc_support import ROOT, fenced_blocks, run_shell_blocks, shell_blocks
from tests.harness import RunningServer
from tests.mail_support import WAIT, Inbox, confirm_subscription, server_with_mail, text_of

DOC = ROOT / "docs" / "services.md"


@pytest.fixture
def mail_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[RunningServer, Inbox]]:
    yield from server_with_mail(tmp_path_factory.mktemp("services-doc"))


def test_the_walkthrough_runs(mail_server: tuple[RunningServer, Inbox], tmp_path: Path) -> None:
    """Call for pickup: button (mosquitto_pub) -> rule -> function -> DynamoDB + SQS + SNS -> dispatch app."""
    server, inbox = mail_server

    def confirm(index: int) -> None:
        if index == 1:  # the supervisor opens the link in the confirmation e-mail
            confirm_subscription(server, inbox.messages.get(timeout=WAIT))

    blocks = shell_blocks(DOC.read_text())
    assert len(blocks) == 8
    outputs = run_shell_blocks(server, tmp_path, blocks, after=confirm)

    assert outputs[1].splitlines()[0] == '"ACTIVE"'
    assert outputs[2].strip() == '"Active"'
    assert json.loads(outputs[4].splitlines()[-1]) == "iot-button"
    dispatched = outputs[6].strip()
    assert re.fullmatch(r"Forklift: pallet at Dock 7 \(button WH-B101\), order [0-9a-f-]{36}", dispatched)
    assert outputs[7].split() == ["WH-B101", "Dock", "7"]
    alert = inbox.messages.get(timeout=WAIT)
    assert alert["To"] == "supervisor@example.com" and alert["Subject"] == "Pallet ready for pickup"
    assert text_of(alert).startswith(f"Pallet ready at Dock 7: work order {dispatched.rsplit(' ', 1)[1]}")
    assert "Traceback" not in server.log()


def test_the_external_mode_example_is_read_by_corral(tmp_path: Path) -> None:
    (toml,) = fenced_blocks(DOC.read_text(), "toml")
    config_file = tmp_path / "corral.toml"
    config_file.write_text(toml)
    config = load_config({}, config_file=config_file, environ={})
    assert config.external_services == {
        "s3": ExternalEndpoint("http://minio.example.com:9000", "us-east-1", "minio", "minio-secret")
    }
    assert config.external_actions == {
        "sqs": ExternalEndpoint("https://elasticmq.example.com:9324", verify="/etc/ssl/certs/site-ca.pem")
    }
