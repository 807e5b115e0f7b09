"""Field helpers the service actions share: AWS's required ``roleArn`` (kept, never used: Corral has no IAM),
optional templates, booleans, and the statement output as text."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from corral.rules.actions.base import ActionError, ActionServices, ActionSpecError, require_str
from corral.rules.templates import Template, TemplateCompiler


def role_arn(spec: Mapping[str, Any], action: str) -> str:
    """``roleArn`` is required by AWS's model; Corral accepts it and grants nothing with it."""
    return require_str(spec, "roleArn", action)


def template(spec: Mapping[str, Any], key: str, action: str, compile: TemplateCompiler) -> Template:
    return compile(require_str(spec, key, action))


def optional_template(
    spec: Mapping[str, Any], key: str, action: str, compile: TemplateCompiler
) -> Template | None:
    value = spec.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise ActionSpecError(f"The {action} action's {key} must be a non-empty string")
    return compile(value)


def flag(spec: Mapping[str, Any], key: str, action: str) -> bool:
    value = spec.get(key, False)
    if not isinstance(value, bool):
        raise ActionSpecError(f"The {action} action's {key} must be true or false")
    return value


def choice(spec: Mapping[str, Any], key: str, action: str, allowed: tuple[str, ...], default: str) -> str:
    value = spec.get(key, default)
    if value not in allowed:
        raise ActionSpecError(f"The {action} action's {key} must be one of {', '.join(allowed)}")
    return str(value)


def payload_text(payload: bytes, resource: str) -> str:
    """The statement output as text (the services' message bodies are strings)."""
    try:
        return payload.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ActionError("The message payload is not UTF-8 text", resource) from exc


def scoped(services: ActionServices, action: str) -> ActionServices:
    """The services one action type uses: its own (``[actions.<action>]`` in corral.toml), or the server's."""
    return services.per_action.get(action, services)
