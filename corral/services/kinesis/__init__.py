"""Embedded Amazon Kinesis Data Streams: streams in the store, records in fsynced append-only shard logs
under ``DIR/kinesis`` (service.py, shardlog.py), the API (api.py)."""

from corral.services.kinesis.service import KinesisService, PutResult

__all__ = ["KinesisService", "PutResult"]
