"""The compiled fast path agrees with the straightforward evaluator on random policies and requests."""

from __future__ import annotations

import json
import re
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from corral.auth.policy import ConnectionContext, compile_policies, evaluate, parse_policy
from corral.auth.policy_match import Tokens, Wild, reference_match, regex_source

ACCOUNT = "123456789012"
PREFIXES = [
    f"arn:aws:iot:us-east-1:{ACCOUNT}:",
    f"arn:aws:iot:*:{ACCOUNT}:",
    "arn:aws:iot:us-?ast-1:*:",
    "arn:aws:iot:us*1:12*:",
    "arn:aws:iot:eu-west-1:*:",
]
KINDS = ["topic/", "topicfilter/", "client/", "thing/", "*", "t"]
PIECES = [
    "a",
    "b",
    "/",
    "+",
    "#",
    ":",
    "*",
    "?",
    "$",
    "${iot:ClientId}",
    "${iot:Connection.Thing.ThingName}",
    "${iot:Connection.Thing.Attributes[k]}",
    "${iot:Certificate.Subject.CommonName}",
    "${*}",
    "${?}",
    "${iot:Unknown}",
]
POLICY_ACTIONS = [
    "iot:Publish",
    "iot:Subscribe",
    "iot:Receive",
    "iot:Connect",
    "IOT:publish",
    "iot:*",
    "*",
    "iot:P*",
    "iot:?eceive",
]
REQUEST_ACTIONS = [
    "iot:Publish",
    "iot:Subscribe",
    "iot:Receive",
    "iot:Connect",
    "iot:RetainPublish",
    "IOT:PUBLISH",
]
TEXT = st.text(alphabet="ab/+#*?:$", max_size=6)

resource_patterns = st.one_of(
    st.just("*"),
    st.builds(
        lambda prefix, kind, pieces: prefix + kind + "".join(pieces),
        st.sampled_from(PREFIXES),
        st.sampled_from(KINDS),
        st.lists(st.sampled_from(PIECES), max_size=4),
    ),
)
CONDITIONS: list[dict[str, dict[str, Any]]] = [
    {"StringEquals": {"iot:ClientId": ["a", "ab"]}},
    {"StringLike": {"iot:ClientId": "a*"}},
    {"StringNotLike": {"iot:Connection.Thing.ThingName": "${iot:ClientId}"}},
    {"Bool": {"iot:Connection.Thing.IsAttached": "true"}},
    {"ForAnyValue:StringEquals": {"iot:ConnectAttributes": ["LastWill"]}},
    {"ForAllValues:StringEquals": {"iot:ConnectAttributes": ["PersistentConnect"]}},
    {"NotIpAddress": {"aws:SourceIp": "10.0.0.0/8"}},
    {"Null": {"iot:Connection.Thing.ThingName": "false"}},
    {"StringEqualsIfExists": {"iot:Connection.Thing.Attributes[k]": "a"}},
    {"DateLessThan": {"aws:CurrentTime": "2026-01-01T00:00:00Z"}},
]
conditions = st.sampled_from(CONDITIONS)


@st.composite
def statements(draw: st.DrawFn) -> dict[str, Any]:
    actions = draw(st.lists(st.sampled_from(POLICY_ACTIONS), min_size=1, max_size=3))
    resources = draw(st.lists(resource_patterns, min_size=1, max_size=3))
    statement: dict[str, Any] = {
        "Effect": draw(st.sampled_from(["Allow", "Allow", "Deny"])),
        ("NotAction" if draw(st.integers(0, 5)) == 0 else "Action"): actions,
        ("NotResource" if draw(st.integers(0, 5)) == 0 else "Resource"): resources,
    }
    chosen = draw(st.lists(conditions, max_size=2))
    if chosen:
        merged: dict[str, dict[str, Any]] = {}
        for condition in chosen:
            for operator, block in condition.items():
                merged.setdefault(operator, {}).update(block)
        statement["Condition"] = merged
    return statement


@st.composite
def contexts(draw: st.DrawFn) -> ConnectionContext:
    thing = draw(st.one_of(st.none(), TEXT))
    return ConnectionContext(
        region="us-east-1",
        account_id=ACCOUNT,
        client_id=draw(TEXT),
        thing_name=thing,
        thing_attributes=draw(st.dictionaries(st.just("k"), TEXT, max_size=1)),
        is_attached=None if thing is None else draw(st.booleans()),
        source_ip=draw(st.sampled_from([None, "10.1.2.3", "192.0.2.7"])),
        connect_attributes=draw(
            st.sampled_from([None, (), ("LastWill",), ("PersistentConnect", "LastWill")])
        ),
    )


requests = st.tuples(
    st.sampled_from(REQUEST_ACTIONS),
    st.builds(
        lambda prefix, kind, text: prefix + kind + text,
        st.sampled_from(
            [
                f"arn:aws:iot:us-east-1:{ACCOUNT}:",
                "arn:aws:iot:eu-west-1:999:",
                "arn:aws:iot:us-east-1:12:34:",
            ]
        ),
        st.sampled_from(["topic/", "topicfilter/", "client/", "thing/"]),
        TEXT,
    ),
)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.lists(statements(), min_size=1, max_size=4), max_size=3),
    contexts(),
    st.lists(requests, min_size=1, max_size=8),
)
def test_compiled_policy_agrees_with_reference_evaluator(
    policies: list[list[dict[str, Any]]], context: ConnectionContext, checks: list[tuple[str, str]]
) -> None:
    docs = [parse_policy(json.dumps({"Version": "2012-10-17", "Statement": s})) for s in policies]
    compiled = compile_policies(docs, context, cache_size=4)
    for action, resource in checks + checks:  # the second round answers from the cache
        expected = evaluate(docs, context, action, resource, now=None).allowed
        assert compiled.allows(action, resource) is expected, (action, resource)


tokens = st.lists(
    st.one_of(st.text(alphabet="ab:/", min_size=1, max_size=3), st.sampled_from([Wild.STAR, Wild.QMARK])),
    max_size=8,
)


@settings(max_examples=500, deadline=None)
@given(tokens, st.text(alphabet="ab:/", max_size=12), st.booleans(), st.booleans())
def test_regex_translation_agrees_with_reference_matcher(
    parts: list[str | Wild], text: str, arn: bool, extend: bool
) -> None:
    merged: list[str | Wild] = []
    for part in parts:  # tokens never hold two adjacent literal runs
        if isinstance(part, str) and merged and isinstance(merged[-1], str):
            merged[-1] += part
        else:
            merged.append(part)
    toks: Tokens = tuple(merged)
    fast = re.fullmatch(regex_source(toks, arn=arn, extend=extend), text, re.DOTALL) is not None
    assert fast is reference_match(toks, text, arn=arn, extend=extend)
