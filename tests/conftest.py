from __future__ import annotations

import asyncio
import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, NoReturn

import pytest
from sqlalchemy import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from corral.store.engine import resolve_url
from tests.broker.clients import ClientPool
from tests.harness import RunningServer, free_port, make_server, serving

ServerFactory = Callable[..., RunningServer]


@pytest.fixture
def server_factory(tmp_path: Path) -> Iterator[ServerFactory]:
    """Starts servers on free ports under this test's tmp dir; each is stopped when the test ends."""
    started: list[RunningServer] = []

    def factory(**kwargs: Any) -> RunningServer:
        server = make_server(tmp_path, name=f"data{len(started)}", **kwargs).start()
        started.append(server)
        return server

    yield factory
    for server in started:
        server.stop()


@pytest.fixture
def server(server_factory: ServerFactory) -> RunningServer:
    """A fresh server, with the loopback-only insecure MQTT port enabled too."""
    return server_factory(insecure=True)


@pytest.fixture
def pool() -> Iterator[ClientPool]:
    """MQTT clients for one test, all closed when it ends."""
    clients = ClientPool()
    yield clients
    clients.close()


@pytest.fixture(scope="module")
def shared_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """One server for a whole test module, for tests that use distinct client ids and topics."""
    yield from serving(make_server(tmp_path_factory.mktemp("shared"), insecure=True))


# -- databases: every store and API test runs against SQLite and PostgreSQL ----------------------------------


class PostgresServer:
    """A PostgreSQL server the tests may create databases on; ``admin_url`` names its maintenance database."""

    def __init__(self, admin_url: str) -> None:
        self.admin_url = admin_url

    def run_sql(self, *statements: str) -> None:
        """Run statements outside a transaction (CREATE/DROP DATABASE), from a thread of its own so that it
        works whether or not an event loop is running here."""

        async def run() -> None:
            engine = create_async_engine(resolve_url(self.admin_url, Path()), isolation_level="AUTOCOMMIT")
            try:
                async with engine.connect() as conn:
                    for statement in statements:
                        await conn.exec_driver_sql(statement)
            finally:
                await engine.dispose()

        with ThreadPoolExecutor(1) as pool:
            try:
                pool.submit(asyncio.run, run()).result(timeout=60)
            except Exception as exc:
                shown = make_url(self.admin_url).render_as_string(hide_password=True)
                pytest.fail(f"cannot run {statements} on PostgreSQL at {shown}: {exc}", pytrace=False)

    def create_database(self) -> str:
        """A new empty database; returns its ``postgresql://`` URL."""
        name = f"corral_test_{uuid.uuid4().hex[:16]}"
        self.run_sql(f"CREATE DATABASE {name} TEMPLATE template0")
        return make_url(self.admin_url).set(database=name).render_as_string(hide_password=False)

    def drop_database(self, url: str) -> None:
        self.run_sql(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)')


