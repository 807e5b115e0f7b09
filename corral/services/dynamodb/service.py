"""DynamoDbService: DynamoDB's tables and items in the store, the one object that touches them.

The API (``api.py``) hands each operation's parsed parameters to the method of the same name here
(``create_table(params)``, ``put_item(params)`` …, returning the output members). The rules engine and other
domains use the plain methods at the top instead:

    await dynamodb.put_item_simple("readings", {"device": {"S": "d1"}, "ts": {"N": "17"}})
    await dynamodb.update_item_simple("readings", key, "SET n = n + :one", values={":one": {"N": "1"}})
    await dynamodb.delete_item_simple("readings", key)

Items are in the API's form (``values.py``: ``{"S": ...}``, ``{"N": "1.5"}``, binary as bytes); every method
raises the ``DynamoDbError`` the API would answer (ResourceNotFoundException, ValidationException,
ConditionalCheckFailedException …).

A write is one store transaction; writes to one item wait their turn on a per-item lock in this process, and
on PostgreSQL read the row ``FOR UPDATE``, so a condition is checked against the item the write replaces.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
import zlib
from collections.abc import AsyncIterator, Callable
from typing import Any, Final

from sqlalchemy import ColumnElement, and_, delete, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from corral.services.dynamodb.errors import (
    ConditionalCheckFailedException,
    ResourceInUseException,
    ValidationException,
    table_not_found,
)
from corral.services.dynamodb.evaluate import apply_update, check, check_between_bounds, project
from corral.services.dynamodb.expressions import Compiler, Condition, Path, Update
from corral.services.dynamodb.query import key_condition_sql
from corral.services.dynamodb.tables import KeySchema, check_definition
from corral.services.dynamodb.values import (
    MAX_ITEM_BYTES,
    Item,
    from_json,
    item_size,
    to_json,
    validate_item,
    validate_value,
)
from corral.store.engine import Store
from corral.store.errors import ConstraintViolation
from corral.store.schema import dynamodb_items, dynamodb_tables

PAGE_BYTES: Final = 1024 * 1024
"""A Query or Scan page stops after this much item data, as DynamoDB's do."""
FETCH_ROWS: Final = 200
MAX_BATCH_WRITE: Final = 25
MAX_BATCH_GET: Final = 100

__all__ = ["DynamoDbService"]


class _Table:
    def __init__(self, name: str, row: Any) -> None:
        self.name = name
        self.table_id: str = row.table_id
        self.definition: dict[str, Any] = row.definition
        self.created_at: float = row.created_at
        self.keys = KeySchema.of(self.definition)


