"""The ``corral`` command line, driven in-process with click's CliRunner (no server is started)."""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from corral.cli.main import main

# The flags DESIGN.md promises for `corral serve`.
SERVE_CONTRACT_FLAGS = [
    "--data-dir",
    "--host",
    "--mqtts-port",
    "--https-port",
    "--http-port",
    "--insecure-mqtt-port",
    "--smtp-url",
    "--database-url",
]


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # No corral.toml, data dir or CORRAL_* variable from the machine running the tests.
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.startswith("CORRAL_"):
            monkeypatch.delenv(name)


def run(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(main, list(args), env=env)


def issue(data_dir: Path, out_dir: Path, common_name: str = "thing-1") -> Result:
    return run(
        "issue-certificate",
        "--data-dir",
        str(data_dir),
        "--common-name",
        common_name,
        "--out-dir",
        str(out_dir),
    )


def test_help() -> None:
    result = run("--help")
    assert result.exit_code == 0, result.output
    assert "serve" in result.output
    assert "issue-certificate" in result.output


def test_no_command_shows_usage() -> None:
    result = run()
    assert "Usage:" in result.output
    assert "serve" in result.output


def test_serve_help_lists_the_contract_flags() -> None:
    result = run("serve", "--help")
    assert result.exit_code == 0, result.output
    for flag in SERVE_CONTRACT_FLAGS:
        assert flag in result.output, flag


def test_issue_certificate(tmp_path: Path) -> None:
    data_dir, out_dir = tmp_path / "data", tmp_path / "out" / "thing-1"
    result = issue(data_dir, out_dir, "thing-1")
    assert result.exit_code == 0, result.output

    ca = x509.load_pem_x509_certificate((data_dir / "ca" / "root-ca.pem").read_bytes())
    cert_pem = (out_dir / "certificate.pem.crt").read_bytes()
    cert = x509.load_pem_x509_certificate(cert_pem)
    cert.verify_directly_issued_by(ca)
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "thing-1"
    eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert ExtendedKeyUsageOID.CLIENT_AUTH in eku

    key_file = out_dir / "private.pem.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    key = serialization.load_pem_private_key(key_file.read_bytes(), password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    cert_public_key = cert.public_key()
    assert isinstance(cert_public_key, rsa.RSAPublicKey)
    assert key.public_key().public_numbers() == cert_public_key.public_numbers()

    der = cert.public_bytes(serialization.Encoding.DER)
    assert f"certificateId {hashlib.sha256(der).hexdigest()}" in result.output
    assert str(data_dir / "ca" / "root-ca.pem") in result.output


def test_issue_certificate_reuses_the_data_dirs_ca(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    assert issue(data_dir, tmp_path / "a", "a").exit_code == 0
    ca_pem = (data_dir / "ca" / "root-ca.pem").read_bytes()
    assert issue(data_dir, tmp_path / "b", "b").exit_code == 0
    assert (data_dir / "ca" / "root-ca.pem").read_bytes() == ca_pem
    ca = x509.load_pem_x509_certificate(ca_pem)
    for name in ("a", "b"):
        cert = x509.load_pem_x509_certificate((tmp_path / name / "certificate.pem.crt").read_bytes())
        cert.verify_directly_issued_by(ca)
    a_pem = (tmp_path / "a" / "certificate.pem.crt").read_bytes()
    assert a_pem != (tmp_path / "b" / "certificate.pem.crt").read_bytes()


def test_issue_certificate_finds_the_data_dir_from_the_environment(tmp_path: Path) -> None:
    data_dir = tmp_path / "from-env"
    result = run(
        "issue-certificate",
        "--common-name",
        "t",
        "--out-dir",
        str(tmp_path / "out"),
        env={"CORRAL_DATA_DIR": str(data_dir)},
    )
    assert result.exit_code == 0, result.output
    ca = x509.load_pem_x509_certificate((data_dir / "ca" / "root-ca.pem").read_bytes())
    cert = x509.load_pem_x509_certificate((tmp_path / "out" / "certificate.pem.crt").read_bytes())
    cert.verify_directly_issued_by(ca)


def test_issue_certificate_default_data_dir(tmp_path: Path) -> None:
    result = run("issue-certificate", "--common-name", "t", "--out-dir", "out")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "corral-data" / "ca" / "root-ca.pem").is_file()


def test_issue_certificate_over_an_existing_readable_key_makes_it_private(tmp_path: Path) -> None:
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    old_key = out_dir / "private.pem.key"
    old_key.write_bytes(b"old")
    old_key.chmod(0o644)
    result = issue(tmp_path / "data", out_dir)
    assert result.exit_code == 0, result.output
    assert old_key.read_bytes().startswith(b"-----BEGIN")
    assert stat.S_IMODE(old_key.stat().st_mode) == 0o600


def test_issue_certificate_needs_a_common_name(tmp_path: Path) -> None:
    result = run("issue-certificate", "--out-dir", str(tmp_path / "out"))
    assert result.exit_code == 2
    assert "--common-name" in result.output
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--mqtts-port", "abc"], "'abc' is not a valid integer"),
        (["--http-port", "1.5"], "not a valid integer"),
        (["--log-level", "loud"], "loud"),
        (["--mqtts-port", "70000"], "between 0 and 65535"),
        (["--insecure-mqtt-port", "-1"], "between 0 and 65535"),
        (["--account-id", "123"], "account_id must be 12 digits"),
        (["--no-such-flag"], "No such option"),
        (["--config", "missing.toml"], "missing.toml"),
    ],
)
def test_serve_bad_flag_is_a_usage_error(tmp_path: Path, args: list[str], message: str) -> None:
    result = run("serve", "--data-dir", str(tmp_path / "data"), *args)
    assert result.exit_code == 2, result.output
    assert "Usage:" in result.output or "Error:" in result.output
    assert message in result.output
    assert not (tmp_path / "data").exists()  # nothing was started


def test_serve_bad_config_file_is_a_usage_error(tmp_path: Path) -> None:
    config = tmp_path / "corral.toml"
    config.write_text("no_such_setting = 1\n")
    result = run("serve", "--config", str(config))
    assert result.exit_code == 2, result.output
    assert "unknown setting 'no_such_setting'" in result.output


def test_serve_bad_environment_is_a_usage_error() -> None:
    result = run("serve", env={"CORRAL_HTTPS_PORT": "x"})
    assert result.exit_code == 2, result.output
    assert "https_port must be a port number" in result.output