class _ThrowawayCluster:
    """A PostgreSQL cluster in a temp dir, made with Debian's binaries: trust auth, loopback TCP on a free
    port, its unix socket in the same dir, no fsync (its data dies with the test session)."""

    def __init__(self) -> None:
        self.bindir = _postgres_bindir()
        self.root = Path(tempfile.mkdtemp(prefix="corral-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "postgres.log"
        self.as_postgres: list[str] = []
        if os.geteuid() == 0:  # PostgreSQL refuses to run as root
            try:
                user = pwd.getpwnam("postgres")
            except KeyError:
                self._fail("there is no 'postgres' system user to run it as")
            os.chown(self.root, user.pw_uid, user.pw_gid)
            self.as_postgres = ["runuser", "-u", "postgres", "--"]
        self.port = 0

    def _run(self, *args: str) -> None:
        try:
            done = subprocess.run(
                [*self.as_postgres, *args],
                cwd=self.root,
                capture_output=True,
                text=True,
                timeout=60,
                check=False,
            )
        except (OSError, subprocess.SubprocessError) as exc:
            self._fail(f"{' '.join(args)}: {exc}")
        if done.returncode != 0:
            log = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
            self._fail(f"{' '.join(args)} exited with {done.returncode}:\n{done.stdout}{done.stderr}{log}")

    def _fail(self, why: str) -> NoReturn:
        shutil.rmtree(self.root, ignore_errors=True)
        pytest.fail(
            f"cannot start a throwaway PostgreSQL for the tests: {why}\n"
            "Install Debian's postgresql (bash scripts/system-deps.sh) or set CORRAL_TEST_POSTGRES_URL.",
            pytrace=False,
        )

    def start(self) -> PostgresServer:
        initdb = [str(self.bindir / "initdb"), "-D", str(self.data), "-U", "postgres", "-A", "trust"]
        self._run(*initdb, "-E", "UTF8", "--no-locale", "--no-sync")
        conf = self.data / "postgresql.conf"
        base = conf.read_text()
        log_tail = ""
        for _attempt in range(3):  # the free port may be taken before the server binds it
            self.port = free_port()
            settings = {
                "listen_addresses": "'127.0.0.1'",
                "port": str(self.port),
                "unix_socket_directories": f"'{self.root}'",
                "fsync": "off",
                "synchronous_commit": "off",
                "full_page_writes": "off",
            }
            conf.write_text(base + "".join(f"{k} = {v}\n" for k, v in settings.items()))
            pg_ctl = [
                str(self.bindir / "pg_ctl"),
                "-D",
                str(self.data),
                "-l",
                str(self.log),
                "-w",
                "-t",
                "30",
            ]
            done = subprocess.run(
                [*self.as_postgres, *pg_ctl, "start"],
                cwd=self.root,
                capture_output=True,
                text=True,
                timeout=60,
                check=False,
            )
            if done.returncode == 0:
                return PostgresServer(f"postgresql://postgres@127.0.0.1:{self.port}/postgres")
            log_tail = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
        self._fail(f"pg_ctl start exited with {done.returncode}:\n{done.stdout}{done.stderr}{log_tail}")

    def stop(self) -> None:
        subprocess.run(
            [*self.as_postgres, str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop"],
            cwd=self.root,
            capture_output=True,
            timeout=60,
            check=False,
        )
        shutil.rmtree(self.root, ignore_errors=True)


def _postgres_bindir() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    if initdb is None:
        pytest.fail(
            "PostgreSQL's initdb is not installed (no /usr/lib/postgresql/*/bin/initdb, none on PATH).\n"
            "Install Debian's postgresql (bash scripts/system-deps.sh) or set CORRAL_TEST_POSTGRES_URL.",
            pytrace=False,
        )
    return Path(initdb).parent


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """The PostgreSQL server named by CORRAL_TEST_POSTGRES_URL, or else a throwaway cluster started for this
    session and stopped at its end. Fails (never skips) when PostgreSQL cannot be started."""
    external = os.environ.get("CORRAL_TEST_POSTGRES_URL")
    if external:
        yield PostgresServer(external)
        return
    cluster = _ThrowawayCluster()
    server = cluster.start()
    try:
        yield server
    finally:
        cluster.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest) -> Iterator[str | None]:
    """A ``--database-url`` value for a fresh, empty database: ``None`` (the SQLite default, ``corral.db``
    under the data dir the test passes) or a new PostgreSQL database of its own, dropped afterwards."""
    if request.param == "sqlite":
        yield None
        return
    server: PostgresServer = request.getfixturevalue("postgres_server")
    url = server.create_database()
    try:
        yield url
    finally:
        server.drop_database(url)


def server_per_store(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, name: str
) -> Iterator[RunningServer]:
    """For a module-scoped fixture parametrized with ``["sqlite", "postgresql"]``: one server on that store
    (PostgreSQL: a database of its own, dropped after the server stops), its data dir named ``name-store``."""
    url: str | None = None
    postgres: PostgresServer | None = None
    if request.param == "postgresql":
        postgres = request.getfixturevalue("postgres_server")
        url = postgres.create_database()
    extra = ("--database-url", url) if url else ()
    yield from serving(make_server(tmp_path_factory.mktemp(f"{name}-{request.param}"), extra_args=extra))
    if postgres is not None and url is not None:
        postgres.drop_database(url)
