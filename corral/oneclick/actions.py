"""What a callback names, pure: a local function, or one of the console's predefined actions.

Facts this module keeps, and where they come from:

- A callback is "a Lambda function ARN" (the guide's programming model: a device template's
  ``callbackOverrides {"onClickCallback": ARN}``, setOnClickCallback's
  ``{"callback": {"awsLambdaArn": ARN}}``). Any reference Lambda accepts works: a full or partial ARN, or a
  bare function name (the guide's own example ``arn:aws:lambda:us-west-2:123456789012:MyButtonListener``
  omits ``function:``; Lambda's reading accepts it).
- The console also offered two actions of its own, "Send SMS" and "Send email", "predefined functions
  provided by the service". The API carries a callback as a string of at most 200 characters
  (``DeviceCallbackValue``), so the callback can only *name* the action; what it sends was entered as
  "Required email default value", "Required subject default value", "Required body default value": the
  placement template's default attributes, which each placement may override (the guide's
  MeetingRoomSatisfaction project: one address, subject and body for both its templates). Corral names the
  two actions ``SendSMS`` and ``SendEmail`` and reads their fields from the placement's attributes:
  ``phoneNumber`` and ``message``; ``email``, ``subject`` and ``body``.
- A project whose template names a predefined action must define its fields in ``defaultAttributes``
  ("Required"): CreateProject and UpdateProject refuse it otherwise.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

SEND_SMS: Final = "SendSMS"
SEND_EMAIL: Final = "SendEmail"
REQUIRED: Final[dict[str, tuple[str, ...]]] = {
    SEND_SMS: ("phoneNumber", "message"),
    SEND_EMAIL: ("email", "subject", "body"),
}


@dataclass(frozen=True, slots=True)
class FunctionTarget:
    reference: str  # a Lambda ARN, partial ARN or name

    @property
    def label(self) -> str:
        return self.reference


@dataclass(frozen=True, slots=True)
class ActionTarget:
    action: str  # SEND_SMS or SEND_EMAIL

    @property
    def label(self) -> str:
        return self.action


@dataclass(frozen=True, slots=True)
class Unusable:
    label: str
    reason: str


Target = FunctionTarget | ActionTarget | Unusable


def target_of(callback: Any) -> Target:
    """What a stored callback means: a template's string, or a device method's parameters
    (``{"callback": "ARN" | {"awsLambdaArn": "ARN"}, ...}``)."""
    if isinstance(callback, Mapping):
        inner = callback.get("callback", callback)
        if isinstance(inner, Mapping):
            inner = inner.get("awsLambdaArn")
        callback = inner
    if not isinstance(callback, str) or not callback.strip():
        return Unusable(str(callback), "the callback names no Lambda function")
    callback = callback.strip()
    if callback in REQUIRED:
        return ActionTarget(callback)
    return FunctionTarget(callback)


def action_fields(action: str, attributes: Mapping[str, str]) -> dict[str, str] | str:
    """The fields ``action`` sends, from the placement's attributes; a reason when one is missing."""
    missing = [name for name in REQUIRED[action] if not attributes.get(name)]
    if missing:
        return f"{action} needs the placement attributes {', '.join(missing)}"
    return {name: attributes[name] for name in REQUIRED[action]}


def template_problem(
    name: str, template: Mapping[str, Any], default_attributes: Mapping[str, str]
) -> str | None:
    """Why a device template cannot be stored, or None: a predefined action whose required default
    attributes are missing."""
    overrides = template.get("callbackOverrides") or {}
    for value in overrides.values():
        if value in REQUIRED:
            missing = [field for field in REQUIRED[value] if field not in default_attributes]
            if missing:
                return (
                    f"Device template {name}: {value} requires the default attributes "
                    f"{', '.join(REQUIRED[value])}; missing: {', '.join(missing)}"
                )
    return None
