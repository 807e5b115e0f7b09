"""The iot-data API (AWS IoT Data Plane) of a real ``corral serve``, driven by boto3 and the real aws CLI:
shadows over HTTP, Publish with MQTT 5 properties, and AWS's errors as botocore parses them.

Sources: "Device Shadow REST API" (device-shadow-rest-api), "Interacting with shadows"
(device-shadow-data-flow), the iot-data API reference (Publish, ListNamedShadowsForThing) and the botocore
iot-data model the clients are built from.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import botocore.exceptions
import pytest

from tests.broker.clients import V5, ClientPool, uid
from tests.harness import DeviceCertificate, RunningServer
from tests.shadows.shadow_support import (
    Inbox,
    aws_cli,
    iot_data,
    read_json,
    response_topics,
    shadow_base,
    shadow_client,
    wall_clock,
)


@pytest.fixture(scope="module")
def device(shared_server: RunningServer) -> DeviceCertificate:
    return shared_server.issue_certificate("iot-data-subscriber")


@pytest.fixture(scope="module")
def data(shared_server: RunningServer) -> Any:
    return iot_data(shared_server)


def payload_of(answer: dict[str, Any]) -> dict[str, Any]:
    body = json.loads(answer["payload"].read())
    assert isinstance(body, dict), body
    return body


def listener(pool: ClientPool, server: RunningServer, device: DeviceCertificate, *topics: str) -> Inbox:
    return shadow_client(pool, server, uid("listener"), device, list(topics), version=V5)


@pytest.mark.parametrize("shadow", [None, "settings"], ids=["classic", "named"])
def test_an_update_over_http_is_announced_over_mqtt(
    shared_server: RunningServer, data: Any, device: DeviceCertificate, pool: ClientPool, shadow: str | None
) -> None:
    """ "Interacting with shadows" > "When a client requests a state change in a shadow by using the API":
    UpdateThingShadow answers the /accepted document and AWS IoT publishes the /update messages to MQTT
    subscribers: the same /accepted body, the /delta, the /documents; GetThingShadow answers with the delta;
    DeleteThingShadow answers version and timestamp and publishes /delete/accepted."""
    thing = uid("http-bulb")
    base = shadow_base(thing, shadow)
    inbox = listener(pool, shared_server, device, *response_topics(thing, shadow))
    named = {} if shadow is None else {"shadowName": shadow}

    request = {
        "state": {"desired": {"color": "green"}, "reported": {"color": "red"}},
        "clientToken": "http-1",
    }
    with wall_clock() as window:
        answer = payload_of(data.update_thing_shadow(thingName=thing, payload=json.dumps(request), **named))
        over_mqtt = inbox.take(f"{base}/update/accepted")
        delta = inbox.take(f"{base}/update/delta")
        documents = inbox.take(f"{base}/update/documents")
    now = window.check(answer["timestamp"])
    stamp = {"color": {"timestamp": now}}
    assert answer == {
        "state": request["state"],
        "metadata": {"desired": stamp, "reported": stamp},
        "version": 1,
        "timestamp": now,
        "clientToken": "http-1",
    }
    assert over_mqtt == answer
    assert delta == {
        "version": 1,
        "timestamp": now,
        "state": {"color": "green"},
        "metadata": stamp,
        "clientToken": "http-1",
    }
    assert documents["current"] == {
        "state": request["state"],
        "metadata": {"desired": stamp, "reported": stamp},
        "version": 1,
    }
    assert (documents["timestamp"], documents["clientToken"]) == (now, "http-1")

    with wall_clock() as window:
        shown = payload_of(data.get_thing_shadow(thingName=thing, **named))
    assert shown == {
        "state": {"desired": {"color": "green"}, "reported": {"color": "red"}, "delta": {"color": "green"}},
        "metadata": {"desired": stamp, "reported": stamp, "delta": stamp},
        "version": 1,
        "timestamp": window.check(shown["timestamp"]),
    }

    with wall_clock() as window:
        deleted = payload_of(data.delete_thing_shadow(thingName=thing, **named))
        announced = inbox.take(f"{base}/delete/accepted")
    assert deleted == {"version": 1, "timestamp": window.check(deleted["timestamp"])}
    assert announced == deleted
    assert inbox.waiting(f"{base}/get/accepted") == []  # GetThingShadow over HTTP publishes nothing


def test_named_shadows_with_the_aws_cli(shared_server: RunningServer, tmp_path: Path) -> None:
    """ "Device Shadow REST API" with the aws CLI: update-thing-shadow, get-thing-shadow and
    delete-thing-shadow with --shadow-name write the payload to the outfile; list-named-shadows-for-thing
    names the thing's existing named shadows (not the classic one, not a deleted one)."""
    thing = uid("cli-thing")
    for name in ("beta", "alpha"):
        aws_cli(
            shared_server, "iot-data", "update-thing-shadow", "--thing-name", thing, "--shadow-name", name,
            "--payload", '{"state": {"reported": {"on": true}}}', f"{name}.json", cwd=tmp_path,
        )  # fmt: skip
        assert read_json(tmp_path / f"{name}.json")["version"] == 1
    aws_cli(
        shared_server, "iot-data", "update-thing-shadow", "--thing-name", thing,
        "--payload", '{"state": {"reported": {"on": false}}}', "classic.json", cwd=tmp_path,
    )  # fmt: skip
    aws_cli(
        shared_server, "iot-data", "get-thing-shadow", "--thing-name", thing, "--shadow-name", "alpha",
        "alpha-get.json", cwd=tmp_path,
    )  # fmt: skip
    assert read_json(tmp_path / "alpha-get.json")["state"] == {"reported": {"on": True}}

    listed = json.loads(
        aws_cli(shared_server, "iot-data", "list-named-shadows-for-thing", "--thing-name", thing).stdout
    )
    assert listed["results"] == ["alpha", "beta"]
    assert isinstance(listed["timestamp"], int) and "nextToken" not in listed

    aws_cli(
        shared_server, "iot-data", "delete-thing-shadow", "--thing-name", thing, "--shadow-name", "beta",
        "deleted.json", cwd=tmp_path,
    )  # fmt: skip
    assert read_json(tmp_path / "deleted.json")["version"] == 1
    listed = json.loads(
        aws_cli(shared_server, "iot-data", "list-named-shadows-for-thing", "--thing-name", thing).stdout
    )
    assert listed["results"] == ["alpha"]

    missing = aws_cli(
        shared_server, "iot-data", "get-thing-shadow", "--thing-name", thing, "--shadow-name", "beta",
        "none.json", cwd=tmp_path, check=False,
    )  # fmt: skip
    assert missing.returncode != 0
    assert "(ResourceNotFoundException)" in missing.stderr
    assert "No shadow exists with name: 'beta'" in missing.stderr


