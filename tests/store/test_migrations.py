"""The hand-written migrations and ``corral/store/schema.py`` describe the same database, on both backends."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect
from sqlalchemy.engine import Connection

from corral.store import Store
from corral.store.engine import MIGRATIONS_DIR
from corral.store.schema import metadata


def _differences(conn: Connection) -> list[Any]:
    context = MigrationContext.configure(conn, opts={"compare_type": True, "compare_server_default": True})
    return list(compare_metadata(context, metadata))


def _run(conn: Connection, direction: str, target: str) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = conn
    getattr(command, direction)(config, target)


def _tables(conn: Connection) -> set[str]:
    return set(inspect(conn).get_table_names())


async def test_the_migrated_database_is_the_schema(database_url: str | None, tmp_path: Path) -> None:
    async with await Store.open(database_url, tmp_path) as store, store.engine.connect() as conn:
        assert await conn.run_sync(_differences) == []
        assert await conn.run_sync(_tables) == {*metadata.tables, "alembic_version"}


async def test_downgrade_to_base_and_up_again(database_url: str | None, tmp_path: Path) -> None:
    async with await Store.open(database_url, tmp_path) as store:
        async with store.begin() as conn:
            await conn.run_sync(_run, "downgrade", "base")
            assert await conn.run_sync(_tables) == {"alembic_version"}
        async with store.begin() as conn:
            await conn.run_sync(_run, "upgrade", "head")
            assert await conn.run_sync(_differences) == []


def test_one_linear_history_of_packaged_revisions() -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    script = ScriptDirectory.from_config(config)
    assert script.get_heads() == ["0002"]
    for revision in script.walk_revisions():
        assert revision.path is not None
        assert Path(revision.path).name.startswith(f"{revision.revision}_")
    assert (MIGRATIONS_DIR / "script.py.mako").is_file()
