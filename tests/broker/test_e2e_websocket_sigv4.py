"""MQTT over WebSocket with SigV4-presigned URLs, end to end against a real `corral serve`: the AWS IoT Device
SDK v2 signs with the ``corral`` profile's key (MQTT 3 and MQTT 5 builders), paho connects to a path presigned
by botocore's ``SigV4QueryAuth``, and the ``websockets`` library sees the HTTP status of refused upgrades.
None of these clients presents a certificate. Each scenario could run against AWS IoT's endpoint.
"""

from __future__ import annotations

import ssl
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from unittest import mock

import pytest
import websockets.exceptions
import websockets.sync.client
from awscrt import auth, mqtt, mqtt5
from awsiot import mqtt5_client_builder, mqtt_connection_builder
from botocore.auth import SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from tests.broker.clients import HOST as PAHO_HOST
from tests.broker.clients import TIMEOUT, V5, V311, PahoClient, event_body, is_event, on_topic, uid
from tests.harness import RunningServer

HOST = "localhost"  # the server certificate's name; the SDK verifies it


@dataclass(frozen=True)
class Key:
    access_key_id: str
    secret: str


def profile_key(server: RunningServer) -> Key:
    """The ``corral`` profile from the credentials file endpoints.json names."""
    return Key(*server.admin_key())


def presigned_path(
    server: RunningServer,
    key: Key,
    *,
    region: str | None = None,
    service: str = "iotdevicegateway",
    expires: int = 300,
    host: str = HOST,
) -> str:
    """``/mqtt?X-Amz-...`` for ``wss://HOST:PORT/mqtt``, presigned by botocore (the Host header is signed)."""
    request = AWSRequest(method="GET", url=f"https://{host}:{server.https_port}/mqtt")
    region = region or server.endpoints["region"]
    SigV4QueryAuth(Credentials(key.access_key_id, key.secret), service, region, expires=expires).add_auth(
        request
    )
    url: str = request.url
    return url[url.index("/mqtt") :]


def upgrade_status(server: RunningServer, path: str) -> int:
    """The HTTP status of a WebSocket upgrade to ``path`` (101 when it is accepted)."""
    context = ssl.create_default_context(cafile=str(server.ca_file))
    uri = f"wss://{HOST}:{server.https_port}{path}"
    try:
        with websockets.sync.client.connect(uri, ssl=context, subprotocols=["mqtt"], open_timeout=TIMEOUT):  # type: ignore[list-item]
            return 101
    except websockets.exceptions.InvalidStatus as exc:
        return exc.response.status_code


@pytest.fixture
def listener(shared_server: RunningServer) -> Iterator[PahoClient]:
    client = PahoClient(shared_server, uid("listener"), transport="insecure")
    client.connect()
    yield client
    client.close()


def listen(listener: PahoClient, *filters: str) -> None:
    assert listener.subscribe(*filters) == [1] * len(filters)


# -- the AWS IoT Device SDK v2 -----------------------------------------------------------------------------


def sdk_credentials(key: Key) -> auth.AwsCredentialsProvider:
    return auth.AwsCredentialsProvider.new_static(key.access_key_id, key.secret)


def test_awsiotsdk_mqtt3_connects_with_sigv4_and_publishes_and_receives(
    shared_server: RunningServer, listener: PahoClient
) -> None:
    client_id = uid("sdk-sigv4")
    topic = f"sigv4/{client_id}"
    listen(listener, topic, f"$aws/events/presence/connected/{client_id}")
    connection = mqtt_connection_builder.websockets_with_default_aws_signing(
        endpoint=HOST,
        port=shared_server.https_port,
        region=shared_server.endpoints["region"],
        credentials_provider=sdk_credentials(profile_key(shared_server)),
        ca_filepath=str(shared_server.ca_file),
        client_id=client_id,
        clean_session=True,
        keep_alive_secs=30,
    )
    connection.connect().result(TIMEOUT)
    try:
        received: list[bytes] = []
        arrived = threading.Event()

        def on_message(topic: str, payload: bytes, **kwargs: Any) -> None:
            received.append(payload)
            arrived.set()

        subscribed, _ = connection.subscribe(topic, mqtt.QoS.AT_LEAST_ONCE, on_message)
        assert subscribed.result(TIMEOUT)["qos"] == mqtt.QoS.AT_LEAST_ONCE
        published, _ = connection.publish(topic, b"signed", mqtt.QoS.AT_LEAST_ONCE)
        published.result(TIMEOUT)
        assert arrived.wait(TIMEOUT) and received == [b"signed"]
        assert listener.wait_for(on_topic(topic)).payload == b"signed"
        # The principal is the access key (IAM-style), not a certificate.
        connected = event_body(listener.wait_for(is_event("connected", client_id)))
        assert connected["principalIdentifier"] == profile_key(shared_server).access_key_id
    finally:
        connection.disconnect().result(TIMEOUT)


