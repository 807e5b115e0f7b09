"""The Kinesis API (botocore's ``kinesis`` model, JSON 1.1) on top of KinesisService."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Awaitable, Callable
from typing import Any

from corral.services.kinesis import shards
from corral.services.kinesis.errors import InvalidArgumentException, ValidationException
from corral.services.kinesis.service import KinesisService, Stream

Handler = Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]
MAX_PUT_RECORDS = 500


class KinesisAPI:
    def __init__(self, service: KinesisService) -> None:
        self.service = service
        self._handlers: dict[str, Handler] = {
            "CreateStream": self.create_stream,
            "DescribeStream": self.describe_stream,
            "DescribeStreamSummary": self.describe_stream_summary,
            "ListStreams": self.list_streams,
            "DeleteStream": self.delete_stream,
            "ListShards": self.list_shards,
            "PutRecord": self.put_record,
            "PutRecords": self.put_records,
            "GetShardIterator": self.get_shard_iterator,
            "GetRecords": self.get_records,
        }

    def handler(self, operation_name: str) -> Handler | None:
        return self._handlers.get(operation_name)

    def _name(self, params: dict[str, Any]) -> str:
        return self.service.stream_name(params.get("StreamName"), params.get("StreamARN"))

    async def create_stream(self, params: dict[str, Any]) -> dict[str, Any]:
        mode = (params.get("StreamModeDetails") or {}).get("StreamMode")
        await self.service.create_stream(params["StreamName"], params.get("ShardCount"), mode)
        return {}

    def _summary(self, stream: Stream) -> dict[str, Any]:
        return {
            "StreamName": stream.name,
            "StreamARN": self.service.stream_arn(stream.name),
            "StreamStatus": "ACTIVE",
            "StreamModeDetails": {"StreamMode": stream.mode},
            "RetentionPeriodHours": stream.retention_hours,
            "StreamCreationTimestamp": stream.created_at,
            "EnhancedMonitoring": [{"ShardLevelMetrics": []}],
            "EncryptionType": "NONE",
        }

    @staticmethod
    def _shard(index: int, count: int) -> dict[str, Any]:
        start, end = shards.hash_key_range(index, count)
        return {
            "ShardId": shards.shard_id(index),
            "HashKeyRange": {"StartingHashKey": str(start), "EndingHashKey": str(end)},
            "SequenceNumberRange": {"StartingSequenceNumber": shards.sequence_number(index, 0)},
        }

    def _shards(self, stream: Stream, after: str | None, limit: int) -> tuple[list[dict[str, Any]], bool]:
        first = 0
        if after:
            index = shards.shard_index(after, 10**12)
            first = 0 if index is None else index + 1
        indexes = range(first, stream.shard_count)
        return [self._shard(i, stream.shard_count) for i in indexes[:limit]], len(indexes) > limit

    async def describe_stream(self, params: dict[str, Any]) -> dict[str, Any]:
        stream = await self.service.stream(self._name(params))
        listed, more = self._shards(stream, params.get("ExclusiveStartShardId"), params.get("Limit") or 100)
        summary = self._summary(stream)
        summary.pop("StreamModeDetails")
        return {"StreamDescription": {**summary, "Shards": listed, "HasMoreShards": more}}

    async def describe_stream_summary(self, params: dict[str, Any]) -> dict[str, Any]:
        stream = await self.service.stream(self._name(params))
        return {
            "StreamDescriptionSummary": {
                **self._summary(stream),
                "OpenShardCount": stream.shard_count,
                "ConsumerCount": 0,
            }
        }

    async def list_streams(self, params: dict[str, Any]) -> dict[str, Any]:
        after = params.get("ExclusiveStartStreamName")
        token = params.get("NextToken")
        if token:
            try:
                after = base64.urlsafe_b64decode(token.encode()).decode()
            except (binascii.Error, UnicodeDecodeError):
                raise InvalidArgumentException(f"Invalid NextToken: {token}") from None
        streams, more = await self.service.list_streams(after, params.get("Limit") or 100)
        result: dict[str, Any] = {
            "StreamNames": [s.name for s in streams],
            "HasMoreStreams": more,
            "StreamSummaries": [
                {
                    "StreamName": s.name,
                    "StreamARN": self.service.stream_arn(s.name),
                    "StreamStatus": "ACTIVE",
                    "StreamModeDetails": {"StreamMode": s.mode},
                    "StreamCreationTimestamp": s.created_at,
                }
                for s in streams
            ],
        }
        if more and streams:
            result["NextToken"] = base64.urlsafe_b64encode(streams[-1].name.encode()).decode()
        return result

    async def delete_stream(self, params: dict[str, Any]) -> dict[str, Any]:
        await self.service.delete_stream(self._name(params))
        return {}

    async def list_shards(self, params: dict[str, Any]) -> dict[str, Any]:
        token = params.get("NextToken")
        if token:
            if params.get("StreamName") or params.get("StreamARN"):
                raise InvalidArgumentException("NextToken and StreamName cannot be provided together.")
            try:
                name, after = base64.urlsafe_b64decode(token.encode()).decode().split("\n", 1)
            except (binascii.Error, UnicodeDecodeError, ValueError):
                raise InvalidArgumentException(f"Invalid NextToken: {token}") from None
        else:
            name, after = self._name(params), params.get("ExclusiveStartShardId") or ""
        stream = await self.service.stream(name)
        listed, more = self._shards(stream, after or None, params.get("MaxResults") or 1000)
        result: dict[str, Any] = {"Shards": listed}
        if more:
            token = f"{name}\n{listed[-1]['ShardId']}"
            result["NextToken"] = base64.urlsafe_b64encode(token.encode()).decode()
        return result

    async def put_record(self, params: dict[str, Any]) -> dict[str, Any]:
        key = params.get("PartitionKey")
        if key is None:
            raise ValidationException(
                "1 validation error detected: Value null at 'partitionKey' failed to satisfy constraint: "
                "Member must not be null"
            )
        result = await self.service.put_record(
            self._name(params), params["Data"], key, params.get("ExplicitHashKey")
        )
        return {
            "ShardId": result.shard_id,
            "SequenceNumber": result.sequence_number,
            "EncryptionType": "NONE",
        }

    async def put_records(self, params: dict[str, Any]) -> dict[str, Any]:
        records = params["Records"]
        if len(records) > MAX_PUT_RECORDS:
            raise InvalidArgumentException(
                f"1 validation error detected: Value '{len(records)}' at 'records' failed to satisfy "
                f"constraint: Member must have length less than or equal to {MAX_PUT_RECORDS}"
            )
        results = await self.service.put_records(self._name(params), records)
        return {
            "FailedRecordCount": 0,
            "Records": [{"SequenceNumber": r.sequence_number, "ShardId": r.shard_id} for r in results],
            "EncryptionType": "NONE",
        }

    async def get_shard_iterator(self, params: dict[str, Any]) -> dict[str, Any]:
        iterator = await self.service.get_shard_iterator(
            self._name(params), params["ShardId"], params["ShardIteratorType"],
            params.get("StartingSequenceNumber"), params.get("Timestamp"),
        )  # fmt: skip
        return {"ShardIterator": iterator}

    async def get_records(self, params: dict[str, Any]) -> dict[str, Any]:
        result = await self.service.get_records(params["ShardIterator"], params.get("Limit"))
        return {
            "Records": [
                {
                    "SequenceNumber": shards.sequence_number(result.shard, r.ordinal),
                    "ApproximateArrivalTimestamp": r.arrival_ms / 1000,
                    "Data": r.data,
                    "PartitionKey": r.partition_key,
                }
                for r in result.records
            ],
            "NextShardIterator": result.next_iterator,
            "MillisBehindLatest": result.millis_behind_latest,
        }
