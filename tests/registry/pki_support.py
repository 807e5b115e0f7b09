"""Throwaway X.509 material for the certificate, CA and policy tests: CAs, device certificates, CSRs and
verification certificates made with ``cryptography`` (EC P-256 keys: fast to generate)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from corral.auth.ca import CorralPKI, ensure_pki
from corral.registry.cas import CACertificates

PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey


@dataclass(frozen=True)
class Issued:
    cert: x509.Certificate
    key: PrivateKey

    @property
    def pem(self) -> str:
        return self.cert.public_bytes(serialization.Encoding.PEM).decode()

    @property
    def der(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.DER)


def new_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def name(cn: str, org: str = "Corral Tests") -> x509.Name:
    return x509.Name(
        [x509.NameAttribute(NameOID.COMMON_NAME, cn), x509.NameAttribute(NameOID.ORGANIZATION_NAME, org)]
    )


def corral_pki(tmp_path_factory: pytest.TempPathFactory) -> CorralPKI:
    """The Corral root CA in a temp dir (each test module makes one, in a module-scoped fixture)."""
    return ensure_pki(Path(tmp_path_factory.mktemp("pki")))


def make_ca(cn: str = "Test CA", *, key: PrivateKey | None = None, expired: bool = False) -> Issued:
    """A self-signed CA (basicConstraints CA:TRUE), valid for a year (or expired yesterday)."""
    key = key or new_key()
    now = datetime.now(UTC) - timedelta(days=366 if expired else 0)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name(cn))
        .issuer_name(name(cn))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(hours=1))
        .not_valid_after(now + timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    return Issued(cert, key)


def make_leaf(
    issuer: Issued,
    cn: str = "device",
    *,
    key: PrivateKey | None = None,
    expired: bool = False,
    issuer_name: x509.Name | None = None,
) -> Issued:
    """A certificate signed by ``issuer`` (optionally claiming another issuer name, or already expired)."""
    key = key or new_key()
    now = datetime.now(UTC)
    not_after = now - timedelta(days=1) if expired else now + timedelta(days=30)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)]))
        .issuer_name(issuer_name or issuer.cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=2))
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(issuer.key, hashes.SHA256())
    )
    return Issued(cert, key)


def make_csr(cn: str | None = "device", *, key: PrivateKey | None = None) -> str:
    key = key or new_key()
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)] if cn else [])
    csr = x509.CertificateSigningRequestBuilder().subject_name(subject).sign(key, hashes.SHA256())
    return csr.public_bytes(serialization.Encoding.PEM).decode()


async def register_ca(
    cas: CACertificates, ca: Issued, *, active: bool = True, auto: bool = False, **params: object
) -> str:
    """Registers ``ca`` the AWS way (verification certificate with the registration code as CN); its id."""
    code = (await cas.get_registration_code({}))["registrationCode"]
    verification = make_leaf(ca, code)
    registered = await cas.register_ca_certificate(
        {
            "caCertificate": ca.pem,
            "verificationCertificate": verification.pem,
            "setAsActive": active,
            "allowAutoRegistration": auto,
            **params,
        }
    )
    certificate_id: str = registered["certificateId"]
    return certificate_id


async def openssl(*args: str, stdin: bytes | None = None) -> str:
    """Runs ``openssl`` with ``args``; its standard output (fails the test on a non-zero exit)."""
    process = await asyncio.create_subprocess_exec(
        "openssl",
        *args,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate(stdin)
    assert process.returncode == 0, f"openssl {' '.join(args)}: {err.decode()}"
    return out.decode()
