"""Event configurations: UpdateEventConfigurations, DescribeEventConfigurations.

An account's registry events are all off until enabled (AWS's default). ``RegistryContext.enabled_events``
is what :meth:`RegistryContext.publish_event` consults: :func:`load_event_configurations` fills it at start
and every update keeps it in sync once committed. An update also announces
``Change("event_configurations", account_id)`` so that other processes can reload theirs.

DescribeEventConfigurations answers with all 11 types, with ``creationDate`` (when the account's
configuration was first written: its earliest row) and ``lastModifiedDate`` (its latest update). An update
that names a type keeps that type's creation time and sets its modification time, even when the setting is
the same (AWS documents no exception) [?]. An account that never updated its configuration has nothing stored
and gets neither date [?]: AWS keeps a configuration per account from its creation, a time Corral cannot know.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from sqlalchemy import delete, select

from corral.registry.context import RegistryContext
from corral.registry.errors import InvalidRequest
from corral.registry.thing_common import Input, Output, to_datetime
from corral.store.schema import epoch_now, event_configurations

EVENT_TYPES: Final = (
    "THING",
    "THING_GROUP",
    "THING_TYPE",
    "THING_GROUP_MEMBERSHIP",
    "THING_GROUP_HIERARCHY",
    "THING_TYPE_ASSOCIATION",
    "JOB",
    "JOB_EXECUTION",
    "POLICY",
    "CERTIFICATE",
    "CA_CERTIFICATE",
)


async def load_event_configurations(context: RegistryContext) -> None:
    """Sets ``context.enabled_events`` (in place) from the store: call at start, and on a change notice."""
    ec = event_configurations.c
    async with context.store.read() as conn:
        rows = await conn.scalars(
            select(ec.event_type).where(ec.account_id == context.account_id, ec.enabled.is_(True))
        )
        enabled = set(rows.all())
    context.enabled_events.clear()
    context.enabled_events.update(enabled)


class EventConfigurations:
    def __init__(self, context: RegistryContext) -> None:
        self.context = context

    async def update_event_configurations(self, params: Input) -> Output:
        """Sets the types given; the others keep their setting. A configuration without ``Enabled`` disables
        its type (unconfirmed)."""
        given: Mapping[str, Mapping[str, Any]] = params.get("eventConfigurations") or {}
        for event_type in given:
            if event_type not in EVENT_TYPES:
                raise InvalidRequest(f"Unknown event type: {event_type}")
        if not given:
            return {}
        wanted = {event_type: bool((config or {}).get("Enabled")) for event_type, config in given.items()}
        ec = event_configurations.c
        account = self.context.account_id
        now = epoch_now()
        async with self.context.store.begin() as conn:
            mine = ec.account_id == account, ec.event_type.in_(list(wanted))
            rows = await conn.execute(select(ec.event_type, ec.created_at).where(*mine).with_for_update())
            created = {event_type: created_at for event_type, created_at in rows.all()}
            await conn.execute(delete(event_configurations).where(*mine))
            await conn.execute(
                event_configurations.insert(),
                [
                    {
                        "account_id": account,
                        "event_type": event_type,
                        "enabled": enabled,
                        "created_at": created.get(event_type, now),
                        "last_modified_at": now,
                    }
                    for event_type, enabled in wanted.items()
                ],
            )
        for event_type, enabled in wanted.items():
            if enabled:
                self.context.enabled_events.add(event_type)
            else:
                self.context.enabled_events.discard(event_type)
        self.context.changed("event_configurations", self.context.account_id)
        return {}

    async def describe_event_configurations(self, params: Input) -> Output:
        ec = event_configurations.c
        async with self.context.store.read() as conn:
            rows = (
                await conn.execute(
                    select(ec.event_type, ec.enabled, ec.created_at, ec.last_modified_at).where(
                        ec.account_id == self.context.account_id
                    )
                )
            ).all()
        stored = {row.event_type: bool(row.enabled) for row in rows}
        out: Output = {
            "eventConfigurations": {
                event_type: {"Enabled": stored.get(event_type, False)} for event_type in EVENT_TYPES
            }
        }
        if rows:
            out["creationDate"] = to_datetime(min(row.created_at for row in rows))
            out["lastModifiedDate"] = to_datetime(max(row.last_modified_at for row in rows))
        return out
