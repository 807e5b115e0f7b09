"""The control plane: access keys, things, thing types and groups, certificates and CAs, policies, tags.

Revision ID: 0001
Revises:
Create Date: 2026-01-01

Written by hand to match corral/store/schema.py as of this revision (a migration never imports the schema
module, which moves on); tests/store/test_migrations.py checks that the two agree.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None


def _account() -> sa.Column[str]:
    return sa.Column("account_id", sa.String(12), nullable=False)


def _json(name: str, *, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.JSON(none_as_null=True), nullable=nullable)


def _time(name: str, *, nullable: bool = False) -> sa.Column[float]:
    return sa.Column(name, sa.Double(), nullable=nullable)


def _name(name: str, *, nullable: bool = False) -> sa.Column[str]:
    return sa.Column(name, sa.String(), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "access_keys",
        _account(),
        _name("access_key_id"),
        _name("secret_access_key"),
        _name("user_name"),
        _name("status"),
        _time("created_at"),
        sa.PrimaryKeyConstraint("access_key_id", name="pk_access_keys"),
    )
    op.create_table(
        "thing_types",
        _account(),
        _name("thing_type_name"),
        _name("thing_type_id"),
        _name("thing_type_arn"),
        sa.Column("description", sa.Text(), nullable=True),
        _json("searchable_attributes"),
        sa.Column("deprecated", sa.Boolean(), nullable=False),
        _time("deprecation_date", nullable=True),
        _time("created_at"),
        sa.PrimaryKeyConstraint("account_id", "thing_type_name", name="pk_thing_types"),
    )
    op.create_table(
        "things",
        _account(),
        _name("thing_name"),
        _name("thing_id"),
        _name("thing_arn"),
        _name("thing_type_name", nullable=True),
        _json("attributes"),
        sa.Column("version", sa.Integer(), nullable=False),
        _time("created_at"),
        _time("updated_at"),
        sa.PrimaryKeyConstraint("account_id", "thing_name", name="pk_things"),
        sa.ForeignKeyConstraint(
            ["account_id", "thing_type_name"],
            ["thing_types.account_id", "thing_types.thing_type_name"],
            name="fk_things_account_id_thing_type_name_thing_types",
        ),
    )
    op.create_index("ix_things_account_id_thing_type_name", "things", ["account_id", "thing_type_name"])
    op.create_table(
        "thing_groups",
        _account(),
        _name("group_name"),
        _name("group_id"),
        _name("group_arn"),
        _name("parent_group_name", nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        _json("attributes"),
        sa.Column("version", sa.Integer(), nullable=False),
        _time("created_at"),
        sa.PrimaryKeyConstraint("account_id", "group_name", name="pk_thing_groups"),
        sa.ForeignKeyConstraint(
            ["account_id", "parent_group_name"],
            ["thing_groups.account_id", "thing_groups.group_name"],
            name="fk_thing_groups_account_id_parent_group_name_thing_groups",
        ),
    )
    op.create_index(
        "ix_thing_groups_account_id_parent_group_name", "thing_groups", ["account_id", "parent_group_name"]
    )
    op.create_table(
        "thing_group_members",
        _account(),
        _name("group_name"),
        _name("thing_name"),
        sa.PrimaryKeyConstraint("account_id", "group_name", "thing_name", name="pk_thing_group_members"),
        sa.ForeignKeyConstraint(
            ["account_id", "group_name"],
            ["thing_groups.account_id", "thing_groups.group_name"],
            name="fk_thing_group_members_account_id_group_name_thing_groups",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["account_id", "thing_name"],
            ["things.account_id", "things.thing_name"],
            name="fk_thing_group_members_account_id_thing_name_things",
            ondelete="CASCADE",
        ),
    )
    op.create_index(
        "ix_thing_group_members_account_id_thing_name", "thing_group_members", ["account_id", "thing_name"]
    )
    op.create_table(
        "ca_certificates",
        _account(),
        _name("certificate_id"),
        _name("certificate_arn"),
        sa.Column("certificate_pem", sa.Text(), nullable=False),
        _name("status"),
        _name("auto_registration_status"),
        _json("registration_config", nullable=True),
        _name("certificate_mode"),
        sa.Column("owned_by", sa.String(12), nullable=False),
        sa.Column("customer_version", sa.Integer(), nullable=False),
        _name("generation_id"),
        _time("created_at"),
        _time("last_modified_at"),
        _time("validity_not_before"),
        _time("validity_not_after"),
        sa.PrimaryKeyConstraint("account_id", "certificate_id", name="pk_ca_certificates"),
    )
    op.create_table(
        "certificates",
        _account(),
        _name("certificate_id"),
        _name("certificate_arn"),
        sa.Column("certificate_pem", sa.Text(), nullable=False),
        _name("status"),
        _name("ca_certificate_id", nullable=True),
        _name("certificate_mode"),
        sa.Column("owned_by", sa.String(12), nullable=False),
        sa.Column("previous_owned_by", sa.String(12), nullable=True),
        _json("transfer_data", nullable=True),
        sa.Column("customer_version", sa.Integer(), nullable=False),
        _name("generation_id"),
        _time("created_at"),
        _time("last_modified_at"),
        _time("validity_not_before"),
        _time("validity_not_after"),
        sa.PrimaryKeyConstraint("account_id", "certificate_id", name="pk_certificates"),
    )
    op.create_index(
        "ix_certificates_account_id_ca_certificate_id", "certificates", ["account_id", "ca_certificate_id"]
    )
    op.create_index("ix_certificates_certificate_id", "certificates", ["certificate_id"])
    op.create_table(
        "registration_codes",
        _account(),
        _name("registration_code"),
        sa.PrimaryKeyConstraint("account_id", name="pk_registration_codes"),
    )
    op.create_table(
        "policies",
        _account(),
        _name("policy_name"),
        _name("policy_arn"),
        sa.Column("default_version_id", sa.Integer(), nullable=False),
        _time("created_at"),
        _time("last_modified_at"),
        _name("generation_id"),
        sa.PrimaryKeyConstraint("account_id", "policy_name", name="pk_policies"),
    )
    op.create_table(
        "policy_versions",
        _account(),
        _name("policy_name"),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        _time("created_at"),
        sa.PrimaryKeyConstraint("account_id", "policy_name", "version_id", name="pk_policy_versions"),
        sa.ForeignKeyConstraint(
            ["account_id", "policy_name"],
            ["policies.account_id", "policies.policy_name"],
            name="fk_policy_versions_account_id_policy_name_policies",
            ondelete="CASCADE",
        ),
    )
    op.create_table(
        "policy_targets",
        _account(),
        _name("policy_name"),
        _name("target"),
        sa.PrimaryKeyConstraint("account_id", "policy_name", "target", name="pk_policy_targets"),
        sa.ForeignKeyConstraint(
            ["account_id", "policy_name"],
            ["policies.account_id", "policies.policy_name"],
            name="fk_policy_targets_account_id_policy_name_policies",
            ondelete="CASCADE",
        ),
    )
    op.create_index("ix_policy_targets_account_id_target", "policy_targets", ["account_id", "target"])
    op.create_table(
        "thing_principals",
        _account(),
        _name("thing_name"),
        _name("principal"),
        _name("principal_type"),
        sa.PrimaryKeyConstraint("account_id", "thing_name", "principal", name="pk_thing_principals"),
        sa.ForeignKeyConstraint(
            ["account_id", "thing_name"],
            ["things.account_id", "things.thing_name"],
            name="fk_thing_principals_account_id_thing_name_things",
            ondelete="CASCADE",
        ),
    )
    op.create_index(
        "ix_thing_principals_account_id_principal", "thing_principals", ["account_id", "principal"]
    )
    op.create_table(
        "tags",
        _account(),
        _name("resource_arn"),
        _name("tag_key"),
        _name("tag_value"),
        sa.PrimaryKeyConstraint("account_id", "resource_arn", "tag_key", name="pk_tags"),
    )
    op.create_table(
        "event_configurations",
        _account(),
        _name("event_type"),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("account_id", "event_type", name="pk_event_configurations"),
    )


def downgrade() -> None:
    for table in (
        "event_configurations",
        "tags",
        "thing_principals",
        "policy_targets",
        "policy_versions",
        "policies",
        "registration_codes",
        "certificates",
        "ca_certificates",
        "thing_group_members",
        "thing_groups",
        "things",
        "thing_types",
        "access_keys",
    ):
        op.drop_table(table)
