"""The shadow service's MQTT topics: which publishes are requests, and where their answers go.

``$aws/things/{thingName}/shadow/{get|update|delete}`` for the classic shadow and
``$aws/things/{thingName}/shadow/name/{shadowName}/{get|update|delete}`` for a named one; the answers go to
the request topic followed by ``/accepted``, ``/rejected``, and for an update ``/delta`` and ``/documents``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

PREFIX: Final = "$aws/things/"
OPERATIONS: Final = ("get", "update", "delete")
THING_NAME: Final = re.compile(r"[a-zA-Z0-9:_-]{1,128}")
SHADOW_NAME: Final = re.compile(r"[$a-zA-Z0-9:_-]{1,64}")


@dataclass(frozen=True, slots=True)
class ShadowTopic:
    thing_name: str
    shadow_name: str | None
    """None for the classic (unnamed) shadow."""
    operation: str

    @property
    def base(self) -> str:
        """The topic without the operation: ``$aws/things/T/shadow`` or ``$aws/things/T/shadow/name/S``."""
        return shadow_topic_base(self.thing_name, self.shadow_name)

    def answer(self, suffix: str) -> str:
        """``accepted``/``rejected`` (and ``delta``/``documents`` of an update) for this request."""
        return f"{self.base}/{self.operation}/{suffix}"


def shadow_topic_base(thing_name: str, shadow_name: str | None) -> str:
    base = f"{PREFIX}{thing_name}/shadow"
    return base if shadow_name is None else f"{base}/name/{shadow_name}"


def parse_request_topic(topic: str) -> ShadowTopic | None:
    """The shadow request a topic names, or None when it is not one (an answer topic, anything else)."""
    if not topic.startswith(PREFIX):
        return None
    parts = topic[len(PREFIX) :].split("/")
    if len(parts) == 3 and parts[1] == "shadow":
        thing, shadow, operation = parts[0], None, parts[2]
    elif len(parts) == 5 and parts[1] == "shadow" and parts[2] == "name":
        thing, shadow, operation = parts[0], parts[3], parts[4]
        if not SHADOW_NAME.fullmatch(shadow):
            return None
    else:
        return None
    if operation not in OPERATIONS or not THING_NAME.fullmatch(thing):
        return None
    return ShadowTopic(thing, shadow, operation)
