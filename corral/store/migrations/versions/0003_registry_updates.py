"""Registry updates: policy version ids never reused, thing types' MQTT 5 configuration, event configuration
dates.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29

Written by hand to match corral/store/schema.py as of this revision; tests/store/test_migrations.py checks
that the two agree.

- ``policies.last_version_id``: the highest version id given out. Existing policies start from their highest
  version still present (the ids of versions deleted before this revision are not known any more).
  SQLite adds a NOT NULL column only with a default, and rebuilding ``policies`` would cascade-delete its
  versions and attachments (foreign keys are on while migrating), so the column keeps its server default.
- ``thing_types.mqtt5_configuration``: nullable, NULL for every existing type (none could have one).
- ``event_configurations.created_at`` / ``last_modified_at``: existing rows get the time of the migration,
  the first time Corral knows of; the table is nobody's parent, so SQLite may rebuild it to make the columns
  NOT NULL.
"""

from __future__ import annotations

import time

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None

NAMING_CONVENTION = {"pk": "pk_%(table_name)s"}


def upgrade() -> None:
    op.add_column(
        "policies",
        sa.Column("last_version_id", sa.Integer(), nullable=False, server_default=sa.text("1")),
    )
    versions = sa.table(
        "policy_versions", sa.column("account_id"), sa.column("policy_name"), sa.column("version_id")
    )
    policies = sa.table(
        "policies",
        sa.column("account_id"),
        sa.column("policy_name"),
        sa.column("default_version_id"),
        sa.column("last_version_id"),
    )
    highest = (
        sa.select(sa.func.max(versions.c.version_id))
        .where(
            versions.c.account_id == policies.c.account_id, versions.c.policy_name == policies.c.policy_name
        )
        .scalar_subquery()
    )
    op.execute(
        policies.update().values(last_version_id=sa.func.coalesce(highest, policies.c.default_version_id))
    )

    op.add_column("thing_types", sa.Column("mqtt5_configuration", sa.JSON(none_as_null=True), nullable=True))

    op.add_column("event_configurations", sa.Column("created_at", sa.Double(), nullable=True))
    op.add_column("event_configurations", sa.Column("last_modified_at", sa.Double(), nullable=True))
    now = time.time()
    configurations = sa.table("event_configurations", sa.column("created_at"), sa.column("last_modified_at"))
    op.execute(configurations.update().values(created_at=now, last_modified_at=now))
    with op.batch_alter_table("event_configurations", naming_convention=NAMING_CONVENTION) as batch:
        batch.alter_column("created_at", existing_type=sa.Double(), nullable=False)
        batch.alter_column("last_modified_at", existing_type=sa.Double(), nullable=False)


def downgrade() -> None:
    op.drop_column("event_configurations", "last_modified_at")
    op.drop_column("event_configurations", "created_at")
    op.drop_column("thing_types", "mqtt5_configuration")
    op.drop_column("policies", "last_version_id")
