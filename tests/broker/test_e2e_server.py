"""The server as a whole: who may connect, what ``endpoints.json`` promises, the files it keeps, and how it
shuts down and comes back."""

from __future__ import annotations

import datetime
import json
import signal
import socket
import ssl
import stat
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from websockets.exceptions import WebSocketException

from tests.broker.clients import (
    HOST,
    PUBLISH,
    SUBACK,
    V5,
    V311,
    ClientPool,
    PahoClient,
    RawMQTT,
    WebSocketMQTT,
    Will,
    connect_packet,
    on_topic,
    parse_publish,
    subscribe_packet,
    uid,
)
from tests.conftest import ServerFactory
from tests.harness import RunningServer

SERVER_SHUTTING_DOWN = 0x8B


@pytest.fixture(scope="module")
def foreign_device(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A client certificate and key from a throwaway CA that Corral has never seen."""
    folder = tmp_path_factory.mktemp("foreign")
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Impostor Root CA")])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "impostor")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    cert_file, key_file = folder / "impostor.pem.crt", folder / "impostor.pem.key"
    chain = cert.public_bytes(serialization.Encoding.PEM) + ca_cert.public_bytes(serialization.Encoding.PEM)
    cert_file.write_bytes(chain)
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_file, key_file


def foreign_context(server: RunningServer, device: tuple[Path, Path]) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=str(server.ca_file))
    ctx.load_cert_chain(str(device[0]), str(device[1]))
    return ctx


def assert_no_connack(server: RunningServer, context: ssl.SSLContext) -> None:
    """The TLS handshake fails, or (TLS 1.3, where the client finishes first) the connection is closed
    before any CONNACK."""
    try:
        raw = RawMQTT.tls(server, context=context)
    except (ssl.SSLError, ConnectionError):
        return
    try:
        raw.send(connect_packet(uid("refused")))
    except OSError:
        pass
    finally:
        assert raw.read_packet() is None, "the server answered an unauthenticated client"
        raw.close()


# -- who may connect ---------------------------------------------------------------------------------------


def test_tls_client_without_certificate_gets_no_connack(shared_server: RunningServer) -> None:
    assert_no_connack(shared_server, shared_server.client_ssl_context(None))


def test_tls_client_with_certificate_from_another_ca_is_refused(
    shared_server: RunningServer, foreign_device: tuple[Path, Path]
) -> None:
    assert_no_connack(shared_server, foreign_context(shared_server, foreign_device))


def test_paho_without_certificate_is_never_connected(shared_server: RunningServer) -> None:
    client = PahoClient(shared_server, uid("no-cert"), client_certificate=False)
    try:
        try:
            client.start()
        except (ssl.SSLError, ConnectionError):
            return  # refused during the handshake
        client.wait_disconnected()
        assert not client.connacks, "paho got a CONNACK without presenting a certificate"
    finally:
        client.close()


def test_websocket_with_certificate_from_another_ca_is_refused(
    shared_server: RunningServer, foreign_device: tuple[Path, Path]
) -> None:
    with pytest.raises((OSError, EOFError, WebSocketException)):
        WebSocketMQTT.open(shared_server, context=foreign_context(shared_server, foreign_device))


def test_insecure_port_accepts_plain_mqtt_on_loopback(shared_server: RunningServer, pool: ClientPool) -> None:
    assert shared_server.endpoints["mqtt_insecure"].startswith("127.0.0.1:")
    topic = f"{uid('plain')}/t"
    plain = pool.connected(shared_server, uid("plain"), transport="insecure", version=V311)
    tls = pool.connected(shared_server, uid("tls"), version=V5)
    assert plain.subscribe(topic) == [1]
    tls.publish(topic, b"over tls, read in the clear", qos=1)
    assert plain.next_message().payload == b"over tls, read in the clear"


def _non_loopback_address() -> str | None:
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        probe.connect(("192.0.2.1", 9))  # no packet is sent for a UDP connect
        address = str(probe.getsockname()[0])
    except OSError:
        return None
    finally:
        probe.close()
    return None if address.startswith("127.") else address


def test_insecure_port_stays_on_loopback_when_the_server_binds_all_interfaces(
    server_factory: ServerFactory,
) -> None:
    address = _non_loopback_address()
    if address is None:
        pytest.skip("this machine has no non-loopback IPv4 address")
    server = server_factory(insecure=True, extra_args=("--host", "0.0.0.0"))
    assert server.endpoints["mqtt_insecure"].startswith("127.0.0.1:")
    # The MQTTS port, bound to all interfaces, answers on the machine's address; the insecure port does not.
    socket.create_connection((address, server.mqtts_port), timeout=5).close()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((address, server.insecure_port), timeout=5).close()


def test_without_insecure_port_option_there_is_none(server_factory: ServerFactory) -> None:
    server = server_factory()
    assert server.endpoints["mqtt_insecure"] is None


# -- files -------------------------------------------------------------------------------------------------


def test_endpoints_json_contract(shared_server: RunningServer) -> None:
    endpoints = json.loads((shared_server.data_dir / "endpoints.json").read_text())
    assert set(endpoints) >= {
        "mqtts",
        "https",
        "http",
        "mqtt_insecure",
        "ca_file",
        "credentials_file",
        "profile",
        "account_id",
        "region",
    }
    for key in ("mqtts", "https", "http", "mqtt_insecure"):
        host, _, port = endpoints[key].rpartition(":")
        assert host == "127.0.0.1" and 0 < int(port) < 65536, endpoints[key]
    assert endpoints["profile"] == "corral"
    assert isinstance(endpoints["account_id"], str) and len(endpoints["account_id"]) == 12
    assert endpoints["account_id"].isdigit()
    assert isinstance(endpoints["region"], str) and endpoints["region"]
    ca_file = Path(endpoints["ca_file"])
    assert ca_file.is_absolute() and ca_file.read_bytes().startswith(b"-----BEGIN CERTIFICATE-----")
    assert ca_file == (shared_server.data_dir / "ca" / "root-ca.pem").resolve()
    assert endpoints["credentials_file"] is None or Path(endpoints["credentials_file"]).is_file()
    # And every endpoint answers: the TLS ports with the CA from ca_file.
    ctx = ssl.create_default_context(cafile=str(ca_file))
    for key in ("mqtts", "https"):
        with (
            socket.create_connection((HOST, int(endpoints[key].rsplit(":", 1)[1])), timeout=5) as sock,
            ctx.wrap_socket(sock, server_hostname="localhost") as tls,
        ):
            assert tls.version() in ("TLSv1.2", "TLSv1.3")


def test_private_keys_are_owner_only(shared_server: RunningServer) -> None:
    ca_dir = shared_server.data_dir / "ca"
    for name in ("root-ca.key", "server.key"):
        mode = stat.S_IMODE((ca_dir / name).stat().st_mode)
        assert mode == 0o600, f"{name} is {mode:o}"
    assert stat.S_IMODE(ca_dir.stat().st_mode) & 0o077 == 0


# -- shutdown and restart ----------------------------------------------------------------------------------


def test_sigterm_shuts_down_cleanly_and_sessions_survive(
    server_factory: ServerFactory, pool: ClientPool
) -> None:
    server = server_factory()
    subscriber_id = uid("survivor")
    will_topic, queue_topic = f"{uid('will')}/t", f"{uid('queue')}/t"
    subscriber = pool.paho(server, subscriber_id, version=V311, clean=False)
    subscriber.connect()
    assert subscriber.subscribe(will_topic, queue_topic, qos=1) == [1, 1]
    subscriber.disconnect()

    with_will = pool.connected(
        server, uid("with-will"), version=V5, will=Will(will_topic, b"should not", qos=1)
    )
    publisher = pool.connected(server, uid("pub"), version=V311)
    assert publisher.publish(queue_topic, b"queued before shutdown", qos=1) == 0

    assert server.stop(signal.SIGTERM) == 0
    assert not (server.data_dir / "endpoints.json").exists()
    assert with_will.wait_disconnected() == SERVER_SHUTTING_DOWN
    assert "Traceback" not in server.log()

    server.start()
    again = pool.paho(server, subscriber_id, version=V311, clean=False)
    assert again.connect().session_present is True
    pool.connected(server, uid("marker"), version=V311).publish(will_topic, b"marker", qos=1)
    got = again.collect_until(lambda m: m.payload == b"marker")
    assert [(m.topic, m.payload) for m in got] == [
        (queue_topic, b"queued before shutdown"),
        (will_topic, b"marker"),
    ]


def test_unacknowledged_delivery_survives_restart(server_factory: ServerFactory, pool: ClientPool) -> None:
    server = server_factory()
    client_id = uid("unacked")
    topic = f"{uid('unacked')}/t"
    raw = pool.raw(RawMQTT.tls(server))
    raw.connect(client_id, clean=False)
    raw.send(subscribe_packet(1, [(topic, 1)]))
    raw.expect(SUBACK)
    pool.connected(server, uid("pub")).publish(topic, b"in flight", qos=1)
    assert parse_publish(raw.expect(PUBLISH), V311).payload == b"in flight"  # and never acknowledged

    assert server.stop(signal.SIGTERM) == 0
    server.start()

    again = pool.paho(server, client_id, version=V311, clean=False)
    assert again.connect().session_present is True
    message = again.wait_for(on_topic(topic))
    assert (message.payload, message.qos) == (b"in flight", 1)


def test_sigint_shuts_down_cleanly(server_factory: ServerFactory, pool: ClientPool) -> None:
    server = server_factory()
    client = pool.connected(server, uid("sigint"), version=V5)
    assert server.stop(signal.SIGINT) == 0
    assert not (server.data_dir / "endpoints.json").exists()
    assert client.wait_disconnected() == SERVER_SHUTTING_DOWN
