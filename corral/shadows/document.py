"""The shadow algebra: AWS IoT's device-shadow document rules as pure functions, with no I/O.

The signatures and the shapes in the docstrings are the contract ``corral/shadows/service.py`` codes
against; every rule, with the AWS page it comes from, is listed in ``docs/shadow-facts.md``.

Shapes (all plain JSON values, ``dict[str, Any]``):

- a stored document: ``{"state": {"desired": {...}, "reported": {...}}, "metadata": {"desired": {...},
  "reported": {...}}}``; a section that does not exist is absent (never ``{}`` or ``null``). The version is
  kept beside it, not inside.
- timestamps are integer epoch seconds, as AWS sends them.

Invariants of a stored document (the property tests in ``tests/shadows`` check them):

1. ``state`` and ``metadata`` hold only ``desired`` and ``reported``, and only when they are non-empty.
2. No object anywhere in ``state`` is empty and no value is ``null`` (arrays never hold ``null``: refused).
3. ``metadata`` mirrors ``state``: an object for an object, ``{"timestamp": t}`` for a scalar, and for an
   array, a list with one entry per element (``{"timestamp": t}``, or the element's own mirror when the
   element is an object or an array).
4. The delta is computed on demand from desired and reported; it is never stored.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any, Final

import orjson

Document = dict[str, Any]

SECTIONS: Final = ("desired", "reported")
CLIENT_TOKEN_MAX_BYTES: Final = 64

# AWS's messages, word for word (device-shadow-error-messages).
INVALID_JSON: Final = "Invalid JSON"
MISSING_STATE: Final = "Missing required node: state"
STATE_NOT_OBJECT: Final = "State node must be an object"
DESIRED_NOT_OBJECT: Final = "Desired node must be an object"
REPORTED_NOT_OBJECT: Final = "Reported node must be an object"
INVALID_VERSION: Final = "Invalid version"
INVALID_CLIENT_TOKEN: Final = "Invalid clientToken"
INVALID_STATE_NODE: Final = "State contains an invalid node"
VERSION_CONFLICT: Final = "Version conflict"
PAYLOAD_TOO_LARGE: Final = "The payload exceeds the maximum size allowed"
UNSUPPORTED_ENCODING: Final = "Unsupported documented encoding; supported encoding is UTF-8"


def too_deep_message(max_depth: int) -> str:
    return f"JSON contains too many levels of nesting; maximum is {max_depth}"


@dataclass(frozen=True, slots=True)
class ShadowLimits:
    """AWS's shadow quotas; every one is configurable (``[limits]`` in corral.toml)."""

    max_state_bytes: int = 8 * 1024
    """The state document's size as AWS counts it (the "state" section without whitespace)."""
    max_payload_bytes: int = 128 * 1024
    """Request payloads larger than this are refused before they are parsed."""
    max_depth: int = 6
    """Levels of nesting inside "desired" or "reported"."""
    named_shadows_per_thing: int = 0
    """0: no limit (AWS has none today)."""
    in_flight_per_thing: int = 10
    """Requests being worked on for one thing; more answer 429."""


class ShadowRejected(Exception):
    """A request AWS would answer on ``/rejected`` (MQTT) or with an HTTP error: ``code`` is AWS's HTTP-like
    code (400, 401, 403, 404, 409, 413, 415, 429, 500) and ``message`` its exact wording."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True, slots=True)
class UpdateRequest:
    state: dict[str, Any] | None
    """The request's "state": ``None`` when the request said ``"state": null`` (empty the shadow)."""
    version: int | None
    client_token: str | None


@dataclass(frozen=True, slots=True)
class ReadRequest:
    """A get or delete request: both carry at most a clientToken (and delete a version)."""

    version: int | None
    client_token: str | None


@dataclass(frozen=True, slots=True)
class UpdateOutcome:
    document: Document
    """The new stored document."""
    version: int
    """The new version (the previous one plus one)."""
    accepted: dict[str, Any]
    """The ``/update/accepted`` body (also UpdateThingShadow's HTTP response)."""
    delta: dict[str, Any] | None
    """The ``/update/delta`` body, or None when AWS's rules publish no delta for this update."""
    documents: dict[str, Any]
    """The ``/update/documents`` body."""


