"""Alembic migrations for the store; ``Store.open`` runs them up to head. See ``env.py``."""
