"""The rules engine's settings: ``[rules]`` in corral.toml."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class RulesSettings:
    max_republish_hops: int = 8
    """A message republished by a rule this many times in a row is not republished again (a rule loop)."""
    action_retries: int = 3
    """How often a failed action is tried again before the rule's errorAction hears of it."""
    retry_base_delay: float = 0.2
    """Seconds before the first retry; each further retry waits twice as long."""
    retry_max_delay: float = 10.0
    http_timeout: float = 3.0
    """Seconds the http action waits for an answer."""
    external_timeout: float = 10.0
    """Seconds a statement waits for get_thing_shadow(), aws_lambda() or get_registry_data()."""

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any], current: RulesSettings | None = None) -> RulesSettings:
        """``current`` with ``values`` applied; ValueError names a setting that is unknown or out of range."""
        base = current or cls()
        fields = {f.name: f for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - set(fields))
        if unknown:
            raise ValueError(f"unknown [rules] setting(s): {', '.join(unknown)}")
        changes: dict[str, Any] = {}
        for name, value in values.items():
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ValueError(f"[rules] {name} must be a number, got {value!r}")
            if fields[name].type in ("int", int):
                if int(value) != value:
                    raise ValueError(f"[rules] {name} must be an integer, got {value!r}")
                value = int(value)
            if value < 0:
                raise ValueError(f"[rules] {name} must not be negative, got {value!r}")
            changes[name] = value
        return dataclasses.replace(base, **changes)
