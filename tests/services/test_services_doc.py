"""docs/services.md, run as a newcomer would: every shell block in order against a real server whose SNS
e-mails go to a real SMTP server (aiosmtpd), and the external-mode example read by Corral's own loader."""

from __future__ import annotations

import json
import re
import ssl
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from corral.config import ExternalEndpoint, load_config
from tests.doc_support import ROOT, fenced_blocks, run_shell_blocks, shell_blocks
from tests.harness import RunningServer, make_server
from tests.services.test_e2e_seed_rules import WAIT, Inbox, _free_port, _text

DOC = ROOT / "docs" / "services.md"


@pytest.fixture
def mail_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[RunningServer, Inbox]]:
    from aiosmtpd.controller import Controller

    inbox, port = Inbox(), _free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    server = make_server(
        tmp_path_factory.mktemp("services-doc"), extra_args=("--smtp-url", f"smtp://127.0.0.1:{port}")
    ).start()
    try:
        yield server, inbox
    finally:
        server.stop()
        controller.stop()


def test_the_walkthrough_runs(mail_server: tuple[RunningServer, Inbox], tmp_path: Path) -> None:
    """Call for pickup: button (mosquitto_pub) -> rule -> function -> DynamoDB + SQS + SNS -> dispatch app."""
    server, inbox = mail_server

    def confirm(index: int) -> None:
        if index == 1:  # the supervisor opens the link in the confirmation e-mail
            confirmation = inbox.messages.get(timeout=WAIT)
            link = re.search(r"(https://\S+/_corral/sns/confirm\S+)", _text(confirmation))
            assert link is not None
            ca = ssl.create_default_context(cafile=str(server.ca_file))
            assert httpx.get(link.group(1), verify=ca).status_code == 200

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
    assert _text(alert).startswith(f"Pallet ready at Dock 7: work order {dispatched.rsplit(' ', 1)[1]}")
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
