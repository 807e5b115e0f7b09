"""SNS deliveries not yet done, so that a restart resumes them.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-22

Written by hand to match corral/store/schema.py as of this revision; tests/store/test_migrations.py checks
that the two agree.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "sns_deliveries",
        sa.Column("account_id", sa.String(12), nullable=False),
        sa.Column("delivery_id", sa.String(), nullable=False),
        sa.Column("subscription_id", sa.String(), nullable=False),
        sa.Column("delivery", sa.JSON(none_as_null=True), nullable=False),
        sa.Column("created_at", sa.Double(), nullable=False),
        sa.PrimaryKeyConstraint("account_id", "delivery_id"),
    )


def downgrade() -> None:
    op.drop_table("sns_deliveries")
