"""The AWS IoT policy grammar: a JSON document in, a validated :class:`PolicyDocument` out, or
:class:`MalformedPolicyError` with the message AWS IoT's ``MalformedPolicyException`` carries.

Grammar (AWS IoT Core policies follow IAM's conventions; see ``policy.py`` for the sources)::

    policy    = { "Version": "2012-10-17", ["Id": str,] "Statement": statement | [statement, ...] }
    statement = { ["Sid": str,] "Effect": "Allow" | "Deny",
                  "Action": actions | "NotAction": actions,
                  "Resource": resources | "NotResource": resources,
                  ["Condition": { operator: { key: value | [value, ...] } }] }
    actions   = str | [str, ...]       each "*" or "service:name", name may hold * and ?
    resources = str | [str, ...]       each "*" or an ARN (arn:partition:service:region:account:resource)
    value     = str | number | bool    numbers and booleans are kept as their JSON text

Invariants of a parsed document: at least one statement; each statement has a non-empty action list
and a non-empty resource list (``not_action`` / ``not_resource`` say which element they came from);
condition operators are known; every condition value is a string.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from enum import Enum
from typing import Any

POLICY_VERSION = "2012-10-17"
MAX_POLICY_DOCUMENT_CHARS = 2048
"""AWS IoT quota: a policy document holds at most 2,048 characters, not counting whitespace."""
MAX_POLICIES_PER_PRINCIPAL = 10
"""AWS IoT quota: at most 10 policies attached to one certificate (enforced by the registry)."""
MAX_POLICY_VERSIONS = 5
"""AWS IoT quota: a named policy keeps at most 5 versions (enforced by the registry)."""

MALFORMED = "Policy document is Malformed"

_BASE_OPERATORS = frozenset(
    {
        "StringEquals",
        "StringNotEquals",
        "StringEqualsIgnoreCase",
        "StringNotEqualsIgnoreCase",
        "StringLike",
        "StringNotLike",
        "NumericEquals",
        "NumericNotEquals",
        "NumericLessThan",
        "NumericLessThanEquals",
        "NumericGreaterThan",
        "NumericGreaterThanEquals",
        "DateEquals",
        "DateNotEquals",
        "DateLessThan",
        "DateLessThanEquals",
        "DateGreaterThan",
        "DateGreaterThanEquals",
        "Bool",
        "BinaryEquals",
        "IpAddress",
        "NotIpAddress",
        "ArnEquals",
        "ArnLike",
        "ArnNotEquals",
        "ArnNotLike",
        "Null",
    }
)
CONDITION_OPERATORS = _BASE_OPERATORS | frozenset(op + "IfExists" for op in _BASE_OPERATORS - {"Null"})
"""Every condition operator IAM defines, with the ``...IfExists`` forms; ``ForAllValues:`` and
``ForAnyValue:`` may prefix any of them."""

SET_QUALIFIERS = ("ForAllValues", "ForAnyValue")

_TOP_LEVEL_FIELDS = frozenset({"Version", "Id", "Statement"})
_STATEMENT_FIELDS = frozenset(
    {"Sid", "Effect", "Action", "NotAction", "Resource", "NotResource", "Condition"}
)
_ACTION = re.compile(r"[A-Za-z0-9-]+:[A-Za-z0-9*?]+")
_ARN = re.compile(r"arn:[^:]*:[^:]*:[^:]*:[^:]*:.+", re.DOTALL)


class MalformedPolicyError(ValueError):
    """The document is not a valid AWS IoT policy; ``message`` is what AWS's MalformedPolicyException says."""

    code = "MalformedPolicyException"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Effect(Enum):
    ALLOW = "Allow"
    DENY = "Deny"


@dataclass(frozen=True, slots=True)
class Condition:
    """One ``operator: {key: values}`` entry, split into its parts.

    ``operator`` is the base operator without qualifier or ``IfExists`` (``StringLike``);
    ``qualifier`` is ``ForAllValues``, ``ForAnyValue`` or None.
    """

    operator: str
    key: str
    values: tuple[str, ...]
    qualifier: str | None = None
    if_exists: bool = False

    @property
    def written(self) -> str:
        """The operator as written in the policy (``ForAnyValue:StringEqualsIfExists``)."""
        prefix = f"{self.qualifier}:" if self.qualifier else ""
        return prefix + self.operator + ("IfExists" if self.if_exists else "")


@dataclass(frozen=True, slots=True)
class Statement:
    effect: Effect
    actions: tuple[str, ...]
    resources: tuple[str, ...]
    not_action: bool = False
    not_resource: bool = False
    conditions: tuple[Condition, ...] = ()
    sid: str | None = None


@dataclass(frozen=True, slots=True)
class PolicyDocument:
    statements: tuple[Statement, ...]
    version: str = POLICY_VERSION
    id: str | None = None
    name: str | None = None
    """The policy's name, when the caller knows it (for explanations such as TestAuthorization)."""


def policy_document_size(document: str) -> int:
    """The size AWS IoT's quota counts: characters, whitespace excluded."""
    return sum(1 for ch in document if not ch.isspace())