def test_list_named_shadows_pages(shared_server: RunningServer, data: Any) -> None:
    """ListNamedShadowsForThing: ``pageSize`` results per page and a ``nextToken`` while more remain; the
    pages together name every named shadow once."""
    thing = uid("paged")
    names = [f"shadow-{i}" for i in range(5)]
    for name in names:
        data.update_thing_shadow(
            thingName=thing, shadowName=name, payload=b'{"state": {"reported": {"n": 1}}}'
        )

    seen: list[str] = []
    pages: list[int] = []
    token: str | None = None
    while True:
        page = data.list_named_shadows_for_thing(
            thingName=thing, pageSize=2, **({"nextToken": token} if token else {})
        )
        seen += page["results"]
        pages.append(len(page["results"]))
        token = page.get("nextToken")
        if token is None:
            break
    assert pages == [2, 2, 1]
    assert seen == names

    assert data.list_named_shadows_for_thing(thingName=uid("nothing"))["results"] == []


def error_of(call: Any, **kwargs: Any) -> botocore.exceptions.ClientError:
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        call(**kwargs)
    return caught.value


def test_errors_are_parsed_into_the_models_exceptions(shared_server: RunningServer, data: Any) -> None:
    """ "Device Shadow REST API" > errors, and the "Device Shadow error messages": a stale version is a
    ConflictException (409, "Version conflict"), a missing shadow a ResourceNotFoundException (404), bad JSON
    or a bad state an InvalidRequestException (400), a state above 8 KB a RequestEntityTooLargeException
    (413); botocore raises each as the model's exception class."""
    thing = uid("errors")
    data.update_thing_shadow(thingName=thing, payload=b'{"state": {"reported": {"a": 1}}}')

    cases: list[tuple[Any, dict[str, Any], Any, int, str]] = [
        (
            data.update_thing_shadow,
            {"thingName": thing, "payload": b'{"state": {"reported": {"a": 2}}, "version": 7}'},
            data.exceptions.ConflictException,
            409,
            "Version conflict",
        ),
        (
            data.get_thing_shadow,
            {"thingName": thing, "shadowName": "absent"},
            data.exceptions.ResourceNotFoundException,
            404,
            "No shadow exists with name: 'absent'",
        ),
        (
            data.delete_thing_shadow,
            {"thingName": uid("never")},
            data.exceptions.ResourceNotFoundException,
            404,
            "",
        ),
        (
            data.update_thing_shadow,
            {"thingName": thing, "payload": b"{not json"},
            data.exceptions.InvalidRequestException,
            400,
            "Invalid JSON",
        ),
        (
            data.update_thing_shadow,
            {"thingName": thing, "payload": b'{"desired": {"a": 1}}'},
            data.exceptions.InvalidRequestException,
            400,
            "Missing required node: state",
        ),
        (
            data.update_thing_shadow,
            {"thingName": thing, "payload": b'{"state": {"desired": "green"}}'},
            data.exceptions.InvalidRequestException,
            400,
            "Desired node must be an object",
        ),
        (
            data.update_thing_shadow,
            {"thingName": thing, "payload": json.dumps({"state": {"reported": {"blob": "x" * 9000}}})},
            data.exceptions.RequestEntityTooLargeException,
            413,
            "The payload exceeds the maximum size allowed",
        ),
    ]
    for call, kwargs, exception, status, message in cases:
        error = error_of(call, **kwargs)
        assert isinstance(error, exception), (kwargs, error)
        assert error.response["ResponseMetadata"]["HTTPStatusCode"] == status
        if message:
            assert error.response["Error"]["Message"] == message
    # None of them changed the shadow.
    assert payload_of(data.get_thing_shadow(thingName=thing))["version"] == 1


