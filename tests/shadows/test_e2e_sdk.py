"""Device shadows through the AWS IoT Device SDK v2 for Python (awsiotsdk), against a real ``corral serve``.

The v1 shadow client (``awsiot.iotshadow.IotShadowClient``) is used as the SDK's shadow sample uses it: an
``mtls_from_path`` MQTT 3.1.1 connection, subscriptions to the accepted/rejected and event topics first, then
the publish_* requests; the SDK parses every answer into its modeled classes, so a body the SDK cannot read
fails here. The request-response client (``IotShadowClientV2``, in awsiotsdk since 1.24) correlates answers
by clientToken over wildcard subscriptions, as it would against AWS.

Source: "Device Shadow MQTT topics" (device-shadow-mqtt) and "Interacting with shadows"
(device-shadow-data-flow) of the AWS IoT developer guide.
"""

from __future__ import annotations

import datetime
import queue
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from awscrt import mqtt, mqtt5, mqtt_request_response
from awsiot import (
    ServiceStreamOptions,
    V2ServiceException,
    iotshadow,
    mqtt5_client_builder,
)

from tests.broker.clients import TIMEOUT, sdk_connection, uid
from tests.harness import DeviceCertificate, RunningServer
from tests.shadows.shadow_support import Window, wall_clock

QOS1 = mqtt.QoS.AT_LEAST_ONCE


@pytest.fixture(scope="module")
def device(shared_server: RunningServer) -> DeviceCertificate:
    return shared_server.issue_certificate("sdk-shadow-device")


@pytest.fixture
def connection(shared_server: RunningServer, device: DeviceCertificate) -> Iterator[mqtt.Connection]:
    """An MQTT 3.1.1 connection built as the SDK's samples build it (clean session, our CA)."""
    conn = sdk_connection(shared_server, device, uid("sdk-shadow"))
    conn.connect().result(TIMEOUT)
    yield conn
    conn.disconnect().result(TIMEOUT)


class Received:
    """What the SDK's callbacks delivered, one queue per callback; tests wait on a queue with a timeout."""

    def __init__(self) -> None:
        self._queues: dict[str, queue.Queue[Any]] = {}
        self._lock = threading.Lock()

    def _queue(self, name: str) -> queue.Queue[Any]:
        with self._lock:
            return self._queues.setdefault(name, queue.Queue())

    def callback(self, name: str) -> Callable[[Any], None]:
        into = self._queue(name)
        return into.put

    def next(self, name: str, timeout: float = TIMEOUT) -> Any:
        try:
            return self._queue(name).get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"the SDK delivered no {name} within {timeout} s") from None

    def pending(self, name: str) -> int:
        return self._queue(name).qsize()


def subscribe(subscription: tuple[Any, str]) -> None:
    """Waits for a subscribe_to_* call's SUBACK, which must grant QoS 1."""
    future, _ = subscription
    assert future.result(TIMEOUT) == QOS1


def epoch(moment: Any) -> int:
    """The SDK turns a body's ``timestamp`` into a datetime; back to the epoch seconds it came from."""
    assert isinstance(moment, datetime.datetime), moment
    return int(moment.timestamp())


def in_window(window: Window, moment: Any) -> int:
    return window.check(epoch(moment))


