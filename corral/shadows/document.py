"""The shadow algebra: AWS IoT's device-shadow document rules as pure functions, with no I/O.

INTERFACE STUB — the bodies are being written; the signatures and the shapes in the docstrings are the
contract ``corral/shadows/service.py`` codes against.

Shapes (all plain JSON values, ``dict[str, Any]``):

- a stored document: ``{"state": {"desired": {...}, "reported": {...}}, "metadata": {"desired": {...},
  "reported": {...}}}``; a section that does not exist is absent (never ``{}`` or ``null``). The version is
  kept beside it, not inside.
- timestamps are integer epoch seconds, as AWS sends them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

Document = dict[str, Any]


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


def parse_update(payload: bytes, limits: ShadowLimits) -> UpdateRequest:
    """Validates an update request as AWS does; raises ShadowRejected with AWS's code and message."""
    raise NotImplementedError


def parse_read(payload: bytes) -> ReadRequest:
    """Validates a get or delete request's payload (empty, or a JSON object with clientToken)."""
    raise NotImplementedError


def client_token_of(payload: bytes) -> str | None:
    """The clientToken of a request that failed validation, when one can still be read (for the rejection)."""
    raise NotImplementedError


def apply_update(
    current: Document | None, current_version: int, request: UpdateRequest, now: int, limits: ShadowLimits
) -> UpdateOutcome:
    """Applies an update to a shadow. ``current`` is None when the shadow does not exist; ``current_version``
    is then the version a new shadow continues from (0, or a recently deleted one's). Raises ShadowRejected
    (409 "Version conflict" when request.version is given and differs; 400/413 for the limits)."""
    raise NotImplementedError


def get_response(document: Document, version: int, now: int, client_token: str | None) -> dict[str, Any]:
    """The ``/get/accepted`` body (GetThingShadow's HTTP response without a clientToken): state with delta,
    metadata with delta's metadata, version, timestamp."""
    raise NotImplementedError


def delete_response(version: int, now: int, client_token: str | None) -> dict[str, Any]:
    """The ``/delete/accepted`` body (DeleteThingShadow's HTTP response)."""
    raise NotImplementedError


def rejected_response(error: ShadowRejected, now: int, client_token: str | None) -> dict[str, Any]:
    """The ``/rejected`` body: code, message, timestamp, clientToken when known."""
    raise NotImplementedError


def not_found(thing_name: str, shadow_name: str | None) -> ShadowRejected:
    """AWS's 404 for a shadow that does not exist (its wording names the thing / shadow)."""
    raise NotImplementedError
