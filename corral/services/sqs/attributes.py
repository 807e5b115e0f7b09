"""Pure rules for queue names and queue attributes: defaults, ranges and the redrive policy, with AWS's
messages. The store keeps the settable attributes as the strings the API exchanges."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

import orjson

from corral.services.sqs.errors import InvalidAttributeName, InvalidAttributeValue, InvalidParameterValue

_QUEUE_NAME = re.compile(r"^[A-Za-z0-9_-]{1,80}$")

DEFAULTS: dict[str, str] = {
    "VisibilityTimeout": "30",
    "MaximumMessageSize": "262144",
    "MessageRetentionPeriod": "345600",
    "DelaySeconds": "0",
    "ReceiveMessageWaitTimeSeconds": "0",
}

RANGES: dict[str, tuple[int, int]] = {
    "VisibilityTimeout": (0, 43200),
    "MaximumMessageSize": (1024, 1048576),
    "MessageRetentionPeriod": (60, 1209600),
    "DelaySeconds": (0, 900),
    "ReceiveMessageWaitTimeSeconds": (0, 20),
}

FIFO_ONLY = ("FifoQueue", "ContentBasedDeduplication", "DeduplicationScope", "FifoThroughputLimit")
OTHER_SETTABLE = ("RedrivePolicy", "RedriveAllowPolicy", "Policy", "KmsMasterKeyId",
                  "KmsDataKeyReusePeriodSeconds", "SqsManagedSseEnabled")  # fmt: skip
COMPUTED = (
    "ApproximateNumberOfMessages",
    "ApproximateNumberOfMessagesNotVisible",
    "ApproximateNumberOfMessagesDelayed",
    "CreatedTimestamp",
    "LastModifiedTimestamp",
    "QueueArn",
)
ALL_NAMES = (*DEFAULTS, *FIFO_ONLY, *OTHER_SETTABLE, *COMPUTED)


@dataclass(frozen=True, slots=True)
class RedrivePolicy:
    dead_letter_target_arn: str
    max_receive_count: int


def is_fifo_name(name: str) -> bool:
    return name.endswith(".fifo")


def check_queue_name(name: str, fifo: bool) -> None:
    base = name[: -len(".fifo")] if fifo and is_fifo_name(name) else name
    if not _QUEUE_NAME.match(base) or len(name) > 80:
        raise InvalidParameterValue(
            "Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length"
        )
    if fifo != is_fifo_name(name):
        raise InvalidParameterValue(
            "The name of a FIFO queue can only include alphanumeric characters, hyphens, or underscores, "
            "must end with .fifo suffix and be 1 to 80 in length."
        )


def _boolean(name: str, value: str) -> str:
    if value.lower() not in ("true", "false"):
        raise InvalidAttributeValue(f"Invalid value for the parameter {name}.")
    return value.lower()


def validate(attributes: Mapping[str, str], *, fifo: bool, creating: bool) -> dict[str, str]:
    """The attributes normalized, or AWS's error for the first one that is wrong."""
    result: dict[str, str] = {}
    for name, value in attributes.items():
        if name in RANGES:
            low, high = RANGES[name]
            try:
                number = int(value)
            except ValueError:
                number = low - 1
            if not low <= number <= high:
                raise InvalidAttributeValue(f"Invalid value for the parameter {name}.")
            result[name] = str(number)
        elif name in ("FifoQueue", "ContentBasedDeduplication"):
            if not fifo and name == "ContentBasedDeduplication":
                raise InvalidAttributeName(f"Unknown Attribute {name}.")
            if name == "FifoQueue":
                if not creating:
                    raise InvalidAttributeName(f"Unknown Attribute {name}.")
                if _boolean(name, value) != "true":
                    raise InvalidAttributeValue(f"Invalid value for the parameter {name}.")
            result[name] = _boolean(name, value)
        elif name in ("DeduplicationScope", "FifoThroughputLimit"):
            if not fifo:
                raise InvalidAttributeName(f"Unknown Attribute {name}.")
            result[name] = value
        elif name == "RedrivePolicy":
            if value:
                redrive_policy(value)
            result[name] = value
        elif name == "SqsManagedSseEnabled":
            result[name] = _boolean(name, value)
        elif name in OTHER_SETTABLE:
            result[name] = value
        else:
            raise InvalidAttributeName(f"Unknown Attribute {name}.")
    return result


def redrive_policy(value: str) -> RedrivePolicy:
    try:
        document = orjson.loads(value)
        target = document["deadLetterTargetArn"]
        count = int(document["maxReceiveCount"])
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
        raise InvalidAttributeValue(
            "Value "
            + value
            + " for parameter RedrivePolicy is invalid. Reason: Redrive policy is not a valid "
            "JSON map with deadLetterTargetArn and maxReceiveCount."
        ) from None
    if not isinstance(target, str) or not 1 <= count <= 1000:
        raise InvalidAttributeValue(
            f"Value {value} for parameter RedrivePolicy is invalid. "
            f"Reason: Invalid value for maxReceiveCount: "
            f"{count}, valid values are from 1 to 1000 both inclusive."
        )
    return RedrivePolicy(target, count)


def effective(stored: Mapping[str, str]) -> dict[str, str]:
    return {**DEFAULTS, **stored}
