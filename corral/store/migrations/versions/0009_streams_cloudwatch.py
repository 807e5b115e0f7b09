"""Kinesis streams, Firehose delivery streams, CloudWatch metrics, datapoints, alarms and their history,
CloudWatch Logs groups, streams and events.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-22

Written by hand to match corral/store/schema.py as of this revision; tests/store/test_migrations.py checks
that the two agree.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | None = None
depends_on: str | None = None


def _account() -> sa.Column[str]:
    return sa.Column("account_id", sa.String(12), nullable=False)


def _json(name: str, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.JSON(none_as_null=True), nullable=nullable)


def _time(name: str, nullable: bool = False) -> sa.Column[float]:
    return sa.Column(name, sa.Double(), nullable=nullable)


_METRIC = ["account_id", "namespace", "metric_name", "dimensions_key"]


def upgrade() -> None:
    op.create_table(
        "kinesis_streams",
        _account(),
        sa.Column("stream_name", sa.String(), nullable=False),
        sa.Column("stream_id", sa.String(), nullable=False),
        sa.Column("shard_count", sa.Integer(), nullable=False),
        sa.Column("retention_hours", sa.Integer(), nullable=False),
        sa.Column("stream_mode", sa.String(), nullable=False),
        _time("created_at"),
        sa.PrimaryKeyConstraint("account_id", "stream_name", name="pk_kinesis_streams"),
    )
    op.create_table(
        "firehose_streams",
        _account(),
        sa.Column("stream_name", sa.String(), nullable=False),
        sa.Column("stream_id", sa.String(), nullable=False),
        sa.Column("stream_type", sa.String(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        _json("destination"),
        _time("created_at"),
        sa.PrimaryKeyConstraint("account_id", "stream_name", name="pk_firehose_streams"),
    )
    op.create_table(
        "cloudwatch_metrics",
        _account(),
        sa.Column("namespace", sa.String(), nullable=False),
        sa.Column("metric_name", sa.String(), nullable=False),
        sa.Column("dimensions_key", sa.String(), nullable=False),
        sa.Column("unit", sa.String(), nullable=True),
        sa.Column("last_value", sa.Double(), nullable=False),
        _time("last_timestamp"),
        sa.Column("sample_count", sa.Double(), nullable=False),
        sa.Column("sum", sa.Double(), nullable=False),
        _time("updated_at"),
        sa.PrimaryKeyConstraint(*_METRIC, name="pk_cloudwatch_metrics"),
    )
    op.create_table(
        "cloudwatch_datapoints",
        _account(),
        sa.Column("namespace", sa.String(), nullable=False),
        sa.Column("metric_name", sa.String(), nullable=False),
        sa.Column("dimensions_key", sa.String(), nullable=False),
        _time("timestamp"),
        sa.Column("point_id", sa.String(), nullable=False),
        sa.Column("unit", sa.String(), nullable=True),
        sa.Column("sample_count", sa.Double(), nullable=False),
        sa.Column("sum", sa.Double(), nullable=False),
        sa.Column("minimum", sa.Double(), nullable=False),
        sa.Column("maximum", sa.Double(), nullable=False),
        sa.ForeignKeyConstraint(
            _METRIC,
            [f"cloudwatch_metrics.{c}" for c in _METRIC],
            name="fk_cloudwatch_datapoints_metric",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(*_METRIC, "point_id", name="pk_cloudwatch_datapoints"),
    )
    op.create_index(
        "ix_cloudwatch_datapoints_metric_timestamp", "cloudwatch_datapoints", [*_METRIC, "timestamp"]
    )
    op.create_table(
        "cloudwatch_alarms",
        _account(),
        sa.Column("alarm_name", sa.String(), nullable=False),
        _json("definition"),
        sa.Column("state_value", sa.String(), nullable=False),
        sa.Column("state_reason", sa.Text(), nullable=False),
        sa.Column("state_reason_data", sa.Text(), nullable=True),
        _time("state_updated_at"),
        _time("configuration_updated_at"),
        sa.PrimaryKeyConstraint("account_id", "alarm_name", name="pk_cloudwatch_alarms"),
    )
    op.create_table(
        "cloudwatch_alarm_history",
        _account(),
        sa.Column("alarm_name", sa.String(), nullable=False),
        sa.Column("item_id", sa.String(), nullable=False),
        _time("timestamp"),
        sa.Column("item_type", sa.String(), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("data", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("account_id", "alarm_name", "item_id", name="pk_cloudwatch_alarm_history"),
    )
    op.create_index(
        "ix_cloudwatch_alarm_history_account_id_timestamp",
        "cloudwatch_alarm_history",
        ["account_id", "timestamp"],
    )
    op.create_table(
        "logs_groups",
        _account(),
        sa.Column("group_name", sa.String(), nullable=False),
        sa.Column("retention_days", sa.Integer(), nullable=True),
        _json("tags"),
        _time("created_at"),
        sa.PrimaryKeyConstraint("account_id", "group_name", name="pk_logs_groups"),
    )
    op.create_table(
        "logs_streams",
        _account(),
        sa.Column("group_name", sa.String(), nullable=False),
        sa.Column("stream_name", sa.String(), nullable=False),
        sa.Column("last_sequence", sa.Integer(), nullable=False),
        _time("created_at"),
        _time("first_event_at", nullable=True),
        _time("last_event_at", nullable=True),
        _time("last_ingestion_at", nullable=True),
        sa.Column("stored_bytes", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id", "group_name"],
            ["logs_groups.account_id", "logs_groups.group_name"],
            name="fk_logs_streams_account_id_group_name_logs_groups",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("account_id", "group_name", "stream_name", name="pk_logs_streams"),
    )
    op.create_table(
        "logs_events",
        _account(),
        sa.Column("group_name", sa.String(), nullable=False),
        sa.Column("stream_name", sa.String(), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        _time("timestamp"),
        _time("ingested_at"),
        sa.Column("message", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id", "group_name", "stream_name"],
            ["logs_streams.account_id", "logs_streams.group_name", "logs_streams.stream_name"],
            name="fk_logs_events_account_id_group_name_stream_name_logs_streams",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("account_id", "group_name", "stream_name", "sequence", name="pk_logs_events"),
    )
    op.create_index(
        "ix_logs_events_account_id_group_name_timestamp",
        "logs_events",
        ["account_id", "group_name", "timestamp"],
    )


def downgrade() -> None:
    op.drop_table("logs_events")
    op.drop_table("logs_streams")
    op.drop_table("logs_groups")
    op.drop_table("cloudwatch_alarm_history")
    op.drop_table("cloudwatch_alarms")
    op.drop_table("cloudwatch_datapoints")
    op.drop_table("cloudwatch_metrics")
    op.drop_table("firehose_streams")
    op.drop_table("kinesis_streams")