def test_awsiotsdk_mqtt5_connects_with_sigv4(shared_server: RunningServer, listener: PahoClient) -> None:
    client_id = uid("sdk5-sigv4")
    topic = f"sigv4/{client_id}"
    listen(listener, topic)
    connected = threading.Event()
    stopped = threading.Event()
    client = mqtt5_client_builder.websockets_with_default_aws_signing(
        endpoint=HOST,
        port=shared_server.https_port,
        region=shared_server.endpoints["region"],
        credentials_provider=sdk_credentials(profile_key(shared_server)),
        ca_filepath=str(shared_server.ca_file),
        client_id=client_id,
        on_lifecycle_connection_success=lambda data: connected.set(),
        on_lifecycle_stopped=lambda data: stopped.set(),
    )
    client.start()
    try:
        assert connected.wait(TIMEOUT), "the MQTT 5 client did not connect"
        packet = mqtt5.PublishPacket(topic=topic, payload=b"signed5", qos=mqtt5.QoS.AT_LEAST_ONCE)
        result = client.publish(packet).result(TIMEOUT)
        assert result.puback.reason_code == mqtt5.PubackReasonCode.SUCCESS
        assert listener.wait_for(on_topic(topic)).payload == b"signed5"
    finally:
        client.stop()
        assert stopped.wait(TIMEOUT)


def test_awsiotsdk_with_an_unknown_key_is_refused(shared_server: RunningServer) -> None:
    connection = mqtt_connection_builder.websockets_with_default_aws_signing(
        endpoint=HOST,
        port=shared_server.https_port,
        region=shared_server.endpoints["region"],
        credentials_provider=sdk_credentials(Key("AKIAUNKNOWNKEY000000", "not-a-secret")),
        ca_filepath=str(shared_server.ca_file),
        client_id=uid("sdk-unknown"),
        clean_session=True,
    )
    with pytest.raises(Exception, match=r"(?i)upgrade|403|websocket"):
        connection.connect().result(TIMEOUT)


# -- paho with a path presigned by botocore ----------------------------------------------------------------


class SignedPaho(PahoClient):
    """paho over WebSocket with no client certificate, on a presigned path."""

    def __init__(self, server: RunningServer, client_id: str, path: str, version: int) -> None:
        super().__init__(server, client_id, version=version, transport="wss", client_certificate=False)
        self.client.ws_set_options(path=path)


@pytest.mark.parametrize("version", [V311, V5])
def test_paho_connects_on_a_botocore_presigned_path(
    shared_server: RunningServer, listener: PahoClient, version: int
) -> None:
    client_id = uid("paho-sigv4")
    topic = f"sigv4/{client_id}"
    listen(listener, topic)
    client = SignedPaho(
        shared_server,
        client_id,
        presigned_path(shared_server, profile_key(shared_server), host=PAHO_HOST),
        version,
    )
    try:
        client.connect()
        assert client.subscribe(topic) == [1]
        client.publish(topic, b"paho-signed", qos=1)
        assert client.wait_for(on_topic(topic)).payload == b"paho-signed"
        assert listener.wait_for(on_topic(topic)).payload == b"paho-signed"
    finally:
        client.close()


# -- refusals: HTTP 403 before the upgrade -----------------------------------------------------------------


def test_a_valid_presigned_url_is_upgraded(shared_server: RunningServer) -> None:
    assert upgrade_status(shared_server, presigned_path(shared_server, profile_key(shared_server))) == 101


def test_a_tampered_signature_is_refused_with_403(shared_server: RunningServer) -> None:
    path = presigned_path(shared_server, profile_key(shared_server))
    head, _, signature = path.rpartition("X-Amz-Signature=")
    tampered = head + "X-Amz-Signature=" + ("0" if signature[0] != "0" else "1") + signature[1:]
    assert upgrade_status(shared_server, tampered) == 403


def test_a_wrong_secret_or_unknown_key_is_refused_with_403(shared_server: RunningServer) -> None:
    key = profile_key(shared_server)
    assert (
        upgrade_status(shared_server, presigned_path(shared_server, Key(key.access_key_id, "wrong"))) == 403
    )
    unknown = Key("AKIA" + uuid.uuid4().hex[:16].upper(), key.secret)
    assert upgrade_status(shared_server, presigned_path(shared_server, unknown)) == 403


def test_an_expired_url_is_refused_with_403(shared_server: RunningServer) -> None:
    an_hour_ago = datetime.now(UTC) - timedelta(hours=1)
    with mock.patch("botocore.auth.get_current_datetime", return_value=an_hour_ago):
        path = presigned_path(shared_server, profile_key(shared_server), expires=300)
    assert upgrade_status(shared_server, path) == 403


def test_another_service_region_or_a_session_token_is_refused_with_403(shared_server: RunningServer) -> None:
    key = profile_key(shared_server)
    assert upgrade_status(shared_server, presigned_path(shared_server, key, service="iotdata")) == 403
    assert upgrade_status(shared_server, presigned_path(shared_server, key, region="eu-north-9")) == 403
    # AWS's device gateway takes the session token appended after signing; Corral issues none.
    token = presigned_path(shared_server, key) + "&X-Amz-Security-Token=c29tZS10b2tlbg%3D%3D"
    assert upgrade_status(shared_server, token) == 403


def test_neither_a_certificate_nor_a_signature_is_refused_with_403(shared_server: RunningServer) -> None:
    assert upgrade_status(shared_server, "/mqtt") == 403


def test_a_certificate_still_connects_without_a_signature(shared_server: RunningServer) -> None:
    client = PahoClient(shared_server, uid("wss-cert"), version=V5, transport="wss")
    try:
        assert client.connect().reason_code == 0
    finally:
        client.close()