def parse_policy(document: str, *, name: str | None = None) -> PolicyDocument:
    """Parse and validate an AWS IoT policy document, as CreatePolicy and CreatePolicyVersion do."""
    size = policy_document_size(document)
    if size > MAX_POLICY_DOCUMENT_CHARS:
        raise _malformed(
            f"Policy document size of {size} characters (excluding whitespace) "
            f"exceeds the maximum of {MAX_POLICY_DOCUMENT_CHARS}"
        )
    try:
        raw = json.loads(document, parse_constant=_reject_constant)
    except (ValueError, RecursionError):
        raise _syntax() from None
    if not isinstance(raw, dict):
        raise _syntax()
    for key in raw:
        if key not in _TOP_LEVEL_FIELDS:
            raise _malformed(f"Unknown field: {key}")
    version = raw.get("Version")
    if version != POLICY_VERSION:
        if version is not None and not isinstance(version, str):
            raise _syntax()
        raise _malformed(f"Unknown policy document version. It must be version {POLICY_VERSION}")
    policy_id = raw.get("Id")
    if policy_id is not None and not isinstance(policy_id, str):
        raise _syntax()
    body = raw.get("Statement")
    if isinstance(body, dict):
        body = [body]
    if body is None or body == []:
        raise _malformed("Policy has no statements")
    if not isinstance(body, list):
        raise _syntax()
    statements = tuple(_statement(item) for item in body)
    return PolicyDocument(statements=statements, version=version, id=policy_id, name=name)


def _statement(raw: Any) -> Statement:
    if not isinstance(raw, dict):
        raise _syntax()
    for key in raw:
        if key in ("Principal", "NotPrincipal"):
            raise _malformed("Policy document should not specify a principal.")
        if key not in _STATEMENT_FIELDS:
            raise _malformed(f"Unknown field: {key}")
    sid = raw.get("Sid")
    if sid is not None and not isinstance(sid, str):
        raise _syntax()
    if "Effect" not in raw:
        raise _malformed("Missing required field Effect")
    effect_text = raw["Effect"]
    if not isinstance(effect_text, str):
        raise _syntax()
    if effect_text not in ("Allow", "Deny"):
        raise _malformed(f"Invalid effect: {effect_text}")
    actions, not_action = _either(raw, "Action", "NotAction", "actions")
    for action in actions:
        if action != "*" and not _ACTION.fullmatch(action):
            raise _malformed(f"Invalid action: {action}")
    resources, not_resource = _either(raw, "Resource", "NotResource", "resources")
    for resource in resources:
        if resource != "*" and not _ARN.fullmatch(resource):
            raise _malformed(f"The resource {resource} is not in valid ARN format")
    return Statement(
        effect=Effect(effect_text),
        actions=actions,
        resources=resources,
        not_action=not_action,
        not_resource=not_resource,
        conditions=_conditions(raw.get("Condition")),
        sid=sid,
    )


def _either(raw: dict[str, Any], field: str, negated: str, noun: str) -> tuple[tuple[str, ...], bool]:
    if field in raw and negated in raw:
        raise _malformed(f"Statement can contain either {field} or {negated}, not both")
    if field not in raw and negated not in raw:
        raise _malformed(f"Policy statement must contain {noun}.")
    value = raw[field] if field in raw else raw[negated]
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(item, str) for item in items):
        raise _syntax()
    if not items:
        raise _malformed(f"Policy statement must contain {noun}.")
    return tuple(items), negated in raw


def _conditions(raw: Any) -> tuple[Condition, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, dict):
        raise _syntax()
    out: list[Condition] = []
    for written, block in raw.items():
        qualifier, operator = _split_operator(written)
        if not isinstance(block, dict):
            raise _syntax()
        if_exists = operator.endswith("IfExists")
        base = operator.removesuffix("IfExists")
        for key, value in block.items():
            if not key:
                raise _syntax()
            out.append(
                Condition(
                    operator=base,
                    key=key,
                    values=_condition_values(value),
                    qualifier=qualifier,
                    if_exists=if_exists,
                )
            )
    return tuple(out)


def _split_operator(written: str) -> tuple[str | None, str]:
    qualifier: str | None = None
    operator = written
    head, sep, tail = written.partition(":")
    if sep:
        if head not in SET_QUALIFIERS:
            raise _malformed(f"Invalid condition operator: {written}")
        qualifier, operator = head, tail
    if operator not in CONDITION_OPERATORS:
        raise _malformed(f"Invalid condition operator: {written}")
    return qualifier, operator


def _condition_values(value: Any) -> tuple[str, ...]:
    items = value if isinstance(value, list) else [value]
    out: list[str] = []
    for item in items:
        if isinstance(item, bool):
            out.append("true" if item else "false")
        elif isinstance(item, str):
            out.append(item)
        elif isinstance(item, int | float):
            out.append(json.dumps(item))
        else:
            raise _syntax()
    return tuple(out)


def _reject_constant(name: str) -> Any:
    raise ValueError(name)


def _malformed(detail: str) -> MalformedPolicyError:
    return MalformedPolicyError(f"{MALFORMED}: {detail}")


def _syntax() -> MalformedPolicyError:
    return _malformed("Invalid policy syntax.")
