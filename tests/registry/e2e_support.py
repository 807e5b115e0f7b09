"""Tools for the broker-authorization end-to-end tests: the real aws CLI with `corral env`'s exports, openssl
as an operator's own CA, and a paho client that can report a refused connection.

Nothing here sleeps to synchronize: every wait is for a CONNACK, a disconnect or a message, with a timeout.
"""

from __future__ import annotations

import hashlib
import json
import ssl
import subprocess
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from tests.aws_cli import aws_environment, run_aws
from tests.broker.clients import TIMEOUT, V5, PahoClient
from tests.harness import DeviceCertificate, RunningServer

NOT_AUTHORIZED = 0x87
"""MQTT 5 reason code Not authorized (CONNACK, PUBACK, SUBACK, DISCONNECT); paho reports MQTT 3.1.1's CONNACK
return code 5 (and no other) as this reason code too."""


# -- the aws CLI ---------------------------------------------------------------------------------------


class Cli:
    """The real aws CLI against one server, with the exports `corral env` prints (read once)."""

    def __init__(self, server: RunningServer) -> None:
        self.server = server
        self.env = aws_environment(server)

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return run_aws(self.env, "iot", *args)

    def __call__(self, *args: str) -> Any:
        """Runs ``aws iot ARGS``, which must succeed; its JSON output (None when it prints nothing)."""
        result = self.run(*args)
        assert result.returncode == 0, f"aws iot {' '.join(args)}: {result.stderr}"
        return json.loads(result.stdout) if result.stdout.strip() else None

    def create_policy(self, name: str, *statements: dict[str, Any]) -> None:
        self("create-policy", "--policy-name", name, "--policy-document", policy_document(*statements))

    def attach_policy(self, name: str, target: str) -> None:
        self("attach-policy", "--policy-name", name, "--target", target)

    def certificate_arn(self, certificate_id: str) -> str:
        described = self("describe-certificate", "--certificate-id", certificate_id)
        arn: str = described["certificateDescription"]["certificateArn"]
        return arn

    def register_ca(self, ca: OpensslCA, *extra: str) -> str:
        """Registers ``ca`` the AWS way (verification certificate whose CN is the registration code)."""
        code = self("get-registration-code")["registrationCode"]
        verification = ca.sign(f"verification-{ca.name}", code)
        registered = self(
            "register-ca-certificate",
            "--ca-certificate", f"file://{ca.cert_file}",
            "--verification-certificate", f"file://{verification.cert_file}",
            *extra,
        )  # fmt: skip
        ca_id: str = registered["certificateId"]
        return ca_id


def cli_json(server: RunningServer, *args: str) -> Any:
    """Runs ``aws iot ARGS`` once against ``server``; it must succeed. Its JSON output (None when empty)."""
    return Cli(server)(*args)


