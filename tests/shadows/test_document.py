"""The shadow algebra against AWS's documented examples: byte/JSON fixtures, one rule per test.

Each docstring names the AWS page (and paragraph) it checks; docs/shadow-facts.md lists the URLs.
"""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from corral.shadows.document import (
    ShadowLimits,
    ShadowRejected,
    UpdateOutcome,
    UpdateRequest,
    apply_update,
    client_token_of,
    delete_response,
    get_response,
    not_found,
    parse_read,
    parse_update,
    rejected_response,
)

LIMITS = ShadowLimits()
T0 = 1469564492
T1 = 1469564658


def update(
    current: dict[str, Any] | None, version: int, body: dict[str, Any], now: int = T1
) -> UpdateOutcome:
    return apply_update(current, version, parse_update(orjson.dumps(body), LIMITS), now, LIMITS)


def rejection(payload: bytes) -> tuple[int, str]:
    with pytest.raises(ShadowRejected) as info:
        parse_update(payload, LIMITS)
    return info.value.code, info.value.message


# --- applying an update ---------------------------------------------------------------------------------


def test_first_update_creates_the_shadow_at_version_1() -> None:
    """device-shadow-data-flow, "Updating a shadow": an update creates a shadow that does not exist; the
    accepted document echoes the request's state with a timestamp per field (2016 guide's light-bulb flow)."""
    out = update(None, 0, {"state": {"reported": {"color": "red"}}}, T0)
    assert out.version == 1
    assert out.document == {
        "state": {"reported": {"color": "red"}},
        "metadata": {"reported": {"color": {"timestamp": T0}}},
    }
    assert out.accepted == {
        "state": {"reported": {"color": "red"}},
        "metadata": {"reported": {"color": {"timestamp": T0}}},
        "version": 1,
        "timestamp": T0,
    }
    assert out.delta is None


def test_only_the_fields_given_change_and_nested_objects_merge() -> None:
    """device-shadow-data-flow, "Updating a shadow": updates affect only the fields specified; the 2016
    guide's example merges {"color": {"r": 10}} into {"color": {"r": 255, "g": 255, "b": 0}}."""
    first = update(None, 0, {"state": {"reported": {"color": {"r": 255, "g": 255, "b": 0}}}}, T0)
    out = update(first.document, 1, {"state": {"reported": {"color": {"r": 10}, "engine": "ON"}}}, T1)
    assert out.document["state"] == {"reported": {"color": {"r": 10, "g": 255, "b": 0}, "engine": "ON"}}
    assert out.document["metadata"] == {
        "reported": {
            "color": {"r": {"timestamp": T1}, "g": {"timestamp": T0}, "b": {"timestamp": T0}},
            "engine": {"timestamp": T1},
        }
    }
    assert out.version == 2


def test_null_deletes_a_field_and_a_section() -> None:
    """device-shadow-data-flow, "Deleting shadow data" (and the 2016 guide's "Deleting Data" example):
    a field set to null is removed; "desired": null removes the desired section."""
    start = {
        "state": {
            "desired": {"lights": {"color": "RED"}, "engine": "ON"},
            "reported": {"lights": {"color": "GREEN"}, "engine": "OFF"},
        }
    }
    first = update(None, 0, start, T0)
    out = update(first.document, 1, {"state": {"desired": None, "reported": {"engine": None}}}, T1)
    assert out.document == {
        "state": {"reported": {"lights": {"color": "GREEN"}}},
        "metadata": {"reported": {"lights": {"color": {"timestamp": T0}}}},
    }


def test_accepted_echoes_a_null_section_with_a_timestamp() -> None:
    """2016 guide, "Device Shadows Data Flow": the accepted message for {"reported": {...}, "desired": null}
    echoes "desired": null, and its metadata gives the deleted node a timestamp."""
    first = update(None, 0, {"state": {"desired": {"color": "green"}}}, T0)
    out = update(first.document, 1, {"state": {"reported": {"color": "green"}, "desired": None}}, T1)
    assert out.accepted == {
        "state": {"reported": {"color": "green"}, "desired": None},
        "metadata": {"reported": {"color": {"timestamp": T1}}, "desired": {"timestamp": T1}},
        "version": 2,
        "timestamp": T1,
    }
    assert out.document["state"] == {"reported": {"color": "green"}}