def test_publish_with_mqtt5_properties(
    shared_server: RunningServer, data: Any, device: DeviceCertificate, pool: ClientPool
) -> None:
    """Publish (iot-data API reference): ``qos``, ``retain`` and the MQTT 5 properties (contentType,
    responseTopic, correlationData as base64, messageExpiry, userProperties, payloadFormatIndicator) reach an
    MQTT 5 subscriber holding a certificate; a retained message is kept for later subscribers."""
    topic = f"data/{uid('publish')}/status"
    inbox = listener(pool, shared_server, device, topic)
    data.publish(
        topic=topic,
        qos=1,
        retain=True,
        payload=b'{"ok": true}',
        contentType="application/json",
        responseTopic=f"{topic}/reply",
        correlationData=base64.b64encode(b"\x00corr-1").decode(),
        messageExpiry=3600,
        userProperties=[{"deviceName": "alpha"}, {"deviceCnt": "45"}],
        payloadFormatIndicator="UTF8_DATA",
    )
    message = inbox.client.wait_for(lambda m: m.topic == topic)
    assert (message.payload, message.qos) == (b'{"ok": true}', 1)
    assert (
        not message.retain
    )  # delivered live: the retain flag is cleared (MQTT 5 without retain-as-published)
    props: Any = message.properties  # paho sets each property as an attribute
    assert props is not None
    assert props.ContentType == "application/json"
    assert props.ResponseTopic == f"{topic}/reply"
    assert props.CorrelationData == b"\x00corr-1"
    assert 0 < props.MessageExpiryInterval <= 3600
    assert props.UserProperty == [("deviceName", "alpha"), ("deviceCnt", "45")]
    assert props.PayloadFormatIndicator == 1

    later = listener(pool, shared_server, device, topic)
    kept = later.client.wait_for(lambda m: m.topic == topic)
    assert (kept.payload, kept.retain) == (b'{"ok": true}', True)


def test_publish_with_the_aws_cli(
    shared_server: RunningServer, device: DeviceCertificate, pool: ClientPool
) -> None:
    """``aws iot-data publish`` as the API reference's example runs it: --qos, --payload and --user-properties
    given as a JSON string."""
    topic = f"data/{uid('cli')}/status"
    inbox = listener(pool, shared_server, device, topic)
    aws_cli(
        shared_server, "iot-data", "publish", "--topic", topic, "--qos", "1", "--payload", "hello",
        "--user-properties", '[{"deviceName": "alpha"}, {"deviceCnt": "45"}]',
    )  # fmt: skip
    message = inbox.client.wait_for(lambda m: m.topic == topic)
    assert (message.payload, message.qos) == (b"hello", 1)
    props: Any = message.properties
    assert props is not None
    assert props.UserProperty == [("deviceName", "alpha"), ("deviceCnt", "45")]


def test_shadows_over_https_with_the_corral_ca(shared_server: RunningServer) -> None:
    """The same API on the HTTPS port, verified against the Corral root CA (AWS's data endpoint is HTTPS)."""
    secure = iot_data(shared_server, https=True)
    thing = uid("https")
    accepted = payload_of(
        secure.update_thing_shadow(thingName=thing, payload=b'{"state": {"desired": {"x": 1}}}')
    )
    assert accepted["version"] == 1
    assert payload_of(secure.get_thing_shadow(thingName=thing))["state"]["delta"] == {"x": 1}


def test_publish_user_properties_given_as_a_json_string(
    shared_server: RunningServer, data: Any, device: DeviceCertificate, pool: ClientPool
) -> None:
    """Publish's ``userProperties`` is "A JSON string that contains an array of JSON objects" (iot-data API
    reference; boto3 documents the parameter as a string): boto3 JSON-encodes that string once more, and the
    subscriber still receives the pairs. Anything but an array of objects is an InvalidRequestException."""
    topic = f"data/{uid('json-string')}/status"
    inbox = listener(pool, shared_server, device, topic)
    data.publish(topic=topic, payload=b"x", userProperties='[{"deviceName": "beta"}]')
    props: Any = inbox.client.wait_for(lambda m: m.topic == topic).properties
    assert props is not None
    assert props.UserProperty == [("deviceName", "beta")]
    for bad in ('{"deviceName": "beta"}', "not json", [["deviceName", "beta"]]):
        error = error_of(data.publish, topic=topic, payload=b"x", userProperties=bad)
        assert isinstance(error, data.exceptions.InvalidRequestException), bad
