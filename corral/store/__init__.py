"""The store: the control plane's tables (``schema``), their Alembic migrations, and the SQLite or PostgreSQL
engine that opens and migrates them (``engine.Store``). Only a domain's service object touches its tables."""

from corral.store.engine import Store, resolve_url
from corral.store.errors import ConstraintViolation, DatabaseFailure, StoreError, StoreOpenError

__all__ = ["ConstraintViolation", "DatabaseFailure", "Store", "StoreError", "StoreOpenError", "resolve_url"]
