"""Tests for the Corral CA: files, certificate contents, openssl cross-checks and real TLS handshakes."""

from __future__ import annotations

import hashlib
import ipaddress
import os
import shutil
import socket
import ssl
import stat
import subprocess
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from corral.auth.ca import (
    CorralPKI,
    certificate_id,
    ensure_pki,
    https_server_ssl_context,
    issue_client_certificate,
    mqtt_server_ssl_context,
)

TIMEOUT = 5.0


# ---------------------------------------------------------------------------------------------- fixtures


@dataclass(frozen=True)
class ClientCredentials:
    cert_file: Path
    key_file: Path
    der: bytes


def _write_client(pki: CorralPKI, directory: Path, common_name: str) -> ClientCredentials:
    cert_pem, key_pem = issue_client_certificate(pki, common_name)
    assert key_pem is not None
    directory.mkdir(parents=True, exist_ok=True)
    cert_file = directory / f"{common_name}.pem"
    key_file = directory / f"{common_name}.key"
    cert_file.write_bytes(cert_pem)
    key_file.write_bytes(key_pem)
    der = x509.load_pem_x509_certificate(cert_pem).public_bytes(serialization.Encoding.DER)
    return ClientCredentials(cert_file, key_file, der)


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> CorralPKI:
    return ensure_pki(tmp_path_factory.mktemp("data"))


@pytest.fixture(scope="module")
def client(pki: CorralPKI, tmp_path_factory: pytest.TempPathFactory) -> ClientCredentials:
    return _write_client(pki, tmp_path_factory.mktemp("client"), "device-1")


@pytest.fixture(scope="module")
def foreign_pki(tmp_path_factory: pytest.TempPathFactory) -> CorralPKI:
    """A throwaway, unrelated CA."""
    return ensure_pki(tmp_path_factory.mktemp("foreign"))


@pytest.fixture(scope="module")
def foreign_client(foreign_pki: CorralPKI, tmp_path_factory: pytest.TempPathFactory) -> ClientCredentials:
    return _write_client(foreign_pki, tmp_path_factory.mktemp("foreign-client"), "intruder")


def _files(pki: CorralPKI) -> dict[str, bytes]:
    paths = (pki.ca_cert_file, pki.ca_key_file, pki.server_cert_file, pki.server_key_file)
    return {path.name: path.read_bytes() for path in paths}


def _server_leaf(pki: CorralPKI) -> x509.Certificate:
    return x509.load_pem_x509_certificates(pki.server_cert_file.read_bytes())[0]


def _sans(cert: x509.Certificate) -> x509.SubjectAlternativeName:
    return cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# ---------------------------------------------------------------------------------------------- files


def test_creates_files_with_modes(tmp_path: Path) -> None:
    old_umask = os.umask(0)  # keys must be 0600 however permissive the umask
    try:
        pki = ensure_pki(tmp_path / "data")
    finally:
        os.umask(old_umask)
    ca_dir = tmp_path / "data" / "ca"
    assert pki == CorralPKI(
        ca_cert_file=ca_dir / "root-ca.pem",
        ca_key_file=ca_dir / "root-ca.key",
        server_cert_file=ca_dir / "server.pem",
        server_key_file=ca_dir / "server.key",
    )
    assert _mode(ca_dir) == 0o700
    assert _mode(pki.ca_key_file) == 0o600
    assert _mode(pki.server_key_file) == 0o600
    assert _mode(pki.ca_cert_file) == 0o644
    assert _mode(pki.server_cert_file) == 0o644
    # No temporary files left behind.
    assert sorted(p.name for p in ca_dir.iterdir()) == [
        ".lock",
        "root-ca.key",
        "root-ca.pem",
        "server.key",
        "server.pem",
    ]
    assert b"-----BEGIN PRIVATE KEY-----" in pki.ca_key_file.read_bytes()  # PEM, unencrypted


def test_certificate_modes_survive_restrictive_umask(tmp_path: Path) -> None:
    old_umask = os.umask(0o077)
    try:
        pki = ensure_pki(tmp_path)
    finally:
        os.umask(old_umask)
    assert _mode(pki.ca_cert_file) == 0o644
    assert _mode(pki.ca_key_file) == 0o600


def test_second_call_reuses_everything(pki: CorralPKI) -> None:
    before = _files(pki)
    again = ensure_pki(pki.ca_cert_file.parent.parent, ["localhost", "127.0.0.1", "[::1]", "LOCALHOST."])
    assert again == pki
    assert _files(again) == before


