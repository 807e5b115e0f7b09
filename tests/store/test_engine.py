"""Store.open, transactions and concurrency, on SQLite and PostgreSQL (the ``database_url`` fixture)."""

from __future__ import annotations

import asyncio
import multiprocessing
import stat
from pathlib import Path
from typing import Any

import pytest
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import func, select, text

from corral.store import ConstraintViolation, DatabaseFailure, Store, StoreOpenError, resolve_url
from corral.store.engine import MIGRATIONS_DIR
from corral.store.schema import (
    certificates,
    policies,
    policy_versions,
    thing_group_members,
    thing_groups,
    thing_principals,
    thing_types,
    things,
)

ACCOUNT = "123456789012"


def thing_row(name: str, **overrides: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "account_id": ACCOUNT,
        "thing_name": name,
        "thing_id": f"id-{name}",
        "thing_arn": f"arn:aws:iot:us-east-1:{ACCOUNT}:thing/{name}",
        "thing_type_name": None,
        "attributes": {},
        "version": 1,
        "created_at": 1700000000.25,
        "updated_at": 1700000000.25,
    }
    row.update(overrides)
    return row


def policy_row(name: str) -> dict[str, Any]:
    return {
        "account_id": ACCOUNT,
        "policy_name": name,
        "policy_arn": f"arn:aws:iot:us-east-1:{ACCOUNT}:policy/{name}",
        "default_version_id": 1,
        "created_at": 1.0,
        "last_modified_at": 1.0,
        "generation_id": "g1",
    }


async def count(store: Store, table: Any) -> int:
    async with store.read() as conn:
        return int((await conn.execute(select(func.count()).select_from(table))).scalar_one())


def _head() -> str:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    head = ScriptDirectory.from_config(config).get_current_head()
    assert head is not None
    return head


async def test_open_twice_keeps_data_and_schema(database_url: str | None, tmp_path: Path) -> None:
    store = await Store.open(database_url, tmp_path)
    try:
        async with store.begin() as conn:
            await conn.execute(things.insert().values(thing_row("lamp")))
    finally:
        await store.close()

    async with await Store.open(database_url, tmp_path) as again:
        async with again.read() as conn:
            version = (await conn.execute(text("SELECT version_num FROM alembic_version"))).scalar_one()
            names = (await conn.execute(select(things.c.thing_name))).scalars().all()
        assert version == _head()
        assert names == ["lamp"]


async def test_sqlite_file_is_private_wal_full_sync_with_foreign_keys(tmp_path: Path) -> None:
    async with await Store.open(None, tmp_path / "data") as store:
        assert store.dialect == "sqlite"
        async with store.read() as conn:

            async def pragma(name: str) -> Any:
                return (await conn.exec_driver_sql(f"PRAGMA {name}")).scalar_one()

            assert await pragma("journal_mode") == "wal"
            assert await pragma("foreign_keys") == 1
            assert await pragma("synchronous") == 2  # FULL
            assert await pragma("busy_timeout") == 30_000
    db = tmp_path / "data" / "corral.db"
    assert stat.S_IMODE(db.stat().st_mode) == 0o600


async def test_a_transaction_that_raises_leaves_nothing(database_url: str | None, tmp_path: Path) -> None:
    async with await Store.open(database_url, tmp_path) as store:
        with pytest.raises(RuntimeError, match="crash"):
            async with store.begin() as conn:
                await conn.execute(things.insert().values(thing_row("a")))
                await conn.execute(policies.insert().values(policy_row("p")))
                await conn.execute(
                    policy_versions.insert().values(
                        account_id=ACCOUNT, policy_name="p", version_id=1, document="{}", created_at=1.0
                    )
                )
                raise RuntimeError("crash")
        assert await count(store, things) == 0
        assert await count(store, policies) == 0
        assert await count(store, policy_versions) == 0


