"""The broker admits and restricts devices by the registry, end to end: a real `corral serve`, the operator's
real aws CLI (certificates, CAs, policies, things), openssl as the operator's own CA, and devices on
awsiotsdk and paho. Every scenario is one that could run against AWS IoT itself.

A listener on the loopback-only insecure port sees what devices publish and the lifecycle and registration
events the broker sends. No test sleeps: each waits for the CONNACK, disconnect or message it expects.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from awscrt import mqtt
from awscrt.exceptions import AwsCrtError

from corral.auth.ca import ensure_pki, issue_client_certificate
from tests.broker.clients import TIMEOUT, V5, V311, PahoClient, event_body, on_topic, sdk_connection
from tests.harness import RunningServer
from tests.registry.e2e_support import (
    NOT_AUTHORIZED,
    Cli,
    Clients,
    Device,
    OpensslCA,
    allow,
    device_files,
    policy_document,
    self_signed_device,
)

REVOCATION_TIMEOUT = 5.0
"""How long a registry change may take to reach a live connection (the issue asks for a second)."""

CONNECT_OWN_CLIENT_ID = allow("iot:Connect", "arn:aws:iot:*:*:client/${iot:ClientId}")


@pytest.fixture
def clients(server: RunningServer) -> Iterator[Clients]:
    made = Clients(server)
    yield made
    made.close()


@pytest.fixture
def cli(server: RunningServer) -> Cli:
    return Cli(server)


def barrier(listener: PahoClient) -> list[Any]:
    """Everything the listener received before a marker it publishes to itself now: once the marker is
    back, every message the broker routed to it earlier has arrived too."""
    marker = f"marker/{uuid.uuid4().hex}"
    assert listener.subscribe(marker) == [1]
    listener.publish(marker, b"", qos=1)
    return listener.collect_until(on_topic(marker))[:-1]


# -- 1. the issue's scenario: an iot button with awsiotsdk -------------------------------------------------


def test_iot_button_publishes_on_its_own_topic_and_is_refused_elsewhere(
    server: RunningServer, cli: Cli, clients: Clients, tmp_path: Path
) -> None:
    cert_file, key_file = tmp_path / "button.pem.crt", tmp_path / "button.pem.key"
    created = cli(
        "create-keys-and-certificate", "--set-as-active",
        "--certificate-pem-outfile", str(cert_file), "--private-key-outfile", str(key_file),
    )  # fmt: skip
    cli.create_policy(
        "iotbutton",
        CONNECT_OWN_CLIENT_ID,
        allow("iot:Publish", "arn:aws:iot:*:*:topic/iotbutton/${iot:ClientId}"),
    )
    cli.attach_policy("iotbutton", created["certificateArn"])
    button = device_files(cert_file, key_file)
    assert button.certificate_id == created["certificateId"]
    listener = clients.listener("iotbutton/#", "$aws/events/presence/#")

    interrupted = threading.Event()
    connection = sdk_connection(
        server, button, "button-1", on_connection_interrupted=lambda **kwargs: interrupted.set()
    )
    connection.connect().result(TIMEOUT)
    try:
        published, _ = connection.publish(
            "iotbutton/button-1", b'{"clickType": "SINGLE"}', mqtt.QoS.AT_LEAST_ONCE
        )
        published.result(TIMEOUT)  # the PUBACK
        message = listener.wait_for(on_topic("iotbutton/button-1"))
        assert message.payload == b'{"clickType": "SINGLE"}'

        # MQTT 3.1.1 cannot refuse one publish: AWS closes the connection (lifecycle reason AUTH_ERROR).
        connection.publish("iotbutton/other", b'{"clickType": "DOUBLE"}', mqtt.QoS.AT_MOST_ONCE)
        assert interrupted.wait(TIMEOUT), "the connection survived an unauthorized publish"
        gone = listener.wait_event("disconnected", "button-1")
        assert gone["disconnectReason"] == "AUTH_ERROR"
        assert gone["clientInitiatedDisconnect"] is False
        assert gone["principalIdentifier"] == created["certificateId"]
        # The refused message went nowhere (it would have reached the listener before the event).
        assert not listener.seen(on_topic("iotbutton/other"))
    finally:
        connection.disconnect().result(TIMEOUT)

    # ${iot:ClientId} is whatever the device sends, so client/${iot:ClientId} lets the certificate connect
    # under any client id, as on AWS; the topic's ${iot:ClientId} keeps it off button-1's topic.
    impostor = clients.connected("someone-else", button, V5)
    assert impostor.publish("iotbutton/button-1", b"spoofed", qos=1) == NOT_AUTHORIZED  # PUBACK 0x87
    assert impostor.publish("iotbutton/someone-else", b"own", qos=1) == 0
    assert listener.wait_for(on_topic("iotbutton/someone-else")).payload == b"own"
    assert not listener.seen(lambda m: m.payload == b"spoofed")  # it would have come before "own"

    # Pinning iot:Connect to button-1 refuses every other client id, and ends the live connection.
    cli(
        "create-policy-version", "--policy-name", "iotbutton", "--set-as-default", "--policy-document",
        policy_document(
            allow("iot:Connect", "arn:aws:iot:*:*:client/button-1"),
            allow("iot:Publish", "arn:aws:iot:*:*:topic/iotbutton/${iot:ClientId}"),
        ),
    )  # fmt: skip
    assert impostor.wait_disconnected(REVOCATION_TIMEOUT) == NOT_AUTHORIZED  # MQTT 5 DISCONNECT 0x87
    assert listener.wait_event("disconnected", "someone-else")["disconnectReason"] == "AUTH_ERROR"
    # awsiotsdk fails the connect on any refusing CONNACK ("invalid connect return code 5": a protocol error);
    # paho reports MQTT 3.1.1's return code 5, and only 5, as the reason code Not authorized (0x87).
    with pytest.raises(AwsCrtError):
        sdk_connection(server, button, "someone-else").connect().result(TIMEOUT)
    assert clients.device("someone-else", button, V311).attempt() == NOT_AUTHORIZED  # CONNACK 5
    assert clients.device("someone-else", button, V5).attempt() == NOT_AUTHORIZED  # CONNACK 0x87
    failed = listener.wait_event("connect_failed", "someone-else")
    assert failed["connectFailureReason"] == "AUTHORIZATION_FAILED"
    assert failed["principalIdentifier"] == created["certificateId"]
    clients.connected("button-1", button, V5)  # its own client id still connects


# -- 2. who may connect: registered, ACTIVE --------------------------------------------------------------


def test_unregistered_and_inactive_certificates_are_refused_until_activated(
    server: RunningServer, cli: Cli, clients: Clients, tmp_path: Path
) -> None:
    # Signed by Corral's own CA, so TLS accepts it, but never registered in the account.
    cert_pem, key_pem = issue_client_certificate(ensure_pki(server.data_dir), "x")
    assert key_pem is not None
    (tmp_path / "x.pem").write_bytes(cert_pem)
    (tmp_path / "x.key").write_bytes(key_pem)
    stranger = device_files(tmp_path / "x.pem", tmp_path / "x.key")
    assert clients.device("x", stranger, V5).attempt() in (None, NOT_AUTHORIZED)
    assert clients.device("x", stranger, V311).attempt() in (None, NOT_AUTHORIZED)

    cert_file, key_file = tmp_path / "dormant.pem", tmp_path / "dormant.key"
    created = cli(
        "create-keys-and-certificate",
        "--certificate-pem-outfile", str(cert_file), "--private-key-outfile", str(key_file),
    )  # fmt: skip
    cli.create_policy("connect-self", CONNECT_OWN_CLIENT_ID)
    cli.attach_policy("connect-self", created["certificateArn"])
    dormant = device_files(cert_file, key_file)
    described = cli("describe-certificate", "--certificate-id", created["certificateId"])
    assert described["certificateDescription"]["status"] == "INACTIVE"
    assert clients.device("dormant", dormant, V5).attempt() in (None, NOT_AUTHORIZED)

    cli("update-certificate", "--certificate-id", created["certificateId"], "--new-status", "ACTIVE")
    clients.connected("dormant", dormant, V5)
    clients.connected("dormant-311", dormant, V311)


# -- 3. revocation reaches live connections -------------------------------------------------------------


@pytest.mark.parametrize("new_status", ["REVOKED", "INACTIVE"])
def test_a_certificate_revoked_while_connected_is_disconnected(
    server: RunningServer, cli: Cli, clients: Clients, new_status: str
) -> None:
    device = server.issue_certificate("revoked")
    listener = clients.listener("$aws/events/presence/#")
    v5 = clients.connected("revoked-5", device, V5)
    v311 = clients.connected("revoked-311", device, V311)
    listener.wait_event("connected", "revoked-5")

    cli("update-certificate", "--certificate-id", device.certificate_id, "--new-status", new_status)
    assert v5.wait_disconnected(REVOCATION_TIMEOUT) == NOT_AUTHORIZED  # MQTT 5 DISCONNECT 0x87
    v311.wait_disconnected(REVOCATION_TIMEOUT)
    for client_id in ("revoked-5", "revoked-311"):
        gone = listener.wait_event("disconnected", client_id)
        assert gone["disconnectReason"] == "AUTH_ERROR"
        assert gone["clientInitiatedDisconnect"] is False
        assert gone["principalIdentifier"] == device.certificate_id
    assert clients.device("revoked-5", device, V5).attempt() in (None, NOT_AUTHORIZED)


# -- 4. a detached permission stops deliveries ----------------------------------------------------------


def is_message(topic: str, payload: bytes) -> Callable[[Any], bool]:
    return lambda m: bool(m.topic == topic and m.payload == payload)


def wait_until_delivery(device: PahoClient, publisher: PahoClient, *, delivered: bool) -> None:
    """Publishes alerts/x and then a marker the device may always receive, until the device's messages up
    to the marker show alerts/x ``delivered`` (or not): the registry change has reached its connection."""
    deadline = time.monotonic() + REVOCATION_TIMEOUT
    marker = f"markers/{device.client_id}"
    while True:
        nonce = uuid.uuid4().hex.encode()
        publisher.publish("alerts/x", nonce, qos=1)
        publisher.publish(marker, nonce, qos=1)
        batch = device.collect_until(is_message(marker, nonce))
        if any(map(is_message("alerts/x", nonce), batch)) == delivered:
            return
        assert time.monotonic() < deadline, f"alerts/x still {'not ' * delivered}delivered"


def test_detaching_a_receive_policy_stops_deliveries_and_attaching_resumes_them(
    server: RunningServer, cli: Cli, clients: Clients
) -> None:
    device_cert = server.issue_certificate("alerts", policy=None)
    arn = cli.certificate_arn(device_cert.certificate_id)
    cli.create_policy(
        "alerts-a",
        CONNECT_OWN_CLIENT_ID,
        allow(
            "iot:Subscribe", "arn:aws:iot:*:*:topicfilter/alerts/#", "arn:aws:iot:*:*:topicfilter/markers/*"
        ),
        allow("iot:Receive", "arn:aws:iot:*:*:topic/markers/${iot:ClientId}"),
    )
    cli.create_policy("alerts-b", allow("iot:Receive", "arn:aws:iot:*:*:topic/alerts/*"))
    cli.attach_policy("alerts-a", arn)
    cli.attach_policy("alerts-b", arn)

    # MQTT 3.1.1, which closes the connection on an unauthorized publish or subscribe: a withheld delivery
    # must not.
    device = clients.connected("alerts-1", device_cert, V311)
    assert device.subscribe("alerts/#", "markers/alerts-1") == [1, 1]
    publisher = clients.listener("unused/topic")
    publisher.publish("alerts/x", b"first", qos=1)
    assert device.next_message().payload == b"first"

    cli("detach-policy", "--policy-name", "alerts-b", "--target", arn)
    wait_until_delivery(device, publisher, delivered=False)
    wait_until_delivery(device, publisher, delivered=False)  # and it stays so
    assert not device.disconnected

    cli("attach-policy", "--policy-name", "alerts-b", "--target", arn)
    wait_until_delivery(device, publisher, delivered=True)
    assert not device.disconnected


def test_messages_queued_for_an_offline_session_follow_the_policy_at_delivery(
    server: RunningServer, cli: Cli, clients: Clients
) -> None:
    # iot:Receive is checked on every delivery: for a persistent session, when the broker delivers what it
    # kept while the device was away, under the policies in force then.
    device_cert = server.issue_certificate("offline", policy=None)
    arn = cli.certificate_arn(device_cert.certificate_id)
    cli.create_policy(
        "offline-a",
        CONNECT_OWN_CLIENT_ID,
        allow(
            "iot:Subscribe", "arn:aws:iot:*:*:topicfilter/alerts/#", "arn:aws:iot:*:*:topicfilter/markers/*"
        ),
        allow("iot:Receive", "arn:aws:iot:*:*:topic/markers/${iot:ClientId}"),
    )
    cli.create_policy("offline-b", allow("iot:Receive", "arn:aws:iot:*:*:topic/alerts/*"))
    cli.attach_policy("offline-a", arn)
    cli.attach_policy("offline-b", arn)
    publisher = clients.listener("unused/topic")
    # A live connection of the same certificate shows when a change has reached the broker's grants.
    probe = clients.connected("offline-probe", device_cert, V5)
    assert probe.subscribe("alerts/#", "markers/offline-probe") == [1, 1]

    def session() -> Device:
        return clients.connected("offline-1", device_cert, V5, clean=False, session_expiry=300)

    device = session()
    assert device.subscribe("alerts/#", "markers/offline-1") == [1, 1]
    device.disconnect()

    cli("detach-policy", "--policy-name", "offline-b", "--target", arn)
    wait_until_delivery(probe, publisher, delivered=False)
    publisher.publish("alerts/x", b"detached while away", qos=1)
    publisher.publish("markers/offline-1", b"first marker", qos=1)
    device = session()
    kept = [m.payload for m in device.collect_until(is_message("markers/offline-1", b"first marker"))]
    assert b"detached while away" not in kept, kept
    device.disconnect()

    cli("attach-policy", "--policy-name", "offline-b", "--target", arn)
    wait_until_delivery(probe, publisher, delivered=True)
    publisher.publish("alerts/x", b"attached while away", qos=1)
    publisher.publish("markers/offline-1", b"second marker", qos=1)
    device = session()
    kept = [m.payload for m in device.collect_until(is_message("markers/offline-1", b"second marker"))]
    assert b"attached while away" in kept, kept


def test_unauthorized_subscribe_and_retained_messages(
    server: RunningServer, cli: Cli, clients: Clients
) -> None:
    device_cert = server.issue_certificate("subscriber", policy=None)
    cli.create_policy(
        "subscriber",
        CONNECT_OWN_CLIENT_ID,
        allow("iot:Subscribe", "arn:aws:iot:*:*:topicfilter/news/*", "arn:aws:iot:*:*:topicfilter/secret/*"),
        allow("iot:Receive", "arn:aws:iot:*:*:topic/news/*"),
        allow("iot:Publish", "arn:aws:iot:*:*:topic/news/*"),
    )
    cli.attach_policy("subscriber", cli.certificate_arn(device_cert.certificate_id))
    publisher = clients.listener("$aws/events/presence/#")
    publisher.publish("secret/plans", b"retained secret", qos=1, retain=True)
    publisher.publish("news/today", b"retained news", qos=1, retain=True)

    # MQTT 5: SUBACK 0x87 for the filter no policy allows, the others granted; the connection stays.
    v5 = clients.connected("subscriber-5", device_cert, V5)
    assert v5.subscribe("news/today", "weather/today", "secret/plans") == [1, NOT_AUTHORIZED, 1]
    # Subscribing is allowed but receiving is not: the retained message is withheld, the other comes.
    assert v5.next_message().payload == b"retained news"
    publisher.publish("secret/plans", b"live secret", qos=1)
    publisher.publish("news/today", b"live news", qos=1)
    assert [m.payload for m in v5.collect_until(is_message("news/today", b"live news"))] == [b"live news"]
    # iot:Publish without iot:RetainPublish: a retained publish is refused.
    assert v5.publish("news/today", b"kept?", qos=1, retain=True) == NOT_AUTHORIZED
    assert v5.publish("news/today", b"plain", qos=1) == 0
    assert not v5.disconnected

    # MQTT 3.1.1 cannot refuse one filter: the connection is closed (lifecycle reason AUTH_ERROR).
    v311 = clients.connected("subscriber-311", device_cert, V311)
    v311.client.subscribe("weather/today", 1)
    v311.wait_disconnected()
    gone = publisher.wait_event("disconnected", "subscriber-311")
    assert gone["disconnectReason"] == "AUTH_ERROR"


# -- 5-7. certificates from the operator's own CA, JITR, and without a CA -------------------------------

PUBLISH_OWN_TOPIC = allow("iot:Publish", "arn:aws:iot:*:*:topic/devices/${iot:ClientId}")


def assert_publishes(device: PahoClient, listener: PahoClient) -> None:
    topic = f"devices/{device.client_id}"
    assert device.publish(topic, b"hello", qos=1) == 0
    assert listener.wait_for(on_topic(topic)).payload == b"hello"


def test_bring_your_own_ca_with_openssl(
    server: RunningServer, cli: Cli, clients: Clients, tmp_path: Path
) -> None:
    ca = OpensslCA.create(tmp_path, "byo-ca")
    ca_id = cli.register_ca(ca, "--set-as-active")
    described = cli("describe-ca-certificate", "--certificate-id", ca_id)["certificateDescription"]
    assert described["status"] == "ACTIVE"

    device = ca.sign("sensor", "sensor-1")
    registered = cli(
        "register-certificate", "--certificate-pem", f"file://{device.cert_file}",
        "--ca-certificate-pem", f"file://{ca.cert_file}", "--set-as-active",
    )  # fmt: skip
    assert registered["certificateId"] == device.certificate_id
    cli.create_policy("byo-device", CONNECT_OWN_CLIENT_ID, PUBLISH_OWN_TOPIC)
    cli.attach_policy("byo-device", registered["certificateArn"])

    listener = clients.listener("devices/#")
    assert_publishes(clients.connected("sensor-1", device, V5), listener)

    # The CA is part of the decision: deactivating it refuses its devices.
    cli("update-ca-certificate", "--certificate-id", ca_id, "--new-status", "INACTIVE")
    assert clients.device("sensor-1", device, V5).attempt() in (None, NOT_AUTHORIZED)


def test_just_in_time_registration(server: RunningServer, cli: Cli, clients: Clients, tmp_path: Path) -> None:
    ca = OpensslCA.create(tmp_path, "jitr-ca")
    ca_id = cli.register_ca(ca, "--set-as-active", "--allow-auto-registration")
    listener = clients.listener("$aws/events/certificates/registered/#", "devices/#")

    device = ca.sign("newcomer", "newcomer-1")
    assert clients.device("newcomer-1", device, V5).attempt() in (None, NOT_AUTHORIZED)
    message = listener.wait_for(on_topic(f"$aws/events/certificates/registered/{ca_id}"))
    event = event_body(message)
    assert event["certificateId"] == device.certificate_id
    assert event["caCertificateId"] == ca_id
    assert event["certificateStatus"] == "PENDING_ACTIVATION"
    assert event["awsAccountId"] == server.endpoints["account_id"]
    assert isinstance(event["timestamp"], int)
    assert event["certificateRegistrationTimestamp"] is None
    assert event["sourceIp"] == "127.0.0.1"

    described = cli("describe-certificate", "--certificate-id", device.certificate_id)[
        "certificateDescription"
    ]
    assert described["status"] == "PENDING_ACTIVATION"
    assert described["caCertificateId"] == ca_id

    cli("update-certificate", "--certificate-id", device.certificate_id, "--new-status", "ACTIVE")
    cli.create_policy("jitr-device", CONNECT_OWN_CLIENT_ID, PUBLISH_OWN_TOPIC)
    cli.attach_policy("jitr-device", described["certificateArn"])
    assert_publishes(clients.connected("newcomer-1", device, V5), listener)


def test_a_pending_certificate_announces_itself_again_each_time_it_is_presented(
    cli: Cli, clients: Clients, tmp_path: Path
) -> None:
    # AWS publishes the registration message "when it automatically registers a certificate or when a client
    # presents a certificate in the PENDING_ACTIVATION status" (docs/control-plane-facts.md, JITR event).
    ca = OpensslCA.create(tmp_path, "jitr-ca")
    ca_id = cli.register_ca(ca, "--set-as-active", "--allow-auto-registration")
    topic = f"$aws/events/certificates/registered/{ca_id}"
    listener = clients.listener(topic)
    device = ca.sign("retrier", "retrier-1")
    for attempt in (1, 2):
        assert clients.device("retrier-1", device, V5).attempt() in (None, NOT_AUTHORIZED)
        announced = listener.collect_until(on_topic(topic))[-1]
        assert event_body(announced)["certificateId"] == device.certificate_id, attempt
        assert event_body(announced)["certificateStatus"] == "PENDING_ACTIVATION"


def test_register_certificate_without_ca(
    server: RunningServer, cli: Cli, clients: Clients, tmp_path: Path
) -> None:
    device = self_signed_device(tmp_path, "standalone")
    registered = cli(
        "register-certificate-without-ca",
        "--certificate-pem",
        f"file://{device.cert_file}",
        "--status",
        "ACTIVE",
    )
    assert registered["certificateId"] == device.certificate_id
    cli.create_policy("standalone", CONNECT_OWN_CLIENT_ID, PUBLISH_OWN_TOPIC)
    cli.attach_policy("standalone", registered["certificateArn"])
    listener = clients.listener("devices/#")
    assert_publishes(clients.connected("standalone", device, V5), listener)


# -- 8. thing policy variables ----------------------------------------------------------------------------


def test_thing_name_variable_resolves_only_for_the_client_id_of_the_attached_thing(
    server: RunningServer, cli: Cli, clients: Clients
) -> None:
    device = server.issue_certificate("lamp", policy=None)
    arn = cli.certificate_arn(device.certificate_id)
    cli("create-thing", "--thing-name", "lamp-1")
    cli("attach-thing-principal", "--thing-name", "lamp-1", "--principal", arn)
    cli.create_policy(
        "things",
        allow("iot:Connect", "arn:aws:iot:*:*:client/*"),
        allow("iot:Publish", "arn:aws:iot:*:*:topic/things/${iot:Connection.Thing.ThingName}/*"),
    )
    cli.attach_policy("things", arn)
    listener = clients.listener("things/#")

    lamp = clients.connected("lamp-1", device, V5)
    assert lamp.publish("things/lamp-1/state", b"on", qos=1) == 0
    assert listener.wait_for(on_topic("things/lamp-1/state")).payload == b"on"

    # Same certificate, another client id: the thing variables do not resolve, so nothing matches.
    other = clients.connected("lamp-2", device, V5)
    assert other.publish("things/lamp-1/state", b"off", qos=1) == NOT_AUTHORIZED
    assert other.publish("things/lamp-2/state", b"off", qos=1) == NOT_AUTHORIZED
    assert other.publish("things//state", b"off", qos=1) == NOT_AUTHORIZED
    assert [m.payload for m in barrier(listener) if m.topic.startswith("things/")] == [b"on"]
    assert not other.disconnected
