"""The AWS IoT Device SDK v2 against a real ``corral serve``, used the way a device uses it against AWS IoT.

The only change from a device talking to AWS is the endpoint (``localhost`` and the server's port) and the
CA file (Corral's root instead of AmazonRootCA1). Every wait is on a future or an event with a timeout.
"""

from __future__ import annotations

import contextlib
import queue
import ssl
import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from awscrt import mqtt, mqtt5
from awscrt.exceptions import AwsCrtError
from awsiot import mqtt5_client_builder

from corral.auth.ca import ensure_pki, issue_client_certificate
from corral.mqtt.packets import Connack, Connect
from tests.broker.clients import sdk_connection
from tests.broker.rawmqtt import RawClient
from tests.harness import DeviceCertificate, RunningServer

TIMEOUT = 10.0


@pytest.fixture(scope="module")
def device(shared_server: RunningServer) -> DeviceCertificate:
    return shared_server.issue_certificate("sdk-device")


# -- MQTT 3.1.1: mqtt_connection_builder -----------------------------------------------------------------


Received = tuple[str, bytes, int]


def _collector(into: queue.Queue[Received]) -> Any:
    def on_message(topic: str, payload: bytes, dup: bool, qos: mqtt.QoS, retain: bool, **kwargs: Any) -> None:
        into.put((topic, bytes(payload), int(qos)))

    return on_message


@pytest.mark.parametrize("metrics", [True, False], ids=["sdk-metrics-username", "no-metrics"])
def test_mqtt3_connect_subscribe_publish_receive(
    shared_server: RunningServer, device: DeviceCertificate, metrics: bool
) -> None:
    # With metrics on (the SDK's default) the CONNECT username is "?SDK=...&Platform=...": AWS accepts it.
    client_id = f"sdk3-basic-{metrics}"
    connection = sdk_connection(
        shared_server, device, client_id, clean_session=True, enable_metrics_collection=metrics
    )
    received: queue.Queue[Received] = queue.Queue()
    connected = connection.connect().result(TIMEOUT)
    try:
        assert connected["session_present"] is False
        base = f"sdk3/{client_id}"
        sub_future, _ = connection.subscribe(f"{base}/+/data", mqtt.QoS.AT_LEAST_ONCE, _collector(received))
        suback = sub_future.result(TIMEOUT)
        assert suback["topic"] == f"{base}/+/data"
        assert suback["qos"] == mqtt.QoS.AT_LEAST_ONCE

        payload = b'{"temperature": 21.5, "bytes": "\x00\xff"}'
        pub_future, _ = connection.publish(f"{base}/kitchen/data", payload, mqtt.QoS.AT_LEAST_ONCE)
        pub_future.result(TIMEOUT)
        assert received.get(timeout=TIMEOUT) == (f"{base}/kitchen/data", payload, 1)

        unsub_future, _ = connection.unsubscribe(f"{base}/+/data")
        unsub_future.result(TIMEOUT)
        # After the UNSUBACK nothing more arrives: publish to the old filter, then to a marker topic that is
        # still subscribed, and see only the marker.
        marker = f"{base}/marker"
        connection.subscribe(marker, mqtt.QoS.AT_LEAST_ONCE, _collector(received))[0].result(TIMEOUT)
        connection.publish(f"{base}/kitchen/data", b"late", mqtt.QoS.AT_LEAST_ONCE)[0].result(TIMEOUT)
        connection.publish(marker, b"marker", mqtt.QoS.AT_LEAST_ONCE)[0].result(TIMEOUT)
        assert received.get(timeout=TIMEOUT) == (marker, b"marker", 1)
    finally:
        connection.disconnect().result(TIMEOUT)


def test_mqtt3_persistent_session_gets_messages_published_while_offline(
    shared_server: RunningServer, device: DeviceCertificate
) -> None:
    client_id = f"sdk3-persistent-{uuid.uuid4().hex[:8]}"  # a device connecting for the first time
    topic = f"sdk3/{client_id}/inbox"
    received: queue.Queue[Received] = queue.Queue()
    connection = sdk_connection(shared_server, device, client_id, clean_session=False)
    connection.on_message(_collector(received))  # every message, including those of the resumed session
    assert connection.connect().result(TIMEOUT)["session_present"] is False
    connection.subscribe(topic, mqtt.QoS.AT_LEAST_ONCE)[0].result(TIMEOUT)
    connection.disconnect().result(TIMEOUT)

    with RawClient.connected(shared_server, device, "sdk3-persistent-publisher") as publisher:
        assert publisher.publish_acked(topic, b"while you were away").reason_code == 0
        publisher.disconnect()

    resumed = connection.connect().result(TIMEOUT)
    try:
        assert resumed["session_present"] is True
        assert received.get(timeout=TIMEOUT) == (topic, b"while you were away", 1)
    finally:
        connection.disconnect().result(TIMEOUT)


