"""Small helpers shared by the embedded services (SQS, SNS, and any other service that wants them).

Times: the store keeps float epoch seconds; SQS answers epoch milliseconds as strings, SNS ISO 8601 with
milliseconds and ``Z``.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], float]
"""Float epoch seconds, ``time.time`` unless a test injects its own."""


def system_clock() -> float:
    return time.time()


def epoch_millis(seconds: float) -> str:
    """SQS's timestamps: whole milliseconds since the epoch, as a string."""
    return str(int(seconds * 1000))


def iso_millis(seconds: float) -> str:
    """SNS's timestamps: ``2026-11-22T10:15:30.123Z``."""
    moment = datetime.fromtimestamp(seconds, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def new_message_id() -> str:
    return str(uuid.uuid4())


def arn(service: str, region: str, account_id: str, resource: str) -> str:
    return f"arn:aws:{service}:{region}:{account_id}:{resource}"


def parse_arn(value: str, service: str) -> tuple[str, str, str] | None:
    """(region, account, resource) of ``arn:aws:{service}:{region}:{account}:{resource}``, else None."""
    parts = value.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn" or parts[2] != service or not parts[5]:
        return None
    return parts[3], parts[4], parts[5]
