"""The registry through a real `corral serve`, driven by the aws CLI and boto3 as an operator would."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from typing import Any

import botocore.exceptions
import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from tests.aws_cli import aws
from tests.harness import RunningServer
from tests.registry.e2e_support import cli_json, profile_iot


@pytest.fixture
def server(server_factory: Callable[..., RunningServer], database_url: str | None) -> RunningServer:
    """A server on the default SQLite store and one on PostgreSQL (``--database-url``)."""
    extra = ("--database-url", database_url) if database_url else ()
    return server_factory(insecure=True, extra_args=extra)


@pytest.fixture
def iot(server: RunningServer, monkeypatch: pytest.MonkeyPatch) -> Any:
    return profile_iot(server, monkeypatch)


def test_thing_lifecycle_with_the_aws_cli(server: RunningServer) -> None:
    created = cli_json(
        server, "create-thing", "--thing-name", "dumpster-1", "--attribute-payload",
        '{"attributes": {"site": "seattle", "size": "large"}}',
    )  # fmt: skip
    assert created["thingName"] == "dumpster-1"
    assert created["thingArn"] == "arn:aws:iot:us-east-1:000000000000:thing/dumpster-1"
    described = cli_json(server, "describe-thing", "--thing-name", "dumpster-1")
    assert described["attributes"] == {"site": "seattle", "size": "large"}
    assert described["version"] == 1
    cli_json(
        server, "update-thing", "--thing-name", "dumpster-1", "--expected-version", "1",
        "--attribute-payload", '{"attributes": {"size": ""}, "merge": true}',
    )  # fmt: skip
    described = cli_json(server, "describe-thing", "--thing-name", "dumpster-1")
    assert described["attributes"] == {"site": "seattle"} and described["version"] == 2
    conflict = aws(server, "iot", "update-thing", "--thing-name", "dumpster-1", "--expected-version", "1")
    assert "(VersionConflictException)" in conflict.stderr
    listed = cli_json(server, "list-things", "--attribute-name", "site", "--attribute-value", "seattle")
    assert [t["thingName"] for t in listed["things"]] == ["dumpster-1"]
    cli_json(server, "delete-thing", "--thing-name", "dumpster-1")
    missing = aws(server, "iot", "describe-thing", "--thing-name", "dumpster-1")
    assert "(ResourceNotFoundException)" in missing.stderr


def test_invalid_thing_name_is_refused_with_aws_validation_message(server: RunningServer) -> None:
    result = aws(server, "iot", "create-thing", "--thing-name", "no spaces allowed")
    assert result.returncode != 0
    assert "(InvalidRequestException)" in result.stderr
    assert "failed to satisfy constraint: Member must satisfy regular expression pattern" in result.stderr


def test_boto3_pagination_types_groups_and_tags(iot: Any) -> None:
    for i in range(7):
        iot.create_thing(thingName=f"page-{i}")
    names: list[str] = []
    for page in iot.get_paginator("list_things").paginate(PaginationConfig={"PageSize": 3}):
        names += [t["thingName"] for t in page["things"]]
    assert names == [f"page-{i}" for i in range(7)]

    iot.create_thing_type(thingTypeName="bin", thingTypeProperties={"searchableAttributes": ["site"]})
    iot.create_thing(thingName="typed", thingTypeName="bin", attributePayload={"attributes": {"site": "a"}})
    assert iot.describe_thing(thingName="typed")["thingTypeName"] == "bin"
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        iot.delete_thing_type(thingTypeName="bin")
    assert caught.value.response["Error"]["Code"] == "InvalidRequestException"

    iot.create_thing_group(thingGroupName="north")
    iot.add_thing_to_thing_group(thingGroupName="north", thingName="typed")
    assert [t for t in iot.list_things_in_thing_group(thingGroupName="north")["things"]] == ["typed"]
    arn = iot.describe_thing_group(thingGroupName="north")["thingGroupArn"]
    iot.tag_resource(resourceArn=arn, tags=[{"Key": "team", "Value": "ops"}])
    assert iot.list_tags_for_resource(resourceArn=arn)["tags"] == [{"Key": "team", "Value": "ops"}]


@pytest.fixture
def events_subscriber(
    server: RunningServer,
) -> Iterator[tuple[list[tuple[str, dict[str, Any]]], threading.Event]]:
    """A subscriber of $aws/events/# on the loopback insecure port."""
    received: list[tuple[str, dict[str, Any]]] = []
    got = threading.Event()
    subscribed = threading.Event()
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="registry-events")

    def on_message(_c: mqtt.Client, _u: Any, message: mqtt.MQTTMessage) -> None:
        if message.topic.startswith("$aws/events/thing/"):
            received.append((message.topic, json.loads(message.payload)))
            got.set()

    client.on_message = on_message
    client.on_subscribe = lambda *_args: subscribed.set()
    client.connect("127.0.0.1", server.insecure_port)
    client.loop_start()
    client.subscribe("$aws/events/#", qos=1)
    assert subscribed.wait(10)
    yield received, got
    client.loop_stop()
    client.disconnect()


def test_registry_events_follow_the_event_configuration(
    server: RunningServer,
    iot: Any,
    events_subscriber: tuple[list[tuple[str, dict[str, Any]]], threading.Event],
) -> None:
    received, got = events_subscriber
    iot.update_event_configurations(eventConfigurations={"THING": {"Enabled": True}})
    iot.create_thing(thingName="announced")
    assert got.wait(10)
    topic, body = received[0]
    assert topic == "$aws/events/thing/announced/created"
    assert body["eventType"] == "THING_EVENT" and body["operation"] == "CREATED"
    assert body["thingName"] == "announced"


def test_thing_type_deletion_waits_for_the_configured_time(
    server_factory: Callable[..., RunningServer],
) -> None:
    patient = server_factory(config_toml="thing_type_deprecation_wait = 0\n")
    for args in (
        ("create-thing-type", "--thing-type-name", "old"),
        ("deprecate-thing-type", "--thing-type-name", "old"),
    ):
        assert aws(patient, "iot", *args).returncode == 0
    assert aws(patient, "iot", "delete-thing-type", "--thing-type-name", "old").returncode == 0
    strict = server_factory()  # AWS's 5 minutes
    for args in (
        ("create-thing-type", "--thing-type-name", "new"),
        ("deprecate-thing-type", "--thing-type-name", "new"),
    ):
        assert aws(strict, "iot", *args).returncode == 0
    refused = aws(strict, "iot", "delete-thing-type", "--thing-type-name", "new")
    assert "(InvalidRequestException)" in refused.stderr
    assert "after deprecation" in refused.stderr
