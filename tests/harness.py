"""A real ``corral serve`` in a subprocess on free loopback ports, for end-to-end tests.

Tests talk to it only through its public contracts: the command line, ``endpoints.json``, the credentials it
writes and the network. Device certificates come from the server's own API (CreateKeysAndCertificate, as
an operator would make them) with a policy attached that allows every IoT action, so broker tests that are
not about policies are not stopped by one.
"""

from __future__ import annotations

import configparser
import contextlib
import hashlib
import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import boto3
from botocore.config import Config as BotoConfig

STARTUP_TIMEOUT = 30.0
T = TypeVar("T")
ALLOW_ALL_POLICY = (
    '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "iot:*", "Resource": "*"}]}'
)


@dataclass(frozen=True)
class DeviceCertificate:
    cert_file: Path
    key_file: Path
    certificate_id: str


class RunningServer:
    def __init__(self, data_dir: Path, args: list[str], env: dict[str, str]) -> None:
        self.data_dir = data_dir
        self.args = args
        self.env = env
        self.process: subprocess.Popen[bytes] | None = None
        self.endpoints: dict[str, Any] = {}
        self.log_file = data_dir.parent / f"{data_dir.name}-serve.log"

    # -- process control -----------------------------------------------------------------------------

    def start(self) -> RunningServer:
        endpoints_file = self.data_dir / "endpoints.json"
        if endpoints_file.exists():
            endpoints_file.unlink()
        log = self.log_file.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "corral.cli.main", "serve", "--data-dir", str(self.data_dir), *self.args],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=self.env,
        )
        log.close()
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while not endpoints_file.exists():
            if self.process.poll() is not None:
                raise RuntimeError(f"corral serve exited with {self.process.returncode}:\n{self.log()}")
            if time.monotonic() > deadline:
                self.process.kill()
                raise RuntimeError(f"corral serve did not write endpoints.json in time:\n{self.log()}")
            time.sleep(0.05)
        self.endpoints = json.loads(endpoints_file.read_text())
        return self

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20.0) -> int:
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
                raise
        return self.process.returncode

    def restart(self) -> RunningServer:
        self.stop()
        return self.start()

    def log(self) -> str:
        return self.log_file.read_text(errors="replace") if self.log_file.exists() else ""

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    # -- endpoints -----------------------------------------------------------------------------------

    @staticmethod
    def _port(hostport: str) -> int:
        return int(hostport.rsplit(":", 1)[1])

    @property
    def mqtts_port(self) -> int:
        return self._port(self.endpoints["mqtts"])

    @property
    def https_port(self) -> int:
        return self._port(self.endpoints["https"])

    @property
    def http_port(self) -> int:
        return self._port(self.endpoints["http"])

    @property
    def insecure_port(self) -> int:
        assert self.endpoints["mqtt_insecure"], "server started without --insecure-mqtt-port"
        return self._port(self.endpoints["mqtt_insecure"])

    @property
    def ca_file(self) -> Path:
        return Path(self.endpoints["ca_file"])

    # -- devices -------------------------------------------------------------------------------------

    def iot(self) -> Any:
        """A boto3 ``iot`` client with the administrator's key, on the loopback HTTP port."""
        return self.client("iot")

    def iot_data(self) -> Any:
        """A boto3 ``iot-data`` client (signs ``iotdata``) with the administrator's key, without retries."""
        return self.client("iot-data", config=BotoConfig(retries={"max_attempts": 1}))

    def admin_key(self) -> tuple[str, str]:
        """The administrator's access key id and secret: the profile of the credentials file the server
        wrote, as endpoints.json names them."""
        parser = configparser.ConfigParser()
        parser.read(self.endpoints["credentials_file"])
        profile = parser[self.endpoints["profile"]]
        return profile["aws_access_key_id"], profile["aws_secret_access_key"]

    def external_settings(self) -> str:
        """The body of a ``corral.toml`` ``[services.NAME]`` or ``[actions.NAME]`` table that points another
        server at this one, as at an external AWS-compatible endpoint, with the administrator's key."""
        key_id, secret = self.admin_key()
        return (
            f'endpoint_url = "http://{self.endpoints["http"]}"\nregion = "{self.endpoints["region"]}"\n'
            f'access_key_id = "{key_id}"\nsecret_access_key = "{secret}"\n'
        )

    def client(self, service: str, **kwargs: Any) -> Any:
        """A boto3 client of ``service`` with the administrator's key, on the loopback HTTP port."""
        key_id, secret = self.admin_key()
        return boto3.client(
            service,
            endpoint_url=f"http://{self.endpoints['http']}",
            region_name=self.endpoints["region"],
            aws_access_key_id=key_id,
            aws_secret_access_key=secret,
            **kwargs,
        )

    def issue_certificate(self, name: str, *, policy: str | None = ALLOW_ALL_POLICY) -> DeviceCertificate:
        """An ACTIVE certificate from CreateKeysAndCertificate, with ``policy`` attached (None: none)."""
        iot = self.iot()
        created = iot.create_keys_and_certificate(setAsActive=True)
        if policy is not None:
            policy_name = "corral-test-" + hashlib.sha256(policy.encode()).hexdigest()[:12]
            with contextlib.suppress(iot.exceptions.ResourceAlreadyExistsException):
                iot.create_policy(policyName=policy_name, policyDocument=policy)
            iot.attach_policy(policyName=policy_name, target=created["certificateArn"])
        folder = self.data_dir.parent / "devices" / name
        folder.mkdir(parents=True, exist_ok=True)
        cert_file, key_file = folder / "certificate.pem.crt", folder / "private.pem.key"
        cert_file.write_text(created["certificatePem"])
        key_file.write_text(created["keyPair"]["PrivateKey"])
        os.chmod(key_file, 0o600)
        return DeviceCertificate(cert_file, key_file, created["certificateId"])

    def client_ssl_context(self, device: DeviceCertificate | None) -> ssl.SSLContext:
        ctx = ssl.create_default_context(cafile=str(self.ca_file))
        if device is not None:
            ctx.load_cert_chain(str(device.cert_file), str(device.key_file))
        return ctx


def make_server(
    base: Path,
    *,
    name: str = "data",
    insecure: bool = False,
    config_toml: str | None = None,
    extra_args: tuple[str, ...] = (),
) -> RunningServer:
    data_dir = base / name
    data_dir.mkdir(parents=True, exist_ok=True)
    if config_toml is not None:
        (data_dir / "corral.toml").write_text(config_toml)
    args = ["--host", "127.0.0.1", "--mqtts-port", "0", "--https-port", "0", "--http-port", "0"]
    if insecure:
        args += ["--insecure-mqtt-port", "0"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("CORRAL_")}
    return RunningServer(data_dir, [*args, *extra_args], env)


def free_port() -> int:
    """A TCP port free on the loopback interface now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def serving(server: RunningServer) -> Iterator[RunningServer]:
    """Starts ``server``, yields it, stops it: a fixture's ``yield from serving(make_server(...))``."""
    yield server.start()
    server.stop()


def eventually(probe: Callable[[], T | None], what: str, timeout: float = 30.0) -> T:
    """Repeats ``probe`` (a request to the server) until it finds something, or fails after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        found = probe()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen within {timeout} s")
