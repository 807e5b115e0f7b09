"""Filter policies, pure: each operator against message attributes and bodies, and what validation refuses."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from corral.services.sns import filter_policy
from corral.services.sns.errors import InvalidParameter


def s(value: str) -> dict[str, str]:
    return {"DataType": "String", "StringValue": value}


def n(value: str) -> dict[str, str]:
    return {"DataType": "Number", "StringValue": value}


ATTRIBUTES: dict[str, dict[str, Any]] = {
    "store": s("example_corp"),
    "event": s("order_placed"),
    "price": n("210.75"),
    "customer_interests": {"DataType": "String.Array", "StringValue": '["soccer", "rugby", 7]'},
    "encrypted": {"DataType": "Binary", "BinaryValue": b"\x00"},
}


@pytest.mark.parametrize(
    ("policy", "expected"),
    [
        ({"store": ["example_corp"]}, True),
        ({"store": ["other", "example_corp"]}, True),
        ({"store": ["Example_Corp"]}, False),
        ({"store": [{"equals-ignore-case": "EXAMPLE_CORP"}]}, True),
        ({"store": [{"prefix": "example"}]}, True),
        ({"store": [{"suffix": "_corp"}]}, True),
        ({"store": [{"prefix": "corp"}]}, False),
        ({"event": [{"anything-but": "order_cancelled"}]}, True),
        ({"event": [{"anything-but": ["order_placed", "x"]}]}, False),
        ({"event": [{"anything-but": {"prefix": "order"}}]}, False),
        ({"event": [{"anything-but": {"suffix": "cancelled"}}]}, True),
        ({"missing": [{"anything-but": "x"}]}, False),
        ({"price": [210.75]}, True),
        ({"price": [{"numeric": ["=", 210.75]}]}, True),
        ({"price": [{"numeric": [">", 100, "<=", 210.75]}]}, True),
        ({"price": [{"numeric": [">", 100, "<", 200]}]}, False),
        ({"price": [{"numeric": ["<", 0]}, {"numeric": [">=", 200]}]}, True),
        ({"price": ["210.75"]}, False),  # a string never equals a Number attribute
        ({"store": [{"numeric": [">", 0]}]}, False),
        ({"customer_interests": ["rugby"]}, True),
        ({"customer_interests": [7]}, True),
        ({"customer_interests": ["baseball"]}, False),
        ({"price": [{"exists": True}]}, True),
        ({"missing": [{"exists": False}]}, True),
        ({"price": [{"exists": False}]}, False),
        ({"encrypted": [{"exists": False}]}, True),  # Binary attributes are not matched
        ({"store": ["example_corp"], "event": ["order_cancelled"]}, False),  # every key must match
        ({"store": ["example_corp"], "price": [{"numeric": [">", 200]}]}, True),
    ],
)
def test_message_attributes(policy: dict[str, Any], expected: bool) -> None:
    parsed = filter_policy.parse(orjson.dumps(policy).decode())
    assert filter_policy.matches_attributes(parsed, ATTRIBUTES) is expected


BODY = orjson.dumps(
    {"order": {"kind": "urgent-fix", "items": ["bolt", "nut"], "total": 12, "paid": True, "note": None}}
).decode()


@pytest.mark.parametrize(
    ("policy", "expected"),
    [
        ({"order": {"kind": [{"prefix": "urgent-"}]}}, True),
        ({"order": {"items": ["nut"]}}, True),
        ({"order": {"total": [{"numeric": [">", 10]}]}}, True),
        ({"order": {"paid": [True]}}, True),
        ({"order": {"paid": [False]}}, False),
        ({"order": {"note": [None]}}, True),
        ({"order": {"kind": ["routine"]}}, False),
        ({"order": {"missing": [{"exists": False}]}}, True),
        ({"kind": ["urgent-fix"]}, False),  # the key is nested, not at the top
    ],
)
def test_message_body(policy: dict[str, Any], expected: bool) -> None:
    parsed = filter_policy.parse(orjson.dumps(policy).decode(), "MessageBody")
    assert filter_policy.matches_body(parsed, BODY) is expected


def test_a_body_that_is_not_a_json_object_matches_nothing() -> None:
    parsed = filter_policy.parse('{"a": [{"exists": false}]}', "MessageBody")
    assert not filter_policy.matches_body(parsed, "plain text")
    assert not filter_policy.matches_body(parsed, "[1, 2]")


@pytest.mark.parametrize(
    ("document", "reason"),
    [
        ("not json", "failed to parse JSON."),
        ("[]", "Filter policy must be a JSON object"),
        ("{}", "Filter policy can not be empty"),
        ('{"a": "x"}', '"a" must be an array'),
        ('{"a": []}', 'Empty arrays are not allowed in "a"'),
        ('{"a": [{"like": "x"}]}', "Unrecognized match type like"),
        ('{"a": [{"prefix": 1}]}', "prefix match pattern must be a string"),
        ('{"a": [{"exists": "yes"}]}', "exists match pattern must be either true or false."),
        ('{"a": [{"numeric": [">", "one"]}]}', "Value of > must be numeric"),
        ('{"a": [{"numeric": ["~", 1]}]}', "Unrecognized numeric range operator: ~"),
        ('{"a": [{"numeric": [">", 5, "<", 1]}]}', "Bottom must be less than top"),
        ('{"a": [[1]]}', "Match value must be String, number, true, false, or null"),
        ('{"$or": [{"a": ["x"]}]}', "Unrecognized key $or"),
        (
            '{"a":["1"],"b":["1"],"c":["1"],"d":["1"],"e":["1"],"f":["1"]}',
            "Filter policy can not have more than 5 keys",
        ),
        (orjson.dumps({k: list(range(13)) for k in "ab"}).decode(), "Filter policy is too complex"),
    ],
)
def test_validation(document: str, reason: str) -> None:
    with pytest.raises(InvalidParameter) as refused:
        filter_policy.parse(document)
    assert refused.value.message == f"Invalid parameter: FilterPolicy: {reason}"


def test_nested_objects_only_in_the_body_scope() -> None:
    nested = '{"order": {"kind": ["x"]}}'
    assert filter_policy.parse(nested, "MessageBody") == {"order": {"kind": ["x"]}}
    with pytest.raises(InvalidParameter):
        filter_policy.parse(nested)
    with pytest.raises(InvalidParameter, match="FilterPolicyScope"):
        filter_policy.parse(nested, "Headers")