# ---------------------------------------------------------------------------------------------------------
# Parsing and validation


def _load_object(payload: bytes, limits: ShadowLimits | None) -> dict[str, Any]:
    """The payload as a JSON object, or AWS's rejection: 413 too large, 415 not UTF-8, 400 not JSON."""
    if limits is not None and len(payload) > limits.max_payload_bytes:
        raise ShadowRejected(413, PAYLOAD_TOO_LARGE)
    try:
        payload.decode("utf-8")
    except UnicodeDecodeError:
        raise ShadowRejected(415, UNSUPPORTED_ENCODING) from None
    try:
        body = orjson.loads(payload)
    except orjson.JSONDecodeError:
        raise ShadowRejected(400, INVALID_JSON) from None
    if not isinstance(body, dict):
        raise ShadowRejected(400, INVALID_JSON)
    return body


def _version_of(body: dict[str, Any]) -> int | None:
    if "version" not in body:
        return None
    version = body["version"]
    if isinstance(version, bool) or not isinstance(version, int) or version < 0:
        raise ShadowRejected(400, INVALID_VERSION)
    return version


def _valid_token(token: Any) -> bool:
    return isinstance(token, str) and len(token.encode("utf-8")) <= CLIENT_TOKEN_MAX_BYTES


def _client_token_of(body: dict[str, Any]) -> str | None:
    if "clientToken" not in body:
        return None
    token = body["clientToken"]
    if not _valid_token(token):
        raise ShadowRejected(400, INVALID_CLIENT_TOKEN)
    assert isinstance(token, str)
    return token


