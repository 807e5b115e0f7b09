"""The Firehose API (botocore's ``firehose`` model, JSON 1.1) on top of FirehoseService."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from corral.services.firehose.errors import InvalidArgumentException
from corral.services.firehose.service import DEFAULT_INTERVAL, DEFAULT_SIZE_MB, FirehoseService

Handler = Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]
MAX_BATCH = 500


class FirehoseAPI:
    def __init__(self, service: FirehoseService) -> None:
        self.service = service
        self._handlers: dict[str, Handler] = {
            "CreateDeliveryStream": self.create_delivery_stream,
            "DescribeDeliveryStream": self.describe_delivery_stream,
            "ListDeliveryStreams": self.list_delivery_streams,
            "DeleteDeliveryStream": self.delete_delivery_stream,
            "PutRecord": self.put_record,
            "PutRecordBatch": self.put_record_batch,
        }

    def handler(self, operation_name: str) -> Handler | None:
        return self._handlers.get(operation_name)

    async def create_delivery_stream(self, params: dict[str, Any]) -> dict[str, Any]:
        destinations = [k for k in params if k.endswith("DestinationConfiguration")]
        if [
            d
            for d in destinations
            if d not in ("S3DestinationConfiguration", "ExtendedS3DestinationConfiguration")
        ]:
            raise InvalidArgumentException(f"Corral delivers to S3 only, not {', '.join(destinations)}.")
        if len(destinations) > 1:
            raise InvalidArgumentException("Exactly one destination configuration is allowed.")
        destination = params.get("ExtendedS3DestinationConfiguration") or params.get(
            "S3DestinationConfiguration"
        )
        stream_arn = await self.service.create_delivery_stream(
            params["DeliveryStreamName"], params.get("DeliveryStreamType"), destination
        )
        return {"DeliveryStreamARN": stream_arn}

    async def describe_delivery_stream(self, params: dict[str, Any]) -> dict[str, Any]:
        stream = await self.service.stream(params["DeliveryStreamName"])
        given = stream.destination
        s3 = {
            "RoleARN": given.get("RoleARN", ""),
            "BucketARN": given["BucketARN"],
            "Prefix": given.get("Prefix", ""),
            "BufferingHints": {
                "SizeInMBs": (given.get("BufferingHints") or {}).get("SizeInMBs", DEFAULT_SIZE_MB),
                "IntervalInSeconds": (given.get("BufferingHints") or {}).get(
                    "IntervalInSeconds", DEFAULT_INTERVAL
                ),
            },
            "CompressionFormat": given.get("CompressionFormat") or "UNCOMPRESSED",
            "EncryptionConfiguration": {"NoEncryptionConfig": "NoEncryption"},
        }
        if given.get("ErrorOutputPrefix"):
            s3["ErrorOutputPrefix"] = given["ErrorOutputPrefix"]
        extended = {**s3, "S3BackupMode": "Disabled"}
        if given.get("FileExtension") is not None:
            extended["FileExtension"] = given["FileExtension"]
        return {
            "DeliveryStreamDescription": {
                "DeliveryStreamName": stream.name,
                "DeliveryStreamARN": self.service.stream_arn(stream.name),
                "DeliveryStreamStatus": "ACTIVE",
                "DeliveryStreamEncryptionConfiguration": {"Status": "DISABLED"},
                "DeliveryStreamType": stream.stream_type,
                "VersionId": str(stream.version),
                "CreateTimestamp": stream.created_at,
                "Destinations": [
                    {
                        "DestinationId": "destinationId-000000000001",
                        "S3DestinationDescription": s3,
                        "ExtendedS3DestinationDescription": extended,
                    }
                ],
                "HasMoreDestinations": False,
            }
        }

    async def list_delivery_streams(self, params: dict[str, Any]) -> dict[str, Any]:
        names, more = await self.service.list_delivery_streams(
            params.get("ExclusiveStartDeliveryStreamName"), params.get("Limit") or 10,
            params.get("DeliveryStreamType"),
        )  # fmt: skip
        return {"DeliveryStreamNames": names, "HasMoreDeliveryStreams": more}

    async def delete_delivery_stream(self, params: dict[str, Any]) -> dict[str, Any]:
        await self.service.delete_delivery_stream(params["DeliveryStreamName"])
        return {}

    async def put_record(self, params: dict[str, Any]) -> dict[str, Any]:
        record_id = await self.service.put_record(params["DeliveryStreamName"], params["Record"]["Data"])
        return {"RecordId": record_id, "Encrypted": False}

    async def put_record_batch(self, params: dict[str, Any]) -> dict[str, Any]:
        records = params["Records"]
        if len(records) > MAX_BATCH:
            raise InvalidArgumentException(
                f"1 validation error detected: Value '{len(records)}' at 'records' failed to satisfy "
                f"constraint: Member must have length less than or equal to {MAX_BATCH}"
            )
        ids = await self.service.put_record_batch(params["DeliveryStreamName"], [r["Data"] for r in records])
        return {"FailedPutCount": 0, "Encrypted": False, "RequestResponses": [{"RecordId": i} for i in ids]}
