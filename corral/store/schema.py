"""The control plane's tables, as SQLAlchemy Core metadata: the one description of the database.

Conventions (the migrations in ``corral/store/migrations/versions`` must say exactly the same; a test compares
the migrated database with this module on SQLite and PostgreSQL):

- Every row carries ``account_id``, the 12-digit AWS account, as the first column and, except for
  ``access_keys`` (looked up by key id alone), the first column of the primary key.
- Timestamps are float epoch seconds (UTC) in ``Double`` columns, never ``DateTime``: AWS's IoT wire format is
  epoch seconds, SQLite has no time zone type, and a float compares and sorts the same on both backends.
  Use :func:`epoch_now` for "now".
- Structured values (attributes, searchable attributes, transfer data, registration configs) are
  ``sqlalchemy.JSON``; a Python ``None`` in a nullable JSON column is SQL NULL, not JSON ``null``.
- Enumerations (statuses, modes) are plain strings: the registry validates them, so the database does not
  refuse a value AWS adds tomorrow. Names and ARNs are unbounded strings for the same reason; the registry
  enforces AWS's lengths.
- Foreign keys keep rows from pointing at nothing (versions, attachments, memberships and principals of a
  deleted policy or thing go with it); AWS's conflict rules (a policy that is still attached, a thing type in
  use) are the registry's to enforce and report.
- Constraint and index names come from :data:`NAMING_CONVENTION`, so they are the same on every backend.
"""

from __future__ import annotations

import time

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Double,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    text,
)

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING_CONVENTION)


def epoch_now() -> float:
    """The current time as the store keeps timestamps: float seconds since the epoch, UTC."""
    return time.time()


def _account() -> Column[str]:
    return Column("account_id", String(12), primary_key=True)


def _json(name: str, *, nullable: bool = False) -> Column[object]:
    return Column(name, JSON(none_as_null=True), nullable=nullable)


def _time(name: str, *, nullable: bool = False) -> Column[float]:
    return Column(name, Double(), nullable=nullable)


access_keys = Table(
    "access_keys",
    metadata,
    Column("account_id", String(12), nullable=False),
    Column("access_key_id", String, primary_key=True),
    Column("secret_access_key", String, nullable=False),
    Column("user_name", String, nullable=False),
    Column("status", String, nullable=False),  # Active | Inactive
    _time("created_at"),
)

thing_types = Table(
    "thing_types",
    metadata,
    _account(),
    Column("thing_type_name", String, primary_key=True),
    Column("thing_type_id", String, nullable=False),
    Column("thing_type_arn", String, nullable=False),
    Column("description", Text, nullable=True),
    _json("searchable_attributes"),  # list of attribute names
    # The model's Mqtt5Configuration ({"propagatingAttributes": [...]}) as given; NULL when the type has none.
    _json("mqtt5_configuration", nullable=True),
    Column("deprecated", Boolean, nullable=False),
    _time("deprecation_date", nullable=True),
    _time("created_at"),
)

things = Table(
    "things",
    metadata,
    _account(),
    Column("thing_name", String, primary_key=True),
    Column("thing_id", String, nullable=False),  # uuid4, as AWS
    Column("thing_arn", String, nullable=False),
    Column("thing_type_name", String, nullable=True),
    _json("attributes"),  # {name: value}, strings only
    Column("version", Integer, nullable=False),
    _time("created_at"),
    _time("updated_at"),
    # No ON DELETE: a thing type in use is not deleted (the registry checks first, this is the backstop).
    ForeignKeyConstraint(
        ["account_id", "thing_type_name"], ["thing_types.account_id", "thing_types.thing_type_name"]
    ),
    Index(None, "account_id", "thing_type_name"),
)

thing_groups = Table(
    "thing_groups",
    metadata,
    _account(),
    Column("group_name", String, primary_key=True),
    Column("group_id", String, nullable=False),
    Column("group_arn", String, nullable=False),
    Column("parent_group_name", String, nullable=True),
    Column("description", Text, nullable=True),
    _json("attributes"),
    Column("version", Integer, nullable=False),
    _time("created_at"),
    # No ON DELETE: AWS refuses to delete a group that has child groups.
    ForeignKeyConstraint(
        ["account_id", "parent_group_name"], ["thing_groups.account_id", "thing_groups.group_name"]
    ),
    Index(None, "account_id", "parent_group_name"),
)

