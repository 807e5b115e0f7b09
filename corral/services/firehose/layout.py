"""Where a batch lands in S3, as Firehose names it by default (pure).

``{Prefix}{YYYY/MM/DD/HH/}{DeliveryStreamName}-{DeliveryStreamVersion}-{YYYY-MM-DD-HH-MM-SS}-{random}``, in
UTC, from the arrival time of the batch's first record; ``.gz`` (or the configured ``FileExtension``) when
the batch is GZIP-compressed. A prefix that uses Firehose's ``!{...}`` expressions is refused at creation:
Corral does not evaluate them.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime


def object_key(
    prefix: str,
    stream_name: str,
    version: int,
    arrival: float,
    compression: str = "UNCOMPRESSED",
    file_extension: str | None = None,
    random: str | None = None,
) -> str:
    moment = datetime.fromtimestamp(arrival, UTC)
    name = f"{stream_name}-{version}-{moment:%Y-%m-%d-%H-%M-%S}-{random or uuid.uuid4()}"
    extension = file_extension if file_extension is not None else (".gz" if compression == "GZIP" else "")
    return f"{prefix}{moment:%Y/%m/%d/%H}/{name}{extension}"