def depth(value: Any) -> int:
    """Levels of nesting as AWS counts them: every object or array is a level, a scalar is none; so
    ``{"a": 1}`` is 1 level deep and ``{"a": {"b": [1]}}`` 3."""
    if isinstance(value, dict):
        return 1 + max((depth(child) for child in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((depth(child) for child in value), default=0)
    return 0


def array_holds_null(value: Any, *, in_array: bool = False) -> bool:
    """True when an array anywhere in ``value`` has a ``null`` element (AWS refuses those)."""
    if value is None:
        return in_array
    if isinstance(value, dict):
        return any(array_holds_null(child) for child in value.values())
    if isinstance(value, list):
        return any(array_holds_null(child, in_array=True) for child in value)
    return False


def parse_update(payload: bytes, limits: ShadowLimits) -> UpdateRequest:
    """Validates an update request as AWS does; raises ShadowRejected with AWS's code and message.

    Checks, in order: payload size (413), UTF-8 (415), JSON object (400 Invalid JSON), ``state`` present,
    an object or null, holding only ``desired``/``reported``, each an object or null, ``version`` a
    non-negative integer, ``clientToken`` a string of at most 64 bytes, no ``null`` inside an array, and at
    most ``limits.max_depth`` levels in each section. Other top-level keys are ignored, as AWS ignores them.
    """
    body = _load_object(payload, limits)
    if "state" not in body:
        raise ShadowRejected(400, MISSING_STATE)
    state = body["state"]
    if state is not None:
        if not isinstance(state, dict):
            raise ShadowRejected(400, STATE_NOT_OBJECT)
        for key, value in state.items():
            if key not in SECTIONS:
                raise ShadowRejected(400, INVALID_STATE_NODE)
            if value is not None and not isinstance(value, dict):
                raise ShadowRejected(400, DESIRED_NOT_OBJECT if key == "desired" else REPORTED_NOT_OBJECT)
    version = _version_of(body)
    client_token = _client_token_of(body)
    if state is not None:
        for value in state.values():
            if array_holds_null(value):
                raise ShadowRejected(400, INVALID_JSON)
            if depth(value) > limits.max_depth:
                raise ShadowRejected(400, too_deep_message(limits.max_depth))
    return UpdateRequest(state=state, version=version, client_token=client_token)


def parse_read(payload: bytes) -> ReadRequest:
    """Validates a get or delete request's payload (empty, or a JSON object with clientToken)."""
    if not payload.strip():
        return ReadRequest(version=None, client_token=None)
    body = _load_object(payload, None)
    return ReadRequest(version=_version_of(body), client_token=_client_token_of(body))


def client_token_of(payload: bytes) -> str | None:
    """The clientToken of a request that failed validation, when one can still be read (for the rejection)."""
    try:
        body = orjson.loads(payload)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(body, dict):
        return None
    token = body.get("clientToken")
    return token if _valid_token(token) else None


# ---------------------------------------------------------------------------------------------------------
# Values, metadata, merge and delta


def json_equal(a: Any, b: Any) -> bool:
    """JSON equality: numbers by value (1 == 1.0), booleans never equal to numbers, arrays element-wise in
    order, objects key-wise."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(json_equal(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(json_equal(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and bool(a == b)


def value_metadata(value: Any, now: int) -> Any:
    """The metadata of a value: ``{"timestamp": now}`` per leaf; objects and arrays mirrored."""
    if isinstance(value, dict):
        return {key: value_metadata(child, now) for key, child in value.items()}
    if isinstance(value, list):
        return [value_metadata(child, now) for child in value]
    return {"timestamp": now}


def merge_section(
    target: dict[str, Any], target_meta: dict[str, Any], patch: dict[str, Any], now: int
) -> None:
    """Merges ``patch`` into ``target`` in place, keeping ``target_meta`` its mirror: ``null`` deletes,
    objects merge key by key, anything else (scalars, arrays) replaces. An object left empty is removed."""
    for key, value in patch.items():
        if value is None:
            target.pop(key, None)
            target_meta.pop(key, None)
        elif isinstance(value, dict):
            child = target.get(key)
            child_meta = target_meta.get(key)
            if not isinstance(child, dict) or not isinstance(child_meta, dict):
                child, child_meta = {}, {}
            merge_section(child, child_meta, value, now)
            if child:
                target[key] = child
                target_meta[key] = child_meta
            else:
                target.pop(key, None)
                target_meta.pop(key, None)
        else:
            target[key] = copy.deepcopy(value)
            target_meta[key] = value_metadata(value, now)


def compute_delta(desired: dict[str, Any], reported: dict[str, Any]) -> dict[str, Any]:
    """Every desired value that reported lacks or holds differently; nested objects recursively (the delta
    keeps the path to the root), arrays and scalars compared whole."""
    delta: dict[str, Any] = {}
    for key, want in desired.items():
        if key not in reported:
            delta[key] = copy.deepcopy(want)
            continue
        have = reported[key]
        if isinstance(want, dict) and isinstance(have, dict):
            inner = compute_delta(want, have)
            if inner:
                delta[key] = inner
        elif not json_equal(want, have):
            delta[key] = copy.deepcopy(want)
    return delta


def delta_metadata(delta: dict[str, Any], desired_meta: dict[str, Any]) -> dict[str, Any]:
    """The desired side's metadata for exactly the paths of ``delta``."""
    meta: dict[str, Any] = {}
    for key, value in delta.items():
        source = desired_meta.get(key)
        if isinstance(value, dict) and isinstance(source, dict):
            meta[key] = delta_metadata(value, source)
        elif source is not None:
            meta[key] = copy.deepcopy(source)
    return meta


def request_metadata(state: Any, now: int) -> Any:
    """The metadata AWS returns in ``/update/accepted``: the request's shape, ``{"timestamp": now}`` for every
    leaf, a ``null`` (a deletion) included."""
    if isinstance(state, dict):
        return {key: request_metadata(child, now) for key, child in state.items()}
    if isinstance(state, list):
        return [request_metadata(child, now) for child in state]
    return {"timestamp": now}


def state_size(state: dict[str, Any]) -> int:
    """The state document's size as AWS counts it: its JSON without whitespace, in UTF-8 bytes."""
    return len(orjson.dumps(state))


def shadow_delta(document: Document) -> tuple[dict[str, Any], dict[str, Any]]:
    """The document's delta and the delta's metadata (both ``{}`` when desired and reported agree)."""
    state = document.get("state") or {}
    metadata = document.get("metadata") or {}
    desired = state.get("desired") or {}
    delta = compute_delta(desired, state.get("reported") or {})
    return delta, delta_metadata(delta, metadata.get("desired") or {})


def _with_token(body: dict[str, Any], client_token: str | None) -> dict[str, Any]:
    if client_token is not None:
        body["clientToken"] = client_token
    return body


def _snapshot(document: Document, version: int) -> dict[str, Any]:
    """A document as ``/update/documents`` shows it: state (desired, reported), metadata, version."""
    return {
        "state": copy.deepcopy(document.get("state") or {}),
        "metadata": copy.deepcopy(document.get("metadata") or {}),
        "version": version,
    }


def apply_update(
    current: Document | None, current_version: int, request: UpdateRequest, now: int, limits: ShadowLimits
) -> UpdateOutcome:
    """Applies an update to a shadow. ``current`` is None when the shadow does not exist; ``current_version``
    is then the version a new shadow continues from (0, or a recently deleted one's). Raises ShadowRejected
    (409 "Version conflict" when request.version is given and differs; 400/413 for the limits)."""
    if request.version is not None and request.version != current_version:
        raise ShadowRejected(409, VERSION_CONFLICT)

    old_state = (current or {}).get("state") or {}
    old_meta = (current or {}).get("metadata") or {}
    state: dict[str, Any] = {}
    metadata: dict[str, Any] = {}
    if request.state is not None:
        for section in SECTIONS:
            body = copy.deepcopy(old_state.get(section) or {})
            meta = copy.deepcopy(old_meta.get(section) or {})
            if section in request.state:
                patch = request.state[section]
                if patch is None:
                    body, meta = {}, {}
                else:
                    merge_section(body, meta, patch, now)
            if body:
                state[section] = body
                metadata[section] = meta
    if state_size(state) > limits.max_state_bytes:
        raise ShadowRejected(413, PAYLOAD_TOO_LARGE)

    version = current_version + 1
    document: Document = {"state": state, "metadata": metadata}
    accepted = _with_token(
        {
            "state": copy.deepcopy(request.state),
            "metadata": request_metadata(request.state, now),
            "version": version,
            "timestamp": now,
        },
        request.client_token,
    )

    delta_body: dict[str, Any] | None = None
    if request.state is not None and isinstance(request.state.get("desired"), dict):
        delta, delta_meta = shadow_delta(document)
        if delta:
            delta_body = _with_token(
                {"version": version, "timestamp": now, "state": delta, "metadata": delta_meta},
                request.client_token,
            )

    documents = _with_token(
        {
            "previous": None if current is None else _snapshot(current, current_version),
            "current": _snapshot(document, version),
            "timestamp": now,
        },
        request.client_token,
    )
    return UpdateOutcome(
        document=document, version=version, accepted=accepted, delta=delta_body, documents=documents
    )


# ---------------------------------------------------------------------------------------------------------
# Responses


def get_response(document: Document, version: int, now: int, client_token: str | None) -> dict[str, Any]:
    """The ``/get/accepted`` body (GetThingShadow's HTTP response without a clientToken): state with delta,
    metadata with delta's metadata, version, timestamp."""
    state = copy.deepcopy(document.get("state") or {})
    metadata = copy.deepcopy(document.get("metadata") or {})
    delta, delta_meta = shadow_delta(document)
    if delta:
        state["delta"] = delta
        metadata["delta"] = delta_meta
    return _with_token(
        {"state": state, "metadata": metadata, "version": version, "timestamp": now}, client_token
    )


def delete_response(version: int, now: int, client_token: str | None) -> dict[str, Any]:
    """The ``/delete/accepted`` body (DeleteThingShadow's HTTP response)."""
    return _with_token({"version": version, "timestamp": now}, client_token)


def rejected_response(error: ShadowRejected, now: int, client_token: str | None) -> dict[str, Any]:
    """The ``/rejected`` body: code, message, timestamp, clientToken when known."""
    return _with_token({"code": error.code, "message": error.message, "timestamp": now}, client_token)


def not_found(thing_name: str, shadow_name: str | None) -> ShadowRejected:
    """AWS's 404 for a shadow that does not exist (its wording names the thing / shadow)."""
    name = shadow_name if shadow_name else thing_name
    return ShadowRejected(404, f"No shadow exists with name: '{name}'")