def test_classic_shadow_with_the_v1_shadow_client(connection: mqtt.Connection) -> None:
    """ "Device Shadow MQTT topics": /update/accepted, /update/delta, /update/documents, /get/accepted,
    /update/rejected and /delete/accepted for the classic shadow, each parsed by the SDK's modeled classes,
    with the request's clientToken echoed ("Client token" in "Device Shadow service documents")."""
    thing = uid("sdk-classic")
    client = iotshadow.IotShadowClient(connection)
    got = Received()
    subscribe(
        client.subscribe_to_update_shadow_accepted(
            iotshadow.UpdateShadowSubscriptionRequest(thing_name=thing), QOS1, got.callback("update/accepted")
        )
    )
    subscribe(
        client.subscribe_to_update_shadow_rejected(
            iotshadow.UpdateShadowSubscriptionRequest(thing_name=thing), QOS1, got.callback("update/rejected")
        )
    )
    subscribe(
        client.subscribe_to_shadow_delta_updated_events(
            iotshadow.ShadowDeltaUpdatedSubscriptionRequest(thing_name=thing), QOS1, got.callback("delta")
        )
    )
    subscribe(
        client.subscribe_to_shadow_updated_events(
            iotshadow.ShadowUpdatedSubscriptionRequest(thing_name=thing), QOS1, got.callback("documents")
        )
    )
    subscribe(
        client.subscribe_to_get_shadow_accepted(
            iotshadow.GetShadowSubscriptionRequest(thing_name=thing), QOS1, got.callback("get/accepted")
        )
    )
    subscribe(
        client.subscribe_to_get_shadow_rejected(
            iotshadow.GetShadowSubscriptionRequest(thing_name=thing), QOS1, got.callback("get/rejected")
        )
    )
    subscribe(
        client.subscribe_to_delete_shadow_accepted(
            iotshadow.DeleteShadowSubscriptionRequest(thing_name=thing), QOS1, got.callback("delete/accepted")
        )
    )

    # The sample's first step: get the shadow; it does not exist yet.
    client.publish_get_shadow(
        iotshadow.GetShadowRequest(thing_name=thing, client_token="get-0"), QOS1
    ).result(TIMEOUT)
    missing = got.next("get/rejected")
    assert (missing.code, missing.message, missing.client_token) == (
        404,
        f"No shadow exists with name: '{thing}'",
        "get-0",
    )

    # The device reports; the app desires.
    with wall_clock() as reported_at:
        client.publish_update_shadow(
            iotshadow.UpdateShadowRequest(
                thing_name=thing, state=iotshadow.ShadowState(reported={"color": "off"}), client_token="rep-1"
            ),
            QOS1,
        ).result(TIMEOUT)
        accepted = got.next("update/accepted")
    t1 = in_window(reported_at, accepted.timestamp)
    assert (accepted.version, accepted.client_token) == (1, "rep-1")
    assert accepted.state.reported == {"color": "off"} and accepted.state.desired is None
    assert accepted.metadata.reported == {"color": {"timestamp": t1}}

    with wall_clock() as desired_at:
        client.publish_update_shadow(
            iotshadow.UpdateShadowRequest(
                thing_name=thing, state=iotshadow.ShadowState(desired={"color": "on"}), client_token="des-2"
            ),
            QOS1,
        ).result(TIMEOUT)
        delta = got.next("delta")
    t2 = in_window(desired_at, delta.timestamp)
    assert (delta.version, delta.state, delta.metadata, delta.client_token) == (
        2,
        {"color": "on"},
        {"color": {"timestamp": t2}},
        "des-2",
    )
    assert got.next("update/accepted").version == 2

    # /update/documents: previous and current, as ShadowUpdatedEvent.
    got.next("documents")  # the report's
    documents = got.next("documents")
    assert epoch(documents.timestamp) == t2
    assert documents.previous.version == 1 and documents.previous.state.reported == {"color": "off"}
    assert documents.current.version == 2
    assert documents.current.state.desired == {"color": "on"}
    assert documents.current.state.reported == {"color": "off"}
    assert documents.current.metadata.desired == {"color": {"timestamp": t2}}

    # The sample's get: state with desired, reported and delta.
    client.publish_get_shadow(
        iotshadow.GetShadowRequest(thing_name=thing, client_token="get-3"), QOS1
    ).result(TIMEOUT)
    shadow = got.next("get/accepted")
    assert (shadow.version, shadow.client_token) == (2, "get-3")
    assert shadow.state.desired == {"color": "on"}
    assert shadow.state.reported == {"color": "off"}
    assert shadow.state.delta == {"color": "on"}
    assert shadow.metadata.reported == {"color": {"timestamp": t1}}

    # The device takes the desired value and clears desired with a null (the SDK's *_is_nullable flag).
    client.publish_update_shadow(
        iotshadow.UpdateShadowRequest(
            thing_name=thing,
            state=iotshadow.ShadowState(reported={"color": "on"}, desired=None, desired_is_nullable=True),
            version=2,
        ),
        QOS1,
    ).result(TIMEOUT)
    cleared = got.next("update/accepted")
    assert cleared.version == 3 and cleared.state.reported == {"color": "on"}

    # A stale version is rejected with 409 on /update/rejected, parsed as ErrorResponse.
    client.publish_update_shadow(
        iotshadow.UpdateShadowRequest(
            thing_name=thing,
            state=iotshadow.ShadowState(reported={"color": "x"}),
            version=2,
            client_token="old",
        ),
        QOS1,
    ).result(TIMEOUT)
    conflict = got.next("update/rejected")
    assert (conflict.code, conflict.message, conflict.client_token) == (409, "Version conflict", "old")

    client.publish_delete_shadow(
        iotshadow.DeleteShadowRequest(thing_name=thing, client_token="del"), QOS1
    ).result(TIMEOUT)
    deleted = got.next("delete/accepted")
    assert (deleted.version, deleted.client_token) == (3, "del")
    assert got.pending("delta") == 0  # only the desire made a delta (the clearing update came later)


