"""Alembic's environment for the store.

``Store.open`` runs the migrations itself: it opens a transaction, takes the migration lock, and hands Alembic
that connection as ``config.attributes["connection"]``; Alembic then runs inside the caller's transaction and
never commits on its own, so a failed migration leaves the database as it was (SQLite and PostgreSQL both
have transactional DDL). Run from the ``alembic`` command line (``corral/store/alembic.ini``) the environment
opens its own connection to ``-x url=...``, ``CORRAL_DATABASE_URL`` or ``./corral-data/corral.db``.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from alembic import context
from sqlalchemy.engine import Connection

from corral.store.engine import create_store_engine, resolve_url
from corral.store.schema import metadata

config = context.config


def _run(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=metadata, compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


def _command_line_url() -> str:
    url = context.get_x_argument(as_dictionary=True).get("url") or os.environ.get("CORRAL_DATABASE_URL")
    return resolve_url(url, Path("corral-data")).render_as_string(hide_password=False)


async def _run_command_line() -> None:
    engine = create_store_engine(_command_line_url())
    try:
        async with engine.begin() as conn:
            await conn.run_sync(_run)
    finally:
        await engine.dispose()


given = config.attributes.get("connection")
if isinstance(given, Connection):
    _run(given)
elif context.is_offline_mode():
    context.configure(url=_command_line_url(), target_metadata=metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    asyncio.run(_run_command_line())
