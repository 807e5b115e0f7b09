"""CreateCertificateFromCsr and the certificate transfer operations through a real `corral serve`: CSRs made
by `openssl req` and by `cryptography`, the issued PEM read back by both, a paho device connecting with it,
and transfers accepted and rejected with the aws CLI and boto3.

Corral has one account, so AcceptCertificateTransfer and RejectCertificateTransfer are honoured from it (on
AWS only the destination account may call them): the tests check the states and answers AWS documents, and
the errors of calls in the wrong state.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.harness import ALLOW_ALL_POLICY, DeviceCertificate, RunningServer, make_server
from tests.registry.e2e_support import NOT_AUTHORIZED, Cli, Device, openssl

ACCOUNT = "000000000000"
TARGET = "111122223333"
ALLOW_ALL = "csr-allow-all"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    running = make_server(tmp_path_factory.mktemp("csr")).start()
    running.iot().create_policy(policyName=ALLOW_ALL, policyDocument=ALLOW_ALL_POLICY)
    yield running
    running.stop()


@pytest.fixture(scope="module")
def iot(server: RunningServer) -> Any:
    return server.iot()


@pytest.fixture(scope="module")
def cli(server: RunningServer) -> Cli:
    return Cli(server)


@pytest.fixture
def devices(server: RunningServer) -> Iterator[list[Device]]:
    made: list[Device] = []
    yield made
    for device in made:
        device.close()


def spki(public_key: Any) -> bytes:
    der: bytes = public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return der


def test_openssl_csr_gives_a_certificate_openssl_reads_and_a_device_connects_with(
    server: RunningServer, cli: Cli, devices: list[Device], tmp_path: Path
) -> None:
    key, csr = tmp_path / "device.key", tmp_path / "device.csr"
    openssl(
        "req", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-subj", "/CN=csr-device",
        "-out", str(csr), cwd=tmp_path,
    )  # fmt: skip
    created = cli(
        "create-certificate-from-csr", "--certificate-signing-request", f"file://{csr}", "--set-as-active"
    )
    assert set(created) == {"certificateArn", "certificateId", "certificatePem"}  # no key: the device has it
    cert_id = created["certificateId"]
    assert created["certificateArn"] == f"arn:aws:iot:us-east-1:{ACCOUNT}:cert/{cert_id}"
    cert_file = tmp_path / "device.pem.crt"
    cert_file.write_text(created["certificatePem"])

    # openssl reads it: its SHA-256 fingerprint is the id, its key the CSR's, its issuer Corral's CA.
    fingerprint = openssl("x509", "-in", str(cert_file), "-noout", "-fingerprint", "-sha256", cwd=tmp_path)
    assert fingerprint.strip().split("=", 1)[1].replace(":", "").lower() == cert_id
    cert_key = openssl("x509", "-in", str(cert_file), "-noout", "-pubkey", cwd=tmp_path)
    assert cert_key == openssl("pkey", "-in", str(key), "-pubout", cwd=tmp_path)
    verified = openssl("verify", "-CAfile", str(server.ca_file), str(cert_file), cwd=tmp_path)
    assert verified.strip() == f"{cert_file}: OK"
    subject = openssl(
        "x509", "-in", str(cert_file), "-noout", "-subject", "-nameopt", "RFC2253", cwd=tmp_path
    )
    assert subject.strip() == "subject=CN=csr-device"

    # cryptography reads it too.
    parsed = x509.load_pem_x509_certificate(created["certificatePem"].encode())
    assert hashlib.sha256(parsed.public_bytes(serialization.Encoding.DER)).hexdigest() == cert_id
    request = x509.load_pem_x509_csr(csr.read_bytes())
    assert spki(parsed.public_key()) == spki(request.public_key())

    described = cli("describe-certificate", "--certificate-id", cert_id)["certificateDescription"]
    assert described["status"] == "ACTIVE"
    assert described["certificatePem"] == created["certificatePem"]

    cli("attach-policy", "--policy-name", ALLOW_ALL, "--target", created["certificateArn"])
    device = Device(server, f"csr-{uuid.uuid4().hex[:8]}", device=DeviceCertificate(cert_file, key, cert_id))
    devices.append(device)
    device.connect()
    assert device.publish(f"csr/{device.client_id}", b"hello", qos=1) == 0


def test_cryptography_csr_inactive_until_activated_and_never_the_same_certificate_twice(
    server: RunningServer, iot: Any, devices: list[Device], tmp_path: Path
) -> None:
    private_key = ec.generate_private_key(ec.SECP256R1())
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ec-device")]))
        .sign(private_key, hashes.SHA256())
        .public_bytes(serialization.Encoding.PEM)
        .decode()
    )
    first = iot.create_certificate_from_csr(certificateSigningRequest=csr)
    second = iot.create_certificate_from_csr(certificateSigningRequest=csr, setAsActive=False)
    assert first["certificateId"] != second["certificateId"]  # "Reusing the same CSR results in a distinct
    # certificate" (the model's documentation)
    for created in (first, second):
        parsed = x509.load_pem_x509_certificate(created["certificatePem"].encode())
        assert spki(parsed.public_key()) == spki(private_key.public_key())
        status = iot.describe_certificate(certificateId=created["certificateId"])["certificateDescription"]
        assert status["status"] == "INACTIVE"  # setAsActive absent or false

    cert_file, key_file = tmp_path / "ec.pem.crt", tmp_path / "ec.pem.key"
    cert_file.write_text(first["certificatePem"])
    key_file.write_bytes(
        private_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    text = openssl("x509", "-in", str(cert_file), "-noout", "-text", cwd=tmp_path)
    assert "id-ecPublicKey" in text and "prime256v1" in text
    iot.attach_policy(policyName=ALLOW_ALL, target=first["certificateArn"])
    device_cert = DeviceCertificate(cert_file, key_file, first["certificateId"])

    refused = Device(server, f"ec-{uuid.uuid4().hex[:8]}", device=device_cert)
    devices.append(refused)
    assert refused.attempt() in (NOT_AUTHORIZED, None)  # INACTIVE: refused

    iot.update_certificate(certificateId=first["certificateId"], newStatus="ACTIVE")
    admitted = Device(server, f"ec-{uuid.uuid4().hex[:8]}", device=device_cert)
    devices.append(admitted)
    admitted.connect()
    assert admitted.publish(f"csr/{admitted.client_id}", b"ec", qos=1) == 0


def test_a_rejected_transfer_returns_the_certificate_inactive(cli: Cli) -> None:
    created = cli("create-keys-and-certificate")
    cert_id = created["certificateId"]
    transferred = cli(
        "transfer-certificate", "--certificate-id", cert_id, "--target-aws-account", TARGET,
        "--transfer-message", "for the site team",
    )  # fmt: skip
    assert transferred == {"transferredCertificateArn": created["certificateArn"]}
    pending = cli("describe-certificate", "--certificate-id", cert_id)["certificateDescription"]
    assert pending["status"] == "PENDING_TRANSFER"
    assert pending["transferData"]["transferMessage"] == "for the site team"
    assert "transferDate" in pending["transferData"]
    listed = {c["certificateId"]: c["status"] for c in cli("list-certificates")["certificates"]}
    assert listed[cert_id] == "PENDING_TRANSFER"  # how a destination finds its transfers on AWS

    assert (
        cli("reject-certificate-transfer", "--certificate-id", cert_id, "--reject-reason", "wrong site")
        is None
    )
    rejected = cli("describe-certificate", "--certificate-id", cert_id)["certificateDescription"]
    assert rejected["status"] == "INACTIVE"
    assert rejected["ownedBy"] == ACCOUNT and "previousOwnedBy" not in rejected
    assert rejected["transferData"]["rejectReason"] == "wrong site"
    assert "rejectDate" in rejected["transferData"]

    again = cli.run("reject-certificate-transfer", "--certificate-id", cert_id)
    assert again.returncode == 255
    assert "(TransferAlreadyCompletedException) when calling the RejectCertificateTransfer" in again.stderr

    # The certificate is the source's again: it can be transferred anew.
    cli("transfer-certificate", "--certificate-id", cert_id, "--target-aws-account", TARGET)
    cli("cancel-certificate-transfer", "--certificate-id", cert_id)
    cancelled = cli("describe-certificate", "--certificate-id", cert_id)["certificateDescription"]
    assert cancelled["status"] == "INACTIVE"


def test_an_accepted_transfer_changes_the_owner_and_is_final(iot: Any) -> None:
    created = iot.create_keys_and_certificate(setAsActive=False)
    cert_id = created["certificateId"]
    with pytest.raises(iot.exceptions.InvalidRequestException) as caught:
        iot.accept_certificate_transfer(certificateId=cert_id)  # nothing to accept yet
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    iot.transfer_certificate(certificateId=cert_id, targetAwsAccount=TARGET)
    iot.accept_certificate_transfer(certificateId=cert_id, setAsActive=True)
    accepted = iot.describe_certificate(certificateId=cert_id)["certificateDescription"]
    assert accepted["status"] == "ACTIVE"  # setAsActive; INACTIVE by default
    assert (accepted["ownedBy"], accepted["previousOwnedBy"]) == (TARGET, ACCOUNT)
    assert {"transferDate", "acceptDate"} <= set(accepted["transferData"])

    for call in (
        iot.accept_certificate_transfer,
        iot.reject_certificate_transfer,
        iot.cancel_certificate_transfer,
    ):
        with pytest.raises(iot.exceptions.TransferAlreadyCompletedException) as completed:
            call(certificateId=cert_id)
        assert completed.value.response["ResponseMetadata"]["HTTPStatusCode"] == 410

    plain = iot.create_keys_and_certificate(setAsActive=False)["certificateId"]
    iot.transfer_certificate(certificateId=plain, targetAwsAccount=TARGET)
    iot.accept_certificate_transfer(certificateId=plain)
    assert iot.describe_certificate(certificateId=plain)["certificateDescription"]["status"] == "INACTIVE"


def test_transfer_message_and_reason_limits_are_the_models(iot: Any) -> None:
    """``transferMessage`` and ``rejectReason`` are at most 128 characters [M]."""
    cert_id = iot.create_keys_and_certificate(setAsActive=False)["certificateId"]
    with pytest.raises(iot.exceptions.InvalidRequestException) as caught:
        iot.transfer_certificate(certificateId=cert_id, targetAwsAccount=TARGET, transferMessage="m" * 129)
    message = caught.value.response["Error"]["Message"]
    assert message.startswith("1 validation error detected: Value '" + "m" * 129 + "' at 'transferMessage'")
    assert message.endswith("Member must have length less than or equal to 128")
    iot.transfer_certificate(certificateId=cert_id, targetAwsAccount=TARGET, transferMessage="m" * 128)
    with pytest.raises(iot.exceptions.InvalidRequestException):
        iot.reject_certificate_transfer(certificateId=cert_id, rejectReason="r" * 129)
    iot.reject_certificate_transfer(certificateId=cert_id, rejectReason="r" * 128)
    described = iot.describe_certificate(certificateId=cert_id)["certificateDescription"]
    assert described["transferData"]["rejectReason"] == "r" * 128
