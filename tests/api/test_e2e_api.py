"""The AWS API of a real `corral serve`, driven by the real aws CLI and boto3, with the key it wrote: on the
default SQLite store and on PostgreSQL (``--database-url``), where the access keys live too."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import botocore.exceptions
import httpx
import pytest

from tests.aws_cli import aws
from tests.conftest import server_per_store
from tests.harness import RunningServer


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningServer]:
    """One server per store for the module; the tests only read, except the restart, which keeps its
    ``--database-url``."""
    yield from server_per_store(request, tmp_path_factory, "api")


def iot_client(server: RunningServer, **kwargs: Any) -> Any:
    session = boto3.Session(profile_name="corral")
    return session.client("iot", **kwargs)


@pytest.fixture
def profile_env(server: RunningServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", server.endpoints["credentials_file"])
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.delenv("AWS_ACCESS_KEY_ID", raising=False)
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY", raising=False)


def test_endpoints_name_a_private_credentials_file_with_the_corral_profile(server: RunningServer) -> None:
    credentials = Path(server.endpoints["credentials_file"])
    assert credentials.stat().st_mode & 0o777 == 0o600
    text = credentials.read_text()
    assert "[corral]" in text and "aws_access_key_id = AKIA" in text
    assert server.endpoints["profile"] == "corral"


def test_aws_cli_describe_endpoint_with_corral_env(server: RunningServer) -> None:
    result = aws(server, "iot", "describe-endpoint", "--endpoint-type", "iot:Data-ATS")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"endpointAddress": server.endpoints["mqtts"]}
    result = aws(server, "iot", "describe-endpoint", "--endpoint-type", "iot:CredentialProvider")
    assert json.loads(result.stdout) == {"endpointAddress": server.endpoints["https"]}


def test_the_admin_key_survives_a_restart(server: RunningServer) -> None:
    before = Path(server.endpoints["credentials_file"]).read_text()
    server.restart()
    assert Path(server.endpoints["credentials_file"]).read_text() == before
    assert aws(server, "iot", "describe-endpoint").returncode == 0


def test_boto3_over_https_with_the_corral_ca(server: RunningServer, profile_env: None) -> None:
    client = iot_client(
        server, endpoint_url=f"https://{server.endpoints['https']}", verify=str(server.ca_file)
    )
    assert client.describe_endpoint(endpointType="iot:Jobs")["endpointAddress"] == server.endpoints["https"]
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        client.describe_endpoint(endpointType="iot:Nonsense")
    assert caught.value.response["Error"]["Code"] == "InvalidRequestException"


def test_wrong_secret_is_an_invalid_signature(server: RunningServer) -> None:
    key_id, _secret = server.admin_key()
    result = aws(
        server, "iot", "describe-endpoint",
        env={"AWS_ACCESS_KEY_ID": key_id, "AWS_SECRET_ACCESS_KEY": "x" * 40, "AWS_PROFILE": None},
    )  # fmt: skip
    assert result.returncode != 0
    assert "(InvalidSignatureException)" in result.stderr
    assert "The request signature we calculated does not match" in result.stderr


def test_unknown_access_key_is_unrecognized(server: RunningServer) -> None:
    result = aws(
        server, "iot", "describe-endpoint",
        env={"AWS_ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE", "AWS_SECRET_ACCESS_KEY": "y" * 40,
             "AWS_PROFILE": None},
    )  # fmt: skip
    assert result.returncode != 0
    assert "(UnrecognizedClientException)" in result.stderr


def test_unsigned_request_is_refused(server: RunningServer) -> None:
    response = httpx.get(f"http://{server.endpoints['http']}/endpoint", timeout=10)
    assert response.status_code == 403
    assert response.headers["x-amzn-ErrorType"] == "MissingAuthenticationTokenException"
    assert response.json()["message"] == "Missing Authentication Token"
    assert response.headers["x-amzn-RequestId"]


def test_an_operation_corral_does_not_offer_answers_as_aws_and_is_logged(server: RunningServer) -> None:
    result = aws(server, "iot", "list-jobs")
    assert result.returncode != 0
    assert "(ResourceNotFoundException)" in result.stderr
    assert "unsupported iot operation: ListJobs" in server.log()


def test_the_server_keeps_its_state_in_the_store_it_was_given(server: RunningServer) -> None:
    """With ``--database-url`` nothing is written to the SQLite file a server uses by default."""
    on_postgres = "--database-url" in server.args
    assert (server.data_dir / "corral.db").exists() is not on_postgres
