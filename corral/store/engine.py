"""Opening the store: SQLite (the default, one file under the data dir) or PostgreSQL, migrated at open.

Usage::

    store = await Store.open(config.database_url, config.data_dir)
    async with store.begin() as conn:        # one write transaction: commit on success, rollback on error
        await conn.execute(things.insert().values(...))
    async with store.read() as conn:         # a consistent read-only snapshot
        rows = (await conn.execute(select(things))).all()
    await store.close()

SQLite choices, and why:

- WAL journal: readers never block the writer nor the writer the readers, and several processes can share the
  file.
- ``synchronous=FULL``: WAL's ``NORMAL`` never corrupts the file, but a power cut or OS crash can lose the
  last transactions after their commit returned; Corral acknowledges a write to a client only after committing
  it (DESIGN.md, "Where state lives"), so a commit must be on disk. Control-plane writes are few; a hot path
  that wants ``NORMAL`` should say so explicitly.
- ``foreign_keys=ON`` (SQLite's default is off) so the schema's cascades and references hold.
- ``busy_timeout`` of :data:`SQLITE_BUSY_TIMEOUT_MS`: another process's write makes ours wait, not fail.
- Write transactions start with ``BEGIN IMMEDIATE``: the write lock is taken (waiting out ``busy_timeout``) at
  the start, so a transaction never fails half-way with "database is locked" when it first writes after
  reading. Read-only transactions (:meth:`Store.read`) use a deferred ``BEGIN`` and never wait for writers.
  (Python's sqlite3 module would otherwise not begin a transaction before DDL or SELECT at all; SQLAlchemy
  emits our BEGIN instead.)

Migrations: :meth:`Store.open` runs Alembic's ``upgrade head`` inside one transaction that first takes the
migration lock (SQLite: the ``BEGIN IMMEDIATE`` write lock; PostgreSQL: a transaction-scoped advisory lock),
so when several processes open the same database at once one migrates and the others then find it at head.
Both backends have transactional DDL: a failed migration leaves the database as it was.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import AsyncIterator
from pathlib import Path
from types import TracebackType
from typing import Any, Final

from alembic import command
from alembic.config import Config
from sqlalchemy import URL, event, make_url
from sqlalchemy.engine import Connection
from sqlalchemy.exc import ArgumentError, DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from corral.store.errors import ConstraintViolation, DatabaseFailure, StoreError, StoreOpenError

SQLITE_FILE: Final = "corral.db"
SQLITE_BUSY_TIMEOUT_MS: Final = 30_000
SQLITE_SYNCHRONOUS: Final = "FULL"
MIGRATIONS_DIR: Final = Path(__file__).parent / "migrations"

# pg_advisory_xact_lock key held while migrating: "corral" in ASCII.
_PG_MIGRATION_LOCK: Final = 0x636F7272616C
# Execution option read by the SQLite "begin" hook: IMMEDIATE (the default) or DEFERRED.
_SQLITE_BEGIN: Final = "corral_sqlite_begin"


def resolve_url(database_url: str | None, data_dir: Path) -> URL:
    """The SQLAlchemy URL for a ``--database-url`` value, with the async driver Corral uses.

    ``None`` or empty is ``DATA_DIR/corral.db``; ``postgresql://`` (or ``postgres://``) maps to asyncpg, with
    libpq's ``sslmode=`` passed as asyncpg's ``ssl=``; ``sqlite:///PATH`` maps to aiosqlite.
    """
    if not database_url:
        return URL.create("sqlite+aiosqlite", database=str((data_dir / SQLITE_FILE).absolute()))
    try:
        url = make_url(database_url)
    except ArgumentError as exc:
        raise StoreOpenError("--database-url is not a database URL (postgresql://… or sqlite:///…)") from exc
    backend, _, driver = url.drivername.partition("+")
    shown = url.render_as_string(hide_password=True)
    if backend in ("postgresql", "postgres") and driver in ("", "asyncpg"):
        url = url.set(drivername="postgresql+asyncpg")
        if "sslmode" in url.query:
            url = url.update_query_dict({"ssl": url.query["sslmode"]}).difference_update_query(["sslmode"])
        return url
    if backend == "sqlite" and driver in ("", "aiosqlite"):
        if not url.database or url.database == ":memory:" or url.database.startswith("file:"):
            raise StoreOpenError(f"{shown}: the store needs a SQLite file path (sqlite:///PATH)")
        return url.set(drivername="sqlite+aiosqlite", database=str(Path(url.database).absolute()))
    raise StoreOpenError(f"{shown}: Corral stores in PostgreSQL (postgresql://…) or SQLite (sqlite:///PATH)")


def create_store_engine(url: URL | str) -> AsyncEngine:
    """An engine for a URL from :func:`resolve_url`, with the SQLite settings above installed."""
    url = make_url(url)
    if url.get_backend_name() == "sqlite":
        engine = create_async_engine(url)
        _install_sqlite_hooks(engine)
        return engine
    return create_async_engine(url, pool_pre_ping=True)


def _enter_wal(cursor: Any) -> Any:
    """Switches the file to WAL and returns the journal mode SQLite reports.

    SQLite answers "database is locked" at once, without its busy handler, when another process is switching
    the same new file to WAL at that moment; that is retried here for as long as the busy timeout.
    """
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            cursor.execute("PRAGMA journal_mode = WAL")
            return cursor.fetchone()[0]
        except Exception as exc:
            if "database is locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.02)  # a connect hook is synchronous; this only happens while two processes start


def _install_sqlite_hooks(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves, below
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
            mode = _enter_wal(cursor)
            if str(mode).lower() != "wal":
                raise StoreOpenError(f"SQLite refused WAL mode (journal_mode is {mode})")
            cursor.execute(f"PRAGMA synchronous = {SQLITE_SYNCHRONOUS}")
            cursor.execute("PRAGMA foreign_keys = ON")
        finally:
            cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Connection) -> None:
        conn.exec_driver_sql(f"BEGIN {conn.get_execution_options().get(_SQLITE_BEGIN, 'IMMEDIATE')}")


def _upgrade_to_head(conn: Connection) -> None:
    """Run in one transaction on ``conn``; the caller commits."""
    conn.begin()  # SQLite: BEGIN IMMEDIATE, i.e. the write lock
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_PG_MIGRATION_LOCK})")
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = conn
    command.upgrade(config, "head")


def _create_private_file(path: Path) -> None:
    """Create the SQLite file readable by its owner only: it holds secret access keys."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


