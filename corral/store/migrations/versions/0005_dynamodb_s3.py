"""The embedded DynamoDB (tables and items) and S3 (buckets and object metadata; bodies live in the data dir).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22

Written by hand to match corral/store/schema.py as of this revision; tests/store/test_migrations.py checks
that the two agree.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "dynamodb_tables",
        sa.Column("account_id", sa.String(12), nullable=False),
        sa.Column("table_name", sa.String(), nullable=False),
        sa.Column("table_id", sa.String(), nullable=False),
        sa.Column("definition", sa.JSON(none_as_null=True), nullable=False),
        sa.Column("created_at", sa.Double(), nullable=False),
        sa.PrimaryKeyConstraint("account_id", "table_name", name="pk_dynamodb_tables"),
    )
    op.create_table(
        "dynamodb_items",
        sa.Column("account_id", sa.String(12), nullable=False),
        sa.Column("table_name", sa.String(), nullable=False),
        sa.Column("hash_key", sa.String(), nullable=False),
        sa.Column("range_key", sa.String(), nullable=False),
        sa.Column("item", sa.JSON(none_as_null=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id", "table_name"],
            ["dynamodb_tables.account_id", "dynamodb_tables.table_name"],
            name="fk_dynamodb_items_account_id_table_name_dynamodb_tables",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "account_id", "table_name", "hash_key", "range_key", name="pk_dynamodb_items"
        ),
    )
    op.create_table(
        "s3_buckets",
        sa.Column("account_id", sa.String(12), nullable=False),
        sa.Column("bucket_name", sa.String(), nullable=False),
        sa.Column("region", sa.String(), nullable=False),
        sa.Column("created_at", sa.Double(), nullable=False),
        sa.PrimaryKeyConstraint("account_id", "bucket_name", name="pk_s3_buckets"),
    )
    op.create_table(
        "s3_objects",
        sa.Column("account_id", sa.String(12), nullable=False),
        sa.Column("bucket_name", sa.String(), nullable=False),
        sa.Column("object_key", sa.String(), nullable=False),
        sa.Column("body_file", sa.String(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("etag", sa.String(), nullable=False),
        sa.Column("content_type", sa.String(), nullable=False),
        sa.Column("user_metadata", sa.JSON(none_as_null=True), nullable=False),
        sa.Column("headers", sa.JSON(none_as_null=True), nullable=False),
        sa.Column("last_modified", sa.Double(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id", "bucket_name"],
            ["s3_buckets.account_id", "s3_buckets.bucket_name"],
            name="fk_s3_objects_account_id_bucket_name_s3_buckets",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("account_id", "bucket_name", "object_key", name="pk_s3_objects"),
    )


def downgrade() -> None:
    op.drop_table("s3_objects")
    op.drop_table("s3_buckets")
    op.drop_table("dynamodb_items")
    op.drop_table("dynamodb_tables")
