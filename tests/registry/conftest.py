from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from corral.registry.context import Change, RegistryContext
from corral.store.engine import Store

ACCOUNT = "123456789012"
REGION = "us-east-1"


class Recorder:
    """Collects what the registry announces: change notices and published registry events."""

    def __init__(self) -> None:
        self.changes: list[Change] = []
        self.events: list[tuple[str, bytes]] = []

    def publish(self, topic: str, payload: bytes) -> None:
        self.events.append((topic, payload))


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
async def registry_context(
    database_url: str | None, tmp_path: Path, recorder: Recorder
) -> AsyncIterator[RegistryContext]:
    """A registry context on a fresh database, on SQLite and on PostgreSQL (``database_url``)."""
    store = await Store.open(database_url, tmp_path)
    context = RegistryContext(store=store, account_id=ACCOUNT, region=REGION, publish=recorder.publish)
    context.listeners.append(recorder.changes.append)
    try:
        yield context
    finally:
        await store.close()
