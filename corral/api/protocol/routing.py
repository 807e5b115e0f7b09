"""Which operation a request is: one router per service, built from its model.

- REST protocols (rest-json, rest-xml): the method and the raw path against every operation's
  ``http.requestUri`` template (``{name}`` is one path segment, ``{name+}`` is greedy and spans ``/``);
  literal query parts of a template (``?versions``, ``?List=ALL``) must be present too. The most specific
  template wins: more literal query parts; then the operation whose required query and header members
  are all present, the more the better (S3's PutObject, CopyObject and UploadPart share one URI); then
  not deprecated; then no greedy label; then more literal characters.
- json (JSON-RPC): the ``X-Amz-Target`` header, ``{targetPrefix}.{Operation}``.
- query: the ``Action`` parameter, in the query string or the form-encoded body.

A request no operation matches raises ``UnknownOperationError`` with the service's answer (profiles.py)
and what was asked, for the server's log.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import parse_qsl, unquote

from botocore.model import OperationModel, ServiceModel

from corral.api.protocol.errors import UnknownOperationError
from corral.api.protocol.message import HttpRequest
from corral.api.protocol.models import operation_named
from corral.api.protocol.profiles import profile_for, wire_protocol

_LABEL = re.compile(r"\{([^}]+)\}")
# botocore's S3 client adds ``x-id=OperationName`` to some URIs; other clients do not send it.
_OPTIONAL_QUERY_LITERALS = frozenset({"x-id"})


@dataclass(frozen=True)
class OperationMatch:
    operation: OperationModel
    # Path labels, percent-decoded, by label name (the member's locationName).
    path_params: dict[str, str]


@dataclass(frozen=True)
class UriTemplate:
    """One operation's ``requestUri``, compiled."""

    operation: OperationModel
    method: str
    regex: re.Pattern[str]
    labels: tuple[tuple[str, bool], ...]
    query_literals: tuple[tuple[str, str | None], ...]
    # Required input members bound to the query string (by name) and to headers (lower-case name).
    required_query: tuple[str, ...]
    required_headers: tuple[str, ...]
    sort_key: tuple[int, int, int, int, int]

    @classmethod
    def compile(cls, operation: OperationModel) -> UriTemplate:
        http = operation.http
        path, _, query = str(http.get("requestUri", "/")).partition("?")
        parts: list[str] = []
        labels: list[tuple[str, bool]] = []
        literal_chars = 0
        position = 0
        for found in _LABEL.finditer(path):
            literal = path[position : found.start()]
            literal_chars += len(literal)
            parts.append(re.escape(literal))
            name = found.group(1)
            greedy = name.endswith("+")
            labels.append((name.rstrip("+"), greedy))
            parts.append("(.+)" if greedy else "([^/]+)")
            position = found.end()
        tail = path[position:]
        literal_chars += len(tail)
        parts.append(re.escape(tail))
        literals: list[tuple[str, str | None]] = []
        for piece in query.split("&") if query else []:
            key, has_value, value = piece.partition("=")
            literals.append((key, value if has_value else None))
        required = sum(1 for key, _ in literals if key not in _OPTIONAL_QUERY_LITERALS)
        greedy_count = sum(1 for _, greedy in labels if greedy)
        deprecated = 1 if operation.deprecated else 0
        sort_key = (-required, deprecated, greedy_count, -literal_chars, -len(labels))
        required_query: list[str] = []
        required_headers: list[str] = []
        shape = operation.input_shape
        if shape is not None:
            for name in shape.required_members:
                member = shape.members[name]
                location = member.serialization.get("location")
                wire_name = str(member.serialization.get("name", name))
                if location == "querystring":
                    required_query.append(wire_name)
                elif location == "header":
                    required_headers.append(wire_name.lower())
        return cls(
            operation,
            str(http.get("method", "POST")).upper(),
            re.compile("".join(parts)),
            tuple(labels),
            tuple(literals),
            tuple(required_query),
            tuple(required_headers),
            sort_key,
        )

    def rank(self, request: HttpRequest) -> tuple[int, ...]:
        """Lower is more specific for this request (it already matched the path)."""
        present = sum(1 for name in self.required_query if name in request.query)
        present += sum(1 for name in self.required_headers if name in request.headers)
        missing = len(self.required_query) + len(self.required_headers) - present
        return (self.sort_key[0], 1 if missing else 0, -present, *self.sort_key[1:])

    def match(self, raw_path: str, query: dict[str, list[str]]) -> dict[str, str] | None:
        found = self.regex.fullmatch(raw_path)
        if found is None:
            return None
        for key, value in self.query_literals:
            values = query.get(key)
            if values is None:
                if key in _OPTIONAL_QUERY_LITERALS:
                    continue
                return None
            if value is not None and value not in values:
                return None
        return {name: unquote(found.group(index)) for index, (name, _) in enumerate(self.labels, 1)}


