"""Topic names, topic filters and the subscription trie.

Ours rather than a library's: matching sits on every publish, and AWS's rules (reserved ``$`` topics, its
length and depth quotas) are checked here. ``match`` results are cached per topic until the subscriptions
change, so a steady stream to the same topics costs one dictionary lookup.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Generic, TypeVar

from corral.broker.limits import Limits

RULES_PREFIX = "$aws/rules/"


class TopicError(ValueError):
    """A topic name or filter AWS IoT would not accept."""


def _counted_slashes(topic: str) -> int:
    # AWS does not count the reserved prefix of Basic Ingest topics ($aws/rules/{rule}/) and its own
    # reserved topics are deeper than the quota (named shadows), so only user topics are counted.
    if topic.startswith(RULES_PREFIX):
        rest = topic[len(RULES_PREFIX) :]
        _, _, after_rule = rest.partition("/")
        return after_rule.count("/")
    if topic.startswith("$aws/"):
        return 0
    return topic.count("/")


def _check_common(topic: str, limits: Limits, what: str) -> None:
    if not topic:
        raise TopicError(f"{what} is empty")
    if len(topic.encode()) > limits.topic_max_bytes:
        raise TopicError(f"{what} is longer than {limits.topic_max_bytes} bytes")
    if _counted_slashes(topic) > limits.topic_max_slashes:
        raise TopicError(f"{what} has more than {limits.topic_max_slashes} forward slashes")


def validate_topic_name(topic: str, limits: Limits) -> None:
    _check_common(topic, limits, "topic")
    if "+" in topic or "#" in topic:
        raise TopicError("topic contains a wildcard")


def validate_topic_filter(topic_filter: str, limits: Limits) -> None:
    _check_common(topic_filter, limits, "topic filter")
    levels = topic_filter.split("/")
    for i, level in enumerate(levels):
        if "#" in level and (level != "#" or i != len(levels) - 1):
            raise TopicError("'#' must be the last level on its own")
        if "+" in level and level != "+":
            raise TopicError("'+' must occupy a whole level")


def filter_matches(topic_filter: str, topic: str) -> bool:
    """Whether ``topic_filter`` matches ``topic`` under AWS IoT's rules (used outside the trie)."""
    if topic.startswith("$") and topic_filter[:1] in ("+", "#"):
        return False
    f_levels = topic_filter.split("/")
    t_levels = topic.split("/")
    for i, f in enumerate(f_levels):
        if i >= len(t_levels):
            return False
        if f == "#":
            return True
        if f != "+" and f != t_levels[i]:
            return False
    return len(f_levels) == len(t_levels)


S = TypeVar("S")


@dataclass(slots=True)
class _Node(Generic[S]):
    children: dict[str, _Node[S]]
    subscribers: dict[str, S]


def _node() -> _Node[S]:
    return _Node(children={}, subscribers={})


class SubscriptionTrie(Generic[S]):
    """Maps topic filters to subscribers keyed by client id.

    ``match`` gives one (client id, value) per client: where several of a client's filters match a topic,
    their values are combined with ``merge`` so the client receives the message once.
    """

    _CACHE_MAX = 65536

    def __init__(self, merge: Callable[[S, S], S]) -> None:
        self._merge = merge
        self._root: _Node[S] = _node()
        self._cache: dict[str, list[tuple[str, S]]] = {}
        self.count = 0

    def add(self, topic_filter: str, client_id: str, value: S) -> bool:
        """Adds or replaces; True when the subscription is new."""
        node = self._root
        for level in topic_filter.split("/"):
            child = node.children.get(level)
            if child is None:
                child = node.children[level] = _node()
            node = child
        new = client_id not in node.subscribers
        node.subscribers[client_id] = value
        self.count += new
        self._cache.clear()
        return new

    def remove(self, topic_filter: str, client_id: str) -> bool:
        path: list[tuple[_Node[S], str]] = []
        node = self._root
        for level in topic_filter.split("/"):
            child = node.children.get(level)
            if child is None:
                return False
            path.append((node, level))
            node = child
        if node.subscribers.pop(client_id, None) is None:
            return False
        self.count -= 1
        self._cache.clear()
        for parent, level in reversed(path):  # prune empty branches
            child = parent.children[level]
            if child.children or child.subscribers:
                break
            del parent.children[level]
        return True

    def match(self, topic: str) -> list[tuple[str, S]]:
        found = self._cache.get(topic)
        if found is not None:
            return found
        result: list[tuple[str, S]] = []
        levels = topic.split("/")
        self._collect(self._root, levels, 0, topic.startswith("$"), result)
        if len(result) > 1 and len({client_id for client_id, _ in result}) < len(result):
            merged: dict[str, S] = {}
            for client_id, value in result:
                seen = merged.get(client_id)
                merged[client_id] = value if seen is None else self._merge(seen, value)
            result = list(merged.items())
        if len(self._cache) >= self._CACHE_MAX:
            self._cache.clear()
        self._cache[topic] = result
        return result

    def _collect(
        self, node: _Node[S], levels: list[str], i: int, dollar: bool, out: list[tuple[str, S]]
    ) -> None:
        if i == len(levels):
            out.extend(node.subscribers.items())
            return
        # As on AWS IoT, 'a/#' matches below 'a' but not 'a' itself (MQTT would match both).
        wild_ok = not (dollar and i == 0)
        if wild_ok:
            hash_node = node.children.get("#")
            if hash_node is not None:
                out.extend(hash_node.subscribers.items())
        child = node.children.get(levels[i])
        if child is not None:
            self._collect(child, levels, i + 1, dollar, out)
        if wild_ok:
            plus = node.children.get("+")
            if plus is not None:
                self._collect(plus, levels, i + 1, dollar, out)

    def filters(self) -> Iterator[tuple[str, str, S]]:
        """Every (topic filter, client id, value), for persistence and inspection."""
        stack: list[tuple[str, _Node[S]]] = [("", self._root)]
        while stack:
            prefix, node = stack.pop()
            for client_id, value in node.subscribers.items():
                yield prefix, client_id, value
            for level, child in node.children.items():
                stack.append((level if node is self._root else f"{prefix}/{level}", child))