thing_group_members = Table(
    "thing_group_members",
    metadata,
    _account(),
    Column("group_name", String, primary_key=True),
    Column("thing_name", String, primary_key=True),
    ForeignKeyConstraint(
        ["account_id", "group_name"],
        ["thing_groups.account_id", "thing_groups.group_name"],
        ondelete="CASCADE",
    ),
    ForeignKeyConstraint(
        ["account_id", "thing_name"], ["things.account_id", "things.thing_name"], ondelete="CASCADE"
    ),
    Index(None, "account_id", "thing_name"),
)

ca_certificates = Table(
    "ca_certificates",
    metadata,
    _account(),
    Column("certificate_id", String, primary_key=True),  # lowercase hex SHA-256 of the DER
    Column("certificate_arn", String, nullable=False),
    Column("certificate_pem", Text, nullable=False),
    Column("status", String, nullable=False),  # ACTIVE | INACTIVE
    Column("auto_registration_status", String, nullable=False),  # ENABLE | DISABLE
    _json("registration_config", nullable=True),
    Column("certificate_mode", String, nullable=False),  # DEFAULT | SNI_ONLY
    Column("owned_by", String(12), nullable=False),
    Column("customer_version", Integer, nullable=False),
    Column("generation_id", String, nullable=False),
    _time("created_at"),
    _time("last_modified_at"),
    _time("validity_not_before"),
    _time("validity_not_after"),
)

certificates = Table(
    "certificates",
    metadata,
    _account(),
    Column("certificate_id", String, primary_key=True),  # lowercase hex SHA-256 of the DER
    Column("certificate_arn", String, nullable=False),
    Column("certificate_pem", Text, nullable=False),
    # ACTIVE | INACTIVE | REVOKED | PENDING_TRANSFER | REGISTER_INACTIVE | PENDING_ACTIVATION
    Column("status", String, nullable=False),
    # The registered CA that signed it; no foreign key: certificates Corral's own CA issued have none, and
    # whether a CA with certificates may go is an AWS rule the registry applies.
    Column("ca_certificate_id", String, nullable=True),
    Column("certificate_mode", String, nullable=False),  # DEFAULT | SNI_ONLY
    Column("owned_by", String(12), nullable=False),
    Column("previous_owned_by", String(12), nullable=True),
    _json("transfer_data", nullable=True),
    Column("customer_version", Integer, nullable=False),
    Column("generation_id", String, nullable=False),
    _time("created_at"),
    _time("last_modified_at"),
    _time("validity_not_before"),
    _time("validity_not_after"),
    Index(None, "account_id", "ca_certificate_id"),
    # The broker finds the certificate a device presents by its fingerprint, before it knows the account.
    Index(None, "certificate_id"),
)

registration_codes = Table(
    "registration_codes",
    metadata,
    _account(),
    Column("registration_code", String, nullable=False),
)

policies = Table(
    "policies",
    metadata,
    _account(),
    Column("policy_name", String, primary_key=True),
    Column("policy_arn", String, nullable=False),
    Column("default_version_id", Integer, nullable=False),
    _time("created_at"),
    _time("last_modified_at"),
    Column("generation_id", String, nullable=False),
    # The highest version id ever given out: AWS never gives an id again, even after its version is deleted.
    # The server default exists because SQLite adds a NOT NULL column only with one (and rebuilding this
    # table instead would cascade-delete its versions); CreatePolicy always writes the value itself.
    Column("last_version_id", Integer, nullable=False, server_default=text("1")),
)

policy_versions = Table(
    "policy_versions",
    metadata,
    _account(),
    Column("policy_name", String, primary_key=True),
    Column("version_id", Integer, primary_key=True),
    Column("document", Text, nullable=False),
    _time("created_at"),
    ForeignKeyConstraint(
        ["account_id", "policy_name"], ["policies.account_id", "policies.policy_name"], ondelete="CASCADE"
    ),
)

