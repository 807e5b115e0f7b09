"""The HTTP request and response as the protocol layer sees them: plain data, no I/O.

The server hands over what ASGI gives it: the *raw* (still percent-encoded) path, because a label such as
an MQTT topic or an ARN may carry an encoded ``/`` (``%2F``) that must not split a path segment; the query
as a string or as (name, value) pairs, keeping repeated names; headers in any case.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple
from urllib.parse import parse_qsl

QueryInput = str | bytes | Mapping[str, str | Sequence[str]] | Iterable[tuple[str, str]] | None
HeadersInput = Mapping[str, str] | Iterable[tuple[str, str]] | Iterable[tuple[bytes, bytes]] | None


def parse_query(query: QueryInput) -> dict[str, list[str]]:
    """A multi-dict (name -> every value, in order) from a query string, pairs or a mapping."""
    result: dict[str, list[str]] = {}
    if query is None:
        return result
    if isinstance(query, bytes):
        query = query.decode("latin-1")
    if isinstance(query, str):
        pairs: Iterable[tuple[str, str]] = parse_qsl(query, keep_blank_values=True)
    elif isinstance(query, Mapping):
        pairs = []
        for key, values in query.items():
            if isinstance(values, str):
                pairs.append((key, values))
            else:
                pairs.extend((key, value) for value in values)
    else:
        multi_items = getattr(query, "multi_items", None)
        pairs = multi_items() if callable(multi_items) else query
    for key, value in pairs:
        result.setdefault(key, []).append(value)
    return result


def normalize_headers(headers: HeadersInput) -> dict[str, str]:
    """Lower-cased header names; repeated headers joined with ", " as HTTP allows."""
    result: dict[str, str] = {}
    if headers is None:
        return result
    pairs: Iterable[tuple[str | bytes, str | bytes]]
    if isinstance(headers, Mapping):
        multi_items = getattr(headers, "multi_items", None)
        pairs = multi_items() if callable(multi_items) else headers.items()
    else:
        pairs = headers
    for raw_name, raw_value in pairs:
        name = raw_name.decode("latin-1") if isinstance(raw_name, bytes) else raw_name
        value = raw_value.decode("latin-1") if isinstance(raw_value, bytes) else raw_value
        name = name.lower()
        result[name] = f"{result[name]}, {value}" if name in result else value
    return result


@dataclass(frozen=True)
class HttpRequest:
    """One request, normalized: method upper-case, raw path without query, multi-dict query."""

    method: str
    raw_path: str
    query: dict[str, list[str]] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""

    @classmethod
    def build(
        cls,
        method: str,
        raw_path: str | bytes,
        query: QueryInput = None,
        headers: HeadersInput = None,
        body: bytes = b"",
    ) -> HttpRequest:
        path = raw_path.decode("latin-1") if isinstance(raw_path, bytes) else raw_path
        merged = parse_query(query)
        if "?" in path:
            path, _, inline = path.partition("?")
            for key, values in parse_query(inline).items():
                merged.setdefault(key, []).extend(values)
        return cls(method.upper(), path or "/", merged, normalize_headers(headers), bytes(body))

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


class HttpResponse(NamedTuple):
    status: int
    headers: dict[str, str]
    body: bytes