def test_new_hostnames_reissue_server_certificate(tmp_path: Path) -> None:
    pki = ensure_pki(tmp_path)
    before = _files(pki)
    ensure_pki(tmp_path, ["corral.example", "10.1.2.3", "fd00::7"])
    after = _files(pki)
    assert after["root-ca.pem"] == before["root-ca.pem"]
    assert after["root-ca.key"] == before["root-ca.key"]
    assert after["server.pem"] != before["server.pem"]
    assert after["server.key"] != before["server.key"]
    leaf = _server_leaf(pki)
    leaf.verify_directly_issued_by(pki.ca_certificate())
    sans = _sans(leaf)
    assert sans.get_values_for_type(x509.DNSName) == ["localhost", "corral.example"]
    assert sans.get_values_for_type(x509.IPAddress) == [
        ipaddress.ip_address("127.0.0.1"),
        ipaddress.ip_address("::1"),
        ipaddress.ip_address("10.1.2.3"),
        ipaddress.ip_address("fd00::7"),
    ]
    # A subset of what the certificate covers (in another spelling) does not reissue.
    ensure_pki(tmp_path, ["Corral.Example", "10.1.2.3"])
    assert _files(pki) == after


def test_expiring_server_certificate_is_reissued(tmp_path: Path) -> None:
    pki = ensure_pki(tmp_path, ["corral.example"])
    ca_cert, ca_key = pki.ca_certificate(), pki.ca_private_key()
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.now(UTC)
    short = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "short")]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=10))
        .add_extension(_sans(_server_leaf(pki)), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    pki.server_cert_file.write_bytes(short.public_bytes(serialization.Encoding.PEM))
    pki.server_key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    ensure_pki(tmp_path, ["corral.example"])
    leaf = _server_leaf(pki)
    assert leaf.serial_number != short.serial_number
    assert leaf.not_valid_after_utc - now > timedelta(days=800)
    assert leaf.not_valid_after_utc - leaf.not_valid_before_utc <= timedelta(days=825)
    assert "corral.example" in _sans(leaf).get_values_for_type(x509.DNSName)


def test_server_certificate_from_another_ca_or_key_is_reissued(
    tmp_path: Path, foreign_pki: CorralPKI
) -> None:
    pki = ensure_pki(tmp_path)
    shutil.copyfile(foreign_pki.server_cert_file, pki.server_cert_file)
    shutil.copyfile(foreign_pki.server_key_file, pki.server_key_file)
    ensure_pki(tmp_path)
    _server_leaf(pki).verify_directly_issued_by(pki.ca_certificate())

    # A server key that does not belong to the certificate (e.g. a crash between the two writes).
    good_cert = pki.server_cert_file.read_bytes()
    shutil.copyfile(foreign_pki.server_key_file, pki.server_key_file)
    ensure_pki(tmp_path)
    assert pki.server_cert_file.read_bytes() != good_cert
    mqtt_server_ssl_context(pki)  # load_cert_chain checks that key and certificate match


def test_missing_server_files_are_recreated(tmp_path: Path) -> None:
    pki = ensure_pki(tmp_path)
    ca = pki.ca_cert_file.read_bytes()
    pki.server_key_file.unlink()
    ensure_pki(tmp_path)
    assert pki.server_key_file.exists()
    pki.server_cert_file.unlink()
    ensure_pki(tmp_path)
    _server_leaf(pki).verify_directly_issued_by(pki.ca_certificate())
    assert pki.ca_cert_file.read_bytes() == ca


def test_ca_key_without_certificate_starts_over(tmp_path: Path) -> None:
    pki = ensure_pki(tmp_path)
    old_key = pki.ca_key_file.read_bytes()
    pki.ca_cert_file.unlink()
    ensure_pki(tmp_path)
    assert pki.ca_key_file.read_bytes() != old_key
    _server_leaf(pki).verify_directly_issued_by(pki.ca_certificate())


def test_ca_certificate_without_key_is_an_error(tmp_path: Path) -> None:
    pki = ensure_pki(tmp_path)
    cert = pki.ca_cert_file.read_bytes()
    pki.ca_key_file.unlink()
    with pytest.raises(ValueError, match="private key"):
        ensure_pki(tmp_path)
    assert pki.ca_cert_file.read_bytes() == cert  # never silently replaced


def test_mismatched_ca_key_is_an_error(tmp_path: Path, foreign_pki: CorralPKI) -> None:
    pki = ensure_pki(tmp_path)
    shutil.copyfile(foreign_pki.ca_key_file, pki.ca_key_file)
    with pytest.raises(ValueError, match="does not match"):
        ensure_pki(tmp_path)


def test_loose_key_mode_is_tightened(tmp_path: Path) -> None:
    pki = ensure_pki(tmp_path)
    pki.ca_key_file.chmod(0o644)
    pki.server_key_file.chmod(0o640)
    ensure_pki(tmp_path)
    assert _mode(pki.ca_key_file) == 0o600
    assert _mode(pki.server_key_file) == 0o600


def test_concurrent_first_calls_agree_on_one_ca(tmp_path: Path) -> None:
    barrier = threading.Barrier(4, timeout=TIMEOUT)

    def call() -> bytes:
        barrier.wait()
        return ensure_pki(tmp_path, ["corral.example"]).ca_cert_file.read_bytes()

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = [f.result(timeout=30) for f in [pool.submit(call) for _ in range(4)]]
    assert len(set(results)) == 1
    pki = ensure_pki(tmp_path, ["corral.example"])
    _server_leaf(pki).verify_directly_issued_by(pki.ca_certificate())


@pytest.mark.parametrize("bad", ["", "  ", "bad host", "a..b", "foo.*.example", "-x.example", "a" * 64])
def test_invalid_hostnames_rejected(tmp_path: Path, bad: str) -> None:
    with pytest.raises(ValueError):
        ensure_pki(tmp_path, [bad])
    assert not (tmp_path / "ca").exists()  # validated before touching the disk


def test_hostnames_must_not_be_a_bare_string(tmp_path: Path) -> None:
    hostnames: Sequence[str] = "corral.example"
    with pytest.raises(TypeError):
        ensure_pki(tmp_path, hostnames)


def test_wildcard_and_idn_hostnames(tmp_path: Path) -> None:
    pki = ensure_pki(tmp_path, ["*.corral.example", "bücher.example"])
    dns = _sans(_server_leaf(pki)).get_values_for_type(x509.DNSName)
    assert "*.corral.example" in dns
    assert "xn--bcher-kva.example" in dns


# ---------------------------------------------------------------------------------------------- contents


def test_ca_certificate_contents(pki: CorralPKI) -> None:
    ca = pki.ca_certificate()
    key = pki.ca_private_key()
    assert isinstance(key, rsa.RSAPrivateKey)
    assert key.key_size == 2048
    assert ca.subject == ca.issuer
    assert ca.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "Corral Root CA"
    assert ca.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == "Corral"
    assert isinstance(ca.signature_hash_algorithm, hashes.SHA256)
    basic = ca.extensions.get_extension_for_class(x509.BasicConstraints)
    assert basic.critical and basic.value.ca
    usage = ca.extensions.get_extension_for_class(x509.KeyUsage)
    assert usage.critical and usage.value.key_cert_sign and usage.value.crl_sign
    assert not usage.value.digital_signature
    ski = ca.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    assert ski == x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    now = datetime.now(UTC)
    assert ca.not_valid_before_utc < now - timedelta(minutes=5)
    assert ca.not_valid_after_utc > now + timedelta(days=365 * 20 - 2)
    ca.verify_directly_issued_by(ca)


def test_server_certificate_contents(pki: CorralPKI) -> None:
    chain = x509.load_pem_x509_certificates(pki.server_cert_file.read_bytes())
    assert len(chain) == 2
    leaf, second = chain
    ca = pki.ca_certificate()
    assert second == ca
    leaf.verify_directly_issued_by(ca)
    eku = leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [ExtendedKeyUsageOID.SERVER_AUTH]
    assert not leaf.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    aki = leaf.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    ca_ski = ca.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    assert aki.key_identifier == ca_ski.digest
    sans = _sans(leaf)
    assert sans.get_values_for_type(x509.DNSName) == ["localhost"]
    assert sans.get_values_for_type(x509.IPAddress) == [
        ipaddress.ip_address("127.0.0.1"),
        ipaddress.ip_address("::1"),
    ]
    lifetime = leaf.not_valid_after_utc - leaf.not_valid_before_utc
    assert timedelta(days=824) < lifetime <= timedelta(days=825)


def test_client_certificate_generated_key(pki: CorralPKI) -> None:
    cert_pem, key_pem = issue_client_certificate(pki, "thing-42", days=30)
    assert key_pem is not None and key_pem.startswith(b"-----BEGIN RSA PRIVATE KEY-----")
    cert = x509.load_pem_x509_certificate(cert_pem)
    key = serialization.load_pem_private_key(key_pem, password=None)
    assert isinstance(key, rsa.RSAPrivateKey) and key.key_size == 2048
    assert cert.public_key() == key.public_key()
    assert cert.subject == x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "thing-42")])
    ca = pki.ca_certificate()
    assert cert.issuer == ca.subject
    cert.verify_directly_issued_by(ca)
    eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [ExtendedKeyUsageOID.CLIENT_AUTH]
    assert not cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    aki = cert.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    assert aki.key_identifier == ca.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest
    assert cert.not_valid_after_utc - cert.not_valid_before_utc == timedelta(days=30)
    other, _ = issue_client_certificate(pki, "thing-42", days=30)
    assert x509.load_pem_x509_certificate(other).serial_number != cert.serial_number


