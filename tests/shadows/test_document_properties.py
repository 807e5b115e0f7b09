"""Property tests of the shadow algebra's invariants (Hypothesis).

Each property restates a rule of AWS's device-shadow pages (docs/shadow-facts.md) as an invariant over
arbitrary documents and updates, checked against small independent definitions written here.
"""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from corral.shadows.document import (
    Document,
    ShadowLimits,
    UpdateRequest,
    apply_update,
    json_equal,
    shadow_delta,
)

LIMITS = ShadowLimits(max_state_bytes=1 << 30)
KEYS = st.sampled_from(["a", "b", "c", "d"])
SCALARS = st.one_of(
    st.booleans(),
    st.integers(-3, 3),
    st.sampled_from([0.5, 1.0, 2.0]),
    st.sampled_from(["x", "y", ""]),
)
ARRAYS = st.lists(SCALARS, max_size=3)


def values(nullable: bool) -> st.SearchStrategy[Any]:
    """JSON values for a section (nulls as deletions when ``nullable``); never null inside arrays."""
    leaf = st.one_of(SCALARS, ARRAYS, st.none()) if nullable else st.one_of(SCALARS, ARRAYS)
    return st.recursive(leaf, lambda inner: st.dictionaries(KEYS, inner, max_size=3), max_leaves=8)


SECTION_PATCH = st.dictionaries(KEYS, values(nullable=True), max_size=3)
STATE_PATCH = st.one_of(
    st.none(),
    st.fixed_dictionaries(
        {},
        optional={
            "desired": st.one_of(st.none(), SECTION_PATCH),
            "reported": st.one_of(st.none(), SECTION_PATCH),
        },
    ),
)
UPDATES = st.lists(STATE_PATCH, min_size=1, max_size=6)


def build(patches: list[dict[str, Any] | None]) -> tuple[Document | None, int]:
    document: Document | None = None
    version = 0
    for i, state in enumerate(patches):
        out = apply_update(document, version, UpdateRequest(state, None, None), 1000 + i, LIMITS)
        document, version = out.document, out.version
    return document, version


def leaves(value: Any, path: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], Any]]:
    if isinstance(value, dict):
        return [leaf for key, child in value.items() for leaf in leaves(child, (*path, key))]
    return [(path, value)]


def lookup(value: Any, path: tuple[str, ...]) -> tuple[bool, Any]:
    for key in path:
        if not isinstance(value, dict) or key not in value:
            return False, None
        value = value[key]
    return True, value


def strip_timestamps(metadata: Any) -> Any:
    if isinstance(metadata, dict):
        return {k: strip_timestamps(v) for k, v in metadata.items() if k != "timestamp"}
    if isinstance(metadata, list):
        return [strip_timestamps(v) for v in metadata]
    return metadata


def check_stored(document: Document) -> None:
    """Empty sections, empty objects and null leaves never reach the store; metadata mirrors state."""
    assert set(document) == {"state", "metadata"}
    state, metadata = document["state"], document["metadata"]
    assert set(state) <= {"desired", "reported"}
    assert set(metadata) == set(state)

    def walk(value: Any, meta: Any) -> None:
        if isinstance(value, dict):
            assert value, "empty object stored"
            assert isinstance(meta, dict) and set(meta) == set(value)
            for key, child in value.items():
                walk(child, meta[key])
        elif isinstance(value, list):
            assert isinstance(meta, list) and len(meta) == len(value)
            for child, child_meta in zip(value, meta, strict=True):
                assert child is not None
                walk(child, child_meta)
        else:
            assert value is not None, "null leaf stored"
            assert isinstance(meta, dict) and set(meta) == {"timestamp"}

    for section, body in state.items():
        walk(body, metadata[section])


@settings(max_examples=200)
@given(UPDATES)
def test_stored_document_never_has_empty_sections_or_null_leaves(
    patches: list[dict[str, Any] | None],
) -> None:
    """device-shadow-document, "Empty shadow document properties": sections exist only when they hold
    state; a null removes a field (device-shadow-data-flow, "Deleting shadow data")."""
    document, _ = build(patches)
    assert document is not None
    check_stored(document)


@settings(max_examples=200)
@given(UPDATES)
def test_delta_is_empty_exactly_when_every_desired_leaf_equals_reported(
    patches: list[dict[str, Any] | None],
) -> None:
    """device-shadow-document, "Delta state": the delta holds the desired fields reported lacks or holds
    differently, so it is empty exactly when every desired leaf is matched in reported."""
    document, _ = build(patches)
    assert document is not None
    desired = document["state"].get("desired", {})
    reported = document["state"].get("reported", {})
    matched = all(
        found and json_equal(value, other)
        for path, value in leaves(desired)
        for found, other in [lookup(reported, path)]
    )
    delta, delta_meta = shadow_delta(document)
    assert (delta == {}) == matched
    assert set(delta_meta) == set(delta)


@settings(max_examples=200)
@given(UPDATES, STATE_PATCH)
def test_same_update_twice_changes_only_version_and_timestamps(
    patches: list[dict[str, Any] | None], state: dict[str, Any] | None
) -> None:
    """device-shadow-document, "Versioning shadow documents": every accepted update increments the version;
    applying the same update again leaves the state as it was (only versions and timestamps move)."""
    document, version = build(patches)
    once = apply_update(document, version, UpdateRequest(state, None, None), 5000, LIMITS)
    twice = apply_update(once.document, once.version, UpdateRequest(state, None, None), 6000, LIMITS)
    assert twice.document["state"] == once.document["state"]
    assert strip_timestamps(twice.document["metadata"]) == strip_timestamps(once.document["metadata"])
    assert twice.version == once.version + 1
    assert strip_timestamps(twice.accepted) == {**strip_timestamps(once.accepted), "version": twice.version}


@settings(max_examples=100)
@given(UPDATES, st.integers(0, 1000))
def test_versions_only_grow(patches: list[dict[str, Any] | None], start: int) -> None:
    """device-shadow-document, "Versioning shadow documents": each update increments the version by one,
    also for a shadow recreated from a deleted one's version (device-shadow-data-flow, DELETE)."""
    document: Document | None = None
    version = start
    for i, state in enumerate(patches):
        out = apply_update(document, version, UpdateRequest(state, None, None), i, LIMITS)
        assert out.version == version + 1
        assert out.accepted["version"] == out.version == out.documents["current"]["version"]
        document, version = out.document, out.version


@settings(max_examples=200)
@given(UPDATES, st.sampled_from(["desired", "reported"]), st.lists(KEYS, min_size=1, max_size=3))
def test_a_field_set_to_null_is_gone_afterwards(
    patches: list[dict[str, Any] | None], section: str, path: list[str]
) -> None:
    """device-shadow-data-flow, "Deleting shadow data": fields with a value of null are removed."""
    document, version = build(patches)
    patch: Any = None
    for key in reversed(path):
        patch = {key: patch}
    out = apply_update(document, version, UpdateRequest({section: patch}, None, None), 9, LIMITS)
    found, _ = lookup(out.document["state"].get(section, {}), tuple(path))
    assert not found
    check_stored(out.document)
