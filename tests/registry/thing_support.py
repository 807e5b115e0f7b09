"""Helpers for the thing, type, group, principal, tag and event-configuration tests."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Awaitable
from typing import Any

import orjson
import pytest

from corral.registry.context import RegistryContext
from corral.registry.errors import RegistryError
from corral.registry.event_config import EVENT_TYPES
from corral.store.schema import ca_certificates, certificates, epoch_now, policies
from tests.registry.conftest import Recorder


async def expect_error(
    call: Awaitable[object], error: type[RegistryError], message: str | None = None
) -> RegistryError:
    """Awaits ``call``, which must raise ``error`` (with exactly ``message``, when given)."""
    with pytest.raises(error) as info:
        await call
    if message is not None:
        assert info.value.message == message
    return info.value


def enable_all_events(context: RegistryContext) -> None:
    context.enabled_events.update(EVENT_TYPES)


def events(recorder: Recorder, prefix: str = "$aws/events/") -> list[tuple[str, dict[str, Any]]]:
    """The registry events published so far on topics under ``prefix``, payloads decoded."""
    return [(topic, orjson.loads(payload)) for topic, payload in recorder.events if topic.startswith(prefix)]


def kinds(recorder: Recorder) -> list[tuple[str, str]]:
    return [(change.kind, change.key) for change in recorder.changes]


def _row_times() -> dict[str, float]:
    now = epoch_now()
    return {
        "created_at": now,
        "last_modified_at": now,
        "validity_not_before": now,
        "validity_not_after": now + 86400,
    }


async def insert_certificate(context: RegistryContext, seed: str = "device") -> str:
    """A certificate row as the certificates part would store it; returns its ARN."""
    certificate_id = hashlib.sha256(seed.encode()).hexdigest()
    arn = context.arn(f"cert/{certificate_id}")
    async with context.store.begin() as conn:
        await conn.execute(
            certificates.insert().values(
                account_id=context.account_id,
                certificate_id=certificate_id,
                certificate_arn=arn,
                certificate_pem="-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n",
                status="ACTIVE",
                certificate_mode="DEFAULT",
                owned_by=context.account_id,
                customer_version=1,
                generation_id=str(uuid.uuid4()),
                **_row_times(),
            )
        )
    return arn


async def insert_ca(context: RegistryContext, seed: str = "ca") -> str:
    certificate_id = hashlib.sha256(seed.encode()).hexdigest()
    arn = context.arn(f"cacert/{certificate_id}")
    async with context.store.begin() as conn:
        await conn.execute(
            ca_certificates.insert().values(
                account_id=context.account_id,
                certificate_id=certificate_id,
                certificate_arn=arn,
                certificate_pem="-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n",
                status="ACTIVE",
                auto_registration_status="DISABLE",
                certificate_mode="DEFAULT",
                owned_by=context.account_id,
                customer_version=1,
                generation_id=str(uuid.uuid4()),
                **_row_times(),
            )
        )
    return arn


async def insert_policy(context: RegistryContext, name: str) -> str:
    arn = context.arn(f"policy/{name}")
    now = epoch_now()
    async with context.store.begin() as conn:
        await conn.execute(
            policies.insert().values(
                account_id=context.account_id,
                policy_name=name,
                policy_arn=arn,
                default_version_id=1,
                created_at=now,
                last_modified_at=now,
                generation_id=str(uuid.uuid4()),
            )
        )
    return arn