def test_client_certificate_for_given_public_key(pki: CorralPKI) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    cert_pem, key_pem = issue_client_certificate(pki, "csr-thing", public_key=key.public_key())
    assert key_pem is None
    cert = x509.load_pem_x509_certificate(cert_pem)
    assert cert.public_key() == key.public_key()
    cert.verify_directly_issued_by(pki.ca_certificate())


def test_client_certificate_validity_is_clamped_and_checked(pki: CorralPKI) -> None:
    cert_pem, _ = issue_client_certificate(pki, "forever", days=100_000, public_key=_ec_public())
    cert = x509.load_pem_x509_certificate(cert_pem)
    assert cert.not_valid_after_utc == pki.ca_certificate().not_valid_after_utc
    with pytest.raises(ValueError):
        issue_client_certificate(pki, "never", days=0, public_key=_ec_public())


def _ec_public() -> ec.EllipticCurvePublicKey:
    return ec.generate_private_key(ec.SECP256R1()).public_key()


def test_certificate_id(client: ClientCredentials) -> None:
    cid = certificate_id(client.der)
    assert cid == hashlib.sha256(client.der).hexdigest()
    assert len(cid) == 64 and cid == cid.lower()
    with pytest.raises(ValueError):
        certificate_id(client.cert_file.read_bytes())


