"""SQS queues and messages, SNS topics and subscriptions, FIFO deduplication ids.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22

Written by hand to match corral/store/schema.py as of this revision; tests/store/test_migrations.py checks
that the two agree.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | None = None
depends_on: str | None = None


def _json(name: str, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.JSON(none_as_null=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "sqs_queues",
        sa.Column("account_id", sa.String(12), nullable=False),
        sa.Column("queue_name", sa.String(), nullable=False),
        _json("attributes"),
        _json("tags"),
        sa.Column("last_sequence", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.Double(), nullable=False),
        sa.Column("last_modified_at", sa.Double(), nullable=False),
        sa.PrimaryKeyConstraint("account_id", "queue_name", name="pk_sqs_queues"),
    )
    op.create_table(
        "sqs_messages",
        sa.Column("account_id", sa.String(12), nullable=False),
        sa.Column("queue_name", sa.String(), nullable=False),
        sa.Column("message_id", sa.String(), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        _json("message_attributes", nullable=True),
        _json("system_attributes", nullable=True),
        sa.Column("sender_id", sa.String(), nullable=False),
        sa.Column("sent_at", sa.Double(), nullable=False),
        sa.Column("visible_at", sa.Double(), nullable=False),
        sa.Column("receive_count", sa.Integer(), nullable=False),
        sa.Column("first_received_at", sa.Double(), nullable=True),
        sa.Column("receipt", sa.String(), nullable=True),
        sa.Column("group_id", sa.String(), nullable=True),
        sa.Column("deduplication_id", sa.String(), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id", "queue_name"],
            ["sqs_queues.account_id", "sqs_queues.queue_name"],
            name="fk_sqs_messages_account_id_queue_name_sqs_queues",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("account_id", "queue_name", "message_id", name="pk_sqs_messages"),
    )
    op.create_index(
        "ix_sqs_messages_account_id_queue_name_sequence",
        "sqs_messages",
        ["account_id", "queue_name", "sequence"],
    )
    op.create_table(
        "message_deduplication",
        sa.Column("account_id", sa.String(12), nullable=False),
        sa.Column("target", sa.String(), nullable=False),
        sa.Column("deduplication_id", sa.String(), nullable=False),
        sa.Column("message_id", sa.String(), nullable=False),
        sa.Column("sequence_number", sa.String(), nullable=True),
        sa.Column("expires_at", sa.Double(), nullable=False),
        sa.PrimaryKeyConstraint("account_id", "target", "deduplication_id", name="pk_message_deduplication"),
    )
    op.create_table(
        "sns_topics",
        sa.Column("account_id", sa.String(12), nullable=False),
        sa.Column("topic_name", sa.String(), nullable=False),
        _json("attributes"),
        _json("tags"),
        sa.Column("last_sequence", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.Double(), nullable=False),
        sa.PrimaryKeyConstraint("account_id", "topic_name", name="pk_sns_topics"),
    )
    op.create_table(
        "sns_subscriptions",
        sa.Column("account_id", sa.String(12), nullable=False),
        sa.Column("subscription_id", sa.String(), nullable=False),
        sa.Column("topic_name", sa.String(), nullable=False),
        sa.Column("protocol", sa.String(), nullable=False),
        sa.Column("endpoint", sa.String(), nullable=False),
        _json("attributes"),
        sa.Column("confirmed", sa.Boolean(), nullable=False),
        sa.Column("token", sa.String(), nullable=True),
        sa.Column("created_at", sa.Double(), nullable=False),
        sa.Column("deliveries", sa.Integer(), nullable=False),
        sa.Column("delivery_failures", sa.Integer(), nullable=False),
        sa.Column("last_failure", sa.Text(), nullable=True),
        sa.Column("last_failure_at", sa.Double(), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id", "topic_name"],
            ["sns_topics.account_id", "sns_topics.topic_name"],
            name="fk_sns_subscriptions_account_id_topic_name_sns_topics",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("account_id", "subscription_id", name="pk_sns_subscriptions"),
    )
    op.create_index(
        "ix_sns_subscriptions_account_id_topic_name", "sns_subscriptions", ["account_id", "topic_name"]
    )


def downgrade() -> None:
    op.drop_table("sns_subscriptions")
    op.drop_table("sns_topics")
    op.drop_table("message_deduplication")
    op.drop_table("sqs_messages")
    op.drop_table("sqs_queues")
