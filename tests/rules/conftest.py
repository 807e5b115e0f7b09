from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from corral.registry.context import RegistryContext
from corral.store.engine import Store
from tests.rules.support import ACCOUNT, REGION


@pytest.fixture
async def registry_context(database_url: str | None, tmp_path: Path) -> AsyncIterator[RegistryContext]:
    """A registry context on a fresh database, on SQLite and on PostgreSQL (``database_url``)."""
    store = await Store.open(database_url, tmp_path)
    try:
        yield RegistryContext(store=store, account_id=ACCOUNT, region=REGION)
    finally:
        await store.close()
