"""Errors as each protocol sends them, read back by a real boto3 client into the right ClientError."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest
from botocore.exceptions import ClientError
from botocore.model import OperationModel

from corral.api.protocol import HttpResponse, load_service_model, serialize_error
from tests.api.botocore_loop import Loop


def _failing(service: str, code: str, message: str, **kwargs: Any) -> Loop:
    def reply(operation: OperationModel, params: dict[str, Any]) -> Mapping[str, Any] | HttpResponse:
        return serialize_error(service, code, message, **kwargs)

    return Loop(service, reply=reply)


def _call_error(loop: Loop, method: str, **params: Any) -> ClientError:
    with pytest.raises(ClientError) as caught:
        getattr(loop.client, method)(**params)
    return caught.value


def test_rest_json_modeled_error() -> None:
    loop = _failing("iot", "ResourceNotFoundException", "Thing lamp cannot be found.")
    error = _call_error(loop, "describe_thing", thingName="lamp")
    assert isinstance(error, loop.client.exceptions.ResourceNotFoundException)
    assert error.response["Error"] == {
        "Code": "ResourceNotFoundException",
        "Message": "Thing lamp cannot be found.",
    }
    assert error.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    assert error.response["ResponseMetadata"]["RequestId"]


def test_rest_json_modeled_error_members() -> None:
    loop = _failing(
        "iot",
        "ResourceAlreadyExistsException",
        "Thing lamp already exists with different attributes",
        extra={"resourceId": "id-1", "resourceArn": "arn:aws:iot:us-east-1:0:thing/lamp"},
    )
    error = _call_error(loop, "create_thing", thingName="lamp")
    assert isinstance(error, loop.client.exceptions.ResourceAlreadyExistsException)
    assert error.response["ResponseMetadata"]["HTTPStatusCode"] == 409
    assert error.response["Error"]["Message"] == "Thing lamp already exists with different attributes"
    assert error.response["resourceId"] == "id-1"
    assert error.response["resourceArn"] == "arn:aws:iot:us-east-1:0:thing/lamp"


def test_rest_json_wire_format() -> None:
    response = serialize_error("iot", "InvalidRequestException", "bad", request_id="rid")
    assert response.status == 400
    assert response.headers["x-amzn-ErrorType"] == "InvalidRequestException"
    assert response.headers["x-amzn-RequestId"] == "rid"
    assert response.body == b'{"message":"bad"}'


def test_unmodeled_code_and_explicit_status() -> None:
    loop = _failing("iot", "NotYetImplemented", "Corral does not do that yet", status=501)
    error = _call_error(loop, "list_things")
    assert error.response["Error"]["Code"] == "NotYetImplemented"
    assert error.response["Error"]["Message"] == "Corral does not do that yet"
    assert error.response["ResponseMetadata"]["HTTPStatusCode"] == 501


def test_lambda_capitalized_message_member() -> None:
    loop = _failing("lambda", "ResourceNotFoundException", "Function not found: f", extra={"Type": "User"})
    error = _call_error(loop, "get_function", FunctionName="f")
    assert isinstance(error, loop.client.exceptions.ResourceNotFoundException)
    assert error.response["Error"]["Message"] == "Function not found: f"
    assert error.response["Type"] == "User"


def test_iot_data_error() -> None:
    loop = _failing("iot-data", "ResourceNotFoundException", "No shadow exists with name: 'lamp'")
    error = _call_error(loop, "get_thing_shadow", thingName="lamp")
    assert isinstance(error, loop.client.exceptions.ResourceNotFoundException)
    assert error.response["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_json_protocol_error() -> None:
    loop = _failing("dynamodb", "ResourceNotFoundException", "Requested resource not found")
    error = _call_error(loop, "describe_table", TableName="t")
    assert isinstance(error, loop.client.exceptions.ResourceNotFoundException)
    assert error.response["Error"]["Message"] == "Requested resource not found"
    assert error.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_json_query_compatible_error() -> None:
    loop = _failing("sqs", "QueueDoesNotExist", "The specified queue does not exist.")
    error = _call_error(loop, "get_queue_url", QueueName="q")
    assert isinstance(error, loop.client.exceptions.QueueDoesNotExist)
    assert error.response["Error"]["Code"] == "AWS.SimpleQueueService.NonExistentQueue"
    assert error.response["Error"]["Type"] == "Sender"
    assert error.response["Error"]["Message"] == "The specified queue does not exist."


def test_query_error() -> None:
    loop = _failing("sns", "NotFoundException", "Topic does not exist")
    error = _call_error(loop, "get_topic_attributes", TopicArn="arn:aws:sns:us-east-1:0:t")
    assert isinstance(error, loop.client.exceptions.NotFoundException)
    assert error.response["Error"] == {
        "Type": "Sender",
        "Code": "NotFound",
        "Message": "Topic does not exist",
    }
    assert error.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    assert error.response["ResponseMetadata"]["RequestId"]


def test_query_error_by_wire_code() -> None:
    response = serialize_error(load_service_model("sns"), "NotFound", "gone", request_id="r1")
    assert response.status == 404
    assert b"<Code>NotFound</Code>" in response.body
    assert b"<RequestId>r1</RequestId>" in response.body


def test_rest_xml_error() -> None:
    loop = _failing("s3", "NoSuchKey", "The specified key does not exist.", extra={"Key": "k"})
    error = _call_error(loop, "get_object", Bucket="b", Key="k")
    assert isinstance(error, loop.client.exceptions.NoSuchKey)
    assert error.response["Error"]["Code"] == "NoSuchKey"
    assert error.response["Error"]["Message"] == "The specified key does not exist."
    assert error.response["ResponseMetadata"]["HTTPStatusCode"] == 404
