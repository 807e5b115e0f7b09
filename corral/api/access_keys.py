"""Access keys that may sign API requests: kept in the store, answered from memory.

SigV4 verification asks for a secret on every request, synchronously, so the keys are loaded once at start
and the table is only read again when a key is added. On first start an administrator key is created and
written as the ``corral`` profile of the credentials file that ``endpoints.json`` names.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import insert, select

from corral.api.credentials import AccessKey, new_access_key, read_profile, write_profile
from corral.store.engine import Store
from corral.store.schema import access_keys, epoch_now

ADMIN_USER = "corral-admin"


@dataclass(frozen=True, slots=True)
class KeyOwner:
    account_id: str
    user_name: str


class AccessKeys:
    def __init__(self, store: Store) -> None:
        self.store = store
        self._secrets: dict[str, tuple[str, KeyOwner]] = {}

    async def load(self) -> None:
        async with self.store.read() as conn:
            rows = (await conn.execute(select(access_keys).where(access_keys.c.status == "Active"))).all()
        self._secrets = {
            row.access_key_id: (row.secret_access_key, KeyOwner(row.account_id, row.user_name))
            for row in rows
        }

    def secret_for(self, access_key_id: str) -> str | None:
        found = self._secrets.get(access_key_id)
        return found[0] if found is not None else None

    def owner(self, access_key_id: str) -> KeyOwner | None:
        found = self._secrets.get(access_key_id)
        return found[1] if found is not None else None

    async def add(self, key: AccessKey, account_id: str, user_name: str) -> None:
        async with self.store.begin() as conn:
            await conn.execute(
                insert(access_keys).values(
                    account_id=account_id,
                    access_key_id=key.access_key_id,
                    secret_access_key=key.secret_access_key,
                    user_name=user_name,
                    status="Active",
                    created_at=epoch_now(),
                )
            )
        self._secrets[key.access_key_id] = (key.secret_access_key, KeyOwner(account_id, user_name))

    async def ensure_admin(
        self, credentials_file: Path, profile: str, account_id: str, region: str
    ) -> AccessKey:
        """The administrator's key: the profile's key when the store knows it, else a new one, written
        to the profile."""
        await self.load()
        existing = read_profile(credentials_file, profile)
        if existing is not None and self.secret_for(existing.access_key_id) == existing.secret_access_key:
            return existing
        key = new_access_key()
        await self.add(key, account_id, ADMIN_USER)
        write_profile(credentials_file, profile, key, region)
        return key
