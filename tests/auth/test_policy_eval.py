"""Policy evaluation, table-driven from the behaviour AWS's example policies document.

Every case is checked on both paths: the compiled ConnectionPolicy and the reference evaluator.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID

from corral.auth.policy import (
    CertificateFields,
    ConnectionContext,
    Decision,
    PolicyDocument,
    certificate_fields,
    client_arn,
    compile_policies,
    evaluate,
    parse_policy,
    thing_arn,
    topic_arn,
    topic_filter_arn,
)

REGION = "us-east-1"
ACCOUNT = "123456789012"
ARN = f"arn:aws:iot:{REGION}:{ACCOUNT}"


def topic(name: str) -> str:
    return topic_arn(REGION, ACCOUNT, name)


def tfilter(name: str) -> str:
    return topic_filter_arn(REGION, ACCOUNT, name)


def client(name: str) -> str:
    return client_arn(REGION, ACCOUNT, name)


def allow(action: str | list[str], resource: str | list[str], **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def deny(action: str | list[str], resource: str | list[str], **extra: Any) -> dict[str, Any]:
    return {"Effect": "Deny", "Action": action, "Resource": resource, **extra}


def doc(*statements: dict[str, Any]) -> PolicyDocument:
    return parse_policy(json.dumps({"Version": "2012-10-17", "Statement": list(statements)}))


def ctx(**kwargs: Any) -> ConnectionContext:
    return ConnectionContext(region=REGION, account_id=ACCOUNT, **kwargs)


@dataclass
class Case:
    name: str
    policies: Sequence[Sequence[dict[str, Any]]]
    context: ConnectionContext
    checks: Sequence[tuple[str, str, bool]]
    now: datetime = field(default_factory=lambda: datetime(2026, 1, 1, tzinfo=UTC))


THING = ctx(client_id="thing1", thing_name="thing1", thing_type_name="Lamp", is_attached=True)
NO_THING = ctx(client_id="thing1", is_attached=False)
THING_CONNECT = allow(
    "iot:Connect",
    f"{ARN}:client/${{iot:Connection.Thing.ThingName}}",
    Condition={"Bool": {"iot:Connection.Thing.IsAttached": "true"}},
)
IOTBUTTON = [
    allow("iot:Connect", f"{ARN}:client/${{iot:ClientId}}"),
    allow("iot:Publish", f"{ARN}:topic/iotbutton/${{iot:ClientId}}"),
]

CASES = [
    Case(
        "connect only with the client id of the attached thing",
        [[THING_CONNECT]],
        THING,
        [("iot:Connect", client("thing1"), True), ("iot:Connect", client("thing2"), False)],
    ),
    Case(
        "no attached thing: the thing variable is unresolved and matches nothing",
        [[THING_CONNECT, allow("iot:Publish", f"{ARN}:topic/${{iot:Connection.Thing.ThingName}}/*")]],
        NO_THING,
        [
            ("iot:Connect", client("thing1"), False),
            ("iot:Connect", client("${iot:Connection.Thing.ThingName}"), False),
            ("iot:Publish", topic("thing1/x"), False),
            ("iot:Publish", topic("${iot:Connection.Thing.ThingName}/x"), False),
        ],
    ),
    Case(
        "an unresolved variable in a Deny does not deny",
        [
            [
                allow("iot:Publish", "*"),
                deny("iot:Publish", f"{ARN}:topic/${{iot:Connection.Thing.ThingName}}/bar"),
            ]
        ],
        NO_THING,
        [("iot:Publish", topic("thing1/bar"), True)],
    ),
    Case(
        "iotbutton: connect as yourself, publish on your own topic only",
        [IOTBUTTON],
        ctx(client_id="G030JF0550420A7D"),
        [
            ("iot:Connect", client("G030JF0550420A7D"), True),
            ("iot:Connect", client("other"), False),
            ("iot:Publish", topic("iotbutton/G030JF0550420A7D"), True),
            ("iot:Publish", topic("iotbutton/other"), False),
            ("iot:Publish", topic("iotbutton/G030JF0550420A7D/sub"), False),
            ("iot:Receive", topic("iotbutton/G030JF0550420A7D"), False),
            ("iot:Subscribe", tfilter("iotbutton/G030JF0550420A7D"), False),
        ],
    ),
    Case(
        "Subscribe is on topicfilter ARNs, Receive on topic ARNs",
        [
            [
                allow("iot:Subscribe", f"{ARN}:topicfilter/foo/bar/*"),
                allow("iot:Receive", f"{ARN}:topic/foo/bar/*"),
            ]
        ],
        ctx(client_id="c"),
        [
            ("iot:Subscribe", tfilter("foo/bar/+"), True),
            ("iot:Subscribe", tfilter("foo/bar/#"), True),
            ("iot:Subscribe", topic("foo/bar/x"), False),
            ("iot:Receive", topic("foo/bar/x/y"), True),
            ("iot:Receive", tfilter("foo/bar/x"), False),
            ("iot:Subscribe", tfilter("foo/baz"), False),
        ],
    ),
    Case(
        "MQTT + and # in a policy are literal characters",
        [[allow("iot:Subscribe", [f"{ARN}:topicfilter/some/+/topic", f"{ARN}:topicfilter/a/#"])]],
        ctx(client_id="c"),
        [
            ("iot:Subscribe", tfilter("some/+/topic"), True),
            ("iot:Subscribe", tfilter("some/x/topic"), False),
            ("iot:Subscribe", tfilter("a/#"), True),
            ("iot:Subscribe", tfilter("a/b"), False),
            ("iot:Subscribe", tfilter("a/+"), False),
        ],
    ),
    Case(
        "an explicit Deny in one policy overrides an Allow in another",
        [[allow("iot:*", "*")], [deny("iot:Publish", f"{ARN}:topic/foo/bar")]],
        ctx(client_id="c"),
        [
            ("iot:Publish", topic("foo/bar"), False),
            ("iot:Publish", topic("foo/baz"), True),
            ("iot:Subscribe", tfilter("foo/bar"), True),
        ],
    ),
    Case(
        "a set of client ids denied, everyone else allowed",
        [
            [
                deny("iot:Connect", [f"{ARN}:client/client1", f"{ARN}:client/client2"]),
                allow("iot:Connect", "*"),
            ]
        ],
        ctx(client_id="c"),
        [("iot:Connect", client("client1"), False), ("iot:Connect", client("client3"), True)],
    ),
    Case(
        "NotAction allows everything but the named action",
        [[{"Effect": "Allow", "NotAction": "iot:Publish", "Resource": "*"}]],
        ctx(client_id="c"),
        [
            ("iot:Subscribe", tfilter("a"), True),
            ("iot:Publish", topic("a"), False),
            ("iot:Connect", client("c"), True),
        ],
    ),
    Case(
        "NotResource in a Deny confines publishing to a prefix",
        [
            [
                allow("iot:Publish", "*"),
                {"Effect": "Deny", "Action": "iot:Publish", "NotResource": f"{ARN}:topic/ok/*"},
            ]
        ],
        ctx(client_id="c"),
        [("iot:Publish", topic("ok/1"), True), ("iot:Publish", topic("nope/1"), False)],
    ),
    Case(
        "? matches one character, * any run including slashes",
        [
            [
                allow("iot:Receive", f"{ARN}:topic/room?"),
                allow("iot:Publish", f"{ARN}:topic/${{iot:ClientId}}/*"),
            ]
        ],
        ctx(client_id="c1"),
        [
            ("iot:Receive", topic("room1"), True),
            ("iot:Receive", topic("room10"), False),
            ("iot:Receive", topic("room"), False),
            ("iot:Publish", topic("c1/a/b/c"), True),
            ("iot:Publish", topic("c1/"), True),
            ("iot:Publish", topic("c1"), False),
        ],
    ),
    Case(
        "action names match case-insensitively and with wildcards; resources are case-sensitive",
        [[allow(["IOT:PUBLISH", "iot:Sub*", "iot:?eceive"], f"{ARN}:topic/Foo")]],
        ctx(client_id="c"),
        [
            ("iot:Publish", topic("Foo"), True),
            ("iot:publish", topic("Foo"), True),
            ("iot:Publish", topic("foo"), False),
            ("iot:Subscribe", topic("Foo"), True),
            ("iot:Receive", topic("Foo"), True),
            ("iot:Connect", topic("Foo"), False),
        ],
    ),
    Case(
        "ARN segments: * and ? stay inside their segment unless * ends it",
        [
            [
                allow(
                    "iot:Publish",
                    ["arn:aws:iot:us-*:123456789012:topic/a", "arn:aws:iot:eu-west-?:*:topic/b"],
                )
            ]
        ],
        ctx(client_id="c"),
        [
            ("iot:Publish", "arn:aws:iot:us-east-1:123456789012:topic/a", True),
            ("iot:Publish", "arn:aws:iot:eu-west-1:999999999999:topic/b", True),
            ("iot:Publish", "arn:aws:iot:eu-west-12:999999999999:topic/b", False),
            ("iot:Publish", "arn:aws:iot:eu-west-1:9:9:topic/b", True),  # the account's trailing * runs on
        ],
    ),
    Case(
        "ARN segments: a * inside a segment does not cross a colon",
        [[allow("iot:Publish", "arn:aws:iot:u*1:123456789012:topic/a")]],
        ctx(client_id="c"),
        [
            ("iot:Publish", "arn:aws:iot:us-east-1:123456789012:topic/a", True),
            ("iot:Publish", "arn:aws:iot:us:east-1:123456789012:topic/a", False),
        ],
    ),
    Case(
        "a substituted client id is literal, even when it holds wildcards",
        [[allow("iot:Publish", f"{ARN}:topic/d/${{iot:ClientId}}")]],
        ctx(client_id="a*"),
        [("iot:Publish", topic("d/a*"), True), ("iot:Publish", topic("d/abc"), False)],
    ),
    Case(
        "${*}, ${?} and ${$} are the literal characters",
        [[allow("iot:Publish", f"{ARN}:topic/a${{*}}b${{?}}${{$}}{{x}}")]],
        ctx(client_id="c"),
        [("iot:Publish", topic("a*b?${x}"), True), ("iot:Publish", topic("axb?${x}"), False)],
    ),
    Case(
        "thing attributes as variables; a missing attribute matches nothing",
        [[allow("iot:Publish", f"{ARN}:topic/${{iot:Connection.Thing.Attributes[building]}}/*")]],
        ctx(client_id="t", thing_name="t", thing_attributes={"building": "b7"}, is_attached=True),
        [("iot:Publish", topic("b7/temp"), True), ("iot:Publish", topic("b8/temp"), False)],
    ),
    Case(
        "thing attribute absent",
        [[allow("iot:Publish", f"{ARN}:topic/${{iot:Connection.Thing.Attributes[floor]}}/*")]],
        ctx(client_id="t", thing_name="t", thing_attributes={"building": "b7"}, is_attached=True),
        [("iot:Publish", topic("/temp"), False), ("iot:Publish", topic("b7/temp"), False)],
    ),
    Case(
        "thing policy example: type and attribute conditions",
        [
            [
                allow(
                    "iot:Publish",
                    f"{ARN}:topic/device/stats",
                    Condition={
                        "StringEquals": {
                            "iot:Connection.Thing.Attributes[attributeName]": "attributeValue",
                            "iot:Connection.Thing.ThingTypeName": "Lamp",
                        },
                        "Bool": {"iot:Connection.Thing.IsAttached": "true"},
                    },
                )
            ]
        ],
        ctx(
            client_id="t",
            thing_name="t",
            thing_type_name="Lamp",
            thing_attributes={"attributeName": "attributeValue"},
            is_attached=True,
        ),
        [("iot:Publish", topic("device/stats"), True)],
    ),
    Case(
        "thing policy example, wrong type",
        [
            [
                allow(
                    "iot:Publish",
                    "*",
                    Condition={"StringEquals": {"iot:Connection.Thing.ThingTypeName": "Lamp"}},
                )
            ]
        ],
        ctx(client_id="t", thing_name="t", thing_type_name="Fan", is_attached=True),
        [("iot:Publish", topic("device/stats"), False)],
    ),
    Case(
        "shadow actions on thing ARNs, classic and named",
        [
            [
                allow(
                    ["iot:GetThingShadow", "iot:UpdateThingShadow"],
                    [
                        f"{ARN}:thing/${{iot:Connection.Thing.ThingName}}",
                        f"{ARN}:thing/${{iot:Connection.Thing.ThingName}}/*",
                    ],
                )
            ]
        ],
        THING,
        [
            ("iot:UpdateThingShadow", thing_arn(REGION, ACCOUNT, "thing1"), True),
            ("iot:GetThingShadow", thing_arn(REGION, ACCOUNT, "thing1", "config"), True),
            ("iot:DeleteThingShadow", thing_arn(REGION, ACCOUNT, "thing1"), False),
            ("iot:GetThingShadow", thing_arn(REGION, ACCOUNT, "thing2"), False),
        ],
    ),
    Case(
        "source address conditions",
        [
            [
                allow(
                    "iot:Publish",
                    "*",
                    Condition={"IpAddress": {"aws:SourceIp": ["10.0.0.0/8", "2001:db8::/32"]}},
                ),
                deny("iot:Publish", "*", Condition={"NotIpAddress": {"aws:SourceIp": "10.1.0.0/16"}}),
            ]
        ],
        ctx(client_id="c", source_ip="10.1.2.3"),
        [("iot:Publish", topic("x"), True)],
    ),
    Case(
        "source address outside the range",
        [[allow("iot:Publish", "*", Condition={"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}})]],
        ctx(client_id="c", source_ip="192.0.2.1"),
        [("iot:Publish", topic("x"), False)],
    ),
    Case(
        "StringLike and a variable in a condition value",
        [
            [
                allow(
                    "iot:Connect",
                    "*",
                    Condition={
                        "StringLike": {"iot:ClientId": "sensor-*"},
                        "StringEquals": {"iot:Connection.Thing.ThingName": "${iot:ClientId}"},
                    },
                )
            ]
        ],
        ctx(client_id="sensor-1", thing_name="sensor-1", is_attached=True),
        [("iot:Connect", client("sensor-1"), True)],
    ),
    Case(
        "a missing key: false, true for negated operators and IfExists; unknown keys are missing",
        [
            [
                allow("iot:Publish", f"{ARN}:topic/a", Condition={"StringEquals": {"iot:Unknown": "x"}}),
                allow("iot:Publish", f"{ARN}:topic/b", Condition={"StringNotEquals": {"iot:Unknown": "x"}}),
                allow(
                    "iot:Publish", f"{ARN}:topic/c", Condition={"StringEqualsIfExists": {"iot:Unknown": "x"}}
                ),
                allow(
                    "iot:Publish",
                    f"{ARN}:topic/d",
                    Condition={"Null": {"iot:Connection.Thing.ThingName": "true"}},
                ),
                allow("iot:Publish", f"{ARN}:topic/e", Condition={"Null": {"iot:ClientId": "true"}}),
                allow(
                    "iot:Publish", f"{ARN}:topic/f", Condition={"StringEqualsIfExists": {"iot:ClientId": "x"}}
                ),
            ]
        ],
        ctx(client_id="c"),
        [
            ("iot:Publish", topic("a"), False),
            ("iot:Publish", topic("b"), True),
            ("iot:Publish", topic("c"), True),
            ("iot:Publish", topic("d"), True),
            ("iot:Publish", topic("e"), False),
            ("iot:Publish", topic("f"), False),
        ],
    ),
    Case(
        "persistent sessions allowed, other connect attributes not (ForAllValues)",
        [
            [
                allow(
                    "iot:Connect",
                    "*",
                    Condition={"ForAllValues:StringEquals": {"iot:ConnectAttributes": ["PersistentConnect"]}},
                )
            ]
        ],
        ctx(client_id="c", connect_attributes=("PersistentConnect",)),
        [("iot:Connect", client("c"), True)],
    ),
    Case(
        "ForAllValues refuses a connection with a last will it does not list",
        [
            [
                allow(
                    "iot:Connect",
                    "*",
                    Condition={"ForAllValues:StringEquals": {"iot:ConnectAttributes": ["PersistentConnect"]}},
                )
            ]
        ],
        ctx(client_id="c", connect_attributes=("PersistentConnect", "LastWill")),
        [("iot:Connect", client("c"), False)],
    ),
    Case(
        "only default features: ForAllValues with an empty list",
        [[allow("iot:Connect", "*", Condition={"ForAllValues:StringEquals": {"iot:ConnectAttributes": []}})]],
        ctx(client_id="c", connect_attributes=()),
        [("iot:Connect", client("c"), True)],
    ),
    Case(
        "Deny PersistentConnect with ForAnyValue",
        [
            [
                allow("iot:Connect", "*"),
                deny(
                    "iot:Connect",
                    "*",
                    Condition={"ForAnyValue:StringEquals": {"iot:ConnectAttributes": ["PersistentConnect"]}},
                ),
            ]
        ],
        ctx(client_id="c", connect_attributes=("LastWill", "PersistentConnect")),
        [("iot:Connect", client("c"), False)],
    ),
    Case(
        "the last will topic, compared as an ARN",
        [
            [
                allow(
                    "iot:Connect",
                    "*",
                    Condition={"ArnLike": {"iot:LastWillTopic": "arn:aws:iot:*:*:topic/my/lastwill/*"}},
                )
            ]
        ],
        ctx(client_id="c", last_will_topic="my/lastwill/c", connect_attributes=("LastWill",)),
        [("iot:Connect", client("c"), True)],
    ),
    Case(
        "no last will: ArnEquals on the will topic fails",
        [[allow("iot:Connect", "*", Condition={"ArnEquals": {"iot:LastWillTopic": f"{ARN}:topic/w"}})]],
        ctx(client_id="c"),
        [("iot:Connect", client("c"), False)],
    ),
    Case(
        "numbers and dates against the clock",
        [
            [
                allow(
                    "iot:Publish",
                    f"{ARN}:topic/until",
                    Condition={"DateLessThan": {"aws:CurrentTime": "2026-06-01T00:00:00Z"}},
                ),
                allow(
                    "iot:Publish",
                    f"{ARN}:topic/after",
                    Condition={"DateGreaterThan": {"aws:CurrentTime": "2026-06-01T00:00:00Z"}},
                ),
                allow(
                    "iot:Publish",
                    f"{ARN}:topic/epoch",
                    Condition={"NumericLessThan": {"aws:EpochTime": "1767225601"}},
                ),
            ]
        ],
        ctx(client_id="c"),
        [
            ("iot:Publish", topic("until"), True),
            ("iot:Publish", topic("after"), False),
            ("iot:Publish", topic("epoch"), True),
        ],
    ),
    Case(
        "StringEqualsIgnoreCase and StringNotLike",
        [
            [
                allow(
                    "iot:Publish",
                    f"{ARN}:topic/a",
                    Condition={"StringEqualsIgnoreCase": {"iot:ClientId": "SENSOR"}},
                ),
                allow(
                    "iot:Publish",
                    f"{ARN}:topic/b",
                    Condition={"StringNotLike": {"iot:ClientId": ["adm*", "root"]}},
                ),
            ]
        ],
        ctx(client_id="Sensor"),
        [("iot:Publish", topic("a"), True), ("iot:Publish", topic("b"), True)],
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_documented_behaviour(case: Case) -> None:
    docs = [doc(*statements) for statements in case.policies]
    compiled = compile_policies(docs, case.context, clock=lambda: case.now)
    for action, resource, expected in case.checks:
        reference = evaluate(docs, case.context, action, resource, now=case.now)
        assert reference.allowed is expected, (action, resource)
        assert compiled.allows(action, resource) is expected, (action, resource)
        assert compiled.allows(action, resource) is expected, (action, resource)  # cached


def test_explain_names_the_deciding_policies() -> None:
    docs = [
        doc(allow("iot:*", "*")),
        doc(allow("iot:Publish", "*")),
        doc(deny("iot:Publish", f"{ARN}:topic/x")),
    ]
    policy = compile_policies(docs, ctx(client_id="c"))
    denied = policy.explain("iot:Publish", topic("x"))
    assert (denied.decision, denied.allowed_by, denied.denied_by) == (Decision.EXPLICIT_DENY, (0, 1), (2,))
    allowed = policy.explain("iot:Publish", topic("y"))
    assert (allowed.decision, allowed.allowed_by, allowed.denied_by) == (Decision.ALLOWED, (0, 1), ())
    nothing = compile_policies(docs[1:2], ctx(client_id="c")).explain("iot:Connect", client("c"))
    assert nothing.decision is Decision.IMPLICIT_DENY and not nothing.allowed


def test_no_policies_deny_everything() -> None:
    policy = compile_policies([], ctx(client_id="c"))
    assert not policy.can_connect() and not policy.can_publish("a")


def test_broker_conveniences_build_the_connection_arns() -> None:
    statements = [
        allow("iot:Connect", f"{ARN}:client/${{iot:ClientId}}"),
        allow(["iot:Publish", "iot:RetainPublish"], f"{ARN}:topic/${{iot:ClientId}}/*"),
        allow("iot:Subscribe", f"{ARN}:topicfilter/${{iot:ClientId}}/#"),
        allow("iot:Receive", f"{ARN}:topic/${{iot:ClientId}}/in"),
    ]
    policy = compile_policies([doc(*statements)], ctx(client_id="d1"))
    assert policy.can_connect() and not policy.can_connect("d2")
    assert policy.can_publish("d1/x") and policy.can_retain_publish("d1/x") and not policy.can_publish("d2/x")
    assert policy.can_subscribe("d1/#") and not policy.can_subscribe("d1/+")
    assert policy.can_receive("d1/in") and not policy.can_receive("d1/out")
    assert policy.context.client_id == "d1" and len(policy.documents) == 1


def test_clock_conditions_are_read_at_each_check() -> None:
    moment = [datetime(2026, 1, 1, tzinfo=UTC)]
    statement = allow(
        "iot:Publish", "*", Condition={"DateLessThan": {"aws:CurrentTime": "2026-01-02T00:00:00Z"}}
    )
    policy = compile_policies([doc(statement)], ctx(client_id="c"), clock=lambda: moment[0])
    assert policy.can_publish("t")
    moment[0] += timedelta(days=2)
    assert not policy.can_publish("t")


def test_bounded_cache_keeps_answers_right() -> None:
    policy = compile_policies(
        [doc(allow("iot:Publish", f"{ARN}:topic/even/*"))], ctx(client_id="c"), cache_size=3
    )
    for _ in range(3):
        for i in range(20):
            assert policy.can_publish(f"even/{i}")
            assert not policy.can_publish(f"odd/{i}")


# ------------------------------------------------------------------------------------- certificates


def make_certificate(
    cn: str, organizations: Sequence[str], serial: int = 10525622389124227206
) -> x509.Certificate:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "US"),
            *(x509.NameAttribute(NameOID.ORGANIZATION_NAME, org) for org in organizations),
            x509.NameAttribute(NameOID.COMMON_NAME, cn),
        ]
    )
    issuer = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Example CA")])
    now = datetime.now(UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(serial)
        .not_valid_before(now)
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("example.com"), x509.IPAddress(ipaddress.ip_address("1.2.3.4"))]
            ),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )


def test_certificate_fields_from_an_x509_certificate() -> None:
    cert = make_certificate("LightBulb Device Cert", ["IoT Devices", "AnyCompany"])
    fields = certificate_fields(cert.public_bytes(Encoding.DER))
    assert fields.subject["CommonName"] == ("LightBulb Device Cert",)
    assert fields.subject["Organization"] == ("IoT Devices", "AnyCompany")
    assert fields.issuer == {"CommonName": ("Example CA",)}
    assert fields.subject_alternative_names == {"DNSName": ("example.com",), "IPAddress": ("1.2.3.4",)}
    assert (
        fields.serial_number == "10525622389124227206"
    )  # AWS's documented decimal form of 92:12:85:cb:b7:a5:e0:86


def cert_context(
    cn: str, organizations: Sequence[str] = ("Example Corp",), client_id: str = "c"
) -> ConnectionContext:
    return ctx(client_id=client_id, certificate=certificate_fields(make_certificate(cn, organizations)))


def check(
    statements: Sequence[dict[str, Any]], context: ConnectionContext, action: str, resource: str
) -> bool:
    docs = [doc(*statements)]
    fast = compile_policies(docs, context).allows(action, resource)
    assert fast is evaluate(docs, context, action, resource).allowed
    return fast


def test_certificate_common_name_as_a_variable() -> None:
    statements = [allow("iot:Connect", f"{ARN}:client/${{iot:Certificate.Subject.CommonName}}")]
    context = cert_context("sensor-7")
    assert check(statements, context, "iot:Connect", client("sensor-7"))
    assert not check(statements, context, "iot:Connect", client("sensor-8"))
    assert not check(statements, ctx(client_id="c"), "iot:Connect", client("sensor-7"))  # no certificate


def test_certificate_serial_number_and_null_condition() -> None:
    statements = [
        allow("iot:Connect", f"{ARN}:client/${{iot:Certificate.SerialNumber}}"),
        allow(
            "iot:Publish",
            "*",
            Condition={
                "Null": {
                    "iot:Certificate.SerialNumber": "false",
                    "iot:Certificate.Subject.CommonName": "false",
                }
            },
        ),
    ]
    context = cert_context("x")
    assert check(statements, context, "iot:Connect", client("10525622389124227206"))
    assert check(statements, context, "iot:Publish", topic("a"))
    assert not check(statements, ctx(client_id="c"), "iot:Publish", topic("a"))


def test_certificate_multi_valued_attributes() -> None:
    context = cert_context("x", ["Example Corp", "AnyCompany"])
    by_index = [allow("iot:Publish", f"{ARN}:topic/${{iot:Certificate.Subject.Organization.1}}/*")]
    assert check(by_index, context, "iot:Publish", topic("AnyCompany/t"))
    first = [allow("iot:Publish", f"{ARN}:topic/${{iot:Certificate.Subject.Organization}}/*")]
    assert check(first, context, "iot:Publish", topic("Example Corp/t"))
    out_of_range = [allow("iot:Publish", f"{ARN}:topic/${{iot:Certificate.Subject.Organization.2}}/*")]
    assert not check(out_of_range, context, "iot:Publish", topic("/t"))
    whole_list = [
        allow(
            "iot:Publish",
            f"{ARN}:topic/my/topic/${{iot:ClientId}}",
            Condition={
                "ForAllValues:StringEquals": {
                    "iot:Certificate.Subject.Organization.List": ["Example Corp", "AnyCompany"]
                }
            },
        )
    ]
    assert check(whole_list, context, "iot:Publish", topic("my/topic/c"))
    assert not check(
        whole_list, cert_context("x", ["Example Corp", "Other"]), "iot:Publish", topic("my/topic/c")
    )


def test_certificate_values_with_wildcards_or_specials() -> None:
    statements = [allow("iot:Connect", f"{ARN}:client/${{iot:Certificate.Subject.CommonName}}")]
    assert not check(statements, cert_context("dev*"), "iot:Connect", client("dev*"))
    assert not check(statements, cert_context("dev#1"), "iot:Connect", client("dev#1"))
    assert check(statements, cert_context("a=b"), "iot:Connect", client("a\\=b"))
    long_name = CertificateFields(subject={"CommonName": ("x" * 1025,)})
    assert not check(statements, ctx(client_id="c", certificate=long_name), "iot:Connect", client("x" * 1025))
    condition = [
        allow("iot:Connect", "*", Condition={"StringEquals": {"iot:Certificate.Subject.CommonName": "dev*"}})
    ]
    assert check(condition, cert_context("dev*"), "iot:Connect", client("c"))


def test_available_keys_and_alternative_names() -> None:
    context = cert_context("x")
    keys = [
        allow(
            "iot:Connect",
            "*",
            Condition={
                "ForAnyValue:StringEquals": {
                    "iot:Certificate.AvailableKeys": "iot:Certificate.Subject.CommonName"
                }
            },
        )
    ]
    assert check(keys, context, "iot:Connect", client("c"))
    dns = [allow("iot:Publish", f"{ARN}:topic/${{iot:Certificate.Subject.AlternativeName.DNSName}}")]
    assert check(dns, context, "iot:Publish", topic("example.com"))
    ip = [
        allow(
            "iot:Publish",
            "*",
            Condition={"IpAddress": {"iot:Certificate.Subject.AlternativeName.IPAddress": "1.2.3.0/24"}},
        )
    ]
    assert check(ip, context, "iot:Publish", topic("a"))