def test_state_null_empties_the_shadow_but_keeps_it() -> None:
    """device-shadow-data-flow, "Deleting a shadow" note: setting the state to null does not delete the
    shadow; the version still increments."""
    first = update(None, 0, {"state": {"desired": {"a": 1}, "reported": {"b": 2}}}, T0)
    out = update(first.document, 1, {"state": None}, T1)
    assert out.document == {"state": {}, "metadata": {}}
    assert out.version == 2
    assert get_response(out.document, out.version, T1, None) == {
        "state": {},
        "metadata": {},
        "version": 2,
        "timestamp": T1,
    }


def test_deleting_every_field_removes_the_section() -> None:
    """device-shadow-document, "Empty shadow document properties": a shadow has a desired section only if
    it has a desired state; a section that becomes empty is removed, and a shadow with neither is empty."""
    first = update(None, 0, {"state": {"desired": {"a": 1}}}, T0)
    out = update(first.document, 1, {"state": {"desired": {"a": None}}}, T1)
    assert out.document == {"state": {}, "metadata": {}}


def test_an_object_emptied_by_deletions_is_removed() -> None:
    """device-shadow-document, "Empty shadow document properties" (applied to nested objects; a decision:
    the stored document never keeps an empty object)."""
    first = update(None, 0, {"state": {"reported": {"a": {"b": 1}, "c": 2}}}, T0)
    out = update(first.document, 1, {"state": {"reported": {"a": {"b": None}}}}, T1)
    assert out.document["state"] == {"reported": {"c": 2}}
    assert out.document["metadata"] == {"reported": {"c": {"timestamp": T0}}}


def test_arrays_are_replaced_whole() -> None:
    """device-shadow-document, "Array values in shadow documents": an update to an array replaces the whole
    array; part of an array cannot be updated."""
    first = update(None, 0, {"state": {"desired": {"colors": ["RED", "GREEN", "BLUE"]}}}, T0)
    out = update(first.document, 1, {"state": {"desired": {"colors": ["RED"]}}}, T1)
    assert out.document["state"] == {"desired": {"colors": ["RED"]}}


def test_array_metadata_has_one_timestamp_per_element() -> None:
    """AWS's metadata for an array is an array with a timestamp per element (objects inside mirrored), as
    AWS returns it (seqsense/aws-iot-device-sdk-go#213 shows a real response); the docs show no example."""
    out = update(None, 0, {"state": {"desired": {"v": [1, {"x": 2}, [3]]}}}, T0)
    assert out.document["metadata"] == {
        "desired": {"v": [{"timestamp": T0}, {"x": {"timestamp": T0}}, [{"timestamp": T0}]]}
    }


@pytest.mark.parametrize(
    "body",
    [
        {"state": {"desired": {"colors": [None, "RED", "GREEN"]}}},
        {"state": {"reported": {"a": {"b": [1, [None]]}}}},
    ],
)
def test_arrays_with_null_are_rejected(body: dict[str, Any]) -> None:
    """device-shadow-document, "Array values in shadow documents": arrays can't have null values; such an
    update is rejected (the page names no message: Corral answers 400 "Invalid JSON")."""
    assert rejection(orjson.dumps(body)) == (400, "Invalid JSON")


def test_version_conflict() -> None:
    """device-shadow-data-flow, "Optimistic locking": a version that differs from the current one is
    rejected with 409 "Version conflict"; the matching one is accepted and the version becomes 11."""
    doc = {
        "state": {"desired": {"colors": ["RED", "GREEN", "BLUE"]}},
        "metadata": {"desired": {"colors": [{"timestamp": T0}] * 3}},
    }
    with pytest.raises(ShadowRejected) as info:
        update(doc, 10, {"state": {"desired": {"colors": ["BLUE"]}}, "version": 9})
    assert (info.value.code, info.value.message) == (409, "Version conflict")
    out = update(doc, 10, {"state": {"desired": {"colors": ["BLUE"]}}, "version": 10})
    assert out.version == 11


def test_client_token_is_echoed_everywhere() -> None:
    """device-shadow-document, "Client tokens in shadow documents": the response carries the request's
    clientToken (accepted, delta, documents)."""
    out = update(None, 0, {"state": {"desired": {"a": 1}}, "clientToken": "tok-1"})
    assert out.accepted["clientToken"] == "tok-1"
    assert out.delta is not None and out.delta["clientToken"] == "tok-1"
    assert out.documents["clientToken"] == "tok-1"
    assert "clientToken" not in update(None, 0, {"state": {"desired": {"a": 1}}}).accepted