# ---------------------------------------------------------------------------------------------- openssl


def _openssl(*args: str | Path) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("openssl")
    if exe is None:
        pytest.skip("openssl command line not installed")
    return subprocess.run([exe, *map(str, args)], capture_output=True, text=True, timeout=30, check=False)


def test_openssl_verifies_ca_and_server(pki: CorralPKI) -> None:
    ca = pki.ca_cert_file
    result = _openssl("verify", "-x509_strict", "-CAfile", ca, ca)
    assert result.returncode == 0, result.stdout + result.stderr
    for host in ("-verify_hostname", "localhost"), ("-verify_ip", "127.0.0.1"), ("-verify_ip", "::1"):
        result = _openssl(
            "verify", "-x509_strict", "-purpose", "sslserver", *host, "-CAfile", ca, pki.server_cert_file
        )
        assert result.returncode == 0, result.stdout + result.stderr
    result = _openssl(
        "verify",
        "-purpose",
        "sslserver",
        "-verify_hostname",
        "other.example",
        "-CAfile",
        ca,
        pki.server_cert_file,
    )
    assert result.returncode != 0


def test_openssl_verifies_client(
    pki: CorralPKI, client: ClientCredentials, foreign_client: ClientCredentials
) -> None:
    ok = _openssl(
        "verify", "-x509_strict", "-purpose", "sslclient", "-CAfile", pki.ca_cert_file, client.cert_file
    )
    assert ok.returncode == 0, ok.stdout + ok.stderr
    bad = _openssl("verify", "-purpose", "sslclient", "-CAfile", pki.ca_cert_file, foreign_client.cert_file)
    assert bad.returncode != 0
    # Our client certificate is not usable as a server certificate.
    wrong = _openssl("verify", "-purpose", "sslserver", "-CAfile", pki.ca_cert_file, client.cert_file)
    assert wrong.returncode != 0


