from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, ExtensionOID, NameOID

from corral.auth.ca import CorralPKI
from corral.registry.cas import CACertificates
from corral.registry.certificates import Certificates
from corral.registry.context import RegistryContext
from corral.registry.errors import (
    CertificateConflict,
    CertificateState,
    CertificateValidation,
    DeleteConflict,
    InvalidRequest,
    ResourceAlreadyExists,
    ResourceNotFound,
    TransferAlreadyCompleted,
    TransferConflict,
)
from corral.registry.policies import Policies
from corral.registry.principals import Principals
from corral.registry.things import Things
from tests.registry.conftest import ACCOUNT, REGION, Recorder
from tests.registry.pki_support import corral_pki, make_ca, make_csr, make_leaf, openssl, register_ca
from tests.registry.thing_support import expect_error, kinds

POLICY = '{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "iot:*", "Resource": "*"}}'
NO_CA = "No CA certificate exists for the given certificate"


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> CorralPKI:
    return corral_pki(tmp_path_factory)


@pytest.fixture
def certs(registry_context: RegistryContext, pki: CorralPKI) -> Certificates:
    return Certificates(registry_context, pki)


async def test_create_keys_and_certificate(
    certs: Certificates, registry_context: RegistryContext, recorder: Recorder, pki: CorralPKI, tmp_path: Path
) -> None:
    out = await certs.create_keys_and_certificate({"setAsActive": True})
    cert = x509.load_pem_x509_certificate(out["certificatePem"].encode())
    der = cert.public_bytes(serialization.Encoding.DER)
    assert out["certificateId"] == hashlib.sha256(der).hexdigest()
    assert out["certificateArn"] == f"arn:aws:iot:{REGION}:{ACCOUNT}:cert/{out['certificateId']}"
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "AWS IoT Certificate"
    cert.verify_directly_issued_by(pki.ca_certificate())
    # AWS's formats: PKCS#1 private key, SPKI public key, PEM with a trailing newline; they match the cert.
    private_pem, public_pem = out["keyPair"]["PrivateKey"], out["keyPair"]["PublicKey"]
    assert private_pem.startswith("-----BEGIN RSA PRIVATE KEY-----\n")
    assert private_pem.endswith("-----END RSA PRIVATE KEY-----\n")
    assert public_pem.startswith("-----BEGIN PUBLIC KEY-----\n")
    assert out["certificatePem"].startswith("-----BEGIN CERTIFICATE-----\n")
    assert out["certificatePem"].endswith("-----END CERTIFICATE-----\n")
    private_key = serialization.load_pem_private_key(private_pem.encode(), password=None)
    assert isinstance(private_key, rsa.RSAPrivateKey) and private_key.key_size == 2048
    spki = serialization.PublicFormat.SubjectPublicKeyInfo
    cert_spki = cert.public_key().public_bytes(serialization.Encoding.DER, spki)
    assert private_key.public_key().public_bytes(serialization.Encoding.DER, spki) == cert_spki
    public_key = serialization.load_pem_public_key(public_pem.encode())
    assert public_key.public_bytes(serialization.Encoding.DER, spki) == cert_spki
    # ... and openssl reads all three.
    (tmp_path / "cert.pem").write_text(out["certificatePem"])
    subject = await openssl("x509", "-noout", "-subject", "-in", str(tmp_path / "cert.pem"))
    assert "AWS IoT Certificate" in subject
    await openssl("verify", "-CAfile", str(pki.ca_cert_file), str(tmp_path / "cert.pem"))
    await openssl("rsa", "-check", "-noout", stdin=private_pem.encode())
    await openssl("pkey", "-pubin", "-noout", stdin=public_pem.encode())

    description = (await certs.describe_certificate({"certificateId": out["certificateId"]}))[
        "certificateDescription"
    ]
    assert description["status"] == "ACTIVE"
    assert description["certificatePem"] == out["certificatePem"]
    assert description["ownedBy"] == ACCOUNT
    assert description["customerVersion"] == 1
    assert description["certificateMode"] == "DEFAULT"
    assert "caCertificateId" not in description
    assert description["creationDate"].tzinfo is not None
    assert description["validity"]["notAfter"] == cert.not_valid_after_utc
    assert kinds(recorder) == [("certificate", out["certificateId"])]

    inactive = await certs.create_keys_and_certificate({})
    described = await certs.describe_certificate({"certificateId": inactive["certificateId"]})
    assert described["certificateDescription"]["status"] == "INACTIVE"


async def test_create_certificate_from_csr(certs: Certificates, pki: CorralPKI) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    csr = make_csr("sensor-7", key=key)
    first = await certs.create_certificate_from_csr({"certificateSigningRequest": csr, "setAsActive": True})
    second = await certs.create_certificate_from_csr({"certificateSigningRequest": csr})
    assert first["certificateId"] != second["certificateId"]  # the same CSR twice: two certificates
    assert "keyPair" not in first
    cert = x509.load_pem_x509_certificate(first["certificatePem"].encode())
    cert.verify_directly_issued_by(pki.ca_certificate())
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "sensor-7"
    spki = serialization.PublicFormat.SubjectPublicKeyInfo
    assert cert.public_key().public_bytes(serialization.Encoding.DER, spki) == key.public_key().public_bytes(
        serialization.Encoding.DER, spki
    )
    statuses = [
        (await certs.describe_certificate({"certificateId": out["certificateId"]}))["certificateDescription"][
            "status"
        ]
        for out in (first, second)
    ]
    assert statuses == ["ACTIVE", "INACTIVE"]
    no_cn = await certs.create_certificate_from_csr({"certificateSigningRequest": make_csr(None)})
    no_cn_cert = x509.load_pem_x509_certificate(no_cn["certificatePem"].encode())
    assert no_cn_cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "AWS IoT Certificate"

    await expect_error(
        certs.create_certificate_from_csr({"certificateSigningRequest": "nope"}), InvalidRequest
    )
    # A CSR whose signature does not match: flip a bit of the signature.
    der = bytearray(x509.load_pem_x509_csr(csr.encode()).public_bytes(serialization.Encoding.DER))
    der[-1] ^= 1
    tampered = x509.load_der_x509_csr(bytes(der)).public_bytes(serialization.Encoding.PEM).decode()
    await expect_error(
        certs.create_certificate_from_csr({"certificateSigningRequest": tampered}),
        InvalidRequest,
        "The certificate signing request's signature is not valid",
    )
    weak = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    await expect_error(
        certs.create_certificate_from_csr({"certificateSigningRequest": make_csr(key=weak)}), InvalidRequest
    )
    k1 = ec.generate_private_key(ec.SECP256K1())
    await expect_error(
        certs.create_certificate_from_csr({"certificateSigningRequest": make_csr(key=k1)}), InvalidRequest
    )


def full_subject_csr(key: ec.EllipticCurvePrivateKey) -> x509.CertificateSigningRequest:
    """A CSR with a many-attribute subject (a repeated OU, a serialNumber) that requests extensions too."""
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "DE"),
            x509.NameAttribute(NameOID.STATE_OR_PROVINCE_NAME, "Bavaria"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Acme Sensors GmbH"),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "Fleet"),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "Line 3"),
            x509.NameAttribute(NameOID.SERIAL_NUMBER, "SN-000042"),
            x509.NameAttribute(NameOID.COMMON_NAME, "sensor-42"),
        ]
    )
    return (
        x509.CertificateSigningRequestBuilder()
        .subject_name(subject)
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("sensor-42.example")]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )


async def test_certificate_from_csr_keeps_the_whole_subject(certs: Certificates, pki: CorralPKI) -> None:
    csr = full_subject_csr(ec.generate_private_key(ec.SECP384R1()))
    pem = csr.public_bytes(serialization.Encoding.PEM).decode()
    out = await certs.create_certificate_from_csr({"certificateSigningRequest": pem})
    cert = x509.load_pem_x509_certificate(out["certificatePem"].encode())
    # Every attribute, in order, with its encoding: the DER of the two names is the same.
    assert cert.subject == csr.subject
    assert cert.subject.public_bytes() == csr.subject.public_bytes()
    assert cert.subject.rfc4514_string() == (
        "CN=sensor-42,2.5.4.5=SN-000042,OU=Line 3,OU=Fleet,O=Acme Sensors GmbH,ST=Bavaria,C=DE"
    )
    assert cert.issuer == pki.ca_certificate().subject
    cert.verify_directly_issued_by(pki.ca_certificate())
    # The issuer's extensions, not the requested ones: no subjectAltName, and never a CA.
    extensions = {ext.oid: ext for ext in cert.extensions}
    assert ExtensionOID.SUBJECT_ALTERNATIVE_NAME not in extensions
    assert extensions[ExtensionOID.BASIC_CONSTRAINTS].value.ca is False
    assert extensions[ExtensionOID.EXTENDED_KEY_USAGE].value == x509.ExtendedKeyUsage(
        [ExtendedKeyUsageOID.CLIENT_AUTH]
    )
    assert extensions[ExtensionOID.KEY_USAGE].value.digital_signature is True
    assert extensions[ExtensionOID.KEY_USAGE].critical is True
    assert cert.not_valid_after_utc <= pki.ca_certificate().not_valid_after_utc
    # DescribeCertificate answers the certificate as issued.
    described = await certs.describe_certificate({"certificateId": out["certificateId"]})
    assert described["certificateDescription"]["certificatePem"] == out["certificatePem"]


async def test_register_certificate(registry_context: RegistryContext, certs: Certificates) -> None:
    cas = CACertificates(registry_context)
    ca = make_ca("Fleet CA")
    ca_id = await register_ca(cas, ca)
    device = make_leaf(ca, "dev-1")
    out = await certs.register_certificate({"certificatePem": device.pem, "caCertificatePem": ca.pem})
    assert out["certificateId"] == hashlib.sha256(device.der).hexdigest()
    description = (await certs.describe_certificate({"certificateId": out["certificateId"]}))[
        "certificateDescription"
    ]
    assert (description["status"], description["caCertificateId"]) == ("INACTIVE", ca_id)
    assert description["certificateMode"] == "DEFAULT"
    # Registering it again: AWS's conflict, naming the certificate.
    error = await expect_error(
        certs.register_certificate({"certificatePem": device.pem}),
        ResourceAlreadyExists,
        "The certificate is already provisioned or registered",
    )
    assert error.extra == {"resourceId": out["certificateId"], "resourceArn": out["certificateArn"]}
    # Without caCertificatePem the CA is found by the issuer; setAsActive and status choose the status.
    active = await certs.register_certificate({"certificatePem": make_leaf(ca).pem, "setAsActive": True})
    revoked = await certs.register_certificate(
        {"certificatePem": make_leaf(ca).pem, "status": "REVOKED", "setAsActive": True}
    )
    for registered, status in ((active, "ACTIVE"), (revoked, "REVOKED")):
        described = await certs.describe_certificate({"certificateId": registered["certificateId"]})
        assert described["certificateDescription"]["status"] == status
    listed = await certs.list_certificates_by_ca({"caCertificateId": ca_id, "ascendingOrder": True})
    assert [item["certificateId"] for item in listed["certificates"]] == [
        out["certificateId"],
        active["certificateId"],
        revoked["certificateId"],
    ]
    assert (await certs.list_certificates_by_ca({"caCertificateId": "ab" * 32}))["certificates"] == []

    # The issuing CA must be registered here and ACTIVE, and must have signed the certificate.
    stranger = make_ca("Stranger CA")
    for params in ({}, {"caCertificatePem": stranger.pem}):
        await expect_error(
            certs.register_certificate({"certificatePem": make_leaf(stranger).pem, **params}),
            CertificateState,
            NO_CA,
        )
    forged = make_leaf(stranger, issuer_name=ca.cert.subject)  # claims Fleet CA, signed by another key
    await expect_error(certs.register_certificate({"certificatePem": forged.pem}), CertificateValidation)
    await expect_error(
        certs.register_certificate({"certificatePem": forged.pem, "caCertificatePem": ca.pem}),
        CertificateValidation,
    )
    await expect_error(
        certs.register_certificate({"certificatePem": make_leaf(ca, expired=True).pem}), CertificateValidation
    )
    await expect_error(certs.register_certificate({"certificatePem": "garbage"}), CertificateValidation)
    await expect_error(
        certs.register_certificate({"certificatePem": make_leaf(ca).pem, "status": "PENDING_ACTIVATION"}),
        InvalidRequest,
    )
    await cas.update_ca_certificate({"certificateId": ca_id, "newStatus": "INACTIVE"})
    await expect_error(certs.register_certificate({"certificatePem": make_leaf(ca).pem}), CertificateState)


