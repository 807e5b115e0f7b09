"""AWS IoT Core's message broker limits, one test each, against a real ``corral serve``.

Defaults are AWS's (``corral/broker/limits.py``, docs/broker.md §8). Clients are raw (``rawmqtt``) so every
CONNACK, SUBACK, PUBACK and DISCONNECT is seen exactly as sent. Synchronization is by acknowledgements and by
PINGREQ/PINGRESP barriers: the server answers packets of one connection in order, so the packets that arrive
before a PINGRESP are all that the server had for the client when it handled the PINGREQ.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from corral.mqtt.packets import Connack, Disconnect, Packet, Puback, Publish
from corral.mqtt.properties import Properties
from tests.broker.rawmqtt import MQTT_3_1_1, MQTT_5, RawClient
from tests.harness import DeviceCertificate, RunningServer, make_server, serving

VERSIONS = pytest.mark.parametrize("version", [MQTT_3_1_1, MQTT_5], ids=["mqtt311", "mqtt5"])
SUBACK_FAILURE = {MQTT_3_1_1: 0x80, MQTT_5: 0x97}  # quota refusals: 3.1.1 failure, 5.0 Quota exceeded
TOPIC_FILTER_INVALID = {MQTT_3_1_1: 0x80, MQTT_5: 0x8F}
MAX_PAYLOAD = 128 * 1024

Connector = Callable[..., RawClient]


@pytest.fixture(scope="module")
def device(shared_server: RunningServer) -> DeviceCertificate:
    return shared_server.issue_certificate("limits-device")


@pytest.fixture
def connect(shared_server: RunningServer, device: DeviceCertificate) -> Iterator[Connector]:
    """Connects raw clients to the shared server over TLS; all are closed when the test ends."""
    clients: list[RawClient] = []

    def factory(client_id: str, version: int = MQTT_3_1_1, **kwargs: Any) -> RawClient:
        client = RawClient.connected(shared_server, device, client_id, version=version, **kwargs)
        clients.append(client)
        return client

    yield factory
    for client in clients:
        client.close()


@pytest.fixture
def opened(shared_server: RunningServer, device: DeviceCertificate) -> Iterator[Callable[[int], RawClient]]:
    """Opens TLS connections that have not sent CONNECT yet."""
    clients: list[RawClient] = []

    def factory(version: int) -> RawClient:
        client = RawClient.open(shared_server, device, version=version)
        clients.append(client)
        return client

    yield factory
    for client in clients:
        client.close()


def publishes(packets: list[Packet]) -> list[Publish]:
    out = [p for p in packets if isinstance(p, Publish)]
    assert len(out) == len(packets), (
        f"unexpected packets: {[p for p in packets if not isinstance(p, Publish)]}"
    )
    return out


def assert_closed_without(client: RawClient, kinds: tuple[type, ...] = (Puback,)) -> list[Packet]:
    packets = client.expect_closed()
    assert not [p for p in packets if isinstance(p, kinds)], packets
    return packets


def assert_disconnected_with(client: RawClient, reason: int) -> None:
    packets = client.expect_closed()
    assert packets, "closed without a DISCONNECT"
    last = packets[-1]
    assert isinstance(last, Disconnect), packets
    assert last.reason_code == reason, f"DISCONNECT 0x{last.reason_code:02X}, expected 0x{reason:02X}"


# -- client identifiers ----------------------------------------------------------------------------------


@VERSIONS
@pytest.mark.parametrize("client_id", ["x" * 129, "é" * 65], ids=["129-ascii", "130-bytes-65-chars"])
def test_client_id_longer_than_128_bytes_is_refused(
    opened: Callable[[int], RawClient], version: int, client_id: str
) -> None:
    client = opened(version)
    connack = client.connect(client_id)
    assert connack.reason_code == (0x85 if version == MQTT_5 else 0x02)
    client.expect_closed()


@VERSIONS
@pytest.mark.parametrize("client_id", ["y" * 128, "ü" * 64], ids=["128-ascii", "128-bytes-64-chars"])
def test_client_id_of_exactly_128_bytes_is_accepted(connect: Connector, version: int, client_id: str) -> None:
    client = connect(client_id, version)
    assert client.connack is not None and client.connack.reason_code == 0
    assert client.subscribe("limits/id128") == [1]


def test_empty_client_id_mqtt5_gets_an_assigned_client_identifier(connect: Connector) -> None:
    first = connect("", MQTT_5)
    second = connect("", MQTT_5)
    assert first.connack is not None and second.connack is not None
    assigned = first.connack.properties.assigned_client_identifier
    assert assigned, first.connack
    assert len(assigned.encode()) <= 128
    assert assigned != second.connack.properties.assigned_client_identifier
    # The connection works under that identity.
    assert first.subscribe("limits/assigned") == [1]
    assert first.publish_acked("limits/assigned", b"me").reason_code == 0
    assert first.recv_type(Publish).payload == b"me"


def test_empty_client_id_mqtt311_clean_session_is_accepted(connect: Connector) -> None:
    client = connect("", MQTT_3_1_1, clean_start=True)
    assert client.connack is not None and client.connack.session_present is False
    assert client.subscribe("limits/anonymous-id") == [1]


def test_empty_client_id_mqtt311_persistent_session_is_refused(opened: Callable[[int], RawClient]) -> None:
    client = opened(MQTT_3_1_1)
    connack = client.connect("", clean_start=False)
    assert connack.reason_code == 0x02  # identifier rejected
    client.expect_closed()


# -- topic size and depth --------------------------------------------------------------------------------

LONG_TOPIC = "t/" + "x" * 255  # 257 bytes
LONGEST_TOPIC = "t/" + "x" * 254  # 256 bytes
LONG_MULTIBYTE_TOPIC = "t/" + "é" * 128  # 130 characters, 258 bytes


def test_topic_of_256_bytes_is_accepted(connect: Connector) -> None:
    client = connect("limits-topic-256", MQTT_5)
    assert client.subscribe(LONGEST_TOPIC) == [1]
    assert client.publish_acked(LONGEST_TOPIC, b"fits").reason_code == 0
    message = client.recv_type(Publish)
    assert (message.topic, message.payload) == (LONGEST_TOPIC, b"fits")


@pytest.mark.parametrize("topic", [LONG_TOPIC, LONG_MULTIBYTE_TOPIC], ids=["257-ascii", "258-bytes"])
def test_publish_to_topic_over_256_bytes_mqtt311_is_disconnected(connect: Connector, topic: str) -> None:
    client = connect("limits-topic-long-311")
    client.publish(topic, b"too long", qos=1)
    assert_closed_without(client)


@pytest.mark.parametrize("topic", [LONG_TOPIC, LONG_MULTIBYTE_TOPIC], ids=["257-ascii", "258-bytes"])
def test_publish_to_topic_over_256_bytes_mqtt5_gets_puback_topic_name_invalid(
    connect: Connector, topic: str
) -> None:
    client = connect("limits-topic-long-5", MQTT_5)
    assert client.publish_acked(topic, b"too long").reason_code == 0x90
    assert client.ping() == []  # still connected


@VERSIONS
def test_subscribe_filter_over_256_bytes_is_refused(connect: Connector, version: int) -> None:
    client = connect(f"limits-filter-long-{version}", version)
    assert client.subscribe(LONG_TOPIC, LONGEST_TOPIC) == [TOPIC_FILTER_INVALID[version], 1]


SEVEN_SLASHES = "a/b/c/d/e/f/g/h"
EIGHT_SLASHES = "a/b/c/d/e/f/g/h/i"
TOO_DEEP = pytest.mark.parametrize(
    "topic", [EIGHT_SLASHES, SEVEN_SLASHES + "/"], ids=["eight-levels", "trailing-slash"]
)


@VERSIONS
def test_topic_with_seven_slashes_is_accepted(connect: Connector, version: int) -> None:
    client = connect(f"limits-depth7-{version}", version)
    assert client.subscribe(SEVEN_SLASHES, "a/+/c/d/e/f/g/#") == [1, 1]
    assert client.publish_acked(SEVEN_SLASHES, b"deep").reason_code == 0
    message = client.recv_type(Publish)
    assert (message.topic, message.payload) == (SEVEN_SLASHES, b"deep")


@pytest.mark.parametrize(
    "topic", [EIGHT_SLASHES, SEVEN_SLASHES + "/"], ids=["eight-levels", "trailing-slash"]
)
def test_publish_to_topic_with_eight_slashes_mqtt311_is_disconnected(connect: Connector, topic: str) -> None:
    client = connect("limits-depth8-311")
    client.publish(topic, b"too deep", qos=1)
    assert_closed_without(client)


@pytest.mark.parametrize(
    "topic", [EIGHT_SLASHES, SEVEN_SLASHES + "/"], ids=["eight-levels", "trailing-slash"]
)
def test_publish_to_topic_with_eight_slashes_mqtt5_gets_puback_topic_name_invalid(
    connect: Connector, topic: str
) -> None:
    client = connect("limits-depth8-5", MQTT_5)
    assert client.publish_acked(topic, b"too deep").reason_code == 0x90
    assert client.ping() == []


@VERSIONS
def test_subscribe_filter_with_eight_slashes_is_refused(connect: Connector, version: int) -> None:
    client = connect(f"limits-filter-depth8-{version}", version)
    assert client.subscribe(EIGHT_SLASHES, "a/b/c/d/e/f/g/+/#", SEVEN_SLASHES) == [
        TOPIC_FILTER_INVALID[version],
        TOPIC_FILTER_INVALID[version],
        1,
    ]


@VERSIONS
def test_basic_ingest_prefix_does_not_count_toward_the_slash_limit(connect: Connector, version: int) -> None:
    client = connect(f"limits-ingest-{version}", version)
    # Seven slashes after "$aws/rules/r/" (eleven in all): accepted.
    assert client.publish_acked("$aws/rules/r/a/b/c/d/e/f/g/h", b"{}").reason_code == 0
    assert client.ping() == []  # Basic Ingest goes to the rule only, never to subscribers
    if version == MQTT_5:
        assert client.publish_acked("$aws/rules/r/a/b/c/d/e/f/g/h/i", b"{}").reason_code == 0x90
    else:
        client.publish("$aws/rules/r/a/b/c/d/e/f/g/h/i", b"{}", qos=1)
        assert_closed_without(client)


# -- payload size ----------------------------------------------------------------------------------------


@VERSIONS
def test_payload_of_128_kib_is_delivered(connect: Connector, version: int) -> None:
    topic = f"limits/payload/max/{version}"
    subscriber = connect(f"limits-payload-sub-{version}", version)
    publisher = connect(f"limits-payload-pub-{version}", version)
    assert subscriber.subscribe(topic) == [1]
    payload = bytes(range(256)) * (MAX_PAYLOAD // 256)
    assert len(payload) == 131072
    assert publisher.publish_acked(topic, payload).reason_code == 0
    message = subscriber.recv_type(Publish)
    assert message.topic == topic
    assert message.payload == payload


@VERSIONS
def test_payload_over_128_kib_closes_the_connection(connect: Connector, version: int) -> None:
    topic = f"limits/payload/over/{version}"
    subscriber = connect(f"limits-payload-over-sub-{version}", version)
    publisher = connect(f"limits-payload-over-pub-{version}", version)
    assert subscriber.subscribe(topic) == [1]
    publisher.publish(topic, b"\x00" * (MAX_PAYLOAD + 1), qos=1)
    if version == MQTT_5:
        assert_disconnected_with(publisher, 0x95)  # Packet too large
    else:
        assert_closed_without(publisher)
    assert subscriber.ping() == []  # nothing was delivered


# -- subscriptions ---------------------------------------------------------------------------------------


@VERSIONS
def test_more_than_eight_filters_in_one_subscribe(connect: Connector, version: int) -> None:
    client = connect(f"limits-filters-{version}", version)
    base = f"limits/filters/{version}"
    filters = [f"{base}/{i}" for i in range(10)]
    codes = client.subscribe(*filters)
    assert codes == [1] * 8 + [SUBACK_FAILURE[version]] * 2
    # The first eight are live, the ninth and tenth are not.
    for i in (7, 8, 9):
        client.publish(f"{base}/{i}", str(i).encode(), qos=0)
    received = publishes(client.ping())
    assert [(m.topic, m.payload) for m in received] == [(f"{base}/7", b"7")]


@VERSIONS
def test_fifty_first_subscription_of_a_session_is_refused(connect: Connector, version: int) -> None:
    client = connect(f"limits-subs-{version}", version)
    base = f"limits/subs/{version}"
    filters = [f"{base}/{i}" for i in range(50)]
    for start in range(0, 50, 8):
        batch = filters[start : start + 8]
        assert client.subscribe(*batch) == [1] * len(batch)
    assert client.subscribe(f"{base}/50") == [SUBACK_FAILURE[version]]


# -- in-flight window ------------------------------------------------------------------------------------


def _publish_acked(publisher: RawClient, topic: str, indexes: range, size: int = 16) -> None:
    """Pipelines QoS 1 publishes (payload: the index, padded to ``size``) and waits for every PUBACK."""
    pids = {publisher.publish(topic, str(i).encode().ljust(size, b"."), qos=1) for i in indexes}
    while pids:
        puback = publisher.wait_for(Puback)
        assert puback.reason_code == 0
        pids.remove(puback.packet_id)


def _index(message: Publish) -> int:
    return int(message.payload.rstrip(b"."))


@VERSIONS
def test_at_most_100_unacknowledged_qos1_deliveries(connect: Connector, version: int) -> None:
    topic = f"limits/inflight/{version}"
    subscriber = connect(f"limits-inflight-sub-{version}", version)
    publisher = connect(f"limits-inflight-pub-{version}", version)
    assert subscriber.subscribe(topic) == [1]

    _publish_acked(publisher, topic, range(150))
    first = publishes(subscriber.ping())
    assert len(first) == 100
    assert all(m.qos == 1 for m in first)
    assert len({m.packet_id for m in first}) == 100

    for message in first:
        assert message.packet_id is not None
        subscriber.send(Puback(message.packet_id))
    rest = [subscriber.recv_type(Publish) for _ in range(50)]
    assert publishes(subscriber.ping()) == []
    for message in rest:
        assert message.packet_id is not None
        subscriber.send(Puback(message.packet_id))
    assert sorted(_index(m) for m in first + rest) == list(range(150))


def test_mqtt5_client_receive_maximum_below_100_is_honoured(connect: Connector) -> None:
    topic = "limits/receive-maximum"
    subscriber = connect("limits-rm-sub", MQTT_5, properties=Properties(receive_maximum=10))
    publisher = connect("limits-rm-pub", MQTT_5)
    assert subscriber.subscribe(topic) == [1]
    _publish_acked(publisher, topic, range(15))
    first = publishes(subscriber.ping())
    assert len(first) == 10
    for message in first:
        assert message.packet_id is not None
        subscriber.send(Puback(message.packet_id))
    rest = [subscriber.recv_type(Publish) for _ in range(5)]
    assert sorted(_index(m) for m in first + rest) == list(range(15))


def test_mqtt5_client_receive_maximum_applies_to_resent_deliveries_after_reconnect(
    connect: Connector,
) -> None:
    topic = "limits/receive-maximum/resume"
    persistent = Properties(session_expiry_interval=300)
    subscriber = connect("limits-rm-resume", MQTT_5, properties=persistent)
    publisher = connect("limits-rm-resume-pub", MQTT_5)
    assert subscriber.subscribe(topic) == [1]
    _publish_acked(publisher, topic, range(20))
    assert len(publishes(subscriber.ping())) == 20  # 20 unacknowledged deliveries
    subscriber.close()  # connection lost, session kept

    resumed = connect(
        "limits-rm-resume",
        MQTT_5,
        clean_start=False,
        properties=Properties(session_expiry_interval=0, receive_maximum=5),
    )
    assert resumed.connack is not None and resumed.connack.session_present is True
    window = publishes(resumed.ping())
    assert len(window) == 5, f"{len(window)} unacknowledged PUBLISHes for a Receive Maximum of 5"
    seen = list(window)
    while len(seen) < 20:
        for message in window:
            assert message.packet_id is not None
            resumed.send(Puback(message.packet_id))
        window = publishes(resumed.ping())
        assert 0 < len(window) <= 5
        seen += window
    assert sorted(_index(m) for m in seen) == list(range(20))


def test_mqtt5_client_maximum_packet_size_is_honoured(connect: Connector) -> None:
    topic = "limits/client-max-packet"
    subscriber = connect("limits-cmps-sub", MQTT_5, properties=Properties(maximum_packet_size=512))
    publisher = connect("limits-cmps-pub", MQTT_5)
    assert subscriber.subscribe(topic) == [1]
    assert publisher.publish_acked(topic, b"L" * 1024).reason_code == 0  # too big for the subscriber
    assert publisher.publish_acked(topic, b"small").reason_code == 0
    received = publishes(subscriber.ping())
    assert [m.payload for m in received] == [b"small"]


# -- keep alive and CONNACK properties -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("requested", "server_keep_alive"),
    [(5, 30), (29, 30), (0, 1200), (5000, 1200), (30, None), (1200, None)],
)
def test_mqtt5_server_keep_alive(connect: Connector, requested: int, server_keep_alive: int | None) -> None:
    client = connect(f"limits-keepalive-{requested}", MQTT_5, keep_alive=requested)
    assert client.connack is not None
    assert client.connack.properties.server_keep_alive == server_keep_alive


def test_mqtt5_connack_properties(connect: Connector) -> None:
    client = connect("limits-connack", MQTT_5)
    connack = client.connack
    assert isinstance(connack, Connack)
    props = connack.properties
    assert props.maximum_qos == 1
    assert props.retain_available == 1
    assert props.receive_maximum == 100
    assert props.topic_alias_maximum == 8
    assert props.wildcard_subscription_available == 1
    assert props.subscription_identifier_available == 0
    assert props.shared_subscription_available == 0
    assert props.maximum_packet_size is not None
    # A maximum-size payload on a maximum-size topic must fit.
    assert props.maximum_packet_size >= MAX_PAYLOAD + 256 + 2 + 2 + 5
    assert props.assigned_client_identifier is None


# -- topic aliases ---------------------------------------------------------------------------------------


def test_topic_alias_set_then_used(connect: Connector) -> None:
    topic = "limits/alias/target"
    subscriber = connect("limits-alias-sub", MQTT_5)
    publisher = connect("limits-alias-pub", MQTT_5)
    assert subscriber.subscribe(topic) == [1]
    assert publisher.publish_acked(topic, b"one", properties=Properties(topic_alias=1)).reason_code == 0
    assert publisher.publish_acked("", b"two", properties=Properties(topic_alias=1)).reason_code == 0
    assert publisher.publish_acked(topic, b"three", properties=Properties(topic_alias=8)).reason_code == 0
    received = [subscriber.recv_type(Publish) for _ in range(3)]
    assert [(m.topic, m.payload) for m in received] == [(topic, b"one"), (topic, b"two"), (topic, b"three")]
    # The subscriber announced no Topic Alias Maximum, so deliveries carry none.
    assert all(m.properties is None or m.properties.topic_alias is None for m in received)


@pytest.mark.parametrize("alias", [9, 0])
def test_topic_alias_out_of_range_is_disconnected(connect: Connector, alias: int) -> None:
    client = connect(f"limits-alias-bad-{alias}", MQTT_5)
    # Built by hand, as our encoder refuses alias 0: QoS 1, topic, packet id 1, Topic Alias, payload.
    topic = b"limits/alias/bad"
    body = len(topic).to_bytes(2, "big") + topic + b"\x00\x01" + b"\x03\x23" + alias.to_bytes(2, "big") + b"x"
    client.send_bytes(bytes((0x32, len(body))) + body)
    assert_disconnected_with(client, 0x94)  # Topic Alias invalid


def test_topic_alias_never_set_is_a_protocol_error(connect: Connector) -> None:
    client = connect("limits-alias-unset", MQTT_5)
    client.publish("", b"x", qos=1, properties=Properties(topic_alias=2))
    assert_disconnected_with(client, 0x82)


# -- session expiry --------------------------------------------------------------------------------------

TUNED_LIMITS = """\
[limits]
queued_messages_max = 200
session_expiry_max = 7200
"""


@pytest.fixture(scope="module")
def tuned_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    yield from serving(make_server(tmp_path_factory.mktemp("tuned"), config_toml=TUNED_LIMITS))


@pytest.fixture(scope="module")
def tuned_device(tuned_server: RunningServer) -> DeviceCertificate:
    return tuned_server.issue_certificate("tuned-device")


@pytest.mark.parametrize(("requested", "granted"), [(0xFFFFFFFF, 7200), (100_000, 7200), (60, None)])
def test_session_expiry_is_clamped_to_the_configured_maximum(
    tuned_server: RunningServer, tuned_device: DeviceCertificate, requested: int, granted: int | None
) -> None:
    with RawClient.connected(
        tuned_server,
        tuned_device,
        f"limits-expiry-{requested}",
        version=MQTT_5,
        properties=Properties(session_expiry_interval=requested),
    ) as client:
        assert client.connack is not None
        # The CONNACK carries the interval only when the server changed it.
        assert client.connack.properties.session_expiry_interval == granted
        client.disconnect()


def test_session_expiry_default_maximum_is_one_hour(connect: Connector) -> None:
    # AWS's "Persistent session expiry period" quota: 1 hour unless the account raised it.
    client = connect(
        "limits-expiry-default", MQTT_5, properties=Properties(session_expiry_interval=0xFFFFFFFF)
    )
    assert client.connack is not None
    assert client.connack.properties.session_expiry_interval == 3600
    client.send(Disconnect(properties=Properties(session_expiry_interval=0)))


# -- slow consumers --------------------------------------------------------------------------------------

BIG = 64 * 1024


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def test_qos0_subscriber_that_never_reads_does_not_stall_others_or_grow_memory(
    server_factory: Callable[..., RunningServer],
) -> None:
    server = server_factory()
    device = server.issue_certificate("backpressure")
    topic = "limits/backpressure/qos0"
    count, batch = 480, 8  # 30 MiB in 64 KiB messages
    with contextlib.ExitStack() as stack:
        slow = stack.enter_context(RawClient.connected(server, device, "bp0-slow", rcvbuf=16 * 1024))
        normal = stack.enter_context(RawClient.connected(server, device, "bp0-normal"))
        publisher = stack.enter_context(RawClient.connected(server, device, "bp0-publisher"))
        assert slow.subscribe(topic, qos=0) == [0]
        assert normal.subscribe(topic, qos=0) == [0]
        rss_before = _rss_kib(server.pid)

        for start in range(0, count, batch):
            for i in range(start, start + batch):
                publisher.publish(topic, i.to_bytes(4, "big") + b"\xa5" * (BIG - 4))
            for i in range(start, start + batch):
                message = normal.recv_type(Publish)
                assert message.topic == topic
                assert int.from_bytes(message.payload[:4], "big") == i
                assert len(message.payload) == BIG
        assert publisher.ping() == []
        assert normal.ping() == []
        growth_mib = (_rss_kib(server.pid) - rss_before) / 1024
        assert growth_mib < 50, f"server RSS grew by {growth_mib:.0f} MiB"

        # Now read the slow subscriber: the server kept only a bounded backlog for it and dropped the rest.
        backlog = publishes(slow.ping(timeout=30))
        assert 0 < len(backlog) < count // 2, f"{len(backlog)} of {count} messages were buffered"
        indexes = [int.from_bytes(m.payload[:4], "big") for m in backlog]
        assert indexes == sorted(indexes)
    # The drops are counted where an operator can see them.
    health = httpx.get(f"http://127.0.0.1:{server.http_port}/health", timeout=10).json()
    assert health["dropped_qos0"] >= count - len(backlog)


def test_qos1_subscriber_that_never_reads_is_disconnected_while_others_continue(
    tuned_server: RunningServer, tuned_device: DeviceCertificate
) -> None:
    topic = "limits/backpressure/qos1"
    count, batch = 400, 50  # over 100 in flight + 200 queued (queued_messages_max = 200)
    with contextlib.ExitStack() as stack:
        slow = stack.enter_context(
            RawClient.connected(tuned_server, tuned_device, "bp1-slow", version=MQTT_5, rcvbuf=16 * 1024)
        )
        normal = stack.enter_context(RawClient.connected(tuned_server, tuned_device, "bp1-normal"))
        publisher = stack.enter_context(RawClient.connected(tuned_server, tuned_device, "bp1-publisher"))
        assert slow.subscribe(topic) == [1]
        assert normal.subscribe(topic) == [1]

        received: list[int] = []
        for start in range(0, count, batch):
            _publish_acked(publisher, topic, range(start, start + batch), size=1024)
            for _ in range(batch):
                message = normal.recv_type(Publish)
                assert message.packet_id is not None
                normal.send(Puback(message.packet_id))
                received.append(_index(message))
        assert received == list(range(count))
        assert publisher.ping() == []
        assert normal.ping() == []

        packets = slow.expect_closed(timeout=30)
        delivered = [p for p in packets if isinstance(p, Publish)]
        assert len(delivered) <= 100
        assert isinstance(packets[-1], Disconnect), packets[-1]
        assert packets[-1].reason_code == 0x97  # Quota exceeded