def test_openssl_fingerprint_matches_certificate_id(client: ClientCredentials) -> None:
    result = _openssl("x509", "-noout", "-fingerprint", "-sha256", "-in", client.cert_file)
    assert result.returncode == 0, result.stderr
    fingerprint = result.stdout.strip().split("=", 1)[1].replace(":", "").lower()
    assert fingerprint == certificate_id(client.der)


# ---------------------------------------------------------------------------------------------- TLS


@dataclass
class ServerSide:
    peer_der: bytes | None = None
    alpn: str | None = None
    error: BaseException | None = None


@dataclass
class ClientSide:
    data: bytes = b""
    alpn: str | None = None
    error: BaseException | None = None


def _serve_one(listener: socket.socket, ctx: ssl.SSLContext) -> ServerSide:
    conn, _ = listener.accept()
    conn.settimeout(TIMEOUT)
    with ctx.wrap_socket(conn, server_side=True, do_handshake_on_connect=False) as tls:
        try:
            tls.do_handshake()
        except (ssl.SSLError, OSError) as exc:
            return ServerSide(error=exc)
        result = ServerSide(peer_der=tls.getpeercert(binary_form=True), alpn=tls.selected_alpn_protocol())
        tls.sendall(b"ok")
        return result


def _client_context(
    pki: CorralPKI,
    creds: ClientCredentials | None = None,
    alpn: list[str] | None = None,
    max_version: ssl.TLSVersion = ssl.TLSVersion.MAXIMUM_SUPPORTED,
) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # check_hostname and CERT_REQUIRED by default
    ctx.load_verify_locations(cafile=pki.ca_cert_file)
    ctx.verify_flags |= ssl.VERIFY_X509_STRICT
    ctx.maximum_version = max_version
    if creds is not None:
        ctx.load_cert_chain(creds.cert_file, creds.key_file)
    if alpn is not None:
        ctx.set_alpn_protocols(alpn)
    return ctx


@pytest.fixture
def executor() -> Iterator[ThreadPoolExecutor]:
    with ThreadPoolExecutor(max_workers=1) as pool:
        yield pool


def _handshake(
    executor: ThreadPoolExecutor,
    server_ctx: ssl.SSLContext,
    client_ctx: ssl.SSLContext,
    server_hostname: str = "localhost",
    address: str = "127.0.0.1",
) -> tuple[ServerSide, ClientSide]:
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    with socket.create_server((address, 0), family=family) as listener:
        listener.settimeout(TIMEOUT)
        server = executor.submit(_serve_one, listener, server_ctx)
        client = ClientSide()
        try:
            with (
                socket.create_connection(listener.getsockname()[:2], timeout=TIMEOUT) as raw,
                client_ctx.wrap_socket(raw, server_hostname=server_hostname) as tls,
            ):
                client.alpn = tls.selected_alpn_protocol()
                # With TLS 1.3 the server judges the client certificate after the client's handshake
                # returns, so a refusal shows up here, on the first read.
                client.data = tls.recv(16)
        except (ssl.SSLError, OSError) as exc:
            client.error = exc
        return server.result(timeout=TIMEOUT), client


def _assert_accepted(server: ServerSide, client: ClientSide) -> None:
    assert server.error is None, server.error
    assert client.error is None, client.error
    assert client.data == b"ok"


def _assert_refused(server: ServerSide, client: ClientSide) -> None:
    assert isinstance(server.error, ssl.SSLError), server.error
    assert client.error is not None or client.data == b""


def test_mqtt_client_certificate_handshake(
    executor: ThreadPoolExecutor, pki: CorralPKI, client: ClientCredentials
) -> None:
    server, peer = _handshake(
        executor, mqtt_server_ssl_context(pki), _client_context(pki, client, alpn=["x-amzn-mqtt-ca"])
    )
    _assert_accepted(server, peer)
    assert server.peer_der == client.der
    assert certificate_id(server.peer_der) == hashlib.sha256(client.der).hexdigest()
    assert server.alpn == peer.alpn == "x-amzn-mqtt-ca"


@pytest.mark.parametrize(
    ("offered", "expected"),
    [(None, None), (["mqtt"], "mqtt"), (["h2", "x-amzn-mqtt-ca"], "x-amzn-mqtt-ca"), (["h2"], None)],
)
def test_mqtt_alpn(
    executor: ThreadPoolExecutor,
    pki: CorralPKI,
    client: ClientCredentials,
    offered: list[str] | None,
    expected: str | None,
) -> None:
    """Clients that offer no ALPN (or none we know) are still accepted, without a protocol."""
    server, peer = _handshake(
        executor, mqtt_server_ssl_context(pki), _client_context(pki, client, alpn=offered)
    )
    _assert_accepted(server, peer)
    assert server.alpn == peer.alpn == expected


