"""The ``functions`` and ``function_permissions`` tables: the only module that touches them."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from corral.store.engine import Store
from corral.store.errors import ConstraintViolation
from corral.store.schema import function_permissions, functions


@dataclass(frozen=True, slots=True)
class FunctionRecord:
    name: str
    arn: str
    runtime: str
    handler: str
    role: str
    description: str
    timeout: int
    memory_size: int
    environment: dict[str, str] | None
    code_sha256: str
    code_size: int
    code_revision: str
    revision_id: str
    reserved_concurrency: int | None
    created_at: float
    last_modified: float

    def with_changes(self, **changes: Any) -> FunctionRecord:
        return replace(self, **changes)


def _record(row: Any) -> FunctionRecord:
    return FunctionRecord(
        name=row.function_name,
        arn=row.function_arn,
        runtime=row.runtime,
        handler=row.handler,
        role=row.role,
        description=row.description,
        timeout=row.timeout,
        memory_size=row.memory_size,
        environment=row.environment,
        code_sha256=row.code_sha256,
        code_size=row.code_size,
        code_revision=row.code_revision,
        revision_id=row.revision_id,
        reserved_concurrency=row.reserved_concurrency,
        created_at=row.created_at,
        last_modified=row.last_modified,
    )


def _values(record: FunctionRecord) -> dict[str, Any]:
    return {
        "function_arn": record.arn,
        "runtime": record.runtime,
        "handler": record.handler,
        "role": record.role,
        "description": record.description,
        "timeout": record.timeout,
        "memory_size": record.memory_size,
        "environment": record.environment,
        "code_sha256": record.code_sha256,
        "code_size": record.code_size,
        "code_revision": record.code_revision,
        "revision_id": record.revision_id,
        "reserved_concurrency": record.reserved_concurrency,
        "created_at": record.created_at,
        "last_modified": record.last_modified,
    }


class AlreadyExists(Exception):
    pass


class FunctionRepository:
    def __init__(self, store: Store, account_id: str) -> None:
        self.store = store
        self.account_id = account_id

    def _mine(self) -> Any:
        return functions.c.account_id == self.account_id

    async def get(self, name: str) -> FunctionRecord | None:
        async with self.store.read() as conn:
            row = (
                await conn.execute(select(functions).where(self._mine(), functions.c.function_name == name))
            ).first()
        return _record(row) if row is not None else None

    async def all(self) -> list[FunctionRecord]:
        async with self.store.read() as conn:
            rows = (
                await conn.execute(select(functions).where(self._mine()).order_by(functions.c.function_name))
            ).all()
        return [_record(row) for row in rows]

    async def insert(self, record: FunctionRecord) -> None:
        try:
            async with self.store.begin() as conn:
                await conn.execute(
                    insert(functions).values(
                        account_id=self.account_id, function_name=record.name, **_values(record)
                    )
                )
        except (IntegrityError, ConstraintViolation):
            raise AlreadyExists from None

    async def save(self, record: FunctionRecord, expected_revision: str) -> bool:
        """Writes ``record`` if the stored revision is still ``expected_revision``."""
        async with self.store.begin() as conn:
            result = await conn.execute(
                update(functions)
                .where(
                    self._mine(),
                    functions.c.function_name == record.name,
                    functions.c.revision_id == expected_revision,
                )
                .values(**_values(record))
            )
        return bool(result.rowcount)

    async def delete(self, name: str) -> bool:
        async with self.store.begin() as conn:
            result = await conn.execute(
                delete(functions).where(self._mine(), functions.c.function_name == name)
            )
        return bool(result.rowcount)

    # -- permissions ----------------------------------------------------------------------------------

    async def statements(self, name: str) -> list[dict[str, Any]]:
        table = function_permissions
        async with self.store.read() as conn:
            rows = (
                await conn.execute(
                    select(table.c.statement)
                    .where(table.c.account_id == self.account_id, table.c.function_name == name)
                    .order_by(table.c.created_at, table.c.statement_id)
                )
            ).all()
        return [dict(row.statement) for row in rows]

    async def add_statement(
        self, name: str, statement_id: str, statement: dict[str, Any], created_at: float, revision_id: str
    ) -> None:
        try:
            async with self.store.begin() as conn:
                await conn.execute(
                    insert(function_permissions).values(
                        account_id=self.account_id,
                        function_name=name,
                        statement_id=statement_id,
                        statement=statement,
                        created_at=created_at,
                    )
                )
                await self._bump(conn, name, revision_id)
        except (IntegrityError, ConstraintViolation):
            raise AlreadyExists from None

    async def remove_statement(self, name: str, statement_id: str, revision_id: str) -> bool:
        table = function_permissions
        async with self.store.begin() as conn:
            result = await conn.execute(
                delete(table).where(
                    table.c.account_id == self.account_id,
                    table.c.function_name == name,
                    table.c.statement_id == statement_id,
                )
            )
            if result.rowcount:
                await self._bump(conn, name, revision_id)
        return bool(result.rowcount)

    async def _bump(self, conn: Any, name: str, revision_id: str) -> None:
        await conn.execute(
            update(functions)
            .where(self._mine(), functions.c.function_name == name)
            .values(revision_id=revision_id)
        )
