"""Topic names and filters against AWS IoT's quotas, the subscription trie, and AWS's matching rules."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from corral.broker.limits import Limits
from corral.broker.session import SubscriptionOptions, merge_options
from corral.broker.topics import (
    SubscriptionTrie,
    TopicError,
    filter_matches,
    validate_topic_filter,
    validate_topic_name,
)

LIMITS = Limits()
Validator = Callable[[str, Limits], None]


def _keep_last(a: int, b: int) -> int:
    return b


def _max(a: int, b: int) -> int:
    return max(a, b)


def _ids(matches: list[tuple[str, int]]) -> set[str]:
    return {client_id for client_id, _ in matches}


# ------------------------------------------------------------------------------------------ validation


def test_topic_error_is_a_value_error() -> None:
    assert issubclass(TopicError, ValueError)


@pytest.mark.parametrize("validate", [validate_topic_name, validate_topic_filter])
def test_empty_is_refused(validate: Validator) -> None:
    with pytest.raises(TopicError, match="empty"):
        validate("", LIMITS)


@pytest.mark.parametrize("validate", [validate_topic_name, validate_topic_filter])
def test_length_is_counted_in_utf8_bytes(validate: Validator) -> None:
    validate("a" * 256, LIMITS)
    with pytest.raises(TopicError, match="256 bytes"):
        validate("a" * 257, LIMITS)
    validate("é" * 128, LIMITS)  # 128 characters, 256 bytes
    with pytest.raises(TopicError, match="bytes"):
        validate("é" * 129, LIMITS)  # 129 characters, 258 bytes
    with pytest.raises(TopicError):
        validate("€" * 86, LIMITS)  # 86 characters, 258 bytes


def test_length_limit_is_configurable() -> None:
    small = Limits(topic_max_bytes=4)
    validate_topic_name("abcd", small)
    with pytest.raises(TopicError):
        validate_topic_name("abcde", small)


@pytest.mark.parametrize("validate", [validate_topic_name, validate_topic_filter])
def test_slash_quota(validate: Validator) -> None:
    validate("/".join("abcdefgh"), LIMITS)  # 7 slashes
    with pytest.raises(TopicError, match="forward slashes"):
        validate("/".join("abcdefghi"), LIMITS)  # 8 slashes
    validate("a/b/c/d/e/f/g/", LIMITS)  # empty last level still counts as 7
    with pytest.raises(TopicError):
        validate("/a/b/c/d/e/f/g/", LIMITS)


@pytest.mark.parametrize("validate", [validate_topic_name, validate_topic_filter])
def test_basic_ingest_prefix_is_not_counted(validate: Validator) -> None:
    validate("$aws/rules/my_rule/" + "/".join("abcdefgh"), LIMITS)  # 7 slashes after the prefix
    with pytest.raises(TopicError, match="forward slashes"):
        validate("$aws/rules/my_rule/" + "/".join("abcdefghi"), LIMITS)
    validate("$aws/rules/my_rule", LIMITS)


@pytest.mark.parametrize("validate", [validate_topic_name, validate_topic_filter])
def test_other_aws_reserved_topics_are_exempt_from_the_slash_quota(validate: Validator) -> None:
    validate("$aws/things/thing1/shadow/name/lamp/update/documents", LIMITS)
    validate("$aws/" + "/".join("abcdefghijkl"), LIMITS)


def test_other_dollar_topics_are_counted() -> None:
    with pytest.raises(TopicError, match="forward slashes"):
        validate_topic_name("$mine/" + "/".join("abcdefgh"), LIMITS)


def test_slash_quota_is_configurable() -> None:
    tight = Limits(topic_max_slashes=1)
    validate_topic_name("a/b", tight)
    with pytest.raises(TopicError):
        validate_topic_name("a/b/c", tight)
    validate_topic_name("$aws/rules/r/a/b", tight)


@pytest.mark.parametrize("topic", ["a/+", "+", "#", "a/#", "a/b+", "a#b"])
def test_topic_name_refuses_wildcards(topic: str) -> None:
    with pytest.raises(TopicError, match="wildcard"):
        validate_topic_name(topic, LIMITS)


@pytest.mark.parametrize("topic", ["a", "a/b", "/", "a//b", "$aws/things/t/shadow/get", "ünïcødé/🐄"])
def test_valid_topic_names(topic: str) -> None:
    validate_topic_name(topic, LIMITS)


@pytest.mark.parametrize(
    "topic_filter", ["#", "+", "a/#", "a/+", "+/+", "a/+/b", "+/b/#", "/#", "/+", "$aws/things/+/shadow/#"]
)
def test_valid_topic_filters(topic_filter: str) -> None:
    validate_topic_filter(topic_filter, LIMITS)


@pytest.mark.parametrize("topic_filter", ["a#", "a/b#", "a/#/b", "#/a", "##", "#/#"])
def test_hash_must_be_a_whole_last_level(topic_filter: str) -> None:
    with pytest.raises(TopicError, match="'#'"):
        validate_topic_filter(topic_filter, LIMITS)


@pytest.mark.parametrize("topic_filter", ["a+", "a/+b", "++", "+a/b", "a/b+/c"])
def test_plus_must_be_a_whole_level(topic_filter: str) -> None:
    with pytest.raises(TopicError, match="'\\+'"):
        validate_topic_filter(topic_filter, LIMITS)


# --------------------------------------------------------------------------------------------- matching

MATCH_TABLE = [
    ("a/b", "a/b", True),
    ("a/b", "a/c", False),
    ("A/b", "a/b", False),  # case-sensitive
    ("a/+", "a/b", True),
    ("a/+", "a", False),
    ("a/+", "a/b/c", False),
    ("a/+", "a/", True),  # '+' matches an empty level
    ("+/+", "/", True),
    ("+", "/", False),
    ("a/+/b", "a//b", True),
    ("a/#", "a", False),  # AWS: 'a/#' does not match its parent (MQTT would)
    ("a/#", "a/b", True),
    ("a/#", "a/b/c", True),
    ("a/#", "a/", True),
    ("a/#", "ab", False),
    ("#", "a", True),
    ("#", "a/b/c", True),
    ("#", "/", True),
    ("+/#", "a", False),
    ("+/#", "a/b", True),
    ("a/b", "a/b/c", False),
    ("a/b/c", "a/b", False),
    # Filters that start with a wildcard never match '$' topics ...
    ("#", "$aws/things/t/shadow/get", False),
    ("+/things/t", "$aws/things/t", False),
    ("+", "$SYS", False),
    ("+/#", "$aws/x", False),
    # ... but a filter starting with the '$' level does, wildcards below it included.
    ("$aws/#", "$aws/things/t/shadow/get", True),
    ("$aws/+/t", "$aws/things/t", True),
    ("$aws/things/+/shadow/+", "$aws/things/t/shadow/get", True),
    ("$aws/#", "$aws", False),
    # '$' only matters at the start.
    ("a/+", "a/$b", True),
    ("a/#", "a/$b/c", True),
]


@pytest.mark.parametrize(("topic_filter", "topic", "expected"), MATCH_TABLE)
def test_filter_matches(topic_filter: str, topic: str, expected: bool) -> None:
    assert filter_matches(topic_filter, topic) is expected


@pytest.mark.parametrize(("topic_filter", "topic", "expected"), MATCH_TABLE)
def test_trie_match_agrees_with_table(topic_filter: str, topic: str, expected: bool) -> None:
    trie: SubscriptionTrie[int] = SubscriptionTrie(_keep_last)
    trie.add(topic_filter, "c", 0)
    assert trie.match(topic) == ([("c", 0)] if expected else [])


# ------------------------------------------------------------------------------------------------- trie


def test_add_reports_new_and_replaces_value() -> None:
    trie: SubscriptionTrie[int] = SubscriptionTrie(_keep_last)
    assert trie.add("a/b", "c1", 0) is True
    assert trie.add("a/b", "c2", 0) is True
    assert trie.add("a/b", "c1", 1) is False  # replaced, not added
    assert trie.count == 2
    assert sorted(trie.match("a/b")) == [("c1", 1), ("c2", 0)]


def test_remove() -> None:
    trie: SubscriptionTrie[int] = SubscriptionTrie(_keep_last)
    trie.add("a/b", "c1", 0)
    trie.add("a/b", "c2", 0)
    assert trie.remove("a/b", "c1") is True
    assert trie.remove("a/b", "c1") is False  # already gone
    assert trie.remove("a/x", "c2") is False  # no such filter
    assert trie.remove("a/b/c", "c2") is False  # deeper than any filter
    assert trie.remove("a", "c2") is False  # an inner node with no subscribers
    assert trie.count == 1
    assert trie.match("a/b") == [("c2", 0)]


def test_remove_prunes_empty_branches_only() -> None:
    trie: SubscriptionTrie[int] = SubscriptionTrie(_keep_last)
    trie.add("a/b/c/d", "c1", 0)
    trie.add("a/b", "c2", 0)
    trie.add("x/+/#", "c3", 0)
    trie.remove("a/b/c/d", "c1")
    # 'a/b' still has a subscriber, so only 'c' and 'd' below it went.
    assert set(trie._root.children) == {"a", "x"}
    assert trie._root.children["a"].children["b"].children == {}
    assert trie.match("a/b") == [("c2", 0)]
    trie.remove("a/b", "c2")
    trie.remove("x/+/#", "c3")
    assert trie._root.children == {}
    assert trie.count == 0
    assert list(trie.filters()) == []


def test_remove_keeps_a_branch_that_still_has_children() -> None:
    trie: SubscriptionTrie[int] = SubscriptionTrie(_keep_last)
    trie.add("a/b", "c1", 0)
    trie.add("a/b/c", "c2", 0)
    trie.remove("a/b", "c1")
    assert trie.match("a/b") == []
    assert trie.match("a/b/c") == [("c2", 0)]


def test_filters_lists_every_subscription() -> None:
    trie: SubscriptionTrie[int] = SubscriptionTrie(_keep_last)
    subs = {
        ("a/b", "c1", 1),
        ("a/+", "c1", 0),
        ("#", "c2", 1),
        ("/x", "c3", 0),
        ("/", "c3", 1),
        ("$aws/things/+/shadow/#", "c4", 1),
        ("a/b", "c5", 0),
    }
    for topic_filter, client_id, qos in subs:
        trie.add(topic_filter, client_id, qos)
    assert set(trie.filters()) == subs
    assert trie.count == len(subs)


def test_overlapping_filters_of_one_client_merge_to_one_entry_at_max_qos() -> None:
    trie: SubscriptionTrie[SubscriptionOptions] = SubscriptionTrie(merge_options)
    trie.add("a/+", "c1", SubscriptionOptions(qos=0, no_local=True))
    trie.add("a/#", "c1", SubscriptionOptions(qos=1, no_local=False))
    trie.add("a/b", "c1", SubscriptionOptions(qos=0, retain_as_published=True))
    trie.add("#", "c2", SubscriptionOptions(qos=0))
    found = dict(trie.match("a/b"))
    assert len(trie.match("a/b")) == 2
    assert found["c1"].qos == 1
    assert found["c1"].no_local is False
    assert found["c1"].retain_as_published is True
    assert found["c2"].qos == 0
    # Where only one of c1's filters matches, its own options apply.
    only = dict(trie.match("a/b/c"))
    assert only["c1"] == SubscriptionOptions(qos=1, no_local=False)


def test_merge_is_per_client() -> None:
    trie: SubscriptionTrie[int] = SubscriptionTrie(_max)
    trie.add("a/+", "c1", 1)
    trie.add("a/b", "c1", 0)
    trie.add("a/+", "c2", 0)
    trie.add("+/b", "c2", 0)
    trie.add("#", "c3", 1)
    assert sorted(trie.match("a/b")) == [("c1", 1), ("c2", 0), ("c3", 1)]


def test_match_cache_is_invalidated_by_add() -> None:
    trie: SubscriptionTrie[int] = SubscriptionTrie(_keep_last)
    trie.add("a/b", "c1", 0)
    assert _ids(trie.match("a/b")) == {"c1"}
    assert _ids(trie.match("a/b")) == {"c1"}  # served from the cache
    trie.add("a/+", "c2", 1)
    assert _ids(trie.match("a/b")) == {"c1", "c2"}
    trie.add("a/b", "c1", 1)  # a replaced value is visible too
    assert dict(trie.match("a/b"))["c1"] == 1


def test_match_cache_is_invalidated_by_remove() -> None:
    trie: SubscriptionTrie[int] = SubscriptionTrie(_keep_last)
    trie.add("a/b", "c1", 0)
    trie.add("#", "c2", 0)
    assert _ids(trie.match("a/b")) == {"c1", "c2"}
    trie.remove("#", "c2")
    assert _ids(trie.match("a/b")) == {"c1"}
    trie.remove("a/b", "c1")
    assert trie.match("a/b") == []


def test_match_cache_is_bounded() -> None:
    trie: SubscriptionTrie[int] = SubscriptionTrie(_keep_last)
    trie._CACHE_MAX = 8
    trie.add("#", "c", 0)
    for i in range(50):
        assert trie.match(f"t/{i}") == [("c", 0)]
        assert len(trie._cache) <= 8


def test_dollar_topics_need_an_explicit_first_level() -> None:
    trie: SubscriptionTrie[int] = SubscriptionTrie(_keep_last)
    trie.add("#", "everything", 0)
    trie.add("+/things/+/shadow/get", "plus", 0)
    trie.add("$aws/things/+/shadow/get", "shadow", 0)
    trie.add("$aws/#", "aws", 0)
    assert _ids(trie.match("$aws/things/t1/shadow/get")) == {"shadow", "aws"}
    assert _ids(trie.match("x/things/t1/shadow/get")) == {"everything", "plus"}


# ------------------------------------------------------------------------- property: trie vs. filter_matches

_LEVELS = st.sampled_from(["a", "b", "", "$x"])
_FILTER_LEVELS = st.sampled_from(["a", "b", "", "$x", "+"])
_TOPICS = st.lists(_LEVELS, min_size=1, max_size=4).map("/".join)
_FILTERS = st.builds(
    lambda levels, hash_last: "/".join([*levels, "#"] if hash_last else levels) or "#",
    st.lists(_FILTER_LEVELS, min_size=0, max_size=4),
    st.booleans(),
)
_SUBSCRIPTIONS = st.lists(
    st.tuples(_FILTERS, st.sampled_from(["c1", "c2", "c3", "c4"]), st.integers(min_value=0, max_value=1)),
    max_size=12,
)


@settings(max_examples=300, deadline=None)
@given(
    subscriptions=_SUBSCRIPTIONS,
    removed=st.lists(st.integers(min_value=0, max_value=11), max_size=4),
    topics=st.lists(_TOPICS, min_size=1, max_size=6),
)
def test_trie_agrees_with_filter_matches(
    subscriptions: list[tuple[str, str, int]], removed: list[int], topics: list[str]
) -> None:
    """For any filters and topics, the trie gives each client whose filters match once, at its max QoS."""
    trie: SubscriptionTrie[int] = SubscriptionTrie(_max)
    live: dict[tuple[str, str], int] = {}  # (filter, client id) -> QoS; a later add replaces

    def check() -> None:
        for topic in topics:
            expected: dict[str, int] = {}
            for (topic_filter, client_id), qos in live.items():
                if filter_matches(topic_filter, topic):
                    expected[client_id] = max(qos, expected.get(client_id, 0))
            got = trie.match(topic)
            assert len(got) == len(expected), (topic, got)  # one entry per client
            assert dict(got) == expected, (topic, live)

    for topic_filter, client_id, qos in subscriptions:
        assert trie.add(topic_filter, client_id, qos) is ((topic_filter, client_id) not in live)
        live[topic_filter, client_id] = qos
    check()  # fills the cache
    for i in removed:
        if i < len(subscriptions):
            topic_filter, client_id, _ = subscriptions[i]
            assert trie.remove(topic_filter, client_id) is ((topic_filter, client_id) in live)
            live.pop((topic_filter, client_id), None)
    check()
    assert trie.count == len(live)
    assert {(f, c): v for f, c, v in trie.filters()} == live
