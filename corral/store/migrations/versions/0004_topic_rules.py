"""Topic rules: one row per rule, its TopicRulePayload as JSON.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22

Written by hand to match corral/store/schema.py as of this revision; tests/store/test_migrations.py checks
that the two agree.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "topic_rules",
        sa.Column("account_id", sa.String(12), nullable=False),
        sa.Column("rule_name", sa.String(), nullable=False),
        sa.Column("rule_arn", sa.String(), nullable=False),
        sa.Column("payload", sa.JSON(none_as_null=True), nullable=False),
        sa.Column("rule_disabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.Double(), nullable=False),
        sa.PrimaryKeyConstraint("account_id", "rule_name", name="pk_topic_rules"),
    )


def downgrade() -> None:
    op.drop_table("topic_rules")