class Router:
    """Finds the operation of one service a request asks for."""

    def __init__(self, service: ServiceModel) -> None:
        self.service = service
        self.protocol = wire_protocol(service)
        self._templates: dict[str, list[UriTemplate]] = {}
        self._by_operation: dict[str, UriTemplate] = {}
        if self.protocol in ("rest-json", "rest-xml"):
            for name in service.operation_names:
                template = UriTemplate.compile(service.operation_model(name))
                self._templates.setdefault(template.method, []).append(template)
                self._by_operation[name] = template
            for templates in self._templates.values():
                templates.sort(key=lambda t: t.sort_key)

    def match(self, request: HttpRequest) -> OperationMatch:
        if self.protocol in ("rest-json", "rest-xml"):
            return self._match_rest(request)
        if self.protocol == "json":
            return self._match_target(request)
        if self.protocol == "query":
            return self._match_action(request)
        raise self.unknown(request, None)

    def path_params(self, operation: OperationModel, request: HttpRequest) -> dict[str, str]:
        """The labels of ``operation``'s template in the request's path (empty if it does not match)."""
        template = self._by_operation.get(operation.name)
        if template is None:
            return {}
        return template.match(request.raw_path, request.query) or {}

    def _match_rest(self, request: HttpRequest) -> OperationMatch:
        best: tuple[tuple[int, ...], UriTemplate, dict[str, str]] | None = None
        for template in self._templates.get(request.method, ()):
            params = template.match(request.raw_path, request.query)
            if params is None:
                continue
            rank = template.rank(request)
            if best is None or rank < best[0]:
                best = (rank, template, params)
        if best is None:
            raise self.unknown(request, None)
        return OperationMatch(best[1].operation, best[2])

    def _match_target(self, request: HttpRequest) -> OperationMatch:
        target = request.header("x-amz-target") or ""
        prefix, _, name = target.rpartition(".")
        expected = self.service.metadata.get("targetPrefix")
        operation = operation_named(self.service, name) if prefix == expected else None
        if operation is None:
            raise self.unknown(request, target or None)
        return OperationMatch(operation, {})

    def _match_action(self, request: HttpRequest) -> OperationMatch:
        actions = request.query.get("Action") or form_fields(request).get("Action") or []
        action = actions[0] if actions else None
        operation = operation_named(self.service, action) if action else None
        if operation is None:
            raise self.unknown(request, action)
        return OperationMatch(operation, {})

    def unknown(self, request: HttpRequest, target: str | None) -> UnknownOperationError:
        profile = profile_for(self.service)
        action = target.rpartition(".")[2] if target else request.raw_path
        return UnknownOperationError(
            profile.unknown_operation_code,
            profile.unknown_operation_message.format(action=action),
            profile.unknown_operation_status,
            service=str(self.service.service_name),
            method=request.method,
            path=request.raw_path,
            target=target,
        )


def form_fields(request: HttpRequest) -> dict[str, list[str]]:
    """The fields of a form-encoded body (the query protocol's POST requests)."""
    content_type = (request.header("content-type") or "").split(";")[0].strip().lower()
    if request.method != "POST" or (content_type and content_type != "application/x-www-form-urlencoded"):
        return {}
    fields: dict[str, list[str]] = {}
    for key, value in parse_qsl(request.body.decode("utf-8", "replace"), keep_blank_values=True):
        fields.setdefault(key, []).append(value)
    return fields


@lru_cache(maxsize=64)
def router_for(service: ServiceModel) -> Router:
    return Router(service)
