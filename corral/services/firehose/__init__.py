"""Embedded Amazon Data Firehose: DirectPut delivery streams whose records are spooled durably and delivered
as batched objects into the embedded S3 (service.py, layout.py), the API (api.py)."""

from corral.services.firehose.service import FirehoseService

__all__ = ["FirehoseService"]