def test_named_shadow_with_the_v1_shadow_client(connection: mqtt.Connection) -> None:
    """ "Device Shadow MQTT topics" for a named shadow ($aws/things/T/shadow/name/S/...): the sample's
    named-shadow calls (subscribe_to_named_shadow_delta_updated_events, publish_update_named_shadow,
    publish_get_named_shadow, publish_delete_named_shadow); the classic shadow of the same thing is untouched
    ("named shadows" are separate documents)."""
    thing, name = uid("sdk-named"), "config"
    client = iotshadow.IotShadowClient(connection)
    got = Received()
    subscribe(
        client.subscribe_to_named_shadow_delta_updated_events(
            iotshadow.NamedShadowDeltaUpdatedSubscriptionRequest(thing_name=thing, shadow_name=name),
            QOS1,
            got.callback("delta"),
        )
    )
    subscribe(
        client.subscribe_to_update_named_shadow_accepted(
            iotshadow.UpdateNamedShadowSubscriptionRequest(thing_name=thing, shadow_name=name),
            QOS1,
            got.callback("update/accepted"),
        )
    )
    subscribe(
        client.subscribe_to_get_named_shadow_accepted(
            iotshadow.GetNamedShadowSubscriptionRequest(thing_name=thing, shadow_name=name),
            QOS1,
            got.callback("get/accepted"),
        )
    )
    subscribe(
        client.subscribe_to_get_named_shadow_rejected(
            iotshadow.GetNamedShadowSubscriptionRequest(thing_name=thing, shadow_name=name),
            QOS1,
            got.callback("get/rejected"),
        )
    )
    subscribe(
        client.subscribe_to_get_shadow_rejected(
            iotshadow.GetShadowSubscriptionRequest(thing_name=thing),
            QOS1,
            got.callback("classic/get/rejected"),
        )
    )
    subscribe(
        client.subscribe_to_delete_named_shadow_accepted(
            iotshadow.DeleteNamedShadowSubscriptionRequest(thing_name=thing, shadow_name=name),
            QOS1,
            got.callback("delete/accepted"),
        )
    )

    with wall_clock() as window:
        client.publish_update_named_shadow(
            iotshadow.UpdateNamedShadowRequest(
                thing_name=thing,
                shadow_name=name,
                state=iotshadow.ShadowState(desired={"rate": 5, "mode": {"eco": True}}),
                client_token="n-1",
            ),
            QOS1,
        ).result(TIMEOUT)
        delta = got.next("delta")
    t1 = in_window(window, delta.timestamp)
    assert (delta.version, delta.client_token) == (1, "n-1")
    assert delta.state == {"rate": 5, "mode": {"eco": True}}
    assert delta.metadata == {"rate": {"timestamp": t1}, "mode": {"eco": {"timestamp": t1}}}
    assert got.next("update/accepted").version == 1

    client.publish_update_named_shadow(
        iotshadow.UpdateNamedShadowRequest(
            thing_name=thing, shadow_name=name, state=iotshadow.ShadowState(reported={"rate": 5, "mode": {}})
        ),
        QOS1,
    ).result(TIMEOUT)
    assert got.next("update/accepted").version == 2
    # An object in reported does not end the delta below it: mode.eco is still wanted.
    client.publish_get_named_shadow(
        iotshadow.GetNamedShadowRequest(thing_name=thing, shadow_name=name), QOS1
    ).result(TIMEOUT)
    shadow = got.next("get/accepted")
    assert shadow.version == 2
    assert shadow.state.delta == {"mode": {"eco": True}}
    assert shadow.state.reported == {"rate": 5}

    # The thing's classic shadow was never created.
    client.publish_get_shadow(iotshadow.GetShadowRequest(thing_name=thing), QOS1).result(TIMEOUT)
    assert got.next("classic/get/rejected").code == 404

    client.publish_delete_named_shadow(
        iotshadow.DeleteNamedShadowRequest(thing_name=thing, shadow_name=name, client_token="n-del"), QOS1
    ).result(TIMEOUT)
    deleted = got.next("delete/accepted")
    assert (deleted.version, deleted.client_token) == (2, "n-del")
    client.publish_get_named_shadow(
        iotshadow.GetNamedShadowRequest(thing_name=thing, shadow_name=name), QOS1
    ).result(TIMEOUT)
    gone = got.next("get/rejected")
    assert (gone.code, gone.message) == (404, f"No shadow exists with name: '{name}'")