# --- the delta ------------------------------------------------------------------------------------------


def test_delta_on_a_desired_change() -> None:
    """2016 guide, "Device Shadows Data Flow": the app's desired color publishes /update/delta with the
    differing state, its desired-side metadata, the version and timestamp."""
    first = update(None, 0, {"state": {"reported": {"color": "red"}}}, T0)
    out = update(first.document, 1, {"state": {"desired": {"color": "green"}}}, T1)
    assert out.delta == {
        "version": 2,
        "timestamp": T1,
        "state": {"color": "green"},
        "metadata": {"color": {"timestamp": T1}},
    }


def test_delta_contains_the_path_to_the_root_for_nested_objects() -> None:
    """device-shadow-document, "Delta state": when nested objects differ, the delta contains the path all the
    way to the root."""
    first = update(None, 0, {"state": {"reported": {"lights": {"color": {"r": 255, "g": 0, "b": 255}}}}}, T0)
    out = update(
        first.document, 1, {"state": {"desired": {"lights": {"color": {"r": 255, "g": 255, "b": 255}}}}}
    )
    assert out.delta is not None
    assert out.delta["state"] == {"lights": {"color": {"g": 255}}}
    assert out.delta["metadata"] == {"lights": {"color": {"g": {"timestamp": T1}}}}


def test_delta_includes_desired_fields_missing_from_reported_and_ignores_reported_only() -> None:
    """device-shadow-mqtt, /update/delta "Message body details": attributes in desired without an equivalent
    in reported are included; attributes only in reported are not; all differing attributes are sent,
    not only those of this update."""
    first = update(
        None, 0, {"state": {"desired": {"color": "RED"}, "reported": {"color": "GREEN", "engine": "ON"}}}, T0
    )
    out = update(first.document, 1, {"state": {"desired": {"state": "STOP"}}}, T1)
    assert out.delta is not None
    assert out.delta["state"] == {"color": "RED", "state": "STOP"}
    assert out.delta["metadata"] == {"color": {"timestamp": T0}, "state": {"timestamp": T1}}


def test_delta_compares_arrays_whole() -> None:
    """device-shadow-document, "Delta state": arrays are treated like values; if the desired array differs
    from the reported one, the whole desired array is in the delta."""
    first = update(None, 0, {"state": {"reported": {"seq": [1, 2, 3]}}}, T0)
    out = update(first.document, 1, {"state": {"desired": {"seq": [1, 2, 4]}}})
    assert out.delta is not None and out.delta["state"] == {"seq": [1, 2, 4]}
    same = update(first.document, 1, {"state": {"desired": {"seq": [1, 2, 3]}}})
    assert same.delta is None


def test_no_delta_for_a_reported_only_update() -> None:
    """device-shadow-data-flow, "Updating a shadow when a device reports its current state": a device's
    report is answered on /update/accepted (and /documents); /update/delta follows a change to desired."""
    first = update(None, 0, {"state": {"desired": {"color": "RED"}}}, T0)
    out = update(first.document, 1, {"state": {"reported": {"color": "GREEN"}}})
    assert out.delta is None


def test_no_delta_when_desired_matches_reported() -> None:
    """device-shadow-mqtt, /update/delta: published only when desired and reported differ."""
    first = update(None, 0, {"state": {"reported": {"color": "RED"}}}, T0)
    assert update(first.document, 1, {"state": {"desired": {"color": "RED"}}}).delta is None


def test_numbers_compare_by_value_and_booleans_are_not_numbers() -> None:
    """device-shadow-document: the service respects all rules of the JSON specification (1 and 1.0 are the
    same number; true is not 1)."""
    first = update(None, 0, {"state": {"reported": {"a": 1, "b": 1}}}, T0)
    out = update(first.document, 1, {"state": {"desired": {"a": 1.0, "b": True}}})
    assert out.delta is not None and out.delta["state"] == {"b": True}


# --- the other bodies -----------------------------------------------------------------------------------


