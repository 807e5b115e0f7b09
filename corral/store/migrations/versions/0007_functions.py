"""Functions (the Lambda API's configuration of each function) and their resource-policy statements.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-22

Written by hand to match corral/store/schema.py as of this revision; tests/store/test_migrations.py checks
that the two agree. The code itself lives in the data dir (DATA_DIR/functions/{name}/{code_revision}/).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "functions",
        sa.Column("account_id", sa.String(12), nullable=False),
        sa.Column("function_name", sa.String(), nullable=False),
        sa.Column("function_arn", sa.String(), nullable=False),
        sa.Column("runtime", sa.String(), nullable=False),
        sa.Column("handler", sa.String(), nullable=False),
        sa.Column("role", sa.String(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("timeout", sa.Integer(), nullable=False),
        sa.Column("memory_size", sa.Integer(), nullable=False),
        sa.Column("environment", sa.JSON(none_as_null=True), nullable=True),
        sa.Column("code_sha256", sa.String(), nullable=False),
        sa.Column("code_size", sa.Integer(), nullable=False),
        sa.Column("code_revision", sa.String(), nullable=False),
        sa.Column("revision_id", sa.String(), nullable=False),
        sa.Column("reserved_concurrency", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.Double(), nullable=False),
        sa.Column("last_modified", sa.Double(), nullable=False),
        sa.PrimaryKeyConstraint("account_id", "function_name", name="pk_functions"),
    )
    op.create_table(
        "function_permissions",
        sa.Column("account_id", sa.String(12), nullable=False),
        sa.Column("function_name", sa.String(), nullable=False),
        sa.Column("statement_id", sa.String(), nullable=False),
        sa.Column("statement", sa.JSON(none_as_null=True), nullable=False),
        sa.Column("created_at", sa.Double(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id", "function_name"],
            ["functions.account_id", "functions.function_name"],
            name="fk_function_permissions_account_id_function_name_functions",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "account_id", "function_name", "statement_id", name="pk_function_permissions"
        ),
    )


def downgrade() -> None:
    op.drop_table("function_permissions")
    op.drop_table("functions")
