"""Device shadows: one row per (thing, shadow name), the classic shadow under the empty name.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22

Written by hand to match corral/store/schema.py as of this revision; tests/store/test_migrations.py checks
that the two agree.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "shadows",
        sa.Column("account_id", sa.String(12), nullable=False),
        sa.Column("thing_name", sa.String(), nullable=False),
        sa.Column("shadow_name", sa.String(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("document", sa.JSON(none_as_null=True), nullable=True),
        sa.Column("updated_at", sa.Double(), nullable=False),
        sa.Column("deleted_at", sa.Double(), nullable=True),
        sa.PrimaryKeyConstraint("account_id", "thing_name", "shadow_name", name="pk_shadows"),
    )


def downgrade() -> None:
    op.drop_table("shadows")