def test_documents_body_previous_null_on_creation() -> None:
    """device-shadow-mqtt, /update/documents: previous and current are full documents (state, metadata,
    version); previous is null when the shadow is created."""
    out = update(None, 0, {"state": {"reported": {"a": 1}}, "clientToken": "c"}, T0)
    assert out.documents == {
        "previous": None,
        "current": {
            "state": {"reported": {"a": 1}},
            "metadata": {"reported": {"a": {"timestamp": T0}}},
            "version": 1,
        },
        "timestamp": T0,
        "clientToken": "c",
    }
    second = update(out.document, 1, {"state": {"desired": {"a": 2}}}, T1)
    assert second.documents["previous"] == out.documents["current"]
    assert second.documents["current"]["version"] == 2
    assert "delta" not in second.documents["current"]["state"]


def test_documents_previous_null_for_a_shadow_recreated_after_delete() -> None:
    """device-shadow-data-flow, DELETE: a shadow recreated within 48 hours continues the deleted one's
    version; it is still a creation, so previous is null."""
    out = update(None, 7, {"state": {"reported": {"a": 1}}}, T0)
    assert out.version == 8
    assert out.documents["previous"] is None


def test_get_response_has_delta_and_its_metadata() -> None:
    """2016 guide, "Retrieving a Thing Shadow Document" and device-shadow-document "Delta state": the get
    response holds desired, reported, delta, and metadata with the delta's (desired) timestamps."""
    first = update(None, 0, {"state": {"desired": {"lights": {"color": "RED"}, "engine": "ON"}}}, 123456)
    doc = update(
        first.document, 1, {"state": {"reported": {"lights": {"color": "GREEN"}, "engine": "ON"}}}, 789012
    )
    body = get_response(doc.document, doc.version, 123456789, "tok")
    assert body == {
        "state": {
            "desired": {"lights": {"color": "RED"}, "engine": "ON"},
            "reported": {"lights": {"color": "GREEN"}, "engine": "ON"},
            "delta": {"lights": {"color": "RED"}},
        },
        "metadata": {
            "desired": {"lights": {"color": {"timestamp": 123456}}, "engine": {"timestamp": 123456}},
            "reported": {"lights": {"color": {"timestamp": 789012}}, "engine": {"timestamp": 789012}},
            "delta": {"lights": {"color": {"timestamp": 123456}}},
        },
        "version": 2,
        "timestamp": 123456789,
        "clientToken": "tok",
    }


def test_delete_response() -> None:
    """device-shadow-data-flow, "Deleting a shadow": the accepted delete message is {version, timestamp}."""
    assert delete_response(4, 1591057529, None) == {"version": 4, "timestamp": 1591057529}
    assert delete_response(4, 1591057529, "t") == {"version": 4, "timestamp": 1591057529, "clientToken": "t"}


def test_rejected_response() -> None:
    """device-shadow-document, "Error response document": code, message, timestamp, clientToken."""
    err = ShadowRejected(409, "Version conflict")
    assert rejected_response(err, T0, "abc") == {
        "code": 409,
        "message": "Version conflict",
        "timestamp": T0,
        "clientToken": "abc",
    }
    assert rejected_response(err, T0, None) == {"code": 409, "message": "Version conflict", "timestamp": T0}


def test_not_found_names_the_shadow() -> None:
    """device-shadow-error-messages, 404 "No shadow exists with name: shadowName"; AWS quotes the name
    (aws-amplify/aws-sdk-ios#5388 shows "No shadow exists with name: 'Limits'") and names the thing for
    the classic shadow."""
    classic = not_found("myLightBulb", None)
    assert (classic.code, classic.message) == (404, "No shadow exists with name: 'myLightBulb'")
    named = not_found("myLightBulb", "Limits")
    assert (named.code, named.message) == (404, "No shadow exists with name: 'Limits'")


