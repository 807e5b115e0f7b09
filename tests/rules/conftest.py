from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from corral.registry.context import RegistryContext
from corral.store.engine import Store
from tests.broker.clients import ClientPool, PahoClient, uid
from tests.harness import RunningServer
from tests.rules.support import ACCOUNT, REGION


@pytest.fixture
async def registry_context(database_url: str | None, tmp_path: Path) -> AsyncIterator[RegistryContext]:
    """A registry context on a fresh database, on SQLite and on PostgreSQL (``database_url``)."""
    store = await Store.open(database_url, tmp_path)
    try:
        yield RegistryContext(store=store, account_id=ACCOUNT, region=REGION)
    finally:
        await store.close()


# -- end to end: the module's ``server`` ---------------------------------------------------------------------


@pytest.fixture
def device(server: RunningServer, pool: ClientPool) -> PahoClient:
    """A connected paho client that plays the device publishing to rules."""
    return pool.connected(server, uid("device"))


@pytest.fixture
def listener(server: RunningServer, pool: ClientPool) -> PahoClient:
    """A connected paho client that subscribes to what rules publish."""
    return pool.connected(server, uid("listener"))
