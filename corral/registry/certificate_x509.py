"""Reading the X.509 material the certificate and CA operations are given, with AWS's errors.

Pure functions over ``cryptography`` objects: PEM in, certificates out, or the RegistryError AWS answers with.
AWS's message texts for invalid certificates and CSRs are unconfirmed (docs/control-plane-facts.md §5, §6);
the ones here say what is wrong in AWS's style.

:func:`certificate_for_csr` is CreateCertificateFromCsr's certificate: the CSR's whole subject (every
attribute, in its order and encoding, as AWS keeps it) and its public key, signed by the Corral root CA. The
extensions are the issuer's, not the CSR's: CA:FALSE, key identifiers, digitalSignature and clientAuth, the
same as CreateKeysAndCertificate's; extensions the CSR requests (subjectAltName, keyUsage, ...) are not
copied [?: AWS documents nothing about them; its certificates carry a fixed set].
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Final

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from corral.auth.ca import CorralPKI, certificate_id, issue_client_certificate
from corral.registry.errors import CertificateValidation, InvalidRequest

MIN_RSA_BITS = 2048
CSR_CURVES = (ec.SECP256R1, ec.SECP384R1, ec.SECP521R1)
AWS_SUBJECT_CN: Final = "AWS IoT Certificate"


def load_certificate(pem: str, *, what: str = "certificate") -> x509.Certificate:
    """One certificate from PEM text (the first, if several), or CertificateValidationException."""
    try:
        return x509.load_pem_x509_certificate(pem.encode("utf-8"))
    except (ValueError, UnicodeError) as exc:
        raise CertificateValidation(f"The {what} is not a valid PEM-encoded X.509 certificate") from exc


def der_of(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.DER)


def pem_of(cert: x509.Certificate) -> str:
    """PEM as every client library reads it: 64-column base64 lines and a trailing newline."""
    return cert.public_bytes(serialization.Encoding.PEM).decode("ascii")


def id_of(cert: x509.Certificate) -> str:
    return certificate_id(der_of(cert))


def validity(cert: x509.Certificate) -> tuple[float, float]:
    """(notBefore, notAfter) as float epoch seconds."""
    return cert.not_valid_before_utc.timestamp(), cert.not_valid_after_utc.timestamp()


def is_expired(cert: x509.Certificate, now: datetime | None = None) -> bool:
    return cert.not_valid_after_utc < (now or datetime.now(UTC))


def is_ca(cert: x509.Certificate) -> bool:
    try:
        constraints = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
    except x509.ExtensionNotFound:
        return False
    return constraints.ca


def issued_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    """True when ``issuer``'s subject is ``cert``'s issuer and its key made ``cert``'s signature."""
    try:
        cert.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def common_name(name: x509.Name) -> str | None:
    values = name.get_attributes_for_oid(NameOID.COMMON_NAME)
    if not values:
        return None
    value = values[0].value
    return value if isinstance(value, str) else value.decode("utf-8", "replace")


def load_csr(pem: str) -> x509.CertificateSigningRequest:
    """A CSR CreateCertificateFromCsr accepts: PEM, self-signature valid, and (as AWS documents) an RSA key of
    at least 2048 bits or an EC key on NIST P-256, P-384 or P-521. Anything else: InvalidRequestException."""
    try:
        csr = x509.load_pem_x509_csr(pem.encode("utf-8"))
    except (ValueError, UnicodeError) as exc:
        raise InvalidRequest("The certificate signing request is not a valid PEM-encoded CSR") from exc
    try:
        signature_valid = csr.is_signature_valid
    except (ValueError, TypeError) as exc:
        raise InvalidRequest("The certificate signing request's signature cannot be verified") from exc
    if not signature_valid:
        raise InvalidRequest("The certificate signing request's signature is not valid")
    key = csr.public_key()
    if isinstance(key, rsa.RSAPublicKey):
        if key.key_size < MIN_RSA_BITS:
            raise InvalidRequest(
                f"The certificate signing request's RSA key has {key.key_size} bits; at least "
                f"{MIN_RSA_BITS} are required"
            )
    elif isinstance(key, ec.EllipticCurvePublicKey):
        if not isinstance(key.curve, CSR_CURVES):
            raise InvalidRequest(
                f"The certificate signing request's EC key is on curve {key.curve.name}; NIST P-256, "
                "P-384 or P-521 is required"
            )
    else:
        raise InvalidRequest("The certificate signing request's key must be RSA or EC (NIST P-256/384/521)")
    return csr


def certificate_for_csr(pki: CorralPKI, csr: x509.CertificateSigningRequest) -> x509.Certificate:
    """The device certificate CreateCertificateFromCsr issues for ``csr`` (already checked by
    :func:`load_csr`): its subject and key, Corral's extensions, valid ten years or until the CA expires.
    A CSR with an empty subject gets AWS's ``CN=AWS IoT Certificate`` [?]."""
    public_key = csr.public_key()
    if not isinstance(public_key, rsa.RSAPublicKey | ec.EllipticCurvePublicKey):  # load_csr let it through
        raise InvalidRequest("The certificate signing request's key must be RSA or EC (NIST P-256/384/521)")
    subject = (
        csr.subject
        if len(csr.subject)
        else x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, AWS_SUBJECT_CN)])
    )
    pem, _ = issue_client_certificate(pki, AWS_SUBJECT_CN, public_key=public_key, subject=subject)
    return x509.load_pem_x509_certificate(pem)