async def test_a_constraint_violation_rolls_back_the_whole_transaction(
    database_url: str | None, tmp_path: Path
) -> None:
    async with await Store.open(database_url, tmp_path) as store:
        async with store.begin() as conn:
            await conn.execute(things.insert().values(thing_row("taken")))
        with pytest.raises(ConstraintViolation):
            async with store.begin() as conn:
                await conn.execute(things.insert().values(thing_row("new")))
                await conn.execute(things.insert().values(thing_row("taken")))
        with pytest.raises(ConstraintViolation):  # a foreign key: no such thing type
            async with store.begin() as conn:
                await conn.execute(things.insert().values(thing_row("typed", thing_type_name="nope")))
        async with store.read() as conn:
            assert (await conn.execute(select(things.c.thing_name))).scalars().all() == ["taken"]


async def test_a_bad_statement_is_a_database_failure(database_url: str | None, tmp_path: Path) -> None:
    async with await Store.open(database_url, tmp_path) as store:
        with pytest.raises(DatabaseFailure):
            async with store.begin() as conn:
                await conn.execute(text("SELECT * FROM no_such_table"))


async def test_json_round_trip(database_url: str | None, tmp_path: Path) -> None:
    attributes = {"model": "Bücher ✓", "n": "42", "nested": {"list": [1, 2.5, True, None, "x"], "empty": {}}}
    transfer = {"transferMessage": "to you", "acceptDate": 1.5}
    async with await Store.open(database_url, tmp_path) as store:
        async with store.begin() as conn:
            await conn.execute(things.insert().values(thing_row("j", attributes=attributes)))
            await conn.execute(
                certificates.insert().values(
                    [certificate_row("c1", transfer_data=transfer), certificate_row("c2", transfer_data=None)]
                )
            )
        async with store.read() as conn:
            got = (await conn.execute(select(things.c.attributes))).scalar_one()
            nulls = (
                (
                    await conn.execute(
                        select(certificates.c.certificate_id).where(certificates.c.transfer_data.is_(None))
                    )
                )
                .scalars()
                .all()
            )
            back = (
                await conn.execute(
                    select(certificates.c.transfer_data).where(certificates.c.certificate_id == "c1")
                )
            ).scalar_one()
    assert got == attributes
    assert back == transfer
    assert nulls == ["c2"]  # None is SQL NULL, not JSON null


def certificate_row(certificate_id: str, **overrides: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "account_id": ACCOUNT,
        "certificate_id": certificate_id,
        "certificate_arn": f"arn:aws:iot:us-east-1:{ACCOUNT}:cert/{certificate_id}",
        "certificate_pem": "-----BEGIN CERTIFICATE-----\n...\n-----END CERTIFICATE-----\n",
        "status": "ACTIVE",
        "ca_certificate_id": None,
        "certificate_mode": "DEFAULT",
        "owned_by": ACCOUNT,
        "previous_owned_by": None,
        "transfer_data": None,
        "customer_version": 1,
        "generation_id": "g",
        "created_at": 1.0,
        "last_modified_at": 1.0,
        "validity_not_before": 0.0,
        "validity_not_after": 4102444800.0,
    }
    row.update(overrides)
    return row


async def test_deletes_cascade_to_versions_memberships_and_principals(
    database_url: str | None, tmp_path: Path
) -> None:
    async with await Store.open(database_url, tmp_path) as store:
        async with store.begin() as conn:
            await conn.execute(policies.insert().values(policy_row("p")))
            await conn.execute(
                policy_versions.insert().values(
                    account_id=ACCOUNT, policy_name="p", version_id=1, document="{}", created_at=1.0
                )
            )
            await conn.execute(
                thing_types.insert().values(
                    account_id=ACCOUNT,
                    thing_type_name="bulb",
                    thing_type_id="t",
                    thing_type_arn="arn:t",
                    description=None,
                    searchable_attributes=["color"],
                    deprecated=False,
                    deprecation_date=None,
                    created_at=1.0,
                )
            )
            await conn.execute(things.insert().values(thing_row("t1", thing_type_name="bulb")))
            await conn.execute(
                thing_groups.insert().values(
                    account_id=ACCOUNT,
                    group_name="g",
                    group_id="gid",
                    group_arn="arn:g",
                    parent_group_name=None,
                    description=None,
                    attributes={},
                    version=1,
                    created_at=1.0,
                )
            )
            await conn.execute(
                thing_group_members.insert().values(account_id=ACCOUNT, group_name="g", thing_name="t1")
            )
            await conn.execute(
                thing_principals.insert().values(
                    account_id=ACCOUNT,
                    thing_name="t1",
                    principal="arn:cert",
                    principal_type="NON_EXCLUSIVE_THING",
                )
            )
        with pytest.raises(ConstraintViolation):  # a thing type in use stays
            async with store.begin() as conn:
                await conn.execute(thing_types.delete())
        async with store.begin() as conn:
            await conn.execute(policies.delete().where(policies.c.policy_name == "p"))
            await conn.execute(things.delete().where(things.c.thing_name == "t1"))
        assert await count(store, policy_versions) == 0
        assert await count(store, thing_group_members) == 0
        assert await count(store, thing_principals) == 0
        assert await count(store, thing_groups) == 1


