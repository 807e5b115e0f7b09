"""GetRetainedMessage and ListRetainedMessages (iot-data) with boto3 and the aws CLI against a real
``corral serve``: messages retained over MQTT and over HTTP, paging, a clean restart, AWS's 404."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from tests.aws_cli import aws
from tests.broker.clients import PahoClient, uid
from tests.harness import RunningServer, make_server, serving


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    yield from serving(make_server(tmp_path_factory.mktemp("retained")))


def test_a_message_retained_over_mqtt_is_read_back_with_its_user_properties(server: RunningServer) -> None:
    """GetRetainedMessage: topic, payload, qos, lastModifiedTime (epoch ms) and the MQTT 5 user properties."""
    topic = f"status/{uid('lamp')}"
    before = int(time.time() * 1000)
    publisher = PahoClient(server, uid("pub"))
    publisher.connect()
    props = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
    props.UserProperty = [("site", "north"), ("floor", "2")]
    info = publisher.client.publish(topic, b'{"on": true}', qos=1, retain=True, properties=props)
    info.wait_for_publish(10)
    assert info.rc == mqtt.MQTT_ERR_SUCCESS
    publisher.close()

    data = server.iot_data()
    got = data.get_retained_message(topic=topic)
    assert got["topic"] == topic and got["payload"] == b'{"on": true}' and got["qos"] == 1
    assert before <= got["lastModifiedTime"] <= int(time.time() * 1000)
    assert json.loads(got["userProperties"]) == [{"site": "north"}, {"floor": "2"}]

    with pytest.raises(data.exceptions.ResourceNotFoundException):
        data.get_retained_message(topic=f"status/{uid('none')}")


def test_list_retained_messages_pages_and_forgets_a_cleared_topic(server: RunningServer) -> None:
    """ListRetainedMessages: every retained topic with its size, qos and time, paged by maxResults/nextToken;
    an empty retained publish clears a topic (MQTT), as AWS documents."""
    data = server.iot_data()
    prefix = uid("fleet")
    topics = [f"{prefix}/{i}" for i in range(5)]
    for i, topic in enumerate(topics):
        data.publish(topic=topic, qos=1, retain=True, payload=b"x" * (i + 1))
    data.publish(topic=topics[0], qos=0, retain=True, payload=b"")

    seen: dict[str, dict[str, int]] = {}
    token: str | None = None
    pages = 0
    while True:
        kwargs = {"maxResults": 2} | ({"nextToken": token} if token else {})
        page = data.list_retained_messages(**kwargs)
        pages += 1
        assert len(page["retainedTopics"]) <= 2
        for item in page["retainedTopics"]:
            seen[item["topic"]] = item
        token = page.get("nextToken")
        if not token:
            break
    mine = {t: v for t, v in seen.items() if t.startswith(prefix)}
    assert sorted(mine) == topics[1:]
    assert {t: mine[t]["payloadSize"] for t in mine} == {topics[i]: i + 1 for i in range(1, 5)}
    assert all(mine[t]["qos"] == 1 and mine[t]["lastModifiedTime"] > 0 for t in mine)
    assert pages >= 2


def test_retained_messages_survive_a_clean_restart_with_their_times(server: RunningServer) -> None:
    """Retained messages are kept across a restart (DESIGN: broker-state.json); the aws CLI reads them."""
    topic = f"config/{uid('unit')}"
    data = server.iot_data()
    data.publish(topic=topic, qos=1, retain=True, payload=b"v1")
    before = data.get_retained_message(topic=topic)["lastModifiedTime"]
    server.restart()
    done = aws(server, "iot-data", "get-retained-message", "--topic", topic)
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert answer["topic"] == topic and answer["lastModifiedTime"] == before
