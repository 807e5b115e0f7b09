"""The AWS IoT Core policy engine: parse, validate, compile, evaluate with variables.

Why ours, not a library: this is the broker's hot path (every PUBLISH, SUBSCRIBE and delivery asks
it) and AWS's semantics live here; no IAM evaluator we know of carries IoT's variables, IoT's ARNs
or a per-connection compiled form. So the engine is pure Python with no I/O: the registry parses
documents at CreatePolicy time (:func:`parse_policy`), and when a device connects the broker compiles
the principal's policies once against what the connection knows (:func:`compile_policies`), then
asks :meth:`ConnectionPolicy.allows` (or ``can_publish`` / ``can_subscribe`` / ...) per message:
a dict hit for repeated topics, one precompiled regex per (action, Allow|Deny) otherwise.

AWS behaviour implemented, with where it is documented (AWS IoT Core developer guide unless noted):

* Grammar and validation, "AWS IoT Core policies" and IAM's "Grammar of the IAM JSON policy
  language": Version must be ``2012-10-17``; Statement a list or one object; Effect ``Allow`` or
  ``Deny``; exactly one of Action/NotAction and of Resource/NotResource, each a string or a list;
  optional Sid and Condition. Errors carry ``Policy document is Malformed: ...`` as AWS's
  MalformedPolicyException does. Size: at most 2,048 characters excluding whitespace (IoT quotas;
  CreatePolicy API reference); 10 policies per certificate and 5 versions per policy are the
  registry's to enforce (constants here).
* Evaluation, "AWS IoT Core policies": default deny, any explicit Deny wins over any Allow, across
  all of a principal's policies.
* Actions and resources, "AWS IoT Core policy actions" and "AWS IoT Core action resources":
  ``iot:Connect`` on ``client/<clientId>``; ``iot:Publish``, ``iot:Receive``, ``iot:RetainPublish`` on
  ``topic/<topic>``; ``iot:Subscribe`` on ``topicfilter/<filter>``; shadow actions on
  ``thing/<thing>[/<shadow>]``. Action names match case-insensitively, resources case-sensitively.
* Wildcards, "AWS IoT Core policy variables" and "Publish/Subscribe policy examples": ``*`` and ``?``
  as in IAM; MQTT's ``+`` and ``#`` are literal characters (a policy for ``topicfilter/some/+/topic``
  allows subscribing to exactly that filter). IAM's segment rules for ``*`` in ARNs apply.
* Variables, "Basic", "Thing" and "X.509 certificate" policy variables: ``${iot:ClientId}``,
  ``${aws:SourceIp}``, ``${iot:DomainName}``, ``${iot:Connection.Thing.ThingName|ThingTypeName|
  Attributes[name]|IsAttached}``, ``${iot:Certificate.Subject|Issuer.<attr>[.N]}``,
  ``...AlternativeName.<kind>``, ``${iot:Certificate.SerialNumber}``; ``${*}``, ``${?}``, ``${$}``
  are literal characters; a substituted value is literal text (a client id ``a*`` is no wildcard).
  A variable that cannot be resolved (no thing attached, attribute absent, certificate value with
  wildcards or over 1024 characters) makes that pattern match nothing. AWS documents that it leaves
  the ``${...}`` text in place instead; the two differ only for a resource that literally contains
  that text, which we refuse. ``${iot:Thing.ThingName}``, used in AWS's examples, is an alias.
* Conditions, IAM's "Condition operators": String*, Numeric*, Date*, Bool, BinaryEquals,
  IpAddress/NotIpAddress, Arn*, Null, ``...IfExists``, ``ForAllValues:``/``ForAnyValue:``; keys include
  the variables above, ``iot:ConnectAttributes``, ``iot:LastWillTopic`` ("Connect policy examples"),
  ``aws:CurrentTime``, ``aws:EpochTime``; unknown keys are missing.
"""

from __future__ import annotations