def _open_and_write(database_url: str | None, data_dir: str, name: str, barrier: Any) -> None:
    """A child process: wait for the other, then open (and so migrate) the store and write one thing."""

    async def run() -> None:
        barrier.wait(timeout=90)
        async with await Store.open(database_url, Path(data_dir)) as store, store.begin() as conn:
            await conn.execute(things.insert().values(thing_row(name)))

    asyncio.run(run())


async def test_two_processes_open_a_new_database_at_once(database_url: str | None, tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(2)
    children = [
        ctx.Process(target=_open_and_write, args=(database_url, str(tmp_path), f"child{i}", barrier))
        for i in range(2)
    ]
    for child in children:
        child.start()
    for child in children:
        await asyncio.to_thread(child.join, 100)  # spawn start-up is slow on a loaded 2-core machine
    assert [child.exitcode for child in children] == [0, 0]
    async with await Store.open(database_url, tmp_path) as store, store.read() as conn:
        names = (
            (await conn.execute(select(things.c.thing_name).order_by(things.c.thing_name))).scalars().all()
        )
        assert names == ["child0", "child1"]


def test_resolve_url(tmp_path: Path) -> None:
    assert resolve_url(None, tmp_path).render_as_string() == f"sqlite+aiosqlite:///{tmp_path}/corral.db"
    assert resolve_url("", tmp_path).database == f"{tmp_path}/corral.db"
    pg = resolve_url("postgresql://u:secret@db.example:5433/corral?sslmode=require", tmp_path)
    assert pg.drivername == "postgresql+asyncpg"
    assert (pg.host, pg.port, pg.database, pg.password) == ("db.example", 5433, "corral", "secret")
    assert dict(pg.query) == {"ssl": "require"}
    assert resolve_url("postgres://h/db", tmp_path).drivername == "postgresql+asyncpg"
    assert resolve_url("postgresql+asyncpg://h/db", tmp_path).drivername == "postgresql+asyncpg"
    assert resolve_url(f"sqlite:///{tmp_path}/x.db", tmp_path).drivername == "sqlite+aiosqlite"
    for bad in ("mysql://h/db", "postgresql+psycopg2://h/db", "sqlite://", "sqlite:///:memory:", "not a url"):
        with pytest.raises(StoreOpenError):
            resolve_url(bad, tmp_path)


async def test_open_fails_clearly_without_leaking_the_password(tmp_path: Path) -> None:
    with pytest.raises(StoreOpenError) as raised:
        await Store.open("postgresql://corral:hunter2@127.0.0.1:1/corral", tmp_path)
    assert "hunter2" not in str(raised.value)
    assert "127.0.0.1:1" in str(raised.value)


async def test_read_is_a_read_only_snapshot_and_begin_writes_again(
    database_url: str | None, tmp_path: Path
) -> None:
    async with await Store.open(database_url, tmp_path) as store:
        async with store.read() as reader:
            await reader.execute(select(things.c.thing_name))  # the snapshot starts at the first read
            async with store.begin() as writer:  # a writer is not blocked by an open reader
                await writer.execute(things.insert().values(thing_row("later")))
            assert (await reader.execute(select(things.c.thing_name))).all() == []
            if store.dialect == "postgresql":
                assert (await reader.exec_driver_sql("SHOW transaction_read_only")).scalar_one() == "on"
        for _ in range(3):  # every pooled connection is back to read-write
            async with store.begin() as conn:
                await conn.execute(things.update().values(version=things.c.version + 1))
        assert await count(store, things) == 1
