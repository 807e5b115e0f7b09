"""The straightforward evaluator: AWS's evaluation logic read directly off the documents.

It substitutes, matches and tests every statement on every call, with no regex and no cache, and
says which policies decided (what TestAuthorization reports). The compiled path in
``policy_compile.py`` must always agree with it; the tests check that on random policies.

Logic (IAM policy evaluation, as AWS IoT Core applies it): a statement applies when its Action (or
NotAction) and Resource (or NotResource) match and all its conditions hold. Any applicable Deny in
any policy denies; otherwise any applicable Allow allows; otherwise the request is implicitly denied.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from functools import partial

from corral.auth.policy_conditions import resolve_condition
from corral.auth.policy_context import ConnectionContext, context_values, variable_value
from corral.auth.policy_document import Effect, PolicyDocument, Statement
from corral.auth.policy_match import parse_template, plain_tokens, reference_match, substitute


class Decision(Enum):
    """AWS's ``AuthDecision``."""

    ALLOWED = "ALLOWED"
    EXPLICIT_DENY = "EXPLICIT_DENY"
    IMPLICIT_DENY = "IMPLICIT_DENY"


@dataclass(frozen=True, slots=True)
class AuthorizationResult:
    decision: Decision
    allowed_by: tuple[int, ...] = ()
    """Indices of the policies with an applicable Allow statement."""
    denied_by: tuple[int, ...] = ()
    """Indices of the policies with an applicable Deny statement."""

    @property
    def allowed(self) -> bool:
        return self.decision is Decision.ALLOWED


def evaluate(
    docs: Sequence[PolicyDocument],
    context: ConnectionContext,
    action: str,
    resource: str,
    *,
    now: datetime | None = None,
) -> AuthorizationResult:
    """Decide one request against a principal's policies."""
    allowed_by: list[int] = []
    denied_by: list[int] = []
    for index, doc in enumerate(docs):
        for statement in doc.statements:
            if statement_applies(statement, context, action, resource, now=now):
                target = denied_by if statement.effect is Effect.DENY else allowed_by
                if not target or target[-1] != index:
                    target.append(index)
    if denied_by:
        decision = Decision.EXPLICIT_DENY
    elif allowed_by:
        decision = Decision.ALLOWED
    else:
        decision = Decision.IMPLICIT_DENY
    return AuthorizationResult(decision, tuple(allowed_by), tuple(denied_by))


def statement_applies(
    statement: Statement,
    context: ConnectionContext,
    action: str,
    resource: str,
    *,
    now: datetime | None = None,
) -> bool:
    lowered = action.lower()
    action_matched = any(
        reference_match(plain_tokens(pattern.lower()), lowered, arn=False) for pattern in statement.actions
    )
    if action_matched == statement.not_action:
        return False
    resolve = partial(variable_value, context)
    resource_matched = False
    for pattern in statement.resources:
        tokens = substitute(parse_template(pattern), resolve)
        if tokens is not None and reference_match(tokens, resource, arn=True):
            resource_matched = True
            break
    if resource_matched == statement.not_resource:
        return False
    for condition in statement.conditions:
        found = context_values(context, condition.key, now)
        if not resolve_condition(condition, resolve).holds(None if found is None else found.values):
            return False
    return True