@pytest.fixture
def mqtt5_client(shared_server: RunningServer, device: DeviceCertificate) -> Iterator[mqtt5.Client]:
    """An MQTT 5 client from the SDK's mqtt5_client_builder, started and connected."""
    connected: threading.Event = threading.Event()
    stopped: threading.Event = threading.Event()
    client = mqtt5_client_builder.mtls_from_path(
        endpoint="localhost",
        port=shared_server.mqtts_port,
        cert_filepath=str(device.cert_file),
        pri_key_filepath=str(device.key_file),
        ca_filepath=str(shared_server.ca_file),
        client_id=uid("sdk5-shadow"),
        on_lifecycle_connection_success=lambda data: connected.set(),
        on_lifecycle_stopped=lambda data: stopped.set(),
    )
    client.start()
    assert connected.wait(TIMEOUT), "the MQTT 5 client did not connect"
    yield client
    client.stop()
    assert stopped.wait(TIMEOUT), "the MQTT 5 client did not stop"


def open_stream(
    open_call: Callable[[Any, ServiceStreamOptions[Any]], Any], request: Any, into: queue.Queue[Any]
) -> Any:
    """Opens a V2 streaming operation and waits until its subscription is established."""
    established = threading.Event()

    def status(event: mqtt_request_response.SubscriptionStatusEvent) -> None:
        if event.type == mqtt_request_response.SubscriptionStatusEventType.SUBSCRIPTION_ESTABLISHED:
            established.set()

    stream = open_call(request, ServiceStreamOptions(into.put, status))
    stream.open()
    assert established.wait(TIMEOUT), "the stream's subscription was not established"
    return stream


