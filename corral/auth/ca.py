"""The Corral certificate authority: one root CA per data directory, and the TLS contexts built on it.

AWS IoT Core authenticates devices by X.509 client certificates, so Corral needs a CA of its own. This module
is the only code that creates, loads or signs with that CA. Both TLS listeners (MQTT on the MQTTS port, MQTT
over WebSocket and the HTTPS API on the HTTPS port) trust exactly this root, and the certificate registry
issues device certificates through :func:`issue_client_certificate`, so a certificate the registry hands out
is by construction one the listeners accept. Keeping it in one place means there is one answer to "which CA,
which files, which key type, which extensions".

Layout under ``DATA_DIR/ca`` (the folder is created 0700)::

    root-ca.pem   root CA certificate (what devices put in their trust store, like AmazonRootCA1.pem)
    root-ca.key   root CA private key, PKCS#8 PEM, unencrypted, mode 0600
    server.pem    server certificate followed by the root CA certificate (a chain file)
    server.key    server private key, PKCS#8 PEM, unencrypted, mode 0600
    .lock         flock(2) target serializing concurrent ensure_pki calls

Every file is written atomically (temporary file in the same folder, fsync, ``os.replace``, fsync of the
folder), and keys are created 0600 from the start, so a crash never leaves a torn or world-readable key.
The root CA certificate is written after its key: a CA certificate on disk implies its key is complete.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import ipaddress
import logging
import os
import re
import secrets
import ssl
import stat
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.types import CertificatePublicKeyTypes
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

__all__ = [
    "CA_COMMON_NAME",
    "HTTPS_ALPN_PROTOCOLS",
    "MQTT_ALPN_PROTOCOLS",
    "CAPrivateKey",
    "CorralPKI",
    "certificate_id",
    "ensure_pki",
    "https_server_ssl_context",
    "issue_client_certificate",
    "mqtt_server_ssl_context",
]

log = logging.getLogger(__name__)

CAPrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
"""Key types the Corral CA may have: RSA (what ensure_pki creates) or EC (an operator-supplied CA)."""

CA_COMMON_NAME = "Corral Root CA"
SERVER_COMMON_NAME = "Corral Server"
ORGANIZATION = "Corral"

# AWS IoT's ALPN name for MQTT over TLS on port 443, then the IANA-registered one.
MQTT_ALPN_PROTOCOLS = ("x-amzn-mqtt-ca", "mqtt")
HTTPS_ALPN_PROTOCOLS = ("http/1.1",)

RSA_KEY_SIZE = 2048
CA_VALIDITY = timedelta(days=20 * 365 + 5)
# 825 days is the longest server certificate lifetime Apple platforms accept.
SERVER_VALIDITY = timedelta(days=825)
SERVER_RENEW_BEFORE = timedelta(days=30)
# not-before is set this far in the past so devices whose clocks run a little behind accept new certificates.
CLOCK_SKEW = timedelta(hours=1)

DEFAULT_SERVER_SANS: tuple[x509.GeneralName, ...] = (
    x509.DNSName("localhost"),
    x509.IPAddress(ipaddress.IPv4Address("127.0.0.1")),
    x509.IPAddress(ipaddress.IPv6Address("::1")),
)

_CA_DIRNAME = "ca"
_DNS_LABEL = re.compile(r"^(\*|[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)$")


@dataclass(frozen=True)
class CorralPKI:
    """Where the Corral CA and server credentials live. Returned by :func:`ensure_pki`."""

    ca_cert_file: Path
    ca_key_file: Path
    server_cert_file: Path
    server_key_file: Path

    def ca_certificate(self) -> x509.Certificate:
        return x509.load_pem_x509_certificate(self.ca_cert_file.read_bytes())

    def ca_private_key(self) -> CAPrivateKey:
        return _load_private_key(self.ca_key_file)


def _pki_for(data_dir: Path) -> CorralPKI:
    ca_dir = Path(data_dir) / _CA_DIRNAME
    return CorralPKI(
        ca_cert_file=ca_dir / "root-ca.pem",
        ca_key_file=ca_dir / "root-ca.key",
        server_cert_file=ca_dir / "server.pem",
        server_key_file=ca_dir / "server.key",
    )


# ---------------------------------------------------------------------------------------------- public API


def ensure_pki(data_dir: Path, hostnames: Sequence[str] = ()) -> CorralPKI:
    """Create (first call) or load the Corral CA under ``data_dir/ca`` and make sure the server certificate
    is current.

    The CA is never replaced once it exists. The server certificate is (re)issued by that CA when it is
    missing, unreadable, does not match its key, was not issued by the current CA, is not yet valid,
    expires within 30 days, or its subject alternative names do not cover ``localhost``, ``127.0.0.1``,
    ``::1`` and every entry of ``hostnames`` (entries that parse as IP addresses become IP SANs, the rest
    DNS SANs). A reissued certificate carries exactly the defaults plus ``hostnames``.

    Raises ``ValueError`` for a malformed hostname and for an inconsistent CA on disk (certificate without
    its key, or a key that does not match the certificate); the CA is not silently replaced in that case,
    because every device certificate chains to it.
    """
    if isinstance(hostnames, str):
        raise TypeError("hostnames must be a sequence of names, not a single string")
    wanted = _server_sans(hostnames)
    pki = _pki_for(data_dir)
    ca_dir = pki.ca_cert_file.parent
    ca_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    with _exclusive_lock(ca_dir / ".lock"):
        ca_cert, ca_key = _load_or_create_ca(pki)
        reason = _server_reissue_reason(pki, ca_cert, wanted)
        if reason is not None:
            log.info("issuing Corral server certificate (%s)", reason)
            _issue_server_certificate(pki, ca_cert, ca_key, wanted)
    return pki


def issue_client_certificate(
    pki: CorralPKI,
    common_name: str,
    *,
    days: int = 3650,
    public_key: CertificatePublicKeyTypes | None = None,
    subject: x509.Name | None = None,
) -> tuple[bytes, bytes | None]:
    """Issue a device certificate (subject ``CN=common_name`` unless ``subject`` is given, extendedKeyUsage
    clientAuth) signed by the Corral root CA.

    Without ``public_key`` a new RSA 2048 key is generated and ``(cert_pem, key_pem)`` is returned; the key
    is PKCS#1 PEM (``BEGIN RSA PRIVATE KEY``), like the keys AWS IoT's CreateKeysAndCertificate returns.
    With ``public_key`` (the CreateCertificateFromCsr case) ``(cert_pem, None)`` is returned.
    The validity ends ``days`` after not-before, but never after the CA's own expiry.
    """
    if days < 1:
        raise ValueError(f"days must be at least 1, got {days}")
    ca_cert = pki.ca_certificate()
    ca_key = pki.ca_private_key()
    key_pem: bytes | None = None
    if public_key is None:
        private_key = rsa.generate_private_key(public_exponent=65537, key_size=RSA_KEY_SIZE)
        public_key = private_key.public_key()
        key_pem = private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
    if subject is None:
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    builder = (
        _leaf_builder(ca_cert, subject, public_key, timedelta(days=days))
        .add_extension(_key_usage(digital_signature=True), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
    )
    cert = builder.sign(ca_key, hashes.SHA256())
    return cert.public_bytes(serialization.Encoding.PEM), key_pem


def certificate_id(cert_der: bytes) -> str:
    """AWS IoT's certificate id (and Corral's principal id): the lowercase hex SHA-256 of the DER encoding."""
    if cert_der.lstrip().startswith(b"-----BEGIN"):
        raise ValueError("certificate_id expects a DER certificate, got PEM")
    return hashlib.sha256(cert_der).hexdigest()


def mqtt_server_ssl_context(pki: CorralPKI) -> ssl.SSLContext:
    """Server context for the MQTTS listener: TLS 1.2+, a client certificate chaining to the Corral root CA
    is required, ALPN ``x-amzn-mqtt-ca``/``mqtt`` offered (clients that send no ALPN are accepted too)."""
    ctx = _server_context(pki)
    ctx.verify_mode = ssl.CERT_REQUIRED
    ctx.set_alpn_protocols(list(MQTT_ALPN_PROTOCOLS))
    return ctx


def https_server_ssl_context(pki: CorralPKI) -> ssl.SSLContext:
    """Server context for the HTTPS port (MQTT over WebSocket, HTTPS API): TLS 1.2+, a client certificate
    is optional; if one is sent it must chain to the Corral root CA (otherwise the handshake fails), and the
    application inspects it. ALPN ``http/1.1``."""
    ctx = _server_context(pki)
    ctx.verify_mode = ssl.CERT_OPTIONAL
    ctx.set_alpn_protocols(list(HTTPS_ALPN_PROTOCOLS))
    return ctx


# ---------------------------------------------------------------------------------------------- TLS


def _server_context(pki: CorralPKI) -> ssl.SSLContext:
    # PROTOCOL_TLS_SERVER loads no default trust store: the Corral root is the only anchor.
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(certfile=pki.server_cert_file, keyfile=pki.server_key_file)
    ctx.load_verify_locations(cafile=pki.ca_cert_file)
    return ctx


# ---------------------------------------------------------------------------------------------- CA


def _load_or_create_ca(pki: CorralPKI) -> tuple[x509.Certificate, CAPrivateKey]:
    cert_exists = pki.ca_cert_file.exists()
    key_exists = pki.ca_key_file.exists()
    if not cert_exists:
        if key_exists:
            # Only possible after a crash between writing the key and the certificate: no device
            # certificate can have been issued (that needs the certificate), so start over.
            log.warning(
                "%s exists without %s; creating a new Corral root CA", pki.ca_key_file, pki.ca_cert_file
            )
        return _create_ca(pki)
    if not key_exists:
        raise ValueError(
            f"{pki.ca_cert_file} exists but its private key {pki.ca_key_file} is missing; "
            "restore the key, or remove the certificate to create a new CA (which invalidates every "
            "device certificate)"
        )
    _tighten_key_mode(pki.ca_key_file)
    ca_cert = pki.ca_certificate()
    ca_key = pki.ca_private_key()
    if _spki(ca_key.public_key()) != _spki(ca_cert.public_key()):
        raise ValueError(f"{pki.ca_key_file} does not match {pki.ca_cert_file}")
    return ca_cert, ca_key


def _create_ca(pki: CorralPKI) -> tuple[x509.Certificate, CAPrivateKey]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=RSA_KEY_SIZE)
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, CA_COMMON_NAME),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, ORGANIZATION),
        ]
    )
    not_before = _now() - CLOCK_SKEW
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_before + CA_VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(_key_usage(key_cert_sign=True, crl_sign=True), critical=True)
        .add_extension(ski, critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False)
        .sign(key, hashes.SHA256())
    )
    _atomic_write(pki.ca_key_file, _private_pem(key), 0o600)
    _atomic_write(pki.ca_cert_file, cert.public_bytes(serialization.Encoding.PEM), 0o644)
    return cert, key


# ---------------------------------------------------------------------------------------------- server cert


def _server_sans(hostnames: Sequence[str]) -> list[x509.GeneralName]:
    """Defaults first, then each hostname once, in the order given."""
    sans = list(DEFAULT_SERVER_SANS)
    for entry in hostnames:
        name = _parse_hostname(entry)
        if name not in sans:
            sans.append(name)
    return sans


def _parse_hostname(entry: str) -> x509.GeneralName:
    value = entry.strip()
    if value.startswith("[") and value.endswith("]"):  # "[::1]" as written in URLs
        value = value[1:-1]
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        pass
    else:
        # A zone ("fe80::1%eth0") cannot be expressed in a certificate; drop it.
        return x509.IPAddress(ipaddress.ip_address(address.packed))
    name = value.rstrip(".").lower()
    if not name.isascii():
        try:
            name = name.encode("idna").decode("ascii")
        except UnicodeError as exc:
            raise ValueError(f"invalid hostname {entry!r}: {exc}") from exc
    labels = name.split(".")
    if not name or len(name) > 253 or not all(_DNS_LABEL.match(label) for label in labels):
        raise ValueError(f"invalid hostname {entry!r}")
    if "*" in labels[1:]:
        raise ValueError(f"invalid hostname {entry!r}: a wildcard may only be the leftmost label")
    return x509.DNSName(name)


def _san_key(name: x509.GeneralName) -> tuple[str, object]:
    if isinstance(name, x509.DNSName):
        return ("dns", name.value.lower())
    if isinstance(name, x509.IPAddress):
        return ("ip", name.value)
    return ("other", name)


def _server_reissue_reason(
    pki: CorralPKI, ca_cert: x509.Certificate, wanted: list[x509.GeneralName]
) -> str | None:
    """Why the server certificate must be (re)issued, or None if the one on disk is fine."""
    if not pki.server_cert_file.exists() or not pki.server_key_file.exists():
        return "missing"
    try:
        chain = x509.load_pem_x509_certificates(pki.server_cert_file.read_bytes())
        key = _load_private_key(pki.server_key_file)
    except ValueError as exc:
        return f"unreadable: {exc}"
    leaf = chain[0]
    if _spki(leaf.public_key()) != _spki(key.public_key()):
        return "certificate does not match key"
    try:
        leaf.verify_directly_issued_by(ca_cert)
    except (ValueError, TypeError, InvalidSignature):
        return "not issued by the current Corral root CA"
    now = _now()
    if leaf.not_valid_before_utc > now:
        return "not yet valid"
    if leaf.not_valid_after_utc - now < SERVER_RENEW_BEFORE:
        return f"expires {leaf.not_valid_after_utc.isoformat()}"
    try:
        present = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return "no subjectAltName"
    have = {_san_key(name) for name in present}
    missing = [name for name in wanted if _san_key(name) not in have]
    if missing:
        return "subjectAltName lacks " + ", ".join(str(name.value) for name in missing)
    _tighten_key_mode(pki.server_key_file)
    return None


def _issue_server_certificate(
    pki: CorralPKI, ca_cert: x509.Certificate, ca_key: CAPrivateKey, sans: list[x509.GeneralName]
) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=RSA_KEY_SIZE)
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, SERVER_COMMON_NAME),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, ORGANIZATION),
        ]
    )
    cert = (
        _leaf_builder(ca_cert, subject, key.public_key(), SERVER_VALIDITY)
        .add_extension(_key_usage(digital_signature=True, key_encipherment=True), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    chain = cert.public_bytes(serialization.Encoding.PEM) + ca_cert.public_bytes(serialization.Encoding.PEM)
    # Key first: if we crash in between, the old certificate no longer matches the key and is reissued.
    _atomic_write(pki.server_key_file, _private_pem(key), 0o600)
    _atomic_write(pki.server_cert_file, chain, 0o644)


# ---------------------------------------------------------------------------------------------- helpers


def _leaf_builder(
    ca_cert: x509.Certificate, subject: x509.Name, public_key: CertificatePublicKeyTypes, validity: timedelta
) -> x509.CertificateBuilder:
    """Common part of server and client certificates: CA:FALSE, SKI, AKI, random serial, clamped validity."""
    not_before = _now() - CLOCK_SKEW
    not_after = min(not_before + validity, ca_cert.not_valid_after_utc)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(ca_cert.subject)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .add_extension(_authority_key_identifier(ca_cert), critical=False)
    )


def _authority_key_identifier(ca_cert: x509.Certificate) -> x509.AuthorityKeyIdentifier:
    try:
        ski = ca_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    except x509.ExtensionNotFound:
        ca_public = ca_cert.public_key()
        if not isinstance(ca_public, rsa.RSAPublicKey | ec.EllipticCurvePublicKey):
            raise ValueError(f"unsupported CA key type {type(ca_public).__name__}") from None
        return x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_public)
    return x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski)


def _key_usage(
    *,
    digital_signature: bool = False,
    key_encipherment: bool = False,
    key_cert_sign: bool = False,
    crl_sign: bool = False,
) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=digital_signature,
        content_commitment=False,
        key_encipherment=key_encipherment,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=key_cert_sign,
        crl_sign=crl_sign,
        encipher_only=False,
        decipher_only=False,
    )


def _load_private_key(path: Path) -> CAPrivateKey:
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        raise ValueError(f"{path}: unsupported key type {type(key).__name__} (need RSA or EC)")
    return key


def _private_pem(key: CAPrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _spki(public_key: CertificatePublicKeyTypes) -> bytes:
    return public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _now() -> datetime:
    # Certificates carry whole seconds; dropping microseconds keeps comparisons with parsed values exact.
    return datetime.now(UTC).replace(microsecond=0)


def _tighten_key_mode(path: Path) -> None:
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        log.warning("%s was mode %o; setting 0600", path, mode)
        path.chmod(0o600)


def _atomic_write(path: Path, data: bytes, mode: int) -> None:
    """Write ``data`` to ``path`` so that readers see either the old file or the complete new one.

    The temporary file is created with ``mode`` (0600 for keys), never wider, and removed on failure.
    """
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC | os.O_NOFOLLOW
    fd = os.open(tmp, flags, mode)
    try:
        try:
            os.fchmod(fd, mode)  # the umask may have narrowed a certificate's 0644; keys stay 0600
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise
    _fsync_dir(path.parent)


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    except OSError as exc:  # some filesystems refuse fsync on directories
        if exc.errno not in (errno.EINVAL, errno.EBADF):
            raise
    finally:
        os.close(fd)


@contextlib.contextmanager
def _exclusive_lock(path: Path) -> Iterator[None]:
    """Serialize ensure_pki across processes and threads (flock locks per open file description)."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock
