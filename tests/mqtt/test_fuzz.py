"""Property-based tests: hostile bytes never escape as anything but MQTTProtocolError, and generated
PUBLISH and SUBSCRIBE packets survive encode -> parse unchanged."""

from __future__ import annotations

from dataclasses import replace
from itertools import pairwise

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from corral.mqtt.codec import encode
from corral.mqtt.errors import MQTTProtocolError
from corral.mqtt.packets import Packet, Publish, Subscribe, Subscription
from corral.mqtt.parser import MQTTParser
from corral.mqtt.properties import Properties
from tests.mqtt.fixtures import ALL_FIXTURES
from tests.mqtt.helpers import CONNECT_BYTES, server_parser

_FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _chunks(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts})
    edges = [0, *points, len(data)]
    return [data[a:b] for a, b in pairwise(edges)]


def _feed_all(parser: MQTTParser, chunks: list[bytes]) -> None:
    """Feed every chunk; only packets, empty lists or MQTTProtocolError may come out."""
    for chunk in chunks:
        try:
            packets = parser.feed(chunk)
        except MQTTProtocolError:
            assert parser.dead
            return
        assert isinstance(packets, list)
        for packet in packets:
            assert isinstance(packet, Packet)


_cuts = st.lists(st.integers(min_value=0, max_value=10_000), max_size=8)


@_FUZZ
@given(data=st.binary(max_size=300), cuts=_cuts)
def test_arbitrary_bytes(data: bytes, cuts: list[int]) -> None:
    _feed_all(MQTTParser(), _chunks(data, cuts))


@_FUZZ
@given(version=st.sampled_from([4, 5]), data=st.binary(max_size=300), cuts=_cuts)
def test_arbitrary_bytes_after_connect(version: int, data: bytes, cuts: list[int]) -> None:
    _feed_all(MQTTParser(), _chunks(CONNECT_BYTES[version] + data, cuts))


@_FUZZ
@given(version=st.sampled_from([4, 5]), data=st.binary(max_size=300), cuts=_cuts)
def test_arbitrary_bytes_to_a_client(version: int, data: bytes, cuts: list[int]) -> None:
    _feed_all(MQTTParser(server_side=False, protocol_version=version), _chunks(data, cuts))


_fixture_streams = st.sampled_from(ALL_FIXTURES).map(lambda f: (f.version, f.data))


@_FUZZ
@given(
    fixture=_fixture_streams,
    flips=st.lists(st.tuples(st.integers(min_value=0), st.integers(min_value=1, max_value=255)), max_size=4),
    cuts=_cuts,
)
def test_mutated_fixtures(fixture: tuple[int, bytes], flips: list[tuple[int, int]], cuts: list[int]) -> None:
    # Valid packets with a few bytes changed reach deep into the decoders, where random bytes rarely go.
    version, data = fixture
    mutated = bytearray(data)
    for where, mask in flips:
        mutated[where % len(mutated)] ^= mask
    stream = CONNECT_BYTES[version] + bytes(mutated)
    _feed_all(MQTTParser(), _chunks(stream, cuts))
    _feed_all(MQTTParser(server_side=False, protocol_version=version), _chunks(bytes(mutated), cuts))


# --- round trips ------------------------------------------------------------------------------------------

_text = st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=20)
_topic_name = st.text(st.characters(codec="utf-8", exclude_characters="\x00+#"), min_size=1, max_size=30)
_u16 = st.integers(min_value=1, max_value=0xFFFF)

_publish_properties = st.one_of(
    st.none(),
    st.builds(
        Properties,
        payload_format_indicator=st.none() | st.integers(0, 1),
        message_expiry_interval=st.none() | st.integers(0, 0xFFFFFFFF),
        content_type=st.none() | _text,
        response_topic=st.none() | _topic_name,
        correlation_data=st.none() | st.binary(max_size=20),
        subscription_identifiers=st.lists(st.integers(1, 268_435_455), max_size=3),
        topic_alias=st.none() | _u16,
        user_properties=st.lists(st.tuples(_text, _text), max_size=3),
    ),
)


@st.composite
def _publishes(draw: st.DrawFn) -> tuple[int, Publish]:
    version = draw(st.sampled_from([4, 5]))
    qos = draw(st.integers(0, 2))
    props = draw(_publish_properties) if version == 5 else None
    if props == Properties():
        props = None  # an empty block decodes to None
    return version, Publish(
        topic=draw(_topic_name),
        payload=draw(st.binary(max_size=400)),
        qos=qos,
        retain=draw(st.booleans()),
        dup=draw(st.booleans()) if qos else False,
        packet_id=draw(_u16) if qos else None,
        properties=props,
    )


@settings(max_examples=200, deadline=None)
@given(case=_publishes(), cuts=_cuts)
def test_publish_round_trip(case: tuple[int, Publish], cuts: list[int]) -> None:
    version, publish = case
    data = encode(publish, version)
    parser = server_parser(version)
    out = [p for chunk in _chunks(data, cuts) for p in parser.feed(chunk)]
    assert out == [replace(publish, raw=data)]


_filter = st.text(st.characters(codec="utf-8", exclude_characters="\x00"), min_size=1, max_size=30)


@st.composite
def _subscribes(draw: st.DrawFn) -> tuple[int, Subscribe]:
    version = draw(st.sampled_from([4, 5]))
    subs = []
    for _ in range(draw(st.integers(1, 4))):
        if version == 5:
            sub = Subscription(
                draw(_filter),
                draw(st.integers(0, 2)),
                draw(st.booleans()),
                draw(st.booleans()),
                draw(st.integers(0, 2)),
            )
        else:
            sub = Subscription(draw(_filter), draw(st.integers(0, 2)))
        subs.append(sub)
    props = Properties()
    if version == 5:
        props = draw(
            st.builds(
                Properties,
                subscription_identifiers=st.lists(st.integers(1, 268_435_455), max_size=1),
                user_properties=st.lists(st.tuples(_text, _text), max_size=2),
            )
        )
    return version, Subscribe(draw(_u16), subs, props)


@settings(max_examples=200, deadline=None)
@given(case=_subscribes(), cuts=_cuts)
def test_subscribe_round_trip(case: tuple[int, Subscribe], cuts: list[int]) -> None:
    version, subscribe = case
    data = encode(subscribe, version)
    parser = server_parser(version)
    out = [p for chunk in _chunks(data, cuts) for p in parser.feed(chunk)]
    assert out == [subscribe]


@settings(max_examples=50, deadline=None)
@given(cases=st.lists(_publishes(), min_size=1, max_size=10), version=st.sampled_from([4, 5]), cuts=_cuts)
def test_many_publishes_in_one_stream(
    cases: list[tuple[int, Publish]], version: int, cuts: list[int]
) -> None:
    publishes = [p if version == 5 else replace(p, properties=None) for _, p in cases]
    encoded = [encode(p, version) for p in publishes]
    parser = MQTTParser()
    out = [
        p for chunk in _chunks(CONNECT_BYTES[version] + b"".join(encoded), cuts) for p in parser.feed(chunk)
    ]
    assert out[1:] == [replace(p, raw=raw) for p, raw in zip(publishes, encoded, strict=True)]
