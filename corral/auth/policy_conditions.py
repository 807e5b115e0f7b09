"""Condition operators, with IAM's semantics (IAM JSON policy elements: Condition operators).

A :class:`CompiledCondition` is a condition whose values have had their variables substituted; it
answers ``holds(key_values)`` for the key's values on this connection (None when the key is missing).

* Within one key the policy's values are alternatives (any may match); a negated operator
  (``StringNotEquals``, ``NotIpAddress``, ``ArnNotLike`` ...) holds when none matches.
* A missing key makes a condition false, a negated one true; ``...IfExists`` makes it true;
  ``Null`` tests for presence (``"true"``: the key is missing).
* ``ForAllValues``: every value of the key must match (true when the key is missing or empty);
  ``ForAnyValue``: at least one must (false when missing). Without a qualifier a multi-valued key
  behaves like ``ForAnyValue`` (like ``ForAllValues`` for negated operators).
* A policy value whose variable cannot be resolved matches nothing.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation

from corral.auth.policy_document import Condition
from corral.auth.policy_match import Template, Tokens, compile_tokens, literal, parse_template, substitute

_NEGATED = {
    "StringNotEquals": "StringEquals",
    "StringNotEqualsIgnoreCase": "StringEqualsIgnoreCase",
    "StringNotLike": "StringLike",
    "NumericNotEquals": "NumericEquals",
    "DateNotEquals": "DateEquals",
    "NotIpAddress": "IpAddress",
    "ArnNotEquals": "ArnEquals",
    "ArnNotLike": "ArnLike",
}

_VARIABLE_OPERATORS = frozenset(
    {"StringEquals", "StringEqualsIgnoreCase", "StringLike", "ArnEquals", "ArnLike", "Bool", "BinaryEquals"}
)
"""IAM substitutes policy variables in the values of these (and their negations) only."""
_WILDCARD_OPERATORS = frozenset({"StringLike", "ArnEquals", "ArnLike"})

Matcher = Callable[[str], bool]


def condition_templates(condition: Condition) -> tuple[Template, ...]:
    """The condition's values read as patterns, with variables and wildcards where the operator has them."""
    base = _NEGATED.get(condition.operator, condition.operator)
    return tuple(
        parse_template(value, variables=base in _VARIABLE_OPERATORS, wildcards=base in _WILDCARD_OPERATORS)
        for value in condition.values
    )


def resolve_condition(condition: Condition, resolve: Callable[[str], str | None]) -> CompiledCondition:
    """The condition with this connection's variables substituted in its values."""
    return compile_condition(
        condition, tuple(substitute(template, resolve) for template in condition_templates(condition))
    )


@dataclass(frozen=True, slots=True)
class CompiledCondition:
    key: str
    operator: str
    """The base positive operator (``StringEquals`` for ``StringNotEquals``), or ``Null``."""
    negated: bool
    qualifier: str | None
    if_exists: bool
    matchers: tuple[Matcher, ...]
    null_expects_missing: tuple[bool, ...] = ()

    def holds(self, values: tuple[str, ...] | None) -> bool:
        if self.operator == "Null":
            missing = values is None
            return any(expect == missing for expect in self.null_expects_missing)
        if values is None or (self.qualifier is not None and not values):
            if self.if_exists or self.qualifier == "ForAllValues":
                return True
            if self.qualifier == "ForAnyValue":
                return False
            return self.negated
        if self.qualifier == "ForAllValues":
            return all(self._one(value) for value in values)
        if self.qualifier == "ForAnyValue" or not self.negated:
            return any(self._one(value) for value in values)
        return all(self._one(value) for value in values)

    def _one(self, value: str) -> bool:
        matched = any(match(value) for match in self.matchers)
        return not matched if self.negated else matched


def compile_condition(condition: Condition, values: tuple[Tokens | None, ...]) -> CompiledCondition:
    """``values`` are the condition's values after substitution, None where a variable was unresolved."""
    operator = condition.operator
    negated = operator in _NEGATED
    base = _NEGATED.get(operator, operator)
    if base == "Null":
        expects = tuple(
            text.lower() == "true"
            for text in (literal(v) for v in values if v is not None)
            if text is not None and text.lower() in ("true", "false")
        )
        return CompiledCondition(
            condition.key, "Null", False, condition.qualifier, False, (), null_expects_missing=expects
        )
    matchers = tuple(m for m in (_matcher(base, v) for v in values if v is not None) if m is not None)
    return CompiledCondition(condition.key, base, negated, condition.qualifier, condition.if_exists, matchers)


def _matcher(operator: str, tokens: Tokens) -> Matcher | None:
    if operator == "StringLike":
        return _regex(tokens, arn=False)
    if operator in ("ArnLike", "ArnEquals"):
        pattern = _regex(tokens, arn=True, extend=False)
        return lambda value: value.count(":") >= 5 and pattern(value)
    text = literal(tokens)
    if text is None:  # pragma: no cover - only the Like/Arn operators produce wildcard tokens
        return None
    if operator == "StringEquals" or operator == "BinaryEquals":
        return text.__eq__
    if operator == "StringEqualsIgnoreCase":
        folded = text.casefold()
        return lambda value: value.casefold() == folded
    if operator == "Bool":
        wanted = text.lower()
        return lambda value: value.lower() == wanted
    if operator.startswith("Numeric"):
        number = _number(text)
        if number is None:
            return None
        compare = _COMPARE[operator.removeprefix("Numeric")]
        return lambda value: (parsed := _number(value)) is not None and compare(parsed, number)
    if operator.startswith("Date"):
        moment = _date(text)
        if moment is None:
            return None
        compare_dates = _DATE_COMPARE[operator.removeprefix("Date")]
        return lambda value: (parsed := _date(value)) is not None and compare_dates(parsed, moment)
    if operator == "IpAddress":
        try:
            network = ipaddress.ip_network(text, strict=False)
        except ValueError:
            return None
        return lambda value: _in_network(value, network)
    return None  # pragma: no cover - the parser admits no other operator


def _regex(tokens: Tokens, *, arn: bool, extend: bool = True) -> Matcher:
    pattern = compile_tokens(tokens, arn=arn, extend=extend)
    return lambda value: pattern.fullmatch(value) is not None


_COMPARE: dict[str, Callable[[Decimal, Decimal], bool]] = {
    "Equals": lambda a, b: a == b,
    "LessThan": lambda a, b: a < b,
    "LessThanEquals": lambda a, b: a <= b,
    "GreaterThan": lambda a, b: a > b,
    "GreaterThanEquals": lambda a, b: a >= b,
}
_DATE_COMPARE: dict[str, Callable[[datetime, datetime], bool]] = {
    "Equals": lambda a, b: a == b,
    "LessThan": lambda a, b: a < b,
    "LessThanEquals": lambda a, b: a <= b,
    "GreaterThan": lambda a, b: a > b,
    "GreaterThanEquals": lambda a, b: a >= b,
}
_EPOCH = re.compile(r"-?\d+")


def _number(text: str) -> Decimal | None:
    try:
        number = Decimal(text.strip())
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def _date(text: str) -> datetime | None:
    text = text.strip()
    if _EPOCH.fullmatch(text):
        try:
            return datetime.fromtimestamp(int(text), UTC)
        except (OverflowError, OSError, ValueError):
            return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00") if text.endswith("Z") else text)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _in_network(value: str, network: ipaddress.IPv4Network | ipaddress.IPv6Network) -> bool:
    try:
        address = ipaddress.ip_address(value.strip())
    except ValueError:
        return False
    return address.version == network.version and address in network
