"""Shadows under concurrent writers and a crash, against a real ``corral serve``: paho over MQTT and boto3's
iot-data client over HTTP (issue: "20 concurrent updaters", "kill -9 during a stream of updates")."""

from __future__ import annotations

import json
import signal
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.broker.clients import PahoClient, uid
from tests.harness import RunningServer, make_server, serving

UPDATES_PER_WRITER = 5
MQTT_WRITERS = 10
HTTP_WRITERS = 10


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    # 20 writers at once on one thing: above AWS's in-flight quota per thing, which has its own test.
    yield from serving(
        make_server(
            tmp_path_factory.mktemp("shadow-durability"),
            config_toml="[shadow_limits]\nin_flight_per_thing = 64\n",
        )
    )


def test_twenty_concurrent_updaters_over_mqtt_and_http(server: RunningServer) -> None:
    """Per-shadow serialization: every accepted version appears exactly once on /update/accepted, versions
    are 1..N without a gap, and the final document holds the last value each writer wrote."""
    thing = uid("bulb")
    base = f"$aws/things/{thing}/shadow/update"
    observer = PahoClient(server, uid("observer"))
    observer.connect()
    observer.subscribe(f"{base}/accepted", f"{base}/rejected")
    total = (MQTT_WRITERS + HTTP_WRITERS) * UPDATES_PER_WRITER
    errors: list[BaseException] = []

    def mqtt_writer(index: int) -> None:
        client = PahoClient(server, uid(f"w{index}"))
        try:
            client.connect()
            client.subscribe(f"{base}/accepted", f"{base}/rejected")
            for step in range(UPDATES_PER_WRITER):
                token = f"m{index}-{step}"
                body = {"state": {"reported": {f"mqtt{index}": step}}, "clientToken": token}
                client.publish(base, json.dumps(body).encode(), qos=1)
                answer = client.wait_for(_has_token(token))
                assert answer.topic.endswith("/accepted"), answer.payload
        except BaseException as exc:
            errors.append(exc)
        finally:
            client.close()

    def http_writer(index: int) -> None:
        client = server.iot_data()
        try:
            for step in range(UPDATES_PER_WRITER):
                body = {"state": {"reported": {f"http{index}": step}}}
                client.update_thing_shadow(thingName=thing, payload=json.dumps(body).encode())
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=mqtt_writer, args=(i,)) for i in range(MQTT_WRITERS)]
    threads += [threading.Thread(target=http_writer, args=(i,)) for i in range(HTTP_WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not errors, errors

    for expected_version in range(1, total + 1):
        observer.wait_for(_has_version(expected_version))
    versions = [_version(m) for m in observer.received if m.topic == f"{base}/accepted"]
    assert sorted(versions) == list(range(1, total + 1)), "a version was given twice or skipped"
    assert not [m for m in observer.received if m.topic == f"{base}/rejected"]
    observer.close()

    final = json.loads(server.iot_data().get_thing_shadow(thingName=thing)["payload"].read())
    expected = {f"mqtt{i}": UPDATES_PER_WRITER - 1 for i in range(MQTT_WRITERS)}
    expected |= {f"http{i}": UPDATES_PER_WRITER - 1 for i in range(HTTP_WRITERS)}
    assert final["version"] == total
    assert final["state"]["reported"] == expected


def _has_token(token: str) -> Callable[[Any], bool]:
    return lambda message: json.loads(message.payload).get("clientToken") == token


def _version(message: Any) -> int:
    version = json.loads(message.payload).get("version")
    return version if isinstance(version, int) else -1


def _has_version(version: int) -> Callable[[Any], bool]:
    return lambda message: _version(message) == version


def test_kill_9_during_a_stream_of_updates_leaves_the_last_accepted_shadow(tmp_path: Path) -> None:
    """A crash never leaves a torn shadow: after ``kill -9`` mid-stream and a restart, the shadow is the last
    update the server accepted, or the one in flight when it died (committed but not yet answered), whole."""
    server = make_server(tmp_path).start()
    thing = "crash-bulb"
    acknowledged: list[int] = []
    enough = threading.Event()
    stop = threading.Event()
    failures: list[BaseException] = []

    def writer() -> None:
        client = server.iot_data()
        n = 0
        while not stop.is_set():
            n += 1
            reported = {"a": n, "b": str(n), "c": [n, n], "nested": {"x": n, "y": {"z": n}}}
            try:
                answer = client.update_thing_shadow(
                    thingName=thing, payload=json.dumps({"state": {"reported": reported}}).encode()
                )
            except Exception:
                return  # the server died under this request
            version = json.loads(answer["payload"].read())["version"]
            if version != n:
                failures.append(AssertionError(f"update {n} got version {version}"))
                return
            acknowledged.append(n)
            if n >= 40:
                enough.set()

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        assert enough.wait(120), "the writer made no progress"
        server.stop(signal.SIGKILL)
    finally:
        stop.set()
        thread.join(60)
    assert not failures, failures
    last = acknowledged[-1]

    server.start()
    try:
        shadow = json.loads(server.iot_data().get_thing_shadow(thingName=thing)["payload"].read())
        n = shadow["version"]
        assert n in (last, last + 1), f"last acknowledged {last}, found version {n}"
        assert shadow["state"]["reported"] == {
            "a": n,
            "b": str(n),
            "c": [n, n],
            "nested": {"x": n, "y": {"z": n}},
        }
        # The restarted server goes on from there.
        after = server.iot_data().update_thing_shadow(
            thingName=thing, payload=json.dumps({"state": {"reported": {"a": 0}}}).encode()
        )
        assert json.loads(after["payload"].read())["version"] == n + 1
    finally:
        server.stop()
