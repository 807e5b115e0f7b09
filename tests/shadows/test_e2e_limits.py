"""Shadow quotas set in ``corral.toml`` (``[shadow_limits]``) and enforced over HTTP and MQTT against a real
``corral serve``: document size, nesting depth, named shadows per thing."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from tests.broker.clients import PahoClient, uid
from tests.harness import RunningServer, make_server, serving

CONFIG = """
[shadow_limits]
max_state_bytes = 200
max_depth = 3
named_shadows_per_thing = 2
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    yield from serving(make_server(tmp_path_factory.mktemp("shadow-limits"), config_toml=CONFIG))


def update(state: dict[str, object]) -> bytes:
    return json.dumps({"state": state}).encode()


def test_a_state_larger_than_the_configured_size_is_413(server: RunningServer) -> None:
    """AWS quota: maximum size of a shadow's state document (configured here to 200 bytes)."""
    data = server.iot_data()
    thing = uid("big")
    data.update_thing_shadow(thingName=thing, payload=update({"reported": {"v": "x" * 100}}))
    with pytest.raises(data.exceptions.RequestEntityTooLargeException):
        data.update_thing_shadow(thingName=thing, payload=update({"desired": {"w": "y" * 150}}))
    shadow = json.loads(data.get_thing_shadow(thingName=thing)["payload"].read())
    assert shadow["version"] == 1 and "desired" not in shadow["state"]


def test_nesting_deeper_than_the_configured_depth_is_rejected_over_mqtt(server: RunningServer) -> None:
    """AWS quota: levels of nesting in desired/reported (configured here: 3); answered on /update/rejected."""
    thing = uid("deep")
    base = f"$aws/things/{thing}/shadow/update"
    client = PahoClient(server, uid("dev"))
    client.connect()
    client.subscribe(f"{base}/accepted", f"{base}/rejected")
    try:
        client.publish(base, update({"reported": {"a": {"b": {"c": 1}}}}), qos=1)
        assert client.next_message().topic == f"{base}/accepted"
        client.publish(base, update({"reported": {"a": {"b": {"c": {"d": 1}}}}}), qos=1)
        rejected = client.next_message()
        assert rejected.topic == f"{base}/rejected"
        body = json.loads(rejected.payload)
        assert body["code"] == 400 and "nesting" in body["message"]
    finally:
        client.close()


def test_named_shadows_beyond_the_configured_number_are_refused(server: RunningServer) -> None:
    """A quota of named shadows per thing (AWS has none by default; configured here to 2)."""
    data = server.iot_data()
    thing = uid("many")
    for name in ("one", "two"):
        data.update_thing_shadow(thingName=thing, shadowName=name, payload=update({"reported": {"x": 1}}))
    with pytest.raises(data.exceptions.InvalidRequestException):
        data.update_thing_shadow(thingName=thing, shadowName="three", payload=update({"reported": {"x": 1}}))
    data.delete_thing_shadow(thingName=thing, shadowName="one")
    data.update_thing_shadow(thingName=thing, shadowName="three", payload=update({"reported": {"x": 1}}))
    listed = data.list_named_shadows_for_thing(thingName=thing)["results"]
    assert sorted(listed) == ["three", "two"]
