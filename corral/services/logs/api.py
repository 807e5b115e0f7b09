"""The CloudWatch Logs API (botocore's ``logs`` model, JSON 1.1) on top of LogsService."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from corral.services.logs.errors import InvalidParameterException
from corral.services.logs.service import LogsService

Handler = Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]


def _group(params: dict[str, Any]) -> str:
    name = params.get("logGroupName") or params.get("logGroupIdentifier")
    if not name:
        raise InvalidParameterException("Either logGroupName or logGroupIdentifier must be specified.")
    return str(name).split(":log-group:")[-1].removesuffix(":*")


class LogsAPI:
    def __init__(self, service: LogsService) -> None:
        self.service = service
        self._handlers: dict[str, Handler] = {
            "CreateLogGroup": self.create_log_group,
            "CreateLogStream": self.create_log_stream,
            "DescribeLogGroups": self.describe_log_groups,
            "DescribeLogStreams": self.describe_log_streams,
            "PutLogEvents": self.put_log_events,
            "GetLogEvents": self.get_log_events,
            "FilterLogEvents": self.filter_log_events,
            "DeleteLogGroup": self.delete_log_group,
        }

    def handler(self, operation_name: str) -> Handler | None:
        return self._handlers.get(operation_name)

    async def create_log_group(self, params: dict[str, Any]) -> dict[str, Any]:
        await self.service.create_log_group(params["logGroupName"], params.get("tags"))
        return {}

    async def create_log_stream(self, params: dict[str, Any]) -> dict[str, Any]:
        await self.service.create_log_stream(params["logGroupName"], params["logStreamName"])
        return {}

    async def describe_log_groups(self, params: dict[str, Any]) -> dict[str, Any]:
        groups = await self.service.describe_log_groups(params.get("logGroupNamePrefix"))
        return {"logGroups": groups[: params.get("limit") or 50]}

    async def describe_log_streams(self, params: dict[str, Any]) -> dict[str, Any]:
        streams = await self.service.describe_log_streams(
            _group(params), params.get("logStreamNamePrefix"), params.get("orderBy") == "LastEventTime",
            bool(params.get("descending")),
        )  # fmt: skip
        return {"logStreams": streams[: params.get("limit") or 50]}

    async def put_log_events(self, params: dict[str, Any]) -> dict[str, Any]:
        rejected = await self.service.put_log_events(
            params["logGroupName"], params["logStreamName"], params["logEvents"]
        )
        return {"rejectedLogEventsInfo": rejected} if rejected else {}

    async def get_log_events(self, params: dict[str, Any]) -> dict[str, Any]:
        events, forward, backward = await self.service.get_log_events(
            _group(params), params["logStreamName"], params.get("startTime"), params.get("endTime"),
            params.get("nextToken"), params.get("limit"), bool(params.get("startFromHead")),
        )  # fmt: skip
        return {
            "events": [
                {"timestamp": e.timestamp_ms, "message": e.message, "ingestionTime": e.ingestion_ms}
                for e in events
            ],
            "nextForwardToken": forward,
            "nextBackwardToken": backward,
        }

    async def filter_log_events(self, params: dict[str, Any]) -> dict[str, Any]:
        events, token = await self.service.filter_log_events(
            _group(params), params.get("logStreamNames"), params.get("logStreamNamePrefix"),
            params.get("startTime"), params.get("endTime"), params.get("filterPattern"),
            params.get("nextToken"), params.get("limit"),
        )  # fmt: skip
        result: dict[str, Any] = {
            "events": [
                {
                    "logStreamName": e.stream_name, "timestamp": e.timestamp_ms, "message": e.message,
                    "ingestionTime": e.ingestion_ms, "eventId": e.event_id,
                }
                for e in events
            ],
            "searchedLogStreams": [],
        }  # fmt: skip
        if token:
            result["nextToken"] = token
        return result

    async def delete_log_group(self, params: dict[str, Any]) -> dict[str, Any]:
        await self.service.delete_log_group(params["logGroupName"])
        return {}
