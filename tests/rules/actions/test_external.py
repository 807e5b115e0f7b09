"""External mode's settings: corral.toml's [services.*] and [actions.*] tables, and how they replace the
embedded services for every action or for one action type."""

from __future__ import annotations

from pathlib import Path

import pytest

from corral.config import ConfigError, ExternalEndpoint, load_config
from corral.rules.actions import build_action, external
from corral.rules.templates import TemplateCompiler
from tests.rules.actions.fakes import FakeS3, FakeSqs
from tests.rules.fakes import FakeEngine
from tests.rules.support import ROLE, make_harness

TOML = """
[services.s3]
endpoint_url = "http://minio:9000"
region = "eu-west-1"
access_key_id = "minio"
secret_access_key = "minio-secret"

[actions.sqs]
endpoint_url = "https://elasticmq:9324"
verify = "/etc/ssl/elasticmq.pem"
"""


def test_the_tables_are_read(tmp_path: Path) -> None:
    config = load_config({}, config_file=_write(tmp_path, TOML), environ={})
    assert config.external_services == {
        "s3": ExternalEndpoint("http://minio:9000", "eu-west-1", "minio", "minio-secret")
    }
    assert config.external_actions == {
        "sqs": ExternalEndpoint("https://elasticmq:9324", verify="/etc/ssl/elasticmq.pem")
    }


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "corral.toml"
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[services.ses]\nendpoint_url = "http://x"', r"\[services.ses\]: external mode is for sqs"),
        ('[actions.republish]\nendpoint_url = "http://x"', r"\[actions.republish\]: external mode is for"),
        ("[services.s3]\nregion = 'x'", "endpoint_url must be an http:// or https:// URL"),
        ('[services.s3]\nendpoint_url = "http://x"\nbucket = "b"', "unknown setting"),
        ('[services]\ns3 = "http://x"', "must hold one table per service"),
    ],
)
def test_bad_tables_are_refused(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_config({}, config_file=_write(tmp_path, text), environ={})


def test_service_and_action_endpoints_replace_the_embedded_services() -> None:
    h = make_harness()
    external.connect(
        h.services,
        {"s3": ExternalEndpoint("http://minio:9000")},
        {"sqs": ExternalEndpoint("http://elasticmq:9324")},
    )
    external.embed(h.services, s3=FakeS3(), sqs=(embedded_sqs := FakeSqs()))
    assert isinstance(h.services.s3, external.ExternalS3)
    assert h.services.sqs is embedded_sqs  # only the sqs *action* goes elsewhere
    templates = TemplateCompiler(FakeEngine(), "2016-03-23")
    action = build_action({"sqs": {"queueUrl": "q", "roleArn": ROLE}}, templates, h.services)
    assert isinstance(action.services.sqs, external.ExternalSqs)  # type: ignore[attr-defined]
    assert action.services.sqs.boto.endpoint.endpoint_url == "http://elasticmq:9324"  # type: ignore[attr-defined]