@pytest.mark.parametrize("hostname", ["localhost", "127.0.0.1"])
def test_hostname_verification_passes(
    executor: ThreadPoolExecutor, pki: CorralPKI, client: ClientCredentials, hostname: str
) -> None:
    _assert_accepted(
        *_handshake(executor, mqtt_server_ssl_context(pki), _client_context(pki, client), hostname)
    )


def test_hostname_verification_over_ipv6(
    executor: ThreadPoolExecutor, pki: CorralPKI, client: ClientCredentials
) -> None:
    try:
        socket.create_server(("::1", 0), family=socket.AF_INET6).close()
    except OSError:
        pytest.skip("no IPv6 loopback")
    _assert_accepted(
        *_handshake(executor, mqtt_server_ssl_context(pki), _client_context(pki, client), "::1", "::1")
    )


def test_wrong_hostname_is_rejected_by_client(
    executor: ThreadPoolExecutor, pki: CorralPKI, client: ClientCredentials
) -> None:
    server, peer = _handshake(
        executor, mqtt_server_ssl_context(pki), _client_context(pki, client), "other.example"
    )
    assert isinstance(peer.error, ssl.SSLCertVerificationError)
    assert server.error is not None


def test_reissued_server_certificate_serves_new_hostname(
    executor: ThreadPoolExecutor, tmp_path: Path
) -> None:
    ensure_pki(tmp_path)
    pki = ensure_pki(tmp_path, ["mqtt.corral.example", "10.9.8.7"])
    creds = _write_client(pki, tmp_path / "client", "device")
    for hostname in ("mqtt.corral.example", "10.9.8.7", "localhost"):
        _assert_accepted(
            *_handshake(executor, mqtt_server_ssl_context(pki), _client_context(pki, creds), hostname)
        )


TLS_VERSIONS = [ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3]


@pytest.mark.parametrize("version", TLS_VERSIONS, ids=["tls1.2", "tls1.3"])
def test_mqtt_refuses_client_without_certificate(
    executor: ThreadPoolExecutor, pki: CorralPKI, version: ssl.TLSVersion
) -> None:
    _assert_refused(
        *_handshake(executor, mqtt_server_ssl_context(pki), _client_context(pki, max_version=version))
    )


@pytest.mark.parametrize("version", TLS_VERSIONS, ids=["tls1.2", "tls1.3"])
def test_mqtt_refuses_certificate_from_another_ca(
    executor: ThreadPoolExecutor, pki: CorralPKI, foreign_client: ClientCredentials, version: ssl.TLSVersion
) -> None:
    client_ctx = _client_context(pki, foreign_client, max_version=version)
    _assert_refused(*_handshake(executor, mqtt_server_ssl_context(pki), client_ctx))


def test_contexts_require_tls12(pki: CorralPKI) -> None:
    for ctx in (mqtt_server_ssl_context(pki), https_server_ssl_context(pki)):
        assert ctx.minimum_version == ssl.TLSVersion.TLSv1_2
    assert mqtt_server_ssl_context(pki).verify_mode == ssl.CERT_REQUIRED
    assert https_server_ssl_context(pki).verify_mode == ssl.CERT_OPTIONAL


def test_https_without_client_certificate(executor: ThreadPoolExecutor, pki: CorralPKI) -> None:
    server, peer = _handshake(
        executor, https_server_ssl_context(pki), _client_context(pki, alpn=["h2", "http/1.1"])
    )
    _assert_accepted(server, peer)
    assert server.peer_der is None
    assert server.alpn == peer.alpn == "http/1.1"


def test_https_with_client_certificate(
    executor: ThreadPoolExecutor, pki: CorralPKI, client: ClientCredentials
) -> None:
    server, peer = _handshake(executor, https_server_ssl_context(pki), _client_context(pki, client))
    _assert_accepted(server, peer)
    assert server.peer_der == client.der


def test_https_refuses_certificate_from_another_ca(
    executor: ThreadPoolExecutor, pki: CorralPKI, foreign_client: ClientCredentials
) -> None:
    """An optional certificate that is presented must still chain to the Corral root."""
    _assert_refused(
        *_handshake(executor, https_server_ssl_context(pki), _client_context(pki, foreign_client))
    )
