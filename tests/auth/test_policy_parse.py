"""Policy grammar and validation: what CreatePolicy accepts, and the MalformedPolicyException messages."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from corral.auth.policy import (
    MAX_POLICIES_PER_PRINCIPAL,
    MAX_POLICY_DOCUMENT_CHARS,
    MAX_POLICY_VERSIONS,
    Condition,
    Effect,
    MalformedPolicyError,
    parse_policy,
    policy_document_size,
)

ARN = "arn:aws:iot:us-east-1:123456789012"
OK_STATEMENT: dict[str, Any] = {"Effect": "Allow", "Action": "iot:Connect", "Resource": "*"}


def policy(*statements: dict[str, Any], **top: Any) -> str:
    body: dict[str, Any] = {"Version": "2012-10-17", "Statement": list(statements)}
    body.update(top)
    return json.dumps(body)


def with_statement(**changes: Any) -> str:
    statement = dict(OK_STATEMENT)
    for key, value in changes.items():
        if value is None:
            statement.pop(key, None)
        else:
            statement[key] = value
    return policy(statement)


MALFORMED: list[tuple[str, str, str]] = [
    ("not json", "{", "Invalid policy syntax."),
    ("empty", "", "Invalid policy syntax."),
    ("array", "[]", "Invalid policy syntax."),
    ("NaN literal", '{"Version": NaN}', "Invalid policy syntax."),
    ("no statements", json.dumps({"Version": "2012-10-17"}), "Policy has no statements"),
    ("empty statement list", policy(), "Policy has no statements"),
    (
        "statement not an object",
        json.dumps({"Version": "2012-10-17", "Statement": ["x"]}),
        "Invalid policy syntax.",
    ),
    ("statement a string", json.dumps({"Version": "2012-10-17", "Statement": "x"}), "Invalid policy syntax."),
    (
        "old version",
        policy(OK_STATEMENT, Version="2008-10-17"),
        "Unknown policy document version. It must be version 2012-10-17",
    ),
    (
        "missing version",
        json.dumps({"Statement": [OK_STATEMENT]}),
        "Unknown policy document version. It must be version 2012-10-17",
    ),
    ("unknown top-level field", policy(OK_STATEMENT, Foo=1), "Unknown field: Foo"),
    ("unknown statement field", with_statement(Actions=["iot:Connect"]), "Unknown field: Actions"),
    ("principal", with_statement(Principal="*"), "Policy document should not specify a principal."),
    ("missing Effect", with_statement(Effect=None), "Missing required field Effect"),
    ("bad Effect", with_statement(Effect="allow"), "Invalid effect: allow"),
    ("Effect not a string", with_statement(Effect=True), "Invalid policy syntax."),
    (
        "Action and NotAction",
        with_statement(NotAction="iot:Publish"),
        "Statement can contain either Action or NotAction, not both",
    ),
    ("no Action", with_statement(Action=None), "Policy statement must contain actions."),
    ("empty Action list", with_statement(Action=[]), "Policy statement must contain actions."),
    ("Action not a string", with_statement(Action=[1]), "Invalid policy syntax."),
    ("Action without service", with_statement(Action="Publish"), "Invalid action: Publish"),
    ("Action with two colons", with_statement(Action="iot:a:b"), "Invalid action: iot:a:b"),
    (
        "Resource and NotResource",
        with_statement(NotResource="*"),
        "Statement can contain either Resource or NotResource, not both",
    ),
    ("no Resource", with_statement(Resource=None), "Policy statement must contain resources."),
    (
        "Resource not an ARN",
        with_statement(Resource="topic/foo"),
        "The resource topic/foo is not in valid ARN format",
    ),
    (
        "Resource with too few segments",
        with_statement(Resource="arn:aws:iot:us-east-1:topic"),
        "The resource arn:aws:iot:us-east-1:topic is not in valid ARN format",
    ),
    ("Condition not an object", with_statement(Condition=["x"]), "Invalid policy syntax."),
    (
        "unknown condition operator",
        with_statement(Condition={"StringEqualz": {"iot:ClientId": "a"}}),
        "Invalid condition operator: StringEqualz",
    ),
    (
        "unknown set qualifier",
        with_statement(Condition={"ForSomeValues:StringEquals": {"iot:ClientId": "a"}}),
        "Invalid condition operator: ForSomeValues:StringEquals",
    ),
    (
        "NullIfExists",
        with_statement(Condition={"NullIfExists": {"k:k": "true"}}),
        "Invalid condition operator: NullIfExists",
    ),
    (
        "condition value an object",
        with_statement(Condition={"StringEquals": {"iot:ClientId": {"a": 1}}}),
        "Invalid policy syntax.",
    ),
    (
        "condition value null",
        with_statement(Condition={"StringEquals": {"iot:ClientId": None}}),
        "Invalid policy syntax.",
    ),
    ("Sid not a string", with_statement(Sid=3), "Invalid policy syntax."),
]


@pytest.mark.parametrize(
    ("document", "detail"), [(d, m) for _, d, m in MALFORMED], ids=[n for n, _, _ in MALFORMED]
)
def test_malformed_documents_are_refused_with_aws_message(document: str, detail: str) -> None:
    with pytest.raises(MalformedPolicyError) as caught:
        parse_policy(document)
    assert caught.value.message == f"Policy document is Malformed: {detail}"
    assert str(caught.value) == caught.value.message
    assert caught.value.code == "MalformedPolicyException"


def padded(size: int) -> str:
    """A valid document of exactly ``size`` non-whitespace characters, with lots of whitespace around."""
    base = policy(dict(OK_STATEMENT, Sid=""))
    pad = size - policy_document_size(base)
    assert pad >= 0
    return json.dumps(json.loads(policy(dict(OK_STATEMENT, Sid="x" * pad))), indent=8)


def test_size_limit_counts_characters_without_whitespace() -> None:
    at_limit = padded(MAX_POLICY_DOCUMENT_CHARS)
    assert len(at_limit) > MAX_POLICY_DOCUMENT_CHARS  # the indentation does not count
    assert parse_policy(at_limit).statements[0].sid is not None
    with pytest.raises(MalformedPolicyError) as caught:
        parse_policy(padded(MAX_POLICY_DOCUMENT_CHARS + 1))
    assert caught.value.message == (
        "Policy document is Malformed: Policy document size of 2049 characters (excluding whitespace) "
        "exceeds the maximum of 2048"
    )


def test_quota_constants() -> None:
    assert (MAX_POLICY_DOCUMENT_CHARS, MAX_POLICIES_PER_PRINCIPAL, MAX_POLICY_VERSIONS) == (2048, 10, 5)


def test_statement_may_be_a_single_object_with_string_elements() -> None:
    doc = parse_policy(
        json.dumps(
            {
                "Version": "2012-10-17",
                "Id": "p1",
                "Statement": {"Sid": "One", "Effect": "Deny", "NotAction": "iot:Publish", "NotResource": "*"},
            }
        ),
        name="mypolicy",
    )
    assert doc.id == "p1" and doc.name == "mypolicy" and doc.version == "2012-10-17"
    (statement,) = doc.statements
    assert statement.effect is Effect.DENY and statement.sid == "One"
    assert statement.actions == ("iot:Publish",) and statement.not_action
    assert statement.resources == ("*",) and statement.not_resource


def test_conditions_are_split_and_values_become_strings() -> None:
    doc = parse_policy(
        with_statement(
            Condition={
                "ForAnyValue:StringEqualsIfExists": {
                    "iot:ConnectAttributes": ["LastWill", "PersistentConnect"]
                },
                "Bool": {"iot:Connection.Thing.IsAttached": True},
                "NumericLessThan": {"aws:EpochTime": 1700000000, "k:f": 1.5},
            }
        )
    )
    assert doc.statements[0].conditions == (
        Condition(
            "StringEquals", "iot:ConnectAttributes", ("LastWill", "PersistentConnect"), "ForAnyValue", True
        ),
        Condition("Bool", "iot:Connection.Thing.IsAttached", ("true",)),
        Condition("NumericLessThan", "aws:EpochTime", ("1700000000",)),
        Condition("NumericLessThan", "k:f", ("1.5",)),
    )
    assert doc.statements[0].conditions[0].written == "ForAnyValue:StringEqualsIfExists"


@pytest.mark.parametrize(
    "action",
    [
        "*",
        "iot:*",
        "iot:Publish",
        "iot:Pub*",
        "iot:?ublish",
        "iotjobsdata:DescribeJobExecution",
        "greengrass:*",
    ],
)
def test_wellformed_actions_of_any_service_are_accepted(action: str) -> None:
    assert parse_policy(with_statement(Action=[action])).statements[0].actions == (action,)


@pytest.mark.parametrize(
    "resource",
    [
        "*",
        f"{ARN}:topic/$aws/things/${{iot:Connection.Thing.ThingName}}/shadow/*",
        f"{ARN}:topicfilter/some/+/topic",
        f"{ARN}:topicfilter/a/#",
        "arn:aws:iot:*:*:client/*",
        "arn:aws:iot:us-east-1:123456789012:*",
        "arn:aws-cn:iot:cn-north-1:123456789012:thing/t1/shadowOne",
    ],
)
def test_resource_arns_are_accepted(resource: str) -> None:
    assert parse_policy(with_statement(Resource=resource)).statements[0].resources == (resource,)


@given(st.text(max_size=200))
def test_arbitrary_text_either_parses_or_is_malformed(text: str) -> None:
    try:
        parse_policy(text)
    except MalformedPolicyError as exc:
        assert exc.message.startswith("Policy document is Malformed: ")


JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.text(max_size=8)
    | st.sampled_from(["iot:Connect", "*", "Allow"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=10,
)
FIELDS = st.sampled_from(
    ["Effect", "Action", "NotAction", "Resource", "NotResource", "Condition", "Sid", "Version"]
)


@given(st.dictionaries(FIELDS, JSON_VALUES, max_size=5))
def test_arbitrary_statements_either_parse_or_are_malformed(statement: dict[str, Any]) -> None:
    try:
        doc = parse_policy(policy(statement))
    except MalformedPolicyError as exc:
        assert exc.message.startswith("Policy document is Malformed: ")
    else:
        assert doc.statements[0].actions and doc.statements[0].resources