class DynamoDbService:
    def __init__(
        self, store: Store, account_id: str, region: str, clock: Callable[[], float] = time.time
    ) -> None:
        self.store = store
        self.account_id = account_id
        self.region = region
        self.clock = clock
        self._locks: dict[tuple[str, str, str], tuple[asyncio.Lock, int]] = {}

    # -- the plain interface (rule actions and other domains) ------------------------------------------

    async def put_item_simple(self, table: str, item: Item) -> None:
        """Writes ``item`` (replacing any with its key), as PutItem without a condition."""
        await self.put_item({"TableName": table, "Item": item})

    async def update_item_simple(
        self,
        table: str,
        key: Item,
        update_expression: str,
        *,
        names: dict[str, str] | None = None,
        values: Item | None = None,
        condition_expression: str | None = None,
    ) -> Item:
        """UpdateItem; returns the item as it is after the update (ALL_NEW)."""
        params: dict[str, Any] = {
            "TableName": table,
            "Key": key,
            "UpdateExpression": update_expression,
            "ReturnValues": "ALL_NEW",
        }
        if names is not None:
            params["ExpressionAttributeNames"] = names
        if values is not None:
            params["ExpressionAttributeValues"] = values
        if condition_expression is not None:
            params["ConditionExpression"] = condition_expression
        result = await self.update_item(params)
        return dict(result.get("Attributes", {}))

    async def delete_item_simple(self, table: str, key: Item) -> None:
        await self.delete_item({"TableName": table, "Key": key})

    async def get_item_simple(self, table: str, key: Item) -> Item | None:
        result = await self.get_item({"TableName": table, "Key": key})
        item: Item | None = result.get("Item")
        return item

    # -- tables --------------------------------------------------------------------------------------

    def _arn(self, name: str) -> str:
        return f"arn:aws:dynamodb:{self.region}:{self.account_id}:table/{name}"

    async def _table(self, conn: AsyncConnection, name: str, *, describe: bool = False) -> _Table:
        row = (
            await conn.execute(
                select(dynamodb_tables).where(
                    dynamodb_tables.c.account_id == self.account_id, dynamodb_tables.c.table_name == name
                )
            )
        ).first()
        if row is None:
            raise table_not_found(name if describe else None)
        return _Table(name, row)

    async def _description(self, conn: AsyncConnection, table: _Table, status: str) -> dict[str, Any]:
        count, size = 0, 0
        if status == "ACTIVE":
            items = await conn.execute(select(dynamodb_items.c.item).where(*self._in_table(table.name)))
            for (item,) in items:
                count += 1
                size += item_size(from_json(item))
        definition = table.definition
        throughput = {
            **definition["ProvisionedThroughput"],
            "NumberOfDecreasesToday": 0,
        }
        description: dict[str, Any] = {
            "TableName": table.name,
            "TableArn": self._arn(table.name),
            "TableId": table.table_id,
            "KeySchema": definition["KeySchema"],
            "AttributeDefinitions": definition["AttributeDefinitions"],
            "TableStatus": status,
            "CreationDateTime": table.created_at,
            "ProvisionedThroughput": throughput,
            "TableSizeBytes": size,
            "ItemCount": count,
            "DeletionProtectionEnabled": False,
        }
        if definition["BillingMode"] == "PAY_PER_REQUEST":
            description["BillingModeSummary"] = {
                "BillingMode": "PAY_PER_REQUEST",
                "LastUpdateToPayPerRequestDateTime": table.created_at,
            }
        return description

    async def create_table(self, params: dict[str, Any]) -> dict[str, Any]:
        definition = check_definition(params)
        name = params["TableName"]
        now = self.clock()
        try:
            async with self.store.begin() as conn:
                existing = await conn.execute(
                    select(dynamodb_tables.c.table_name).where(
                        dynamodb_tables.c.account_id == self.account_id, dynamodb_tables.c.table_name == name
                    )
                )
                if existing.first() is not None:
                    raise ResourceInUseException(f"Table already exists: {name}")
                await conn.execute(
                    insert(dynamodb_tables).values(
                        account_id=self.account_id,
                        table_name=name,
                        table_id=str(uuid.uuid4()),
                        definition=definition,
                        created_at=now,
                    )
                )
                table = await self._table(conn, name)
                return {"TableDescription": await self._description(conn, table, "ACTIVE")}
        except ConstraintViolation as exc:  # created by another process meanwhile
            raise ResourceInUseException(f"Table already exists: {name}") from exc

    async def describe_table(self, params: dict[str, Any]) -> dict[str, Any]:
        async with self.store.read() as conn:
            table = await self._table(conn, params["TableName"], describe=True)
            return {"Table": await self._description(conn, table, "ACTIVE")}

    async def delete_table(self, params: dict[str, Any]) -> dict[str, Any]:
        name = params["TableName"]
        async with self.store.begin() as conn:
            table = await self._table(conn, name, describe=True)
            description = await self._description(conn, table, "DELETING")
            await conn.execute(delete(dynamodb_items).where(*self._in_table(name)))
            await conn.execute(
                delete(dynamodb_tables).where(
                    dynamodb_tables.c.account_id == self.account_id, dynamodb_tables.c.table_name == name
                )
            )
        return {"TableDescription": description}

    async def list_tables(self, params: dict[str, Any]) -> dict[str, Any]:
        limit = params.get("Limit", 100)
        query = select(dynamodb_tables.c.table_name).where(dynamodb_tables.c.account_id == self.account_id)
        start = params.get("ExclusiveStartTableName")
        name_column = self._bytewise(dynamodb_tables.c.table_name)
        if start is not None:
            query = query.where(name_column > start)
        query = query.order_by(name_column).limit(limit + 1)
        async with self.store.read() as conn:
            names = [row.table_name for row in await conn.execute(query)]
        result: dict[str, Any] = {"TableNames": names[:limit]}
        if len(names) > limit:
            result["LastEvaluatedTableName"] = names[limit - 1]
        return result

    # -- single items --------------------------------------------------------------------------------

    def _in_table(self, name: str) -> list[ColumnElement[bool]]:
        return [dynamodb_items.c.account_id == self.account_id, dynamodb_items.c.table_name == name]

    def _bytewise(self, column: Any) -> Any:
        """``column`` compared and sorted by bytes on every backend."""
        return column.collate("C") if self.store.dialect == "postgresql" else column

    @contextlib.asynccontextmanager
    async def _item_turn(self, table: str, key: tuple[str, str]) -> AsyncIterator[None]:
        slot = (table, *key)
        lock, users = self._locks.get(slot, (asyncio.Lock(), 0))
        self._locks[slot] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[slot]
            if users <= 1:
                del self._locks[slot]
            else:
                self._locks[slot] = (lock, users - 1)

    def _at(self, table: str, key: tuple[str, str]) -> list[ColumnElement[bool]]:
        return [
            *self._in_table(table),
            dynamodb_items.c.hash_key == key[0],
            dynamodb_items.c.range_key == key[1],
        ]

    async def _load(
        self, conn: AsyncConnection, table: str, key: tuple[str, str], *, lock: bool
    ) -> Item | None:
        query = select(dynamodb_items.c.item).where(*self._at(table, key))
        if lock and self.store.dialect == "postgresql":
            query = query.with_for_update()
        row = (await conn.execute(query)).first()
        return None if row is None else from_json(row.item)

    async def _store(
        self, conn: AsyncConnection, table: str, key: tuple[str, str], item: Item, existed: bool
    ) -> None:
        if item_size(item) > MAX_ITEM_BYTES:
            raise ValidationException("Item size has exceeded the maximum allowed size")
        if existed:
            await conn.execute(update(dynamodb_items).where(*self._at(table, key)).values(item=to_json(item)))
        else:
            await conn.execute(
                insert(dynamodb_items).values(
                    account_id=self.account_id,
                    table_name=table,
                    hash_key=key[0],
                    range_key=key[1],
                    item=to_json(item),
                )
            )

    async def _remove(self, conn: AsyncConnection, table: str, key: tuple[str, str]) -> None:
        await conn.execute(delete(dynamodb_items).where(*self._at(table, key)))

    async def _keys(self, name: str) -> KeySchema:
        async with self.store.read() as conn:
            return (await self._table(conn, name)).keys

    @contextlib.asynccontextmanager
    async def _write_turn(
        self, name: str, key: tuple[str, str], condition: Condition | None
    ) -> AsyncIterator[tuple[AsyncConnection, Item | None]]:
        """A transaction in which the item at ``key`` is this request's alone (its turn in this process, its
        row locked on PostgreSQL): the connection and the item as it is, once ``condition`` holds for it."""
        async with self._item_turn(name, key), self.store.begin() as conn:
            await self._table(conn, name)
            old = await self._load(conn, name, key, lock=True)
            if condition is not None and not check(condition, old):
                raise ConditionalCheckFailedException()
            yield conn, old

    @staticmethod
    def _condition(params: dict[str, Any], compiler: Compiler) -> Condition | None:
        text = params.get("ConditionExpression")
        if text is None:
            return None
        condition = compiler.condition(text)
        check_between_bounds(condition, "ConditionExpression")
        return condition

    @staticmethod
    def _return_values(params: dict[str, Any], allowed: tuple[str, ...]) -> str:
        value: str = params.get("ReturnValues") or "NONE"
        if value not in allowed:
            raise ValidationException("Return values set to invalid value")
        return value

    async def put_item(self, params: dict[str, Any]) -> dict[str, Any]:
        name = params["TableName"]
        item = validate_item(params["Item"])
        compiler = _compiler(params)
        condition = self._condition(params, compiler)
        compiler.finish()
        returns = self._return_values(params, ("NONE", "ALL_OLD"))
        keys = await self._keys(name)
        key = keys.item_key(item)
        async with self._write_turn(name, key, condition) as (conn, old):
            await self._store(conn, name, key, item, old is not None)
        return {"Attributes": old} if returns == "ALL_OLD" and old is not None else {}

    async def get_item(self, params: dict[str, Any]) -> dict[str, Any]:
        name = params["TableName"]
        compiler = _compiler(params)
        projection = _projection(params, compiler)
        compiler.finish()
        async with self.store.read() as conn:
            table = await self._table(conn, name)
            key = table.keys.request_key(validate_item(params["Key"]))
            item = await self._load(conn, name, key, lock=False)
        if item is None:
            return {}
        return {"Item": project(item, projection) if projection is not None else item}

    async def delete_item(self, params: dict[str, Any]) -> dict[str, Any]:
        name = params["TableName"]
        compiler = _compiler(params)
        condition = self._condition(params, compiler)
        compiler.finish()
        returns = self._return_values(params, ("NONE", "ALL_OLD"))
        keys = await self._keys(name)
        key = keys.request_key(validate_item(params["Key"]))
        async with self._write_turn(name, key, condition) as (conn, old):
            if old is not None:
                await self._remove(conn, name, key)
        return {"Attributes": old} if returns == "ALL_OLD" and old is not None else {}

    async def update_item(self, params: dict[str, Any]) -> dict[str, Any]:
        name = params["TableName"]
        compiler = _compiler(params)
        condition = self._condition(params, compiler)
        text = params.get("UpdateExpression")
        expression: Update | None = compiler.update(text) if text is not None else None
        compiler.finish()
        if params.get("AttributeUpdates") is not None:
            raise ValidationException("Corral's DynamoDB takes UpdateExpression, not AttributeUpdates")
        returns = self._return_values(params, ("NONE", "ALL_OLD", "UPDATED_OLD", "ALL_NEW", "UPDATED_NEW"))
        keys = await self._keys(name)
        request_key = validate_item(params["Key"])
        key = keys.request_key(request_key)
        if expression is not None:
            for path in expression.paths():
                if path.elements[0] in keys.names:
                    raise ValidationException(
                        f"One or more parameter values were invalid: Cannot update attribute "
                        f"{path.elements[0]}. This attribute is part of the key"
                    )
        async with self._write_turn(name, key, condition) as (conn, old):
            base = old if old is not None else dict(request_key)
            new = apply_update(base, expression) if expression is not None else base
            await self._store(conn, name, key, new, old is not None)
        paths: list[Path] = expression.paths() if expression is not None else []
        if returns == "ALL_OLD":
            return {"Attributes": old} if old else {}
        if returns == "ALL_NEW":
            return {"Attributes": new}
        if returns == "UPDATED_OLD":
            updated = project(old, paths) if old else {}
            return {"Attributes": updated} if updated else {}
        if returns == "UPDATED_NEW":
            updated = project(new, paths)
            return {"Attributes": updated} if updated else {}
        return {}

    # -- queries and scans ---------------------------------------------------------------------------

    async def query(self, params: dict[str, Any]) -> dict[str, Any]:
        return await self._read_many(params, query=True)

    async def scan(self, params: dict[str, Any]) -> dict[str, Any]:
        return await self._read_many(params, query=False)

    async def _read_many(self, params: dict[str, Any], *, query: bool) -> dict[str, Any]:
        name = params["TableName"]
        if params.get("IndexName") is not None:
            raise ValidationException("Corral's DynamoDB does not offer secondary indexes")
        for legacy in ("KeyConditions", "QueryFilter", "ScanFilter", "AttributesToGet"):
            if params.get(legacy) is not None:
                raise ValidationException(f"Corral's DynamoDB takes expressions, not the legacy {legacy}")
        compiler = _compiler(params)
        key_text = params.get("KeyConditionExpression")
        key_condition = compiler.condition(key_text, "KeyConditionExpression") if query and key_text else None
        if key_condition is not None:
            check_between_bounds(key_condition, "KeyConditionExpression")
        if query and key_condition is None:
            raise ValidationException(
                "Either the KeyConditions or KeyConditionExpression parameter must be specified in the "
                "request."
            )
        filter_text = params.get("FilterExpression")
        filter_condition = compiler.condition(filter_text, "FilterExpression") if filter_text else None
        if filter_condition is not None:
            check_between_bounds(filter_condition, "FilterExpression")
        projection = _projection(params, compiler)
        compiler.finish()
        select_mode = params.get("Select") or ("SPECIFIC_ATTRIBUTES" if projection else "ALL_ATTRIBUTES")
        if select_mode == "ALL_PROJECTED_ATTRIBUTES":
            raise ValidationException(
                "ALL_PROJECTED_ATTRIBUTES can be used only when Querying using an IndexName"
            )
        if select_mode == "SPECIFIC_ATTRIBUTES" and projection is None:
            raise ValidationException(
                "Select type SPECIFIC_ATTRIBUTES requires AttributesToGet or ProjectionExpression"
            )
        if projection is not None and select_mode in ("ALL_ATTRIBUTES", "COUNT"):
            raise ValidationException(
                f"Cannot specify the ProjectionExpression when choosing to get {select_mode}"
            )
        limit: int | None = params.get("Limit")
        forward = params.get("ScanIndexForward", True) if query else True
        segment, total = params.get("Segment"), params.get("TotalSegments")
        if (segment is None) != (total is None):
            raise ValidationException(
                "The TotalSegments parameter is required but was not present in the request when Segment "
                "parameter is present"
            )
        if segment is not None and total is not None and segment >= total:
            raise ValidationException(
                f"The Segment parameter is zero-based and must be less than parameter TotalSegments: "
                f"Segment: {segment} is not less than TotalSegments: {total}"
            )

        async with self.store.read() as conn:
            table = await self._table(conn, name)
            keys = table.keys
            where: list[Any] = self._in_table(name)
            hash_column = self._bytewise(dynamodb_items.c.hash_key)
            range_column = self._bytewise(dynamodb_items.c.range_key)
            if key_condition is not None:
                where.extend(key_condition_sql(key_condition, keys, hash_column, range_column))
            start = params.get("ExclusiveStartKey")
            if start is not None:
                start_hash, start_range = keys.request_key(validate_item(start), starting=True)
                if query:
                    where.append(range_column > start_range if forward else range_column < start_range)
                else:
                    where.append(
                        or_(
                            hash_column > start_hash,
                            and_(hash_column == start_hash, range_column > start_range),
                        )
                    )
            if query:
                ordering = [range_column.asc() if forward else range_column.desc()]
            else:
                ordering = [hash_column.asc(), range_column.asc()]
            statement = select(dynamodb_items.c.hash_key, dynamodb_items.c.item).where(*where)
            statement = statement.order_by(*ordering)
            items: list[Item] = []
            scanned = page_bytes = 0
            last: Item | None = None
            more = False
            async for hash_key, stored in _rows(conn, statement):
                if total is not None and zlib.crc32(hash_key.encode()) % total != segment:
                    continue
                if (limit is not None and scanned >= limit) or page_bytes >= PAGE_BYTES:
                    more = True
                    break
                item = from_json(stored)
                scanned += 1
                page_bytes += item_size(item)
                last = item
                if filter_condition is None or check(filter_condition, item):
                    items.append(project(item, projection) if projection is not None else item)
        result: dict[str, Any] = {"Count": len(items), "ScannedCount": scanned}
        if select_mode != "COUNT":
            result["Items"] = items
        if more and last is not None:
            result["LastEvaluatedKey"] = keys.key_of(last)
        return result

    # -- batches -------------------------------------------------------------------------------------

    async def batch_write_item(self, params: dict[str, Any]) -> dict[str, Any]:
        requests: dict[str, list[dict[str, Any]]] = params["RequestItems"]
        total = sum(len(entries) for entries in requests.values())
        if total > MAX_BATCH_WRITE:
            raise ValidationException("Too many items requested for the BatchWriteItem call")
        plan: list[tuple[str, tuple[str, str], Item | None]] = []
        async with self.store.read() as conn:
            for name, entries in requests.items():
                keys = (await self._table(conn, name)).keys
                seen: set[tuple[str, str]] = set()
                for entry in entries:
                    put, remove = entry.get("PutRequest"), entry.get("DeleteRequest")
                    if (put is None) == (remove is None):
                        raise ValidationException(
                            "Supplied AttributeValue has more than one datatypes set, must contain exactly "
                            "one of the supported datatypes"
                            if put is not None
                            else "1 validation error detected: a WriteRequest must contain either a "
                            "PutRequest or a DeleteRequest"
                        )
                    written: Item | None = None
                    if put is not None:
                        written = validate_item(put["Item"])
                        key = keys.item_key(written)
                    else:
                        assert remove is not None
                        key = keys.request_key(validate_item(remove["Key"]))
                    plan.append((name, key, written))
                    if key in seen:
                        raise ValidationException("Provided list of item keys contains duplicates")
                    seen.add(key)
        async with self.store.begin() as conn:
            for name, key, written in plan:
                old = await self._load(conn, name, key, lock=True)
                if written is None:
                    if old is not None:
                        await self._remove(conn, name, key)
                else:
                    await self._store(conn, name, key, written, old is not None)
        return {"UnprocessedItems": {}}

    async def batch_get_item(self, params: dict[str, Any]) -> dict[str, Any]:
        requests: dict[str, dict[str, Any]] = dict(params["RequestItems"])
        total = sum(len(request["Keys"]) for request in requests.values())
        if total > MAX_BATCH_GET:
            raise ValidationException("Too many items requested for the BatchGetItem call")
        responses: dict[str, list[Item]] = {}
        async with self.store.read() as conn:
            for name, request in requests.items():
                compiler = _compiler(request)
                projection = _projection(request, compiler)
                compiler.finish()
                keys = (await self._table(conn, name)).keys
                wanted = [keys.request_key(validate_item(key)) for key in request["Keys"]]
                if len(set(wanted)) != len(wanted):
                    raise ValidationException("Provided list of item keys contains duplicates")
                found: list[Item] = []
                for key in wanted:
                    item = await self._load(conn, name, key, lock=False)
                    if item is not None:
                        found.append(project(item, projection) if projection is not None else item)
                responses[name] = found
        return {"Responses": responses, "UnprocessedKeys": {}}

    async def count_items(self, table: str) -> int:
        async with self.store.read() as conn:
            await self._table(conn, table)
            return int((await conn.execute(select(func.count()).where(*self._in_table(table)))).scalar_one())


async def _rows(conn: AsyncConnection, statement: Any) -> AsyncIterator[tuple[str, Any]]:
    """The statement's rows, fetched a page at a time."""
    offset = 0
    while True:
        rows = (await conn.execute(statement.offset(offset).limit(FETCH_ROWS))).all()
        for row in rows:
            yield row[0], row[1]
        if len(rows) < FETCH_ROWS:
            return
        offset += len(rows)


def _compiler(params: dict[str, Any]) -> Compiler:
    values = params.get("ExpressionAttributeValues")
    checked = None if values is None else {name: validate_value(value) for name, value in values.items()}
    return Compiler(params.get("ExpressionAttributeNames"), checked)


def _projection(params: dict[str, Any], compiler: Compiler) -> list[Path] | None:
    text = params.get("ProjectionExpression")
    return compiler.projection(text) if text is not None else None
