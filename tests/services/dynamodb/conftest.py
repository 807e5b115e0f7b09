from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from corral.services.dynamodb.service import DynamoDbService
from corral.store.engine import Store


@pytest.fixture
async def dynamodb(database_url: str | None, tmp_path: Path) -> AsyncIterator[DynamoDbService]:
    """The service on a fresh store, SQLite and PostgreSQL."""
    store = await Store.open(database_url, tmp_path)
    try:
        yield DynamoDbService(store, "000000000000", "us-east-1", clock=lambda: 1_700_000_000.0)
    finally:
        await store.close()
