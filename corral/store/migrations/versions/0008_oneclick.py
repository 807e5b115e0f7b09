"""AWS IoT 1-Click: devices (keyed by device id: a device belongs to no account until claimed), their
events, projects, placements and the devices placed in them.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-22

Written by hand to match corral/store/schema.py as of this revision; tests/store/test_migrations.py checks
that the two agree.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "oneclick_devices",
        sa.Column("account_id", sa.String(12), nullable=True),
        sa.Column("device_id", sa.String(), nullable=False),
        sa.Column("product_type", sa.String(), nullable=False),
        sa.Column("device_type", sa.String(), nullable=False),
        sa.Column("certificate_id", sa.String(), nullable=False),
        sa.Column("claim_code", sa.String(), nullable=True),
        sa.Column("claim_state", sa.String(), nullable=False),
        sa.Column("claim_initiated_at", sa.Double(), nullable=True),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("rated_life", sa.Integer(), nullable=False),
        sa.Column("clicks", sa.Integer(), nullable=False),
        sa.Column("tags", sa.JSON(none_as_null=True), nullable=False),
        sa.Column("callbacks", sa.JSON(none_as_null=True), nullable=False),
        sa.Column("manufactured_at", sa.Double(), nullable=False),
        sa.PrimaryKeyConstraint("device_id", name="pk_oneclick_devices"),
    )
    op.create_index("ix_oneclick_devices_account_id", "oneclick_devices", ["account_id"])
    op.create_index("ix_oneclick_devices_claim_code", "oneclick_devices", ["claim_code"])
    op.create_table(
        "oneclick_device_events",
        sa.Column("account_id", sa.String(12), nullable=True),
        sa.Column("device_id", sa.String(), nullable=False),
        sa.Column("event_id", sa.String(), nullable=False),
        sa.Column("reported_at", sa.Double(), nullable=False),
        sa.Column("std_event", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["device_id"],
            ["oneclick_devices.device_id"],
            name="fk_oneclick_device_events_device_id_oneclick_devices",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("device_id", "event_id", name="pk_oneclick_device_events"),
    )
    op.create_index(
        "ix_oneclick_device_events_device_id_reported_at",
        "oneclick_device_events",
        ["device_id", "reported_at"],
    )
    op.create_table(
        "oneclick_projects",
        sa.Column("account_id", sa.String(12), nullable=False),
        sa.Column("project_name", sa.String(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("default_attributes", sa.JSON(none_as_null=True), nullable=False),
        sa.Column("device_templates", sa.JSON(none_as_null=True), nullable=False),
        sa.Column("tags", sa.JSON(none_as_null=True), nullable=False),
        sa.Column("created_at", sa.Double(), nullable=False),
        sa.Column("updated_at", sa.Double(), nullable=False),
        sa.PrimaryKeyConstraint("account_id", "project_name", name="pk_oneclick_projects"),
    )
    op.create_table(
        "oneclick_placements",
        sa.Column("account_id", sa.String(12), nullable=False),
        sa.Column("project_name", sa.String(), nullable=False),
        sa.Column("placement_name", sa.String(), nullable=False),
        sa.Column("attributes", sa.JSON(none_as_null=True), nullable=False),
        sa.Column("created_at", sa.Double(), nullable=False),
        sa.Column("updated_at", sa.Double(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id", "project_name"],
            ["oneclick_projects.account_id", "oneclick_projects.project_name"],
            name="fk_oneclick_placements_project",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "account_id", "project_name", "placement_name", name="pk_oneclick_placements"
        ),
    )
    op.create_table(
        "oneclick_placement_devices",
        sa.Column("account_id", sa.String(12), nullable=False),
        sa.Column("project_name", sa.String(), nullable=False),
        sa.Column("placement_name", sa.String(), nullable=False),
        sa.Column("template_name", sa.String(), nullable=False),
        sa.Column("device_id", sa.String(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id", "project_name", "placement_name"],
            [
                "oneclick_placements.account_id",
                "oneclick_placements.project_name",
                "oneclick_placements.placement_name",
            ],
            name="fk_oneclick_placement_devices_placement",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "account_id",
            "project_name",
            "placement_name",
            "template_name",
            name="pk_oneclick_placement_devices",
        ),
    )
    op.create_index(
        "ix_oneclick_placement_devices_device_id", "oneclick_placement_devices", ["device_id"], unique=True
    )


def downgrade() -> None:
    op.drop_index("ix_oneclick_placement_devices_device_id", table_name="oneclick_placement_devices")
    op.drop_table("oneclick_placement_devices")
    op.drop_table("oneclick_placements")
    op.drop_table("oneclick_projects")
    op.drop_index("ix_oneclick_device_events_device_id_reported_at", table_name="oneclick_device_events")
    op.drop_table("oneclick_device_events")
    op.drop_index("ix_oneclick_devices_claim_code", table_name="oneclick_devices")
    op.drop_index("ix_oneclick_devices_account_id", table_name="oneclick_devices")
    op.drop_table("oneclick_devices")