from corral.auth.policy_certificate import certificate_fields
from corral.auth.policy_compile import DEFAULT_CACHE_SIZE, ConnectionPolicy, compile_policies
from corral.auth.policy_context import CertificateFields, ConnectionContext, context_values, variable_value
from corral.auth.policy_document import (
    CONDITION_OPERATORS,
    MAX_POLICIES_PER_PRINCIPAL,
    MAX_POLICY_DOCUMENT_CHARS,
    MAX_POLICY_VERSIONS,
    POLICY_VERSION,
    Condition,
    Effect,
    MalformedPolicyError,
    PolicyDocument,
    Statement,
    parse_policy,
    policy_document_size,
)
from corral.auth.policy_evaluate import AuthorizationResult, Decision, evaluate

MQTT_ACTIONS = frozenset(
    {
        "iot:Connect",
        "iot:Publish",
        "iot:Subscribe",
        "iot:Receive",
        "iot:RetainPublish",
        "iot:DeleteConnection",
    }
)
SHADOW_ACTIONS = frozenset(
    {"iot:GetThingShadow", "iot:UpdateThingShadow", "iot:DeleteThingShadow", "iot:ListNamedShadowsForThing"}
)
RETAINED_MESSAGE_ACTIONS = frozenset({"iot:GetRetainedMessage", "iot:ListRetainedMessages"})
JOB_ACTIONS = frozenset(
    {
        "iot:DescribeJobExecution",
        "iot:GetPendingJobExecutions",
        "iot:UpdateJobExecution",
        "iot:StartNextPendingJobExecution",
        "iotjobsdata:DescribeJobExecution",
        "iotjobsdata:GetPendingJobExecutions",
        "iotjobsdata:UpdateJobExecution",
        "iotjobsdata:StartNextPendingJobExecution",
    }
)
DATA_PLANE_ACTIONS = MQTT_ACTIONS | SHADOW_ACTIONS | RETAINED_MESSAGE_ACTIONS | JOB_ACTIONS
"""The actions AWS IoT Core policies authorize on the data plane. Parsing accepts any well-formed
``service:Name`` (control-plane names and other services' actions appear in real policies)."""


def _arn(partition: str, region: str, account: str, kind: str, name: str) -> str:
    return f"arn:{partition}:iot:{region}:{account}:{kind}/{name}"


def topic_arn(region: str, account: str, topic: str, *, partition: str = "aws") -> str:
    """The resource of iot:Publish, iot:Receive and iot:RetainPublish."""
    return _arn(partition, region, account, "topic", topic)


def topic_filter_arn(region: str, account: str, topic_filter: str, *, partition: str = "aws") -> str:
    """The resource of iot:Subscribe."""
    return _arn(partition, region, account, "topicfilter", topic_filter)


def client_arn(region: str, account: str, client_id: str, *, partition: str = "aws") -> str:
    """The resource of iot:Connect."""
    return _arn(partition, region, account, "client", client_id)


def thing_arn(
    region: str, account: str, thing_name: str, shadow_name: str | None = None, *, partition: str = "aws"
) -> str:
    """The resource of the shadow actions; a named shadow appends ``/<shadowName>``."""
    name = thing_name if shadow_name is None else f"{thing_name}/{shadow_name}"
    return _arn(partition, region, account, "thing", name)


__all__ = [
    "CONDITION_OPERATORS",
    "DATA_PLANE_ACTIONS",
    "DEFAULT_CACHE_SIZE",
    "JOB_ACTIONS",
    "MAX_POLICIES_PER_PRINCIPAL",
    "MAX_POLICY_DOCUMENT_CHARS",
    "MAX_POLICY_VERSIONS",
    "MQTT_ACTIONS",
    "POLICY_VERSION",
    "RETAINED_MESSAGE_ACTIONS",
    "SHADOW_ACTIONS",
    "AuthorizationResult",
    "CertificateFields",
    "Condition",
    "ConnectionContext",
    "ConnectionPolicy",
    "Decision",
    "Effect",
    "MalformedPolicyError",
    "PolicyDocument",
    "Statement",
    "certificate_fields",
    "client_arn",
    "compile_policies",
    "context_values",
    "evaluate",
    "parse_policy",
    "policy_document_size",
    "thing_arn",
    "topic_arn",
    "topic_filter_arn",
    "variable_value",
]
