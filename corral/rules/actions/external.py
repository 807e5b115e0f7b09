"""External mode: rule actions writing to an AWS-compatible endpoint through boto3 instead of the embedded
service (a MinIO for S3, an ElasticMQ for SQS, a DynamoDB-compatible database, AWS itself).

``corral.toml`` names the endpoint per service (``[services.s3]``: every action writing to S3) or per action
type (``[actions.dynamoDBv2]``: that action only); :func:`connect` puts the adapters below into the server's
:class:`ActionServices` in place of the embedded services. Each adapter meets the interface of
``ports.py`` with the same calls the embedded service answers, made by a boto3 client (created on first use,
called in a worker thread so the event loop never waits on the network). botocore's retries are off: the
rules runner retries failed actions itself, then reports to the error action.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from corral.config import ConfigError, ExternalEndpoint
from corral.rules.actions.base import ActionServices
from corral.rules.actions.ports import Item

# The service each action type writes to (the keys of [actions.<action>]).
ACTION_SERVICES = {
    "sqs": "sqs",
    "sns": "sns",
    "dynamoDB": "dynamodb",
    "dynamoDBv2": "dynamodb",
    "s3": "s3",
    "kinesis": "kinesis",
    "firehose": "firehose",
    "cloudwatchMetric": "cloudwatch",
    "cloudwatchAlarm": "cloudwatch",
    "cloudwatchLogs": "logs",
}


class Boto3Client:
    """One boto3 client for one endpoint, made on first use (boto3 is imported only in external mode)."""

    def __init__(self, service: str, endpoint: ExternalEndpoint) -> None:
        self.service = service
        self.endpoint = endpoint
        self._client: Any = None
        self._lock = threading.Lock()

    def client(self) -> Any:
        with self._lock:
            if self._client is None:
                import boto3
                from botocore.config import Config

                endpoint = self.endpoint
                extra: dict[str, Any] = {"retries": {"max_attempts": 1}}
                if self.service == "s3":
                    extra["s3"] = {"addressing_style": "path"}
                self._client = boto3.session.Session().client(
                    self.service,
                    endpoint_url=endpoint.endpoint_url,
                    region_name=endpoint.region or "us-east-1",
                    aws_access_key_id=endpoint.access_key_id,
                    aws_secret_access_key=endpoint.secret_access_key,
                    aws_session_token=endpoint.session_token,
                    verify=endpoint.verify,
                    config=Config(**extra),
                )
            return self._client

    async def call(self, operation: str, **params: Any) -> Any:
        def run() -> Any:
            return getattr(self.client(), operation)(**params)

        return await asyncio.to_thread(run)


@dataclass(slots=True)
class ExternalSqs:
    boto: Boto3Client

    async def send_message(self, queue_url_or_name: str, body: str) -> Any:
        url = queue_url_or_name
        if "://" not in url:  # a bare name, as the embedded service accepts
            url = (await self.boto.call("get_queue_url", QueueName=url))["QueueUrl"]
        return await self.boto.call("send_message", QueueUrl=url, MessageBody=body)


@dataclass(slots=True)
class ExternalSns:
    boto: Boto3Client

    async def publish(
        self,
        topic_arn: str,
        message: str,
        subject: str | None = None,
        message_structure: str | None = None,
    ) -> Any:
        params: dict[str, Any] = {"TargetArn": topic_arn, "Message": message}
        if subject is not None:
            params["Subject"] = subject
        if message_structure is not None:
            params["MessageStructure"] = message_structure
        return await self.boto.call("publish", **params)


@dataclass(slots=True)
class ExternalDynamoDb:
    boto: Boto3Client

    async def put_item_simple(self, table: str, item: Item) -> None:
        await self.boto.call("put_item", TableName=table, Item=item)

    async def update_item_simple(
        self,
        table: str,
        key: Item,
        update_expression: str,
        *,
        names: dict[str, str] | None = None,
        values: Item | None = None,
    ) -> Any:
        params: dict[str, Any] = {"TableName": table, "Key": key, "UpdateExpression": update_expression}
        if names:
            params["ExpressionAttributeNames"] = names
        if values:
            params["ExpressionAttributeValues"] = values
        return await self.boto.call("update_item", **params)

    async def delete_item_simple(self, table: str, key: Item) -> None:
        await self.boto.call("delete_item", TableName=table, Key=key)

    async def get_item_simple(self, table: str, key: Item) -> Item | None:
        answer = await self.boto.call("get_item", TableName=table, Key=key)
        item: Item | None = answer.get("Item")
        return item


@dataclass(slots=True)
class ExternalS3:
    boto: Boto3Client

    async def put_object(self, bucket: str, key: str, body: bytes, content_type: str | None = None) -> Any:
        params: dict[str, Any] = {"Bucket": bucket, "Key": key, "Body": body}
        if content_type is not None:
            params["ContentType"] = content_type
        return await self.boto.call("put_object", **params)


@dataclass(slots=True)
class ExternalKinesis:
    boto: Boto3Client

    async def put_record(self, stream: str, data: bytes, partition_key: str) -> Any:
        return await self.boto.call("put_record", StreamName=stream, Data=data, PartitionKey=partition_key)


@dataclass(slots=True)
class ExternalFirehose:
    boto: Boto3Client

    async def put_record(self, delivery_stream: str, data: bytes) -> Any:
        return await self.boto.call("put_record", DeliveryStreamName=delivery_stream, Record={"Data": data})

    async def put_record_batch(self, delivery_stream: str, records: Sequence[bytes]) -> Any:
        return await self.boto.call(
            "put_record_batch",
            DeliveryStreamName=delivery_stream,
            Records=[{"Data": data} for data in records],
        )


@dataclass(slots=True)
class ExternalCloudWatch:
    boto: Boto3Client

    async def put_metric_data_batch(self, namespace: str, data: Sequence[Mapping[str, Any]]) -> Any:
        return await self.boto.call("put_metric_data", Namespace=namespace, MetricData=list(data))

    async def set_alarm_state(self, alarm_name: str, state_value: str, state_reason: str) -> Any:
        return await self.boto.call(
            "set_alarm_state", AlarmName=alarm_name, StateValue=state_value, StateReason=state_reason
        )


@dataclass(slots=True)
class ExternalLogs:
    boto: Boto3Client

    async def create_log_stream(self, group: str, stream: str) -> Any:
        return await self.boto.call("create_log_stream", logGroupName=group, logStreamName=stream)

    async def put_log_events(self, group: str, stream: str, events: Sequence[Mapping[str, Any]]) -> Any:
        return await self.boto.call(
            "put_log_events", logGroupName=group, logStreamName=stream, logEvents=list(events)
        )


@dataclass(slots=True)
class InvokeOutcome:
    """What the lambda action and ``aws_lambda()`` read of an invocation (as FunctionService answers)."""

    status: int
    payload: bytes
    function_error: str | None


@dataclass(slots=True)
class ExternalLambda:
    boto: Boto3Client

    async def invoke(self, function: str, payload: bytes, invocation_type: str) -> InvokeOutcome:
        answer = await self.boto.call(
            "invoke", FunctionName=function, Payload=payload, InvocationType=invocation_type
        )
        body = answer.get("Payload")
        data = await asyncio.to_thread(body.read) if body is not None else b""
        return InvokeOutcome(answer.get("StatusCode", 200), data, answer.get("FunctionError"))


ADAPTERS: dict[str, Callable[[Boto3Client], Any]] = {
    "sqs": ExternalSqs,
    "sns": ExternalSns,
    "dynamodb": ExternalDynamoDb,
    "s3": ExternalS3,
    "kinesis": ExternalKinesis,
    "firehose": ExternalFirehose,
    "cloudwatch": ExternalCloudWatch,
    "logs": ExternalLogs,
    "lambda": ExternalLambda,
}
# The ActionServices field each service is reached through.
FIELDS = {service: "functions" if service == "lambda" else service for service in ADAPTERS}


def adapter(service: str, endpoint: ExternalEndpoint) -> Any:
    return ADAPTERS[service](Boto3Client(service, endpoint))


def connect(
    services: ActionServices,
    by_service: Mapping[str, ExternalEndpoint],
    by_action: Mapping[str, ExternalEndpoint],
) -> None:
    """Points ``services`` at the external endpoints: ``[services.*]`` stand for the embedded services for
    every action (:func:`embed` fills in the rest later); ``[actions.*]`` give one action type services of its
    own. Call it before any rule is compiled."""
    for service, endpoint in by_service.items():
        setattr(services, FIELDS[service], adapter(service, endpoint))
    for action, endpoint in by_action.items():
        if action not in ACTION_SERVICES:
            raise ConfigError(
                f"[actions.{action}]: external mode is for the actions {', '.join(sorted(ACTION_SERVICES))}"
            )
        target = ACTION_SERVICES[action]
        scoped = ActionServices(publish=services.publish, limits=services.limits)
        setattr(scoped, FIELDS[target], adapter(target, endpoint))
        services.per_action[action] = scoped


def embed(services: ActionServices, **embedded: Any) -> None:
    """Sets the embedded services (``sqs=…``) where no external endpoint was configured."""
    for name, service in embedded.items():
        if getattr(services, name) is None:
            setattr(services, name, service)