def _translate(exc: DBAPIError) -> StoreError:
    if isinstance(exc, IntegrityError):
        return ConstraintViolation(str(exc.orig))
    return DatabaseFailure(str(exc.orig))


class Store:
    """The open database. Domain services run their statements in :meth:`begin` or :meth:`read`."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine: Final = engine
        if engine.dialect.name == "sqlite":
            self._reader = engine.execution_options(**{_SQLITE_BEGIN: "DEFERRED"})
        else:
            self._reader = engine.execution_options(
                isolation_level="REPEATABLE READ", postgresql_readonly=True
            )

    @classmethod
    async def open(cls, database_url: str | None, data_dir: Path) -> Store:
        """Open (creating it if needed) and migrate to the newest schema. Raises :class:`StoreOpenError`."""
        url = resolve_url(database_url, data_dir)
        shown = url.render_as_string(hide_password=True)
        try:
            if url.get_backend_name() == "sqlite":
                assert url.database is not None
                _create_private_file(Path(url.database))
        except OSError as exc:
            raise StoreOpenError(f"{shown}: {exc}") from exc
        engine = create_store_engine(url)
        try:
            async with engine.connect() as conn:
                await conn.run_sync(_upgrade_to_head)
                await conn.commit()
        except BaseException as exc:
            await engine.dispose()
            if isinstance(exc, StoreError) or not isinstance(exc, Exception):
                raise
            raise StoreOpenError(f"cannot open the store at {shown}: {exc}") from exc
        return cls(engine)

    @property
    def dialect(self) -> str:
        """``"sqlite"`` or ``"postgresql"``."""
        return self.engine.dialect.name

    @contextlib.asynccontextmanager
    async def begin(self) -> AsyncIterator[AsyncConnection]:
        """One write transaction: committed when the block ends, rolled back if it raises.

        Driver errors come out as :class:`ConstraintViolation` or :class:`DatabaseFailure`.
        """
        try:
            async with self.engine.begin() as conn:
                yield conn
        except DBAPIError as exc:
            raise _translate(exc) from exc

    @contextlib.asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        """One read-only transaction that sees a single snapshot; it never waits for writers."""
        try:
            async with self._reader.begin() as conn:
                yield conn
        except DBAPIError as exc:
            raise _translate(exc) from exc

    async def close(self) -> None:
        """Close every pooled connection. The store is unusable afterwards."""
        await self.engine.dispose()

    async def __aenter__(self) -> Store:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()
