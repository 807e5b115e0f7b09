"""The 1-Click service limits the guide lists, as configurable defaults: ``[oneclick]`` in corral.toml."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class OneClickSettings:
    max_device_templates: int = 5
    """Device templates per placement template ("This corresponds to 5 devices per placement")."""
    max_projects: int = 512
    """Projects per account (per region: Corral answers for one)."""

    @classmethod
    def from_mapping(
        cls, values: Mapping[str, Any], current: OneClickSettings | None = None
    ) -> OneClickSettings:
        base = current or cls()
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"unknown [oneclick] setting(s): {', '.join(unknown)}")
        for name, value in values.items():
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"[oneclick] {name} must be a positive integer, got {value!r}")
        return dataclasses.replace(base, **values)
