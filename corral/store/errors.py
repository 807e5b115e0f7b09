"""The store's exceptions: one root, so callers can tell a storage failure from a domain error.

Everything here is "we did wrong" (or the database is unreachable) except :class:`ConstraintViolation`, which
a domain service may turn into the AWS conflict error it stands for (e.g. ResourceAlreadyExistsException).
"""

from __future__ import annotations


class StoreError(Exception):
    """Root of every error the store raises."""


class StoreOpenError(StoreError):
    """The database could not be opened or migrated (bad URL, unreachable server, failed migration)."""


class DatabaseFailure(StoreError):
    """The database refused or failed a statement for another reason (lost connection, lock wait exceeded, a
    bad statement); the transaction was rolled back. The driver's exception is the ``__cause__``."""


class ConstraintViolation(StoreError):
    """A write broke a primary key, unique or foreign key constraint; the transaction was rolled back."""