async def test_register_certificate_with_two_cas_of_one_subject_and_key(
    registry_context: RegistryContext, certs: Certificates
) -> None:
    cas = CACertificates(registry_context)
    original = make_ca("Twin CA")
    renewed = make_ca("Twin CA", key=original.key)  # same subject and key, another certificate
    await register_ca(cas, original)
    renewed_id = await register_ca(cas, renewed)
    device = make_leaf(original)
    await expect_error(
        certs.register_certificate({"certificatePem": device.pem}),
        CertificateConflict,
        "Unable to verify the CA certificate used to sign the device certificate you are attempting to "
        "register. This is happens when you have registered more than one CA certificate that has the same "
        "subject field and public key.",
    )
    out = await certs.register_certificate({"certificatePem": device.pem, "caCertificatePem": renewed.pem})
    described = await certs.describe_certificate({"certificateId": out["certificateId"]})
    assert described["certificateDescription"]["caCertificateId"] == renewed_id


async def test_register_certificate_without_ca(certs: Certificates, recorder: Recorder) -> None:
    device = make_leaf(make_ca("Unregistered CA"))
    out = await certs.register_certificate_without_ca({"certificatePem": device.pem, "status": "ACTIVE"})
    description = (await certs.describe_certificate({"certificateId": out["certificateId"]}))[
        "certificateDescription"
    ]
    assert description["certificateMode"] == "SNI_ONLY"
    assert description["status"] == "ACTIVE"
    assert "caCertificateId" not in description
    plain = await certs.register_certificate_without_ca({"certificatePem": make_leaf(make_ca()).pem})
    described = await certs.describe_certificate({"certificateId": plain["certificateId"]})
    assert described["certificateDescription"]["status"] == "INACTIVE"
    await expect_error(
        certs.register_certificate_without_ca({"certificatePem": device.pem}),
        ResourceAlreadyExists,
        "The certificate is already provisioned or registered",
    )
    await expect_error(certs.register_certificate_without_ca({"certificatePem": "x"}), CertificateValidation)
    assert kinds(recorder) == [("certificate", out["certificateId"]), ("certificate", plain["certificateId"])]


async def test_update_certificate_status_transitions(certs: Certificates, recorder: Recorder) -> None:
    cert_id = (await certs.register_certificate_without_ca({"certificatePem": make_leaf(make_ca()).pem}))[
        "certificateId"
    ]

    async def describe() -> dict[str, object]:
        description: dict[str, object] = (await certs.describe_certificate({"certificateId": cert_id}))[
            "certificateDescription"
        ]
        return description

    before = await describe()
    for status in ("ACTIVE", "INACTIVE", "ACTIVE", "REVOKED"):
        await certs.update_certificate({"certificateId": cert_id, "newStatus": status})
        assert (await describe())["status"] == status
    after = await describe()
    assert after["customerVersion"] == 5
    assert after["generationId"] != before["generationId"]
    assert after["lastModifiedDate"] >= before["lastModifiedDate"]  # type: ignore[operator]
    # The same status again is a no-op; REVOKED is final.
    await certs.update_certificate({"certificateId": cert_id, "newStatus": "REVOKED"})
    assert (await describe())["customerVersion"] == 5
    for status in ("ACTIVE", "INACTIVE"):
        await expect_error(
            certs.update_certificate({"certificateId": cert_id, "newStatus": status}),
            CertificateState,
            f"The status of a revoked certificate cannot be changed. Id: {cert_id}",
        )
    for status in ("PENDING_TRANSFER", "PENDING_ACTIVATION"):
        await expect_error(
            certs.update_certificate({"certificateId": cert_id, "newStatus": status}), InvalidRequest
        )
    await expect_error(
        certs.update_certificate({"certificateId": "0" * 64, "newStatus": "ACTIVE"}), ResourceNotFound
    )
    await expect_error(certs.describe_certificate({"certificateId": "0" * 64}), ResourceNotFound)
    # Uppercase ids name the same certificate.
    assert (await certs.describe_certificate({"certificateId": cert_id.upper()}))["certificateDescription"]
    assert kinds(recorder).count(("certificate", cert_id)) == 5