def test_sdk_connect_with_a_certificate_from_another_ca_fails(
    shared_server: RunningServer, tmp_path: Path
) -> None:
    rogue_pki = ensure_pki(tmp_path / "rogue-ca")
    cert_pem, key_pem = issue_client_certificate(rogue_pki, "rogue-device")
    assert key_pem is not None
    (tmp_path / "rogue.crt").write_bytes(cert_pem)
    (tmp_path / "rogue.key").write_bytes(key_pem)
    rogue = DeviceCertificate(tmp_path / "rogue.crt", tmp_path / "rogue.key", "unused")
    connection = sdk_connection(shared_server, rogue, "sdk3-rogue", clean_session=True)
    with pytest.raises(AwsCrtError):
        connection.connect().result(TIMEOUT)

    # The same refusal seen from a plain TLS client: with TLS 1.3 the handshake seems to succeed on the
    # client side, then the server closes the connection without ever answering CONNECT.
    try:
        raw = RawClient.open(shared_server, rogue)
    except ssl.SSLError:
        return  # refused within the handshake (TLS 1.2)
    with raw:
        with contextlib.suppress(OSError):
            raw.send(Connect(client_id="raw-rogue"))
        assert not [p for p in raw.expect_closed() if isinstance(p, Connack)]


# -- MQTT 5: mqtt5_client_builder ------------------------------------------------------------------------


@dataclass
class SDK5Client:
    """An MQTT 5 client from ``mqtt5_client_builder`` with its lifecycle callbacks turned into futures."""

    client: mqtt5.Client
    connected: Future[mqtt5.LifecycleConnectSuccessData]
    stopped: threading.Event
    disconnected: threading.Event
    received: queue.Queue[mqtt5.PublishPacket]
    failures: list[Any] = field(default_factory=list)

    def connection_success(self) -> mqtt5.LifecycleConnectSuccessData:
        return self.connected.result(TIMEOUT)


@pytest.fixture
def sdk5(shared_server: RunningServer, device: DeviceCertificate) -> Iterator[Any]:
    """A factory of started MQTT 5 SDK clients; each is stopped at the end of the test."""
    started: list[SDK5Client] = []

    def start(client_id: str, **kwargs: Any) -> SDK5Client:
        connected: Future[mqtt5.LifecycleConnectSuccessData] = Future()
        stopped = threading.Event()
        disconnected = threading.Event()
        received: queue.Queue[mqtt5.PublishPacket] = queue.Queue()
        failures: list[Any] = []

        def on_success(data: mqtt5.LifecycleConnectSuccessData) -> None:
            if not connected.done():
                connected.set_result(data)

        def on_failure(data: mqtt5.LifecycleConnectFailureData) -> None:
            failures.append(data)
            if not connected.done():
                connected.set_exception(data.exception or RuntimeError(f"connect failed: {data}"))

        client = mqtt5_client_builder.mtls_from_path(
            endpoint="localhost",
            port=shared_server.mqtts_port,
            cert_filepath=str(device.cert_file),
            pri_key_filepath=str(device.key_file),
            ca_filepath=str(shared_server.ca_file),
            client_id=client_id,
            on_publish_received=lambda data: received.put(data.publish_packet),
            on_lifecycle_connection_success=on_success,
            on_lifecycle_connection_failure=on_failure,
            on_lifecycle_disconnection=lambda data: disconnected.set(),
            on_lifecycle_stopped=lambda data: stopped.set(),
            **kwargs,
        )
        handle = SDK5Client(client, connected, stopped, disconnected, received, failures)
        started.append(handle)
        client.start()
        return handle

    yield start
    for handle in started:
        handle.client.stop()
        assert handle.stopped.wait(TIMEOUT), "MQTT 5 client did not stop"


def test_mqtt5_connack_reports_aws_iot_settings(sdk5: Any) -> None:
    # Keep alive 10 s is under AWS's 30 s floor, so the server must tell the client the value it uses.
    handle: SDK5Client = sdk5("sdk5-connack", keep_alive_interval_sec=10)
    success = handle.connection_success()
    connack, settings = success.connack_packet, success.negotiated_settings
    assert connack.reason_code == mqtt5.ConnectReasonCode.SUCCESS
    assert connack.maximum_qos == mqtt5.QoS.AT_LEAST_ONCE
    assert connack.receive_maximum == 100
    assert connack.retain_available is True
    assert connack.topic_alias_maximum == 8
    assert connack.server_keep_alive_sec == 30
    assert connack.maximum_packet_size is not None and connack.maximum_packet_size >= 128 * 1024
    assert connack.wildcard_subscriptions_available is True
    assert connack.subscription_identifiers_available is False

    assert settings.maximum_qos == mqtt5.QoS.AT_LEAST_ONCE
    assert settings.receive_maximum_from_server == 100
    assert settings.retain_available is True
    assert settings.topic_alias_maximum_to_server == 8
    assert settings.server_keep_alive_sec == 30
    assert settings.client_id == "sdk5-connack"
    assert settings.rejoined_session is False