policy_targets = Table(
    "policy_targets",
    metadata,
    _account(),
    Column("policy_name", String, primary_key=True),
    Column("target", String, primary_key=True),  # a certificate ARN, thing group ARN, Cognito identity …
    ForeignKeyConstraint(
        ["account_id", "policy_name"], ["policies.account_id", "policies.policy_name"], ondelete="CASCADE"
    ),
    Index(None, "account_id", "target"),
)

thing_principals = Table(
    "thing_principals",
    metadata,
    _account(),
    Column("thing_name", String, primary_key=True),
    Column("principal", String, primary_key=True),  # a certificate ARN, Cognito identity …
    Column("principal_type", String, nullable=False),  # EXCLUSIVE_THING | NON_EXCLUSIVE_THING
    ForeignKeyConstraint(
        ["account_id", "thing_name"], ["things.account_id", "things.thing_name"], ondelete="CASCADE"
    ),
    Index(None, "account_id", "principal"),
)

tags = Table(
    "tags",
    metadata,
    _account(),
    Column("resource_arn", String, primary_key=True),
    Column("tag_key", String, primary_key=True),
    Column("tag_value", String, nullable=False),
)

event_configurations = Table(
    "event_configurations",
    metadata,
    _account(),
    Column("event_type", String, primary_key=True),  # THING, THING_GROUP, CERTIFICATE, POLICY, …
    Column("enabled", Boolean, nullable=False),
    # When the type was first configured and last updated: DescribeEventConfigurations' creationDate is the
    # account's earliest created_at, its lastModifiedDate the latest last_modified_at.
    _time("created_at"),
    _time("last_modified_at"),
)

shadows = Table(
    "shadows",
    metadata,
    _account(),
    Column("thing_name", String, primary_key=True),
    # "" is the classic (unnamed) shadow; AWS's shadow names never are empty.
    Column("shadow_name", String, primary_key=True),
    # The last version given out. Kept after a delete (document NULL, deleted_at set): AWS continues the
    # numbering when a shadow is recreated within 48 hours of its deletion, and starts again after that.
    Column("version", Integer, nullable=False),
    # {"state": {...}, "metadata": {...}} as the shadow algebra keeps it; NULL while deleted.
    _json("document", nullable=True),
    _time("updated_at"),
    _time("deleted_at", nullable=True),
)

topic_rules = Table(
    "topic_rules",
    metadata,
    _account(),
    Column("rule_name", String, primary_key=True),
    Column("rule_arn", String, nullable=False),
    # The TopicRulePayload as CreateTopicRule/ReplaceTopicRule received it (sql, description, actions,
    # errorAction, awsIotSqlVersion); ruleDisabled has its own column: Enable/DisableTopicRule change it.
    _json("payload"),
    Column("rule_disabled", Boolean, nullable=False),
    _time("created_at"),
)

# -- embedded DynamoDB (corral/services/dynamodb) ----------------------------------------------------------

dynamodb_tables = Table(
    "dynamodb_tables",
    metadata,
    _account(),
    Column("table_name", String, primary_key=True),
    Column("table_id", String, nullable=False),
    # The CreateTable input Corral keeps (KeySchema, AttributeDefinitions, BillingMode,
    # ProvisionedThroughput),
    # in the wire form.
    _json("definition"),
    _time("created_at"),
)

dynamodb_items = Table(
    "dynamodb_items",
    metadata,
    _account(),
    Column("table_name", String, primary_key=True),
    # The key attributes in an order-preserving ASCII encoding (corral/services/dynamodb/keys.py); the range
    # key is "" in a table without one. Compared byte-wise (COLLATE "C" on PostgreSQL).
    Column("hash_key", String, primary_key=True),
    Column("range_key", String, primary_key=True),
    # The item as DynamoDB's JSON wire form ({"attr": {"N": "1.50"}, ...}; B and BS base64).
    _json("item"),
    ForeignKeyConstraint(
        ["account_id", "table_name"],
        ["dynamodb_tables.account_id", "dynamodb_tables.table_name"],
        ondelete="CASCADE",
    ),
)

# -- embedded S3 (corral/services/s3): metadata here, bodies under DIR/s3/objects ---------------------------

