"""What every part of the registry shares: the store, the account it answers for, and its change events.

Two kinds of events leave the registry. ``Change`` notices tell in-process listeners (the broker's
authenticator and authorizer) that something they cached is stale. Registry events are the MQTT messages AWS
publishes under ``$aws/events/...`` (thing created, membership changed, ...), sent when the account's event
configuration enables their type.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson

from corral.store.engine import Store


@dataclass(frozen=True, slots=True)
class Change:
    """``kind`` is one of: certificate, ca_certificate, policy, policy_attachment, thing, thing_group,
    thing_principal; ``key`` names the changed object (a certificate id, a policy name, a thing name...)."""

    kind: str
    key: str


ChangeListener = Callable[[Change], None]
EventPublisher = Callable[[str, bytes], None]


@dataclass(slots=True)
class RegistryContext:
    store: Store
    account_id: str
    region: str
    publish: EventPublisher | None = None  # set by the server: publishes on the broker
    listeners: list[ChangeListener] = field(default_factory=list)
    # Registry event types switched on (UpdateEventConfigurations); AWS's default is all off.
    enabled_events: set[str] = field(default_factory=set)

    def arn(self, resource: str) -> str:
        return f"arn:aws:iot:{self.region}:{self.account_id}:{resource}"

    def changed(self, kind: str, key: str) -> None:
        change = Change(kind, key)
        for listener in list(self.listeners):
            listener(change)

    def publish_event(self, event_type: str, topic: str, body: dict[str, Any]) -> None:
        """Publishes a registry event when its type is enabled (``eventId`` and ``timestamp`` added)."""
        if self.publish is None or event_type not in self.enabled_events:
            return
        message = {"eventType": body.pop("eventType", event_type), "eventId": uuid.uuid4().hex,
                   "timestamp": int(time.time() * 1000), **body}  # fmt: skip
        self.publish(topic, orjson.dumps(message))


_ACRONYM_END = re.compile(r"([A-Z]+)([A-Z][a-z])")
_WORD_START = re.compile(r"([a-z0-9])([A-Z])")


def snake_case(operation_name: str) -> str:
    """``CreateKeysAndCertificate`` -> ``create_keys_and_certificate``: how operations are named in code.

    An acronym stays one word: ``DeleteCACertificate`` -> ``delete_ca_certificate``,
    ``ListCertificatesByCA`` -> ``list_certificates_by_ca``, ``ListThingPrincipalsV2`` ->
    ``list_thing_principals_v2``."""
    return _WORD_START.sub(r"\1_\2", _ACRONYM_END.sub(r"\1_\2", operation_name)).lower()