def test_mqtt5_subscribe_publish_receive_with_user_properties(sdk5: Any) -> None:
    subscriber: SDK5Client = sdk5("sdk5-subscriber")
    publisher: SDK5Client = sdk5("sdk5-publisher")
    subscriber.connection_success()
    publisher.connection_success()
    topic = "sdk5/telemetry/device-1"

    suback = subscriber.client.subscribe(
        mqtt5.SubscribePacket([mqtt5.Subscription("sdk5/telemetry/+", mqtt5.QoS.AT_LEAST_ONCE)])
    ).result(TIMEOUT)
    assert list(suback.reason_codes) == [mqtt5.SubackReasonCode.GRANTED_QOS_1]

    properties = [mqtt5.UserProperty("unit", "celsius"), mqtt5.UserProperty("unit", "kelvin")]
    completion = publisher.client.publish(
        mqtt5.PublishPacket(
            topic=topic,
            payload=b"21.5",
            qos=mqtt5.QoS.AT_LEAST_ONCE,
            user_properties=properties,
            content_type="text/plain",
        )
    ).result(TIMEOUT)
    assert completion.puback is not None
    assert completion.puback.reason_code == mqtt5.PubackReasonCode.SUCCESS

    message = subscriber.received.get(timeout=TIMEOUT)
    assert message.topic == topic
    assert bytes(message.payload) == b"21.5"
    assert message.qos == mqtt5.QoS.AT_LEAST_ONCE
    assert message.content_type == "text/plain"
    # User properties are forwarded in order, duplicates included.
    assert [(p.name, p.value) for p in message.user_properties] == [("unit", "celsius"), ("unit", "kelvin")]

    unsuback = subscriber.client.unsubscribe(mqtt5.UnsubscribePacket(["sdk5/telemetry/+"])).result(TIMEOUT)
    assert list(unsuback.reason_codes) == [mqtt5.UnsubackReasonCode.SUCCESS]


def test_mqtt5_publish_to_subscribe_only_reserved_topic_is_not_authorized_and_stays_connected(
    sdk5: Any,
) -> None:
    handle: SDK5Client = sdk5("sdk5-reserved")
    handle.connection_success()
    completion = handle.client.publish(
        mqtt5.PublishPacket(
            topic="$aws/events/presence/connected/x", payload=b"{}", qos=mqtt5.QoS.AT_LEAST_ONCE
        )
    ).result(TIMEOUT)
    assert completion.puback is not None
    assert completion.puback.reason_code == mqtt5.PubackReasonCode.NOT_AUTHORIZED

    # Still connected: a round trip through the broker works and no disconnection was reported.
    handle.client.subscribe(
        mqtt5.SubscribePacket([mqtt5.Subscription("sdk5/reserved/echo", mqtt5.QoS.AT_LEAST_ONCE)])
    ).result(TIMEOUT)
    ok = handle.client.publish(
        mqtt5.PublishPacket(topic="sdk5/reserved/echo", payload=b"still here", qos=mqtt5.QoS.AT_LEAST_ONCE)
    ).result(TIMEOUT)
    assert ok.puback is not None
    assert ok.puback.reason_code == mqtt5.PubackReasonCode.SUCCESS
    assert bytes(handle.received.get(timeout=TIMEOUT).payload) == b"still here"
    assert not handle.disconnected.is_set()


# -- TLS: ALPN -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("alpn", [["x-amzn-mqtt-ca"], ["mqtt"], None], ids=["x-amzn-mqtt-ca", "mqtt", "none"])
def test_alpn_then_mqtt_connect(
    shared_server: RunningServer, device: DeviceCertificate, alpn: list[str] | None
) -> None:
    with RawClient.open(shared_server, device, alpn=alpn) as client:
        assert client.ssl_object is not None
        assert client.ssl_object.selected_alpn_protocol() == (alpn[0] if alpn else None)
        connack = client.connect(f"alpn-{alpn[0] if alpn else 'none'}")
        assert connack.reason_code == 0
        assert client.subscribe("alpn/check") == [1]
        client.disconnect()


def test_sdk_metrics_username_on_a_raw_connect_is_accepted(
    shared_server: RunningServer, device: DeviceCertificate
) -> None:
    # What AWSIoTPythonSDK v1 sends; certificate authentication ignores the user name.
    with RawClient.open(shared_server, device) as client:
        connack = client.connect("metrics-v1", username="?SDK=Python&Version=1.6.2")
        assert connack.reason_code == 0
        client.disconnect()
