"""A CONNECT's ``iot:ConnectAttributes`` against every connect-attribute example policy AWS documents
("Connect policy examples", MQTT persistent sessions), on the compiled path and the reference evaluator."""

from __future__ import annotations

import json
from typing import Any

import pytest

from corral.auth.policy import ConnectionContext, client_arn, compile_policies, evaluate, parse_policy
from corral.auth.policy_context import connect_attributes

REGION = "us-east-1"
ACCOUNT = "123456789012"


def test_a_clean_connection_without_a_will_has_no_attributes() -> None:
    assert connect_attributes(persistent=False, last_will=False) == ()
    assert connect_attributes(persistent=True, last_will=False) == ("PersistentConnect",)
    assert connect_attributes(persistent=False, last_will=True) == ("LastWill",)
    assert connect_attributes(persistent=True, last_will=True) == ("PersistentConnect", "LastWill")


def connect(effect: str, operator: str | None = None, values: list[str] | None = None) -> dict[str, Any]:
    statement: dict[str, Any] = {"Effect": effect, "Action": "iot:Connect", "Resource": "*"}
    if operator is not None:
        statement["Condition"] = {operator: {"iot:ConnectAttributes": values}}
    return statement


ALL_VALUES, ANY_VALUE = "ForAllValues:StringEquals", "ForAnyValue:StringEquals"
PC, LW = "PersistentConnect", "LastWill"

# (AWS's description, statements, allowed for: clean, persistent, will, persistent + will)
EXAMPLES = [
    (
        "allows connect with PersistentConnect",
        [connect("Allow", ALL_VALUES, [PC])],
        (True, True, False, False),
    ),
    (
        "disallows PersistentConnect, other features are allowed",
        [connect("Allow", "ForAllValues:StringNotEquals", [PC])],
        (True, False, True, False),
    ),
    (
        "the same with StringEquals",
        [connect("Allow"), connect("Deny", ANY_VALUE, [PC])],
        (True, False, True, False),
    ),
    (
        "allows PersistentConnect and LastWill",
        [connect("Allow", ALL_VALUES, [PC, LW])],
        (True, True, True, True),
    ),
    (
        "clean connect with or without LastWill",
        [connect("Allow", ALL_VALUES, [LW])],
        (True, False, True, False),
    ),
    ("only default features", [connect("Allow", ALL_VALUES, [])], (True, False, False, False)),
    ("only with PersistentConnect", [connect("Allow", ANY_VALUE, [PC])], (False, True, False, True)),
    (
        "must have both PersistentConnect and LastWill",
        [
            connect("Allow", ALL_VALUES, [PC, LW]),
            connect("Deny", ALL_VALUES, [PC]),
            connect("Deny", ALL_VALUES, [LW]),
            connect("Deny", ALL_VALUES, []),
        ],
        (False, False, False, True),
    ),
    (
        "must not have PersistentConnect but can have LastWill",
        [connect("Deny", ANY_VALUE, [PC]), connect("Allow", ALL_VALUES, [LW])],
        (True, False, True, False),
    ),
]
FLAGS = [(False, False), (True, False), (False, True), (True, True)]


@pytest.mark.parametrize(("description", "statements", "expected"), EXAMPLES, ids=[e[0] for e in EXAMPLES])
def test_aws_connect_attribute_examples(
    description: str, statements: list[dict[str, Any]], expected: tuple[bool, ...]
) -> None:
    document = parse_policy(json.dumps({"Version": "2012-10-17", "Statement": statements}))
    resource = client_arn(REGION, ACCOUNT, "c")
    for (persistent, will), allowed in zip(FLAGS, expected, strict=True):
        context = ConnectionContext(
            region=REGION,
            account_id=ACCOUNT,
            client_id="c",
            connect_attributes=connect_attributes(persistent=persistent, last_will=will),
            last_will_topic="status/c" if will else None,
        )
        where = f"persistent={persistent} will={will}"
        assert compile_policies([document], context).can_connect() is allowed, where
        assert evaluate([document], context, "iot:Connect", resource).allowed is allowed, where