async def test_delete_certificate(
    registry_context: RegistryContext, certs: Certificates, recorder: Recorder
) -> None:
    out = await certs.create_keys_and_certificate({"setAsActive": True})
    cert_id, arn = out["certificateId"], out["certificateArn"]
    policies = Policies(registry_context)
    await policies.create_policy({"policyName": "p1", "policyDocument": POLICY})
    await policies.attach_policy({"policyName": "p1", "target": arn})
    await Things(registry_context).create_thing({"thingName": "lamp"})
    principals = Principals(registry_context)
    await principals.attach_thing_principal({"thingName": "lamp", "principal": arn})

    await expect_error(
        certs.delete_certificate({"certificateId": cert_id, "forceDelete": True}),
        CertificateState,
        f"Certificate must be deactivated (not ACTIVE) before deletion. Id: {cert_id}",
    )
    await certs.update_certificate({"certificateId": cert_id, "newStatus": "INACTIVE"})
    for force in (False, True):  # things block the deletion even when forced
        await expect_error(
            certs.delete_certificate({"certificateId": cert_id, "forceDelete": force}),
            DeleteConflict,
            f"Things must be detached before deletion (arn: {arn})",
        )
    await principals.detach_thing_principal({"thingName": "lamp", "principal": arn})
    await expect_error(
        certs.delete_certificate({"certificateId": cert_id}),
        DeleteConflict,
        f"Certificate policies must be detached before deletion (arn: {arn})",
    )
    recorder.changes.clear()
    await certs.delete_certificate({"certificateId": cert_id, "forceDelete": True})  # detaches the policies
    assert kinds(recorder) == [("certificate", cert_id), ("policy_attachment", arn)]
    await expect_error(certs.describe_certificate({"certificateId": cert_id}), ResourceNotFound)
    assert (await policies.list_targets_for_policy({"policyName": "p1"}))["targets"] == []
    await expect_error(certs.delete_certificate({"certificateId": cert_id}), ResourceNotFound)
    # A revoked certificate without attachments goes at once.
    other = await certs.create_keys_and_certificate({})
    await certs.update_certificate({"certificateId": other["certificateId"], "newStatus": "REVOKED"})
    await certs.delete_certificate({"certificateId": other["certificateId"]})


async def test_list_certificates_pages(certs: Certificates) -> None:
    ids = [
        (await certs.register_certificate_without_ca({"certificatePem": make_leaf(make_ca()).pem}))[
            "certificateId"
        ]
        for _ in range(5)
    ]
    for ascending, expected in ((True, ids), (False, ids[::-1])):
        seen: list[str] = []
        marker: str | None = None
        pages = 0
        while True:
            params: dict[str, object] = {"pageSize": 2, "ascendingOrder": ascending}
            if marker:
                params["marker"] = marker
            page = await certs.list_certificates(params)
            seen += [item["certificateId"] for item in page["certificates"]]
            pages += 1
            marker = page.get("nextMarker")
            if marker is None:
                break
            assert re.fullmatch(r"[A-Za-z0-9+/]+={0,2}", marker)
        assert (seen, pages) == (expected, 3)
    default = await certs.list_certificates({})
    assert [item["certificateId"] for item in default["certificates"]] == ids[::-1]  # newest first, 25 a page
    assert "nextMarker" not in default
    item = default["certificates"][0]
    assert set(item) == {"certificateArn", "certificateId", "status", "certificateMode", "creationDate"}
    assert item["creationDate"] <= datetime.now(UTC)
    await expect_error(certs.list_certificates({"marker": "not a marker!"}), InvalidRequest)
    await expect_error(certs.list_certificates({"marker": "e30="}), InvalidRequest)  # "{}"


