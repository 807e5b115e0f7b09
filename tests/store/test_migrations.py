"""The hand-written migrations and ``corral/store/schema.py`` describe the same database, on both backends."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
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
    assert script.get_heads() == ["0010"]
    for revision in script.walk_revisions():
        assert revision.path is not None
        assert Path(revision.path).name.startswith(f"{revision.revision}_")
    assert (MIGRATIONS_DIR / "script.py.mako").is_file()


def _insert_0002_rows(conn: Connection) -> None:
    """Rows as revision 0002 kept them: a policy whose version 2 was deleted, an event configuration, a
    thing type."""
    conn.execute(
        text(
            "INSERT INTO policies (account_id, policy_name, policy_arn, default_version_id, created_at, "
            "last_modified_at, generation_id) VALUES ('000000000000', 'p', 'arn:p', 1, 1.0, 1.0, 'g'), "
            "('000000000000', 'q', 'arn:q', 1, 1.0, 1.0, 'g')"
        )
    )
    conn.execute(
        text(
            "INSERT INTO policy_versions (account_id, policy_name, version_id, document, created_at) "
            "VALUES ('000000000000', 'p', 1, '{}', 1.0), ('000000000000', 'p', 3, '{}', 2.0), "
            "('000000000000', 'q', 1, '{}', 1.0)"
        )
    )
    conn.execute(text("INSERT INTO event_configurations VALUES ('000000000000', 'THING', true)"))
    conn.execute(
        text(
            "INSERT INTO thing_types (account_id, thing_type_name, thing_type_id, thing_type_arn, "
            "searchable_attributes, deprecated, created_at) VALUES ('000000000000', 't', 'id', 'arn:t', "
            "'[]', false, 1.0)"
        )
    )


async def test_0003_migrates_existing_rows_and_back(database_url: str | None, tmp_path: Path) -> None:
    async with await Store.open(database_url, tmp_path) as store, store.begin() as conn:
        await conn.run_sync(_run, "downgrade", "0002")
        await conn.run_sync(_insert_0002_rows)
        before = time.time()
        await conn.run_sync(_run, "upgrade", "0003")
        rows = await conn.execute(text("SELECT policy_name, last_version_id FROM policies ORDER BY 1"))
        assert rows.all() == [("p", 3), ("q", 1)]  # the highest version left, not a reused id
        dates = (
            await conn.execute(text("SELECT created_at, last_modified_at FROM event_configurations"))
        ).one()
        assert before <= dates[0] == dates[1] <= time.time()
        assert await conn.scalar(text("SELECT mqtt5_configuration FROM thing_types")) is None
        await conn.run_sync(_run, "downgrade", "0002")
        assert await conn.scalar(text("SELECT count(*) FROM policy_versions")) == 3  # nothing cascaded
        assert await conn.scalar(text("SELECT enabled FROM event_configurations")) in (True, 1)
        await conn.run_sync(_run, "upgrade", "head")
        assert await conn.run_sync(_differences) == []