s3_buckets = Table(
    "s3_buckets",
    metadata,
    _account(),
    Column("bucket_name", String, primary_key=True),
    Column("region", String, nullable=False),
    _time("created_at"),
)

s3_objects = Table(
    "s3_objects",
    metadata,
    _account(),
    Column("bucket_name", String, primary_key=True),
    # Listed in UTF-8 byte order (COLLATE "C" on PostgreSQL), as S3 lists keys.
    Column("object_key", String, primary_key=True),
    # The body's file name under DIR/s3/objects (a fresh name per write, so a replaced body is never torn).
    Column("body_file", String, nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("etag", String, nullable=False),  # quoted hex MD5, as S3 sends it
    Column("content_type", String, nullable=False),
    # x-amz-meta-* (without the prefix) and the other stored headers (Content-Encoding, Cache-Control, …).
    _json("user_metadata"),
    _json("headers"),
    _time("last_modified"),
    ForeignKeyConstraint(
        ["account_id", "bucket_name"], ["s3_buckets.account_id", "s3_buckets.bucket_name"], ondelete="CASCADE"
    ),
)

functions = Table(
    "functions",
    metadata,
    _account(),
    Column("function_name", String, primary_key=True),
    Column("function_arn", String, nullable=False),
    Column("runtime", String, nullable=False),
    Column("handler", String, nullable=False),
    Column("role", String, nullable=False),
    Column("description", Text, nullable=False),
    Column("timeout", Integer, nullable=False),  # seconds
    Column("memory_size", Integer, nullable=False),  # MB
    # Environment.Variables as given; NULL when the function has no Environment.
    _json("environment", nullable=True),
    # The deployment package: base64 SHA-256 and size of the zip as uploaded (CodeSha256, CodeSize), and the
    # folder under DATA_DIR/functions/{name}/ it was unpacked into, written before this row pointed at it.
    Column("code_sha256", String, nullable=False),
    Column("code_size", Integer, nullable=False),
    Column("code_revision", String, nullable=False),
    Column("revision_id", String, nullable=False),  # RevisionId: changes with code, configuration or policy
    Column("reserved_concurrency", Integer, nullable=True),  # PutFunctionConcurrency; NULL: the default
    _time("created_at"),
    _time("last_modified"),
)

function_permissions = Table(
    "function_permissions",
    metadata,
    _account(),
    Column("function_name", String, primary_key=True),
    Column("statement_id", String, primary_key=True),
    # The policy statement as GetPolicy shows it (Sid, Effect, Principal, Action, Resource, Condition).
    _json("statement"),
    _time("created_at"),
    ForeignKeyConstraint(
        ["account_id", "function_name"],
        ["functions.account_id", "functions.function_name"],
        ondelete="CASCADE",
    ),
)

# -- SQS and SNS (corral/services/sqs, corral/services/sns) ------------------------------------------------

sqs_queues = Table(
    "sqs_queues",
    metadata,
    _account(),
    Column("queue_name", String, primary_key=True),
    # The attributes CreateQueue/SetQueueAttributes set, as the API's strings; defaults are not stored.
    _json("attributes"),
    _json("tags"),
    # The last sequence given to a message of this queue (its order; a FIFO queue's SequenceNumber).
    Column("last_sequence", Integer, nullable=False),
    _time("created_at"),
    _time("last_modified_at"),
)

sqs_messages = Table(
    "sqs_messages",
    metadata,
    _account(),
    Column("queue_name", String, primary_key=True),
    Column("message_id", String, primary_key=True),
    Column("sequence", Integer, nullable=False),
    Column("body", Text, nullable=False),
    # Message attributes as sent (binary values in base64); NULL without any.
    _json("message_attributes", nullable=True),
    _json("system_attributes", nullable=True),
    Column("sender_id", String, nullable=False),
    _time("sent_at"),
    # Receivable from this time on: the delay, then each receive's visibility timeout.
    _time("visible_at"),
    Column("receive_count", Integer, nullable=False),
    _time("first_received_at", nullable=True),
    # The nonce of the latest receive's receipt handle; NULL before the first receive.
    Column("receipt", String, nullable=True),
    Column("group_id", String, nullable=True),
    Column("deduplication_id", String, nullable=True),
    ForeignKeyConstraint(
        ["account_id", "queue_name"], ["sqs_queues.account_id", "sqs_queues.queue_name"], ondelete="CASCADE"
    ),
    Index(None, "account_id", "queue_name", "sequence"),
)

# FIFO deduplication (SQS queues and SNS topics): a deduplication id seen within the last five minutes.
message_deduplication = Table(
    "message_deduplication",
    metadata,
    _account(),
    # "sqs:{queue name}" or "sns:{topic name}".
    Column("target", String, primary_key=True),
    Column("deduplication_id", String, primary_key=True),
    Column("message_id", String, nullable=False),
    Column("sequence_number", String, nullable=True),
    _time("expires_at"),
)

sns_topics = Table(
    "sns_topics",
    metadata,
    _account(),
    Column("topic_name", String, primary_key=True),
    _json("attributes"),
    _json("tags"),
    Column("last_sequence", Integer, nullable=False),
    _time("created_at"),
)

sns_subscriptions = Table(
    "sns_subscriptions",
    metadata,
    _account(),
    Column("subscription_id", String, primary_key=True),
    Column("topic_name", String, nullable=False),
    Column("protocol", String, nullable=False),
    Column("endpoint", String, nullable=False),
    _json("attributes"),
    Column("confirmed", Boolean, nullable=False),
    # The confirmation token sent to the endpoint (pending subscriptions), NULL once confirmed.
    Column("token", String, nullable=True),
    _time("created_at"),
    # What an operator reads back (GetSubscriptionAttributes): deliveries done and failed, the last failure.
    Column("deliveries", Integer, nullable=False),
    Column("delivery_failures", Integer, nullable=False),
    Column("last_failure", Text, nullable=True),
    _time("last_failure_at", nullable=True),
    ForeignKeyConstraint(
        ["account_id", "topic_name"], ["sns_topics.account_id", "sns_topics.topic_name"], ondelete="CASCADE"
    ),
    Index(None, "account_id", "topic_name"),
)

# SNS deliveries not yet done (corral/services/sns/delivery.py): written with the Publish, Subscribe or
# Unsubscribe that makes them, deleted when delivered or abandoned, resumed when the server starts.
sns_deliveries = Table(
    "sns_deliveries",
    metadata,
    _account(),
    Column("delivery_id", String, primary_key=True),
    Column("subscription_id", String, nullable=False),
    # The Delivery as data (what to send, to whom, attempts made so far).
    _json("delivery"),
    _time("created_at"),
)

# -- AWS IoT 1-Click ----------------------------------------------------------------------------------------
# A 1-Click device leaves the factory belonging to no account, so ``oneclick_devices`` is keyed by the device
# id alone and ``account_id`` is its owner (or the account that initiated a claim), NULL while unclaimed: the
# one table besides ``access_keys`` whose primary key does not start with the account.
oneclick_devices = Table(
    "oneclick_devices",
    metadata,
    Column("account_id", String(12), nullable=True),
    Column("device_id", String, primary_key=True),
    Column("product_type", String, nullable=False),  # enterprise-button | att-lte-m-button
    Column("device_type", String, nullable=False),  # button
    Column("certificate_id", String, nullable=False),
    Column("claim_code", String, nullable=True),
    Column("claim_state", String, nullable=False),  # UNCLAIMED | CLAIM_INITIATED | CLAIMED
    _time("claim_initiated_at", nullable=True),
    Column("enabled", Boolean, nullable=False),
    Column("rated_life", Integer, nullable=False),  # clicks the manufacturer rates the device for
    Column("clicks", Integer, nullable=False),
    _json("tags"),
    # Device-level callbacks set by InvokeDeviceMethod: onClickCallback, deviceHealthMonitorCallback.
    _json("callbacks"),
    _time("manufactured_at"),
    Index(None, "account_id"),
    Index(None, "claim_code"),
)

oneclick_device_events = Table(
    "oneclick_device_events",
    metadata,
    # The device's account when the event happened (NULL: unclaimed); ListDeviceEvents shows only its own.
    Column("account_id", String(12), nullable=True),
    Column("device_id", String, primary_key=True),
    Column("event_id", String, primary_key=True),
    _time("reported_at"),
    # ListDeviceEvents' StdEvent, the JSON string exactly as answered.
    Column("std_event", Text, nullable=False),
    ForeignKeyConstraint(["device_id"], ["oneclick_devices.device_id"], ondelete="CASCADE"),
    Index(None, "device_id", "reported_at"),
)

oneclick_projects = Table(
    "oneclick_projects",
    metadata,
    _account(),
    Column("project_name", String, primary_key=True),
    Column("description", Text, nullable=True),
    _json("default_attributes"),
    # {template name: {"deviceType": ..., "callbackOverrides": {...}}}
    _json("device_templates"),
    _json("tags"),
    _time("created_at"),
    _time("updated_at"),
)

oneclick_placements = Table(
    "oneclick_placements",
    metadata,
    _account(),
    Column("project_name", String, primary_key=True),
    Column("placement_name", String, primary_key=True),
    _json("attributes"),
    _time("created_at"),
    _time("updated_at"),
    ForeignKeyConstraint(
        ["account_id", "project_name"],
        ["oneclick_projects.account_id", "oneclick_projects.project_name"],
        name="fk_oneclick_placements_project",  # the convention's name exceeds PostgreSQL's 63 characters
        ondelete="CASCADE",
    ),
)

# A placement's device slots: one device per device template, and a device in one placement at most.
oneclick_placement_devices = Table(
    "oneclick_placement_devices",
    metadata,
    _account(),
    Column("project_name", String, primary_key=True),
    Column("placement_name", String, primary_key=True),
    Column("template_name", String, primary_key=True),
    Column("device_id", String, nullable=False),
    ForeignKeyConstraint(
        ["account_id", "project_name", "placement_name"],
        [
            "oneclick_placements.account_id",
            "oneclick_placements.project_name",
            "oneclick_placements.placement_name",
        ],
        name="fk_oneclick_placement_devices_placement",
        ondelete="CASCADE",
    ),
    Index(None, "device_id", unique=True),
)

# -- Kinesis, Firehose, CloudWatch and CloudWatch Logs (corral/services/kinesis, firehose, cloudwatch, logs)

# A Kinesis stream; its records are append-only files under DIR/kinesis/{stream_id}/ (one per shard).
kinesis_streams = Table(
    "kinesis_streams",
    metadata,
    _account(),
    Column("stream_name", String, primary_key=True),
    # Names the stream's folder, so a stream deleted and created again never reads the old one's records.
    Column("stream_id", String, nullable=False),
    Column("shard_count", Integer, nullable=False),
    Column("retention_hours", Integer, nullable=False),
    Column("stream_mode", String, nullable=False),  # PROVISIONED | ON_DEMAND
    _time("created_at"),
)

# A Firehose delivery stream with its S3 destination; records waiting for delivery are spooled under
# DIR/firehose/{stream_id}.
firehose_streams = Table(
    "firehose_streams",
    metadata,
    _account(),
    Column("stream_name", String, primary_key=True),
    Column("stream_id", String, nullable=False),
    Column("stream_type", String, nullable=False),  # DirectPut
    Column("version_id", Integer, nullable=False),
    # The ExtendedS3DestinationConfiguration as given (BucketARN, Prefix, BufferingHints ...).
    _json("destination"),
    _time("created_at"),
)

# One CloudWatch metric (namespace, name, dimensions): what ListMetrics lists and /metrics exposes.
cloudwatch_metrics = Table(
    "cloudwatch_metrics",
    metadata,
    _account(),
    Column("namespace", String, primary_key=True),
    Column("metric_name", String, primary_key=True),
    # The dimensions sorted by name, as canonical JSON ([["Name", "Value"], ...]): the metric's identity.
    Column("dimensions_key", String, primary_key=True),
    Column("unit", String, nullable=True),
    # The value of the datapoint with the latest timestamp, and running totals of every datapoint.
    Column("last_value", Double, nullable=False),
    _time("last_timestamp"),
    Column("sample_count", Double, nullable=False),
    Column("sum", Double, nullable=False),
    _time("updated_at"),
)

# The datapoints GetMetricStatistics aggregates (one row per value or statistic set), kept for a while.
cloudwatch_datapoints = Table(
    "cloudwatch_datapoints",
    metadata,
    _account(),
    Column("namespace", String, primary_key=True),
    Column("metric_name", String, primary_key=True),
    Column("dimensions_key", String, primary_key=True),
    _time("timestamp"),
    Column("point_id", String, primary_key=True),
    Column("unit", String, nullable=True),
    Column("sample_count", Double, nullable=False),
    Column("sum", Double, nullable=False),
    Column("minimum", Double, nullable=False),
    Column("maximum", Double, nullable=False),
    ForeignKeyConstraint(
        ["account_id", "namespace", "metric_name", "dimensions_key"],
        [
            "cloudwatch_metrics.account_id",
            "cloudwatch_metrics.namespace",
            "cloudwatch_metrics.metric_name",
            "cloudwatch_metrics.dimensions_key",
        ],
        name="fk_cloudwatch_datapoints_metric",
        ondelete="CASCADE",
    ),
    # The convention's name exceeds PostgreSQL's 63 characters.
    Index(
        "ix_cloudwatch_datapoints_metric_timestamp",
        "account_id",
        "namespace",
        "metric_name",
        "dimensions_key",
        "timestamp",
    ),
)

cloudwatch_alarms = Table(
    "cloudwatch_alarms",
    metadata,
    _account(),
    Column("alarm_name", String, primary_key=True),
    # PutMetricAlarm's parameters as given (without AlarmName).
    _json("definition"),
    Column("state_value", String, nullable=False),  # OK | ALARM | INSUFFICIENT_DATA
    Column("state_reason", Text, nullable=False),
    Column("state_reason_data", Text, nullable=True),
    _time("state_updated_at"),
    _time("configuration_updated_at"),
)

# Alarm history outlives its alarm (as on AWS, DescribeAlarmHistory shows deleted alarms' items).
cloudwatch_alarm_history = Table(
    "cloudwatch_alarm_history",
    metadata,
    _account(),
    Column("alarm_name", String, primary_key=True),
    Column("item_id", String, primary_key=True),
    _time("timestamp"),
    Column("item_type", String, nullable=False),  # ConfigurationUpdate | StateUpdate | Action
    Column("summary", Text, nullable=False),
    Column("data", Text, nullable=False),  # HistoryData: a JSON document as a string
    Index(None, "account_id", "timestamp"),
)

logs_groups = Table(
    "logs_groups",
    metadata,
    _account(),
    Column("group_name", String, primary_key=True),
    Column("retention_days", Integer, nullable=True),
    _json("tags"),
    _time("created_at"),
)

logs_streams = Table(
    "logs_streams",
    metadata,
    _account(),
    Column("group_name", String, primary_key=True),
    Column("stream_name", String, primary_key=True),
    # The last sequence given to an event of this stream (events' order within it).
    Column("last_sequence", Integer, nullable=False),
    _time("created_at"),
    _time("first_event_at", nullable=True),
    _time("last_event_at", nullable=True),
    _time("last_ingestion_at", nullable=True),
    Column("stored_bytes", BigInteger, nullable=False),
    ForeignKeyConstraint(
        ["account_id", "group_name"], ["logs_groups.account_id", "logs_groups.group_name"], ondelete="CASCADE"
    ),
)

logs_events = Table(
    "logs_events",
    metadata,
    _account(),
    Column("group_name", String, primary_key=True),
    Column("stream_name", String, primary_key=True),
    Column("sequence", Integer, primary_key=True),
    _time("timestamp"),  # the event's own time (PutLogEvents' milliseconds / 1000)
    _time("ingested_at"),
    Column("message", Text, nullable=False),
    ForeignKeyConstraint(
        ["account_id", "group_name", "stream_name"],
        ["logs_streams.account_id", "logs_streams.group_name", "logs_streams.stream_name"],
        ondelete="CASCADE",
    ),
    Index(None, "account_id", "group_name", "timestamp"),
)