def profile_iot(server: RunningServer, monkeypatch: pytest.MonkeyPatch) -> Any:
    """A boto3 ``iot`` client made as a user would: the ``corral`` profile from the credentials file the
    server wrote, with no AWS_* variable of the caller's in the way."""
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", server.endpoints["credentials_file"])
    for name in ("AWS_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    session = boto3.Session(profile_name="corral")
    return session.client("iot", endpoint_url=f"http://{server.endpoints['http']}")


def policy_document(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(action: str | list[str], *resources: str) -> dict[str, Any]:
    """One Allow statement."""
    return {"Effect": "Allow", "Action": action, "Resource": list(resources)}


# -- openssl -------------------------------------------------------------------------------------------


def openssl(*args: str, cwd: Path) -> str:
    done = subprocess.run(
        ["openssl", *args], cwd=cwd, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, f"openssl {' '.join(args)}: {done.stderr}"
    return done.stdout


def certificate_id(cert_file: Path) -> str:
    """AWS's certificate id: the hex SHA-256 of the certificate's DER encoding."""
    cert = x509.load_pem_x509_certificate(cert_file.read_bytes())
    return hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest()


def device_files(cert_file: Path, key_file: Path) -> DeviceCertificate:
    return DeviceCertificate(cert_file, key_file, certificate_id(cert_file))


@dataclass(frozen=True)
class OpensslCA:
    """A CA an operator made with openssl: an RSA key and a self-signed CA certificate."""

    folder: Path
    name: str

    @property
    def key_file(self) -> Path:
        return self.folder / f"{self.name}.key"

    @property
    def cert_file(self) -> Path:
        return self.folder / f"{self.name}.pem"

    @classmethod
    def create(cls, folder: Path, name: str) -> OpensslCA:
        folder.mkdir(parents=True, exist_ok=True)
        ca = cls(folder, name)
        openssl("genrsa", "-out", str(ca.key_file), "2048", cwd=folder)
        openssl(
            "req", "-x509", "-new", "-key", str(ca.key_file), "-sha256", "-days", "30",
            "-subj", f"/O=Corral Tests/CN={name}", "-out", str(ca.cert_file),
            cwd=folder,
        )  # fmt: skip
        return ca

    def sign(self, name: str, common_name: str) -> DeviceCertificate:
        """A new key and CSR (CN=``common_name``) signed by this CA, as ``name``.key/.pem."""
        key, csr, cert = (self.folder / f"{name}{ext}" for ext in (".key", ".csr", ".pem"))
        openssl("genrsa", "-out", str(key), "2048", cwd=self.folder)
        openssl(
            "req", "-new", "-key", str(key), "-subj", f"/CN={common_name}", "-out", str(csr), cwd=self.folder
        )
        openssl(
            "x509", "-req", "-in", str(csr), "-CA", str(self.cert_file), "-CAkey", str(self.key_file),
            "-CAcreateserial", "-days", "30", "-sha256", "-out", str(cert),
            cwd=self.folder,
        )  # fmt: skip
        return device_files(cert, key)


def self_signed_device(folder: Path, name: str) -> DeviceCertificate:
    """A self-signed device certificate (not a CA), as RegisterCertificateWithoutCA takes."""
    key, cert = folder / f"{name}.key", folder / f"{name}.pem"
    openssl(
        "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-subj", f"/CN={name}",
        "-days", "30", "-addext", "basicConstraints=critical,CA:FALSE", "-out", str(cert),
        cwd=folder,
    )  # fmt: skip
    return device_files(cert, key)


# -- a paho client that can be refused -----------------------------------------------------------------


class Device(PahoClient):
    """A paho client whose connection attempt may be refused: :meth:`attempt` reports how it ended."""

    def attempt(self, timeout: float = TIMEOUT) -> int | None:
        """Connects; returns the CONNACK's reason code, or None when the server ended the connection (or
        the TLS handshake) without any CONNACK."""
        try:
            self.start()
        except (ssl.SSLError, OSError):
            return None
        with self._cond:
            ended = self._cond.wait_for(lambda: bool(self._connacks or self._disconnects), timeout)
            assert ended, f"{self.client_id}: neither CONNACK nor disconnect within {timeout} s"
            return self._connacks[-1].reason_code if self._connacks else None


class Clients:
    """Makes paho clients for one test and closes them all when it ends."""

    def __init__(self, server: RunningServer) -> None:
        self.server = server
        self._made: list[PahoClient] = []

    def device(self, client_id: str, device: DeviceCertificate, version: int = V5, **kwargs: Any) -> Device:
        client = Device(self.server, client_id, version=version, device=device, **kwargs)
        self._made.append(client)
        return client

    def connected(
        self, client_id: str, device: DeviceCertificate, version: int = V5, **kwargs: Any
    ) -> Device:
        client = self.device(client_id, device, version, **kwargs)
        client.connect()
        return client

    def attempt(self, device: DeviceCertificate, version: int, **kwargs: Any) -> int | None:
        """A new client's connection attempt: the CONNACK reason code (paho reports 3.1.1's return code 5 as
        0x87), None when none came."""
        return self.device(f"ca-{uuid.uuid4().hex[:10]}", device, version, **kwargs).attempt()

    def listener(self, *filters: str) -> PahoClient:
        """A client on the insecure port (anonymous, unrestricted), subscribed to ``filters``."""
        client = PahoClient(self.server, f"listener-{uuid.uuid4().hex[:8]}", transport="insecure")
        self._made.append(client)
        client.connect()
        assert client.subscribe(*filters) == [1] * len(filters)
        return client

    def close(self) -> None:
        for client in self._made:
            client.close()