@pytest.mark.parametrize("protocol", ["mqtt5", "mqtt311"])
def test_the_v2_request_response_shadow_client(
    protocol: str, request: pytest.FixtureRequest, shared_server: RunningServer
) -> None:
    """ "Device Shadow MQTT topics" through IotShadowClientV2 (the SDK's request-response client): it
    subscribes to ``.../get/+``, ``.../update/+`` and ``.../delete/+``, publishes each request with a fresh
    clientToken and completes the request on the answer carrying that token; a 404 and a 409 come back as
    V2ServiceException with the modeled error; the delta and documents streams deliver their events."""
    protocol_client = request.getfixturevalue("mqtt5_client" if protocol == "mqtt5" else "connection")
    options = mqtt_request_response.ClientOptions(
        max_request_response_subscriptions=3, max_streaming_subscriptions=2, operation_timeout_in_seconds=10
    )
    client = iotshadow.IotShadowClientV2(protocol_client, options)
    thing, name = uid("sdk-v2"), "v2shadow"

    with pytest.raises(V2ServiceException) as missing:
        client.get_shadow(iotshadow.GetShadowRequest(thing_name=thing)).result(TIMEOUT)
    assert missing.value.modeled_error.code == 404
    assert missing.value.modeled_error.message == f"No shadow exists with name: '{thing}'"

    deltas: queue.Queue[Any] = queue.Queue()
    documents: queue.Queue[Any] = queue.Queue()
    # The SDK closes a stream when its object goes: keep both until the end.
    streams = [
        open_stream(
            client.create_named_shadow_delta_updated_stream,
            iotshadow.NamedShadowDeltaUpdatedSubscriptionRequest(thing_name=thing, shadow_name=name),
            deltas,
        ),
        open_stream(
            client.create_named_shadow_updated_stream,
            iotshadow.NamedShadowUpdatedSubscriptionRequest(thing_name=thing, shadow_name=name),
            documents,
        ),
    ]
    with wall_clock() as window:
        accepted = client.update_named_shadow(
            iotshadow.UpdateNamedShadowRequest(
                thing_name=thing, shadow_name=name, state=iotshadow.ShadowState(desired={"fan": "high"})
            )
        ).result(TIMEOUT)
        delta = deltas.get(timeout=TIMEOUT)
    t1 = in_window(window, accepted.timestamp)
    assert accepted.version == 1 and accepted.state.desired == {"fan": "high"}
    assert accepted.client_token  # the client's own correlation token came back
    assert (delta.version, delta.state, epoch(delta.timestamp)) == (1, {"fan": "high"}, t1)
    created = documents.get(timeout=TIMEOUT)
    assert created.current.version == 1 and created.current.state.desired == {"fan": "high"}

    shadow = client.get_named_shadow(
        iotshadow.GetNamedShadowRequest(thing_name=thing, shadow_name=name)
    ).result(TIMEOUT)
    assert shadow.version == 1 and shadow.state.delta == {"fan": "high"}

    with pytest.raises(V2ServiceException) as conflict:
        client.update_named_shadow(
            iotshadow.UpdateNamedShadowRequest(
                thing_name=thing,
                shadow_name=name,
                state=iotshadow.ShadowState(reported={"fan": "high"}),
                version=7,
            )
        ).result(TIMEOUT)
    assert (conflict.value.modeled_error.code, conflict.value.modeled_error.message) == (
        409,
        "Version conflict",
    )

    reported = client.update_named_shadow(
        iotshadow.UpdateNamedShadowRequest(
            thing_name=thing,
            shadow_name=name,
            state=iotshadow.ShadowState(reported={"fan": "high"}),
            version=1,
        )
    ).result(TIMEOUT)
    assert reported.version == 2
    updated = documents.get(timeout=TIMEOUT)
    assert updated.previous.version == 1 and updated.current.version == 2
    assert updated.current.state.reported == {"fan": "high"}

    deleted = client.delete_named_shadow(
        iotshadow.DeleteNamedShadowRequest(thing_name=thing, shadow_name=name)
    ).result(TIMEOUT)
    assert deleted.version == 2
    del streams
    assert deltas.empty()  # the report matched desired: the second update made no delta