# --- validation -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        (b"{", (400, "Invalid JSON")),
        (b"", (400, "Invalid JSON")),
        (b"[1]", (400, "Invalid JSON")),
        (b'"state"', (400, "Invalid JSON")),
        (b'{"state": NaN}', (400, "Invalid JSON")),
        (b"{}", (400, "Missing required node: state")),
        (b'{"desired": {"a": 1}}', (400, "Missing required node: state")),
        (b'{"state": 1}', (400, "State node must be an object")),
        (b'{"state": []}', (400, "State node must be an object")),
        (b'{"state": "x"}', (400, "State node must be an object")),
        (b'{"state": {"desired": 1}}', (400, "Desired node must be an object")),
        (b'{"state": {"desired": [1]}}', (400, "Desired node must be an object")),
        (b'{"state": {"reported": "on"}}', (400, "Reported node must be an object")),
        (b'{"state": {"delta": {"a": 1}}}', (400, "State contains an invalid node")),
        (b'{"state": {"color": "red"}}', (400, "State contains an invalid node")),
        (b'{"state": {}, "version": "1"}', (400, "Invalid version")),
        (b'{"state": {}, "version": 1.5}', (400, "Invalid version")),
        (b'{"state": {}, "version": true}', (400, "Invalid version")),
        (b'{"state": {}, "version": -1}', (400, "Invalid version")),
        (b'{"state": {}, "version": null}', (400, "Invalid version")),
        (b'{"state": {}, "clientToken": 5}', (400, "Invalid clientToken")),
        (b'{"state": {}, "clientToken": null}', (400, "Invalid clientToken")),
        (b'{"state": {}, "clientToken": "' + b"x" * 65 + b'"}', (400, "Invalid clientToken")),
        (b"\xff\xfe{}", (415, "Unsupported documented encoding; supported encoding is UTF-8")),
    ],
)
def test_validation_messages(payload: bytes, expected: tuple[int, str]) -> None:
    """device-shadow-error-messages: the 400 (and 415) codes and their exact messages."""
    assert rejection(payload) == expected


def test_client_token_limit_is_64_bytes_not_characters() -> None:
    """device-shadow-document, "Client tokens": a client token longer than 64 bytes is "Invalid clientToken"
    (bytes: 32 two-byte characters pass, 33 fail)."""
    ok = parse_update(orjson.dumps({"state": {}, "clientToken": "é" * 32}), LIMITS)
    assert ok.client_token == "é" * 32
    assert rejection(orjson.dumps({"state": {}, "clientToken": "é" * 33})) == (400, "Invalid clientToken")
    assert parse_update(orjson.dumps({"state": {}, "clientToken": "x" * 64}), LIMITS).client_token == "x" * 64


def test_unknown_top_level_keys_are_ignored() -> None:
    """diagnosing-shadows: only fields in desired and reported are stored; JSON outside them is ignored."""
    req = parse_update(b'{"state": {"reported": {"a": 1}}, "metadata": {"x": 1}, "timestamp": 5}', LIMITS)
    assert req == UpdateRequest(state={"reported": {"a": 1}}, version=None, client_token=None)


def test_nesting_depth_of_six_levels() -> None:
    """device-shadow-error-messages: "JSON contains too many levels of nesting; maximum is 6" — six levels
    inside desired (the section object counts as the first) pass, seven fail; arrays are levels too."""
    six = {"a": {"b": {"c": {"d": {"e": {"f": 1}}}}}}
    parse_update(orjson.dumps({"state": {"desired": six}}), LIMITS)
    seven = {"a": {"b": {"c": {"d": {"e": {"f": {"g": 1}}}}}}}
    too_deep = (400, "JSON contains too many levels of nesting; maximum is 6")
    assert rejection(orjson.dumps({"state": {"reported": seven}})) == too_deep
    with_array = {"a": {"b": {"c": {"d": {"e": [[1]]}}}}}
    assert rejection(orjson.dumps({"state": {"desired": with_array}})) == too_deep


def test_payload_larger_than_the_limit_is_413() -> None:
    """device-shadow-error-messages, 413 "The payload exceeds the maximum size allowed"."""
    limits = ShadowLimits(max_payload_bytes=100)
    with pytest.raises(ShadowRejected) as info:
        parse_update(orjson.dumps({"state": {"reported": {"a": "x" * 100}}}), limits)
    assert (info.value.code, info.value.message) == (413, "The payload exceeds the maximum size allowed")


def test_state_size_counts_without_whitespace_or_metadata() -> None:
    """diagnosing-shadows: the shadow supports 8 KB; metadata does not count, only desired and reported.
    Whitespace in the request does not count either; the merged state is measured."""
    filler = "x" * (8192 - len(b'{"reported":{"a":""}}'))
    padded = b'{"state":   {  "reported" :  {  "a" : "' + filler.encode() + b'"  }  }   }'
    out = apply_update(None, 0, parse_update(padded, LIMITS), T0, LIMITS)
    assert out.version == 1
    with pytest.raises(ShadowRejected) as info:
        update(out.document, 1, {"state": {"reported": {"b": 1}}})
    assert (info.value.code, info.value.message) == (413, "The payload exceeds the maximum size allowed")