async def test_certificate_transfer_state_machine(
    registry_context: RegistryContext, certs: Certificates, recorder: Recorder
) -> None:
    target = "210987654321"
    out = await certs.create_keys_and_certificate({"setAsActive": True})
    cert_id, arn = out["certificateId"], out["certificateArn"]
    transfer = {"certificateId": cert_id, "targetAwsAccount": target, "transferMessage": "yours"}
    await expect_error(certs.transfer_certificate(transfer), CertificateState)  # ACTIVE
    await certs.update_certificate({"certificateId": cert_id, "newStatus": "INACTIVE"})
    policies = Policies(registry_context)
    await policies.create_policy({"policyName": "p1", "policyDocument": POLICY})
    await policies.attach_policy({"policyName": "p1", "target": arn})
    await expect_error(
        certs.transfer_certificate(transfer),
        TransferConflict,
        "You can't transfer the certificate because authorization policies are still attached.",
    )
    await policies.detach_policy({"policyName": "p1", "target": arn})
    for operation in (certs.accept_certificate_transfer, certs.reject_certificate_transfer):
        await expect_error(operation({"certificateId": cert_id}), InvalidRequest)  # nothing to accept yet

    assert await certs.transfer_certificate(transfer) == {"transferredCertificateArn": arn}
    description = (await certs.describe_certificate({"certificateId": cert_id}))["certificateDescription"]
    assert description["status"] == "PENDING_TRANSFER"
    assert description["transferData"]["transferMessage"] == "yours"
    assert description["transferData"]["transferDate"].tzinfo is not None
    assert set(description["transferData"]) == {"transferMessage", "transferDate"}
    await expect_error(certs.transfer_certificate(transfer), TransferConflict)
    await expect_error(
        certs.update_certificate({"certificateId": cert_id, "newStatus": "ACTIVE"}), CertificateState
    )
    listed = await certs.list_certificates({})
    assert listed["certificates"][0]["status"] == "PENDING_TRANSFER"

    # Cancel returns it INACTIVE; a new transfer is then rejected; a third is accepted.
    await certs.cancel_certificate_transfer({"certificateId": cert_id})
    description = (await certs.describe_certificate({"certificateId": cert_id}))["certificateDescription"]
    assert description["status"] == "INACTIVE"
    await expect_error(certs.cancel_certificate_transfer({"certificateId": cert_id}), InvalidRequest)

    await certs.transfer_certificate(transfer)
    await certs.reject_certificate_transfer({"certificateId": cert_id, "rejectReason": "no thanks"})
    description = (await certs.describe_certificate({"certificateId": cert_id}))["certificateDescription"]
    assert description["status"] == "INACTIVE"
    assert description["transferData"]["rejectReason"] == "no thanks"
    assert "rejectDate" in description["transferData"]
    assert description["ownedBy"] == ACCOUNT
    await expect_error(
        certs.cancel_certificate_transfer({"certificateId": cert_id}),
        TransferAlreadyCompleted,
        "You can't revert the certificate transfer because the transfer is already complete.",
    )
    await expect_error(
        certs.accept_certificate_transfer({"certificateId": cert_id}), TransferAlreadyCompleted
    )

    await certs.transfer_certificate(transfer)
    await certs.accept_certificate_transfer({"certificateId": cert_id, "setAsActive": True})
    description = (await certs.describe_certificate({"certificateId": cert_id}))["certificateDescription"]
    assert description["status"] == "ACTIVE"
    assert (description["ownedBy"], description["previousOwnedBy"]) == (target, ACCOUNT)
    assert {"transferDate", "acceptDate", "transferMessage"} <= set(description["transferData"])
    for operation in (
        certs.accept_certificate_transfer,
        certs.reject_certificate_transfer,
        certs.cancel_certificate_transfer,
    ):
        await expect_error(operation({"certificateId": cert_id}), TransferAlreadyCompleted)
    await expect_error(certs.cancel_certificate_transfer({"certificateId": "1" * 64}), ResourceNotFound)

    revoked = await certs.create_keys_and_certificate({})
    await certs.update_certificate({"certificateId": revoked["certificateId"], "newStatus": "REVOKED"})
    await expect_error(
        certs.transfer_certificate({**transfer, "certificateId": revoked["certificateId"]}), CertificateState
    )
    assert ("certificate", cert_id) in kinds(recorder)
