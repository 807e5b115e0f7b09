"""``iot:ConnectAttributes`` and ``iot:LastWillTopic`` decide iot:Connect, end to end: a real `corral serve`,
certificates with AWS's own example policies ("Connect policy examples", MQTT persistent sessions), and
devices on paho (MQTT 3.1.1 and 5) and awsiotsdk. Each scenario could run against AWS IoT itself.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from awscrt.exceptions import AwsCrtError

from tests.broker.clients import TIMEOUT, V5, V311, Will, event_body, on_topic, sdk_connection
from tests.harness import DeviceCertificate, RunningServer
from tests.registry.e2e_support import NOT_AUTHORIZED, Clients, allow, policy_document

ATTRIBUTES = "iot:ConnectAttributes"


def connect_if(effect: str, condition: dict[str, Any]) -> dict[str, Any]:
    return {"Effect": effect, "Action": "iot:Connect", "Resource": "*", "Condition": condition}


PUBLISH_ANYWHERE = allow("iot:Publish", "arn:aws:iot:*:*:topic/*")


# AWS: "must not have PersistentConnect but can have LastWill, any other new feature is not allowed".
NO_PERSISTENT_SESSION = policy_document(
    connect_if("Deny", {"ForAnyValue:StringEquals": {ATTRIBUTES: ["PersistentConnect"]}}),
    connect_if("Allow", {"ForAllValues:StringEquals": {ATTRIBUTES: ["LastWill"]}}),
    PUBLISH_ANYWHERE,
)
# AWS: "only allows connect using default features".
DEFAULT_FEATURES_ONLY = policy_document(
    connect_if("Allow", {"ForAllValues:StringEquals": {ATTRIBUTES: []}}),
    PUBLISH_ANYWHERE,
)
# AWS: "allows connect only by clients that have a LastWill with topic ...", one per client id here. Publish
# is allowed everywhere, so only the Connect condition can refuse a will elsewhere.
WILL_ON_OWN_STATUS_TOPIC = policy_document(
    connect_if("Allow", {"ArnEquals": {"iot:LastWillTopic": "arn:aws:iot:*:*:topic/status/${iot:ClientId}"}}),
    PUBLISH_ANYWHERE,
)


@pytest.fixture
def clients(shared_server: RunningServer) -> Iterator[Clients]:
    made = Clients(shared_server)
    yield made
    made.close()


@pytest.fixture(scope="module")
def no_persistent(shared_server: RunningServer) -> DeviceCertificate:
    return shared_server.issue_certificate("no-persistent", policy=NO_PERSISTENT_SESSION)


def test_a_policy_denying_persistent_connect_refuses_persistent_sessions_on_both_versions(
    clients: Clients, no_persistent: DeviceCertificate
) -> None:
    assert clients.attempt(no_persistent, V311, clean=True) == 0
    assert clients.attempt(no_persistent, V311, clean=False) == NOT_AUTHORIZED
    assert clients.attempt(no_persistent, V5) == 0  # Session Expiry Interval absent: 0
    assert clients.attempt(no_persistent, V5, session_expiry=3600) == NOT_AUTHORIZED
    # LastWill is allowed by the same policy.
    will = Will("status/anyone", b"gone")
    assert clients.attempt(no_persistent, V311, clean=True, will=will) == 0
    assert clients.attempt(no_persistent, V311, clean=False, will=will) == NOT_AUTHORIZED


def test_the_refusal_is_a_connect_failed_event(
    shared_server: RunningServer, clients: Clients, no_persistent: DeviceCertificate
) -> None:
    client_id = f"persistent-{uuid.uuid4().hex[:8]}"
    listener = clients.listener(f"$aws/events/presence/connect_failed/{client_id}")
    device = clients.device(client_id, no_persistent, V5, session_expiry=60)
    assert device.attempt() == NOT_AUTHORIZED
    failed = event_body(listener.wait_for(on_topic(f"$aws/events/presence/connect_failed/{client_id}")))
    assert failed["connectFailureReason"] == "AUTHORIZATION_FAILED"
    assert failed["principalIdentifier"] == no_persistent.certificate_id


def test_awsiotsdk_default_persistent_session_is_refused_and_a_clean_one_admitted(
    shared_server: RunningServer, no_persistent: DeviceCertificate
) -> None:
    def connection(clean_session: bool) -> Any:
        client_id = f"sdk-{uuid.uuid4().hex[:8]}"
        return sdk_connection(shared_server, no_persistent, client_id, clean_session=clean_session)

    # The SDK's MQTT 3 builder asks for a persistent session unless told otherwise.
    with pytest.raises(AwsCrtError):
        connection(False).connect().result(TIMEOUT)
    clean = connection(True)
    clean.connect().result(TIMEOUT)
    clean.disconnect().result(TIMEOUT)


def test_default_features_only_refuses_a_will_and_a_persistent_session(
    shared_server: RunningServer, clients: Clients
) -> None:
    device = shared_server.issue_certificate("default-features", policy=DEFAULT_FEATURES_ONLY)
    assert clients.attempt(device, V311, clean=True) == 0
    assert clients.attempt(device, V5) == 0
    assert clients.attempt(device, V311, clean=True, will=Will("status/x", b"gone")) == NOT_AUTHORIZED
    assert clients.attempt(device, V5, will=Will("status/x", b"gone")) == NOT_AUTHORIZED
    assert clients.attempt(device, V311, clean=False) == NOT_AUTHORIZED


def test_last_will_topic_admits_a_will_only_on_the_topic_the_policy_names(
    shared_server: RunningServer, clients: Clients
) -> None:
    device = shared_server.issue_certificate("will-topic", policy=WILL_ON_OWN_STATUS_TOPIC)

    def attempt(client_id: str, will_topic: str | None, version: int) -> int | None:
        will = Will(will_topic, b"offline") if will_topic is not None else None
        return clients.device(client_id, device, version, will=will).attempt()

    for version in (V311, V5):
        client_id = f"lamp-{uuid.uuid4().hex[:8]}"
        assert attempt(client_id, f"status/{client_id}", version) == 0
        assert attempt(client_id, "status/someone-else", version) == NOT_AUTHORIZED
        assert attempt(client_id, None, version) == NOT_AUTHORIZED  # no will: the key is missing


def test_an_admitted_will_is_published_when_the_connection_drops(
    shared_server: RunningServer, clients: Clients
) -> None:
    device = shared_server.issue_certificate("will-topic-drop", policy=WILL_ON_OWN_STATUS_TOPIC)
    client_id = f"lamp-{uuid.uuid4().hex[:8]}"
    listener = clients.listener(f"status/{client_id}")
    lamp = clients.device(client_id, device, V5, will=Will(f"status/{client_id}", b"offline"))
    assert lamp.attempt() == 0
    lamp.drop()
    assert listener.wait_for(on_topic(f"status/{client_id}")).payload == b"offline"