def test_client_token_of_a_rejected_request() -> None:
    """device-shadow-document, "Error response document": the clientToken is echoed when it can be read."""
    assert client_token_of(b'{"state": 1, "clientToken": "abc"}') == "abc"
    assert client_token_of(b"{") is None
    assert client_token_of(b'{"clientToken": 5}') is None


def test_parse_read() -> None:
    """device-shadow-mqtt, /get and /delete: an empty message, or (as the SDKs send) {"clientToken": ...}."""
    assert parse_read(b"") == parse_read(b"{}")
    assert parse_read(b'{"clientToken": "t"}').client_token == "t"
    with pytest.raises(ShadowRejected) as info:
        parse_read(b"{nope")
    assert (info.value.code, info.value.message) == (400, "Invalid JSON")


def test_an_object_replaces_a_scalar_and_a_scalar_replaces_an_object() -> None:
    """device-shadow-data-flow, "Updating a shadow": a field's new value replaces the old one whatever its
    type; only object-into-object merges."""
    first = update(None, 0, {"state": {"reported": {"a": 1, "b": {"c": 2}}}}, T0)
    out = update(first.document, 1, {"state": {"reported": {"a": {"x": None, "y": 1}, "b": 3}}}, T1)
    assert out.document["state"] == {"reported": {"a": {"y": 1}, "b": 3}}
    assert out.document["metadata"] == {"reported": {"a": {"y": {"timestamp": T1}}, "b": {"timestamp": T1}}}


def test_an_empty_object_is_not_stored() -> None:
    """device-shadow-document, "Empty shadow document properties" (Corral's decision for nested objects):
    {} adds nothing, and the accepted message still echoes the request as sent."""
    out = update(None, 0, {"state": {"desired": {"a": {}}, "reported": {}}}, T0)
    assert out.document == {"state": {}, "metadata": {}}
    assert out.accepted["state"] == {"desired": {"a": {}}, "reported": {}}
    assert out.accepted["metadata"] == {"desired": {"a": {}}, "reported": {}}


def test_accepted_for_state_null() -> None:
    """device-shadow-data-flow, "Deleting a shadow" note, with the 2016 guide's echo of a null node:
    "state": null is echoed with a timestamp as its metadata, and publishes no delta."""
    first = update(None, 0, {"state": {"desired": {"a": 1}}}, T0)
    out = update(first.document, 1, {"state": None, "clientToken": "z"}, T1)
    assert out.accepted == {
        "state": None,
        "metadata": {"timestamp": T1},
        "version": 2,
        "timestamp": T1,
        "clientToken": "z",
    }
    assert out.delta is None
    assert out.documents["current"] == {"state": {}, "metadata": {}, "version": 2}


def test_apply_update_leaves_its_inputs_alone() -> None:
    """The algebra is pure (DESIGN.md, habit 4): the current document and the request are not modified, and
    the outcome shares no mutable value with them."""
    first = update(None, 0, {"state": {"desired": {"a": {"b": [1, 2]}}}}, T0)
    before = orjson.dumps(first.document)
    request = parse_update(b'{"state": {"desired": {"a": {"c": [3]}}}}', LIMITS)
    out = apply_update(first.document, 1, request, T1, LIMITS)
    assert orjson.dumps(first.document) == before
    out.document["state"]["desired"]["a"]["c"].append(4)
    assert request.state == {"desired": {"a": {"c": [3]}}}
    assert out.accepted["state"] == {"desired": {"a": {"c": [3]}}}


def test_version_zero_matches_a_new_shadow() -> None:
    """device-shadow-data-flow, "Optimistic locking": the update is processed only if the version matches the
    latest one; a shadow that does not exist yet is at version 0 (or a recently deleted one's)."""
    assert update(None, 0, {"state": {"reported": {"a": 1}}, "version": 0}).version == 1
    with pytest.raises(ShadowRejected) as info:
        update(None, 0, {"state": {"reported": {"a": 1}}, "version": 1})
    assert info.value.code == 409
