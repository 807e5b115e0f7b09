"""Debian's mosquitto_pub and mosquitto_sub (mosquitto-clients 2.0) against Corral, over TLS with client
certificates, as MQTT 3.1.1 and MQTT 5. A mosquitto_sub is known to be subscribed once its lifecycle
``subscribed`` event has been seen, so no test waits on a timer."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
from collections.abc import Iterator

import pytest

from tests.broker.clients import HOST, TIMEOUT, V5, V311, ClientPool, PahoClient, device_for, on_topic, uid
from tests.harness import RunningServer

pytestmark = pytest.mark.skipif(
    shutil.which("mosquitto_sub") is None or shutil.which("mosquitto_pub") is None,
    reason="mosquitto-clients is not installed",
)

PROTOCOL = {V311: "mqttv311", V5: "mqttv5"}
BOTH = pytest.mark.parametrize("version", [V311, V5], ids=["mqtt311", "mqtt5"])
FORMAT = "%r|%q|%t|%p"  # retain flag, QoS, topic, payload


class Mosquitto:
    """Runs mosquitto_pub and mosquitto_sub against one server; kills whatever is left at the end."""

    def __init__(self, server: RunningServer) -> None:
        self.server = server
        self.processes: list[subprocess.Popen[bytes]] = []

    def common(self, client_id: str, version: int) -> list[str]:
        device = device_for(self.server)
        return [
            "-h",
            HOST,
            "-p",
            str(self.server.mqtts_port),
            "--cafile",
            str(self.server.ca_file),
            "--cert",
            str(device.cert_file),
            "--key",
            str(device.key_file),
            "-V",
            PROTOCOL[version],
            "-i",
            client_id,
        ]

    def pub(self, client_id: str, topic: str, *args: str, version: int = V311) -> None:
        done = subprocess.run(
            ["mosquitto_pub", *self.common(client_id, version), "-t", topic, *args],
            capture_output=True,
            timeout=TIMEOUT,
            check=False,
        )
        assert done.returncode == 0, done.stderr.decode()

    def sub(self, client_id: str, *args: str, version: int = V311) -> subprocess.Popen[bytes]:
        process = subprocess.Popen(
            ["mosquitto_sub", *self.common(client_id, version), *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        self.processes.append(process)
        return process

    def output(self, process: subprocess.Popen[bytes]) -> list[str]:
        """Waits for a mosquitto_sub started with -C to exit, and returns its lines."""
        out, err = process.communicate(timeout=TIMEOUT)
        assert process.returncode == 0, err.decode()
        return out.decode().splitlines()

    def close(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.kill()
            process.communicate()


@pytest.fixture
def mosquitto(shared_server: RunningServer) -> Iterator[Mosquitto]:
    runner = Mosquitto(shared_server)
    yield runner
    runner.close()


def subscriptions_watcher(pool: ClientPool, server: RunningServer) -> PahoClient:
    return pool.watcher(server, "$aws/events/subscriptions/subscribed/+")


@BOTH
def test_mosquitto_pub_to_mosquitto_sub(
    shared_server: RunningServer, pool: ClientPool, mosquitto: Mosquitto, version: int
) -> None:
    watcher = subscriptions_watcher(pool, shared_server)
    topic = f"{uid('mosq')}/t"
    sub_id = uid("mosq-sub")
    sub = mosquitto.sub(sub_id, "-t", topic, "-q", "1", "-C", "2", "-F", FORMAT, version=version)
    assert watcher.wait_event("subscribed", sub_id)["topics"] == [topic]

    mosquitto.pub(uid("mosq-pub"), topic, "-m", "hello from mosquitto", "-q", "1", version=version)
    mosquitto.pub(uid("mosq-pub"), topic, "-m", "at qos 0", "-q", "0", version=version)

    assert mosquitto.output(sub) == [f"0|1|{topic}|hello from mosquitto", f"0|0|{topic}|at qos 0"]


@BOTH
def test_mosquitto_and_paho_interoperate(
    shared_server: RunningServer, pool: ClientPool, mosquitto: Mosquitto, version: int
) -> None:
    watcher = subscriptions_watcher(pool, shared_server)
    base = uid("mosq-paho")
    paho = pool.connected(shared_server, uid("paho"), version=V5 if version == V311 else V311)
    assert paho.subscribe(f"{base}/from-mosquitto") == [1]
    sub_id = uid("mosq-sub")
    sub = mosquitto.sub(
        sub_id, "-t", f"{base}/from-paho", "-q", "1", "-C", "1", "-F", FORMAT, version=version
    )
    watcher.wait_event("subscribed", sub_id)

    paho.publish(f"{base}/from-paho", b"paho says hi", qos=1)
    mosquitto.pub(
        uid("mosq-pub"), f"{base}/from-mosquitto", "-m", "mosquitto says hi", "-q", "1", version=version
    )

    assert mosquitto.output(sub) == [f"0|1|{base}/from-paho|paho says hi"]
    assert paho.wait_for(on_topic(f"{base}/from-mosquitto")).payload == b"mosquitto says hi"


@BOTH
def test_mosquitto_retained_messages(
    shared_server: RunningServer, pool: ClientPool, mosquitto: Mosquitto, version: int
) -> None:
    watcher = subscriptions_watcher(pool, shared_server)
    topic = f"{uid('mosq-retained')}/state"
    mosquitto.pub(uid("mosq-pub"), topic, "-m", "kept", "-q", "1", "-r", version=version)

    late = mosquitto.sub(uid("mosq-late"), "-t", topic, "-q", "1", "-C", "1", "-F", FORMAT, version=version)
    assert mosquitto.output(late) == [f"1|1|{topic}|kept"]

    mosquitto.pub(uid("mosq-pub"), topic, "-n", "-q", "1", "-r", version=version)  # zero bytes: delete
    sub_id = uid("mosq-after")
    after = mosquitto.sub(sub_id, "-t", topic, "-q", "1", "-C", "1", "-F", FORMAT, version=version)
    watcher.wait_event("subscribed", sub_id)
    mosquitto.pub(uid("mosq-pub"), topic, "-m", "marker", "-q", "1", version=version)
    assert mosquitto.output(after) == [f"0|1|{topic}|marker"]


@BOTH
def test_mosquitto_sub_reads_lifecycle_events(
    shared_server: RunningServer, pool: ClientPool, mosquitto: Mosquitto, version: int
) -> None:
    watcher = subscriptions_watcher(pool, shared_server)
    device_id = uid("mosq-device")
    sub_id = uid("mosq-events")
    events = mosquitto.sub(
        sub_id, "-t", f"$aws/events/presence/+/{device_id}", "-C", "2", "-F", "%t|%p", version=version
    )
    watcher.wait_event("subscribed", sub_id)

    mosquitto.pub(device_id, f"{uid('mosq')}/t", "-m", "x", version=version)

    lines = mosquitto.output(events)
    topics = [line.split("|", 1)[0] for line in lines]
    bodies = [json.loads(line.split("|", 1)[1]) for line in lines]
    assert topics == [
        f"$aws/events/presence/connected/{device_id}",
        f"$aws/events/presence/disconnected/{device_id}",
    ]
    assert [(b["clientId"], b["eventType"]) for b in bodies] == [
        (device_id, "connected"),
        (device_id, "disconnected"),
    ]
    assert bodies[0]["principalIdentifier"] == device_for(shared_server).certificate_id
    assert bodies[1]["disconnectReason"] == "CLIENT_INITIATED_DISCONNECT"


@BOTH
def test_killed_mosquitto_sub_sends_its_will(
    shared_server: RunningServer, pool: ClientPool, mosquitto: Mosquitto, version: int
) -> None:
    watcher = subscriptions_watcher(pool, shared_server)
    will_topic = f"{uid('mosq-will')}/status"
    assert watcher.subscribe(will_topic) == [1]
    sub_id = uid("mosq-doomed")
    doomed = mosquitto.sub(
        sub_id,
        "-t",
        f"{uid('mosq')}/t",
        "--will-topic",
        will_topic,
        "--will-payload",
        "mosquitto died",
        "--will-qos",
        "1",
        version=version,
    )
    watcher.wait_event("subscribed", sub_id)

    doomed.send_signal(signal.SIGKILL)

    assert watcher.wait_for(on_topic(will_topic)).payload == b"mosquitto died"
