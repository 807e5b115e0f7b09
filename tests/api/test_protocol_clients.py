"""json, query and rest-xml through real boto3 clients: DynamoDB, SQS, SNS, S3."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from botocore.model import OperationModel

from tests.api.botocore_loop import Loop


def test_dynamodb_json_protocol() -> None:
    item = {"id": {"S": "lamp"}, "n": {"N": "1.5"}, "b": {"B": b"\x00\xff"}, "l": {"L": [{"BOOL": True}]}}

    def reply(operation: OperationModel, params: dict[str, Any]) -> Mapping[str, Any]:
        return {"Item": item} if operation.name == "GetItem" else {}

    loop = Loop("dynamodb", reply=reply)
    loop.client.put_item(TableName="things", Item=item, ConditionExpression="attribute_not_exists(id)")
    assert loop.last.operation == "PutItem"
    assert loop.last.params == {
        "TableName": "things",
        "Item": item,
        "ConditionExpression": "attribute_not_exists(id)",
    }
    result = loop.client.get_item(TableName="things", Key={"id": {"S": "lamp"}}, ConsistentRead=True)
    assert result["Item"] == item


def test_sqs_json_protocol() -> None:
    def reply(operation: OperationModel, params: dict[str, Any]) -> Mapping[str, Any]:
        return {"MessageId": "m-1", "MD5OfMessageBody": "abc"}

    loop = Loop("sqs", reply=reply)
    result = loop.client.send_message(
        QueueUrl="http://127.0.0.1:9/000000000000/q",
        MessageBody="hello",
        DelaySeconds=2,
        MessageAttributes={"k": {"DataType": "String", "StringValue": "v"}},
    )
    assert loop.last.params["MessageAttributes"] == {"k": {"DataType": "String", "StringValue": "v"}}
    assert loop.last.params["DelaySeconds"] == 2
    assert result["MessageId"] == "m-1"


def test_sns_query_protocol() -> None:
    def reply(operation: OperationModel, params: dict[str, Any]) -> Mapping[str, Any]:
        if operation.name == "ListTopics":
            return {"Topics": [{"TopicArn": "arn:1"}, {"TopicArn": "arn:2"}], "NextToken": "n"}
        if operation.name == "GetTopicAttributes":
            return {"Attributes": {"DisplayName": "d", "Policy": "{}"}}
        return {"MessageId": "m-1"}

    loop = Loop("sns", reply=reply)
    result = loop.client.publish(
        TopicArn="arn:aws:sns:us-east-1:0:t",
        Message="hi & bye",
        Subject="s",
        MessageAttributes={"a": {"DataType": "Binary", "BinaryValue": b"\x01"}},
    )
    assert loop.last.params == {
        "TopicArn": "arn:aws:sns:us-east-1:0:t",
        "Message": "hi & bye",
        "Subject": "s",
        "MessageAttributes": {"a": {"DataType": "Binary", "BinaryValue": b"\x01"}},
    }
    assert result["MessageId"] == "m-1"
    topics = loop.client.list_topics()
    assert topics["Topics"] == [{"TopicArn": "arn:1"}, {"TopicArn": "arn:2"}]
    assert loop.client.get_topic_attributes(TopicArn="arn:1")["Attributes"] == {
        "DisplayName": "d",
        "Policy": "{}",
    }


def test_s3_rest_xml_protocol() -> None:
    modified = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)

    def reply(operation: OperationModel, params: dict[str, Any]) -> Mapping[str, Any]:
        if operation.name == "GetObject":
            return {
                "Body": b"content",
                "ContentType": "text/plain",
                "LastModified": modified,
                "Metadata": {"a": "b"},
            }
        if operation.name == "ListObjectsV2":
            return {
                "Contents": [{"Key": "k/1", "Size": 7, "LastModified": modified}],
                "IsTruncated": False,
                "KeyCount": 1,
            }
        return {"ETag": '"etag"'}

    loop = Loop("s3", reply=reply)
    loop.client.put_object(
        Bucket="bucket", Key="k/1", Body=b"content", Metadata={"a": "b"}, ContentType="text/plain"
    )
    assert loop.last.operation == "PutObject"
    params = loop.last.params
    assert (params["Bucket"], params["Key"], params["Body"]) == ("bucket", "k/1", b"content")
    assert params["Metadata"] == {"a": "b"}
    result = loop.client.get_object(Bucket="bucket", Key="k/1")
    assert result["Body"].read() == b"content"
    assert (result["LastModified"], result["Metadata"]) == (modified, {"a": "b"})
    listing = loop.client.list_objects_v2(Bucket="bucket", Prefix="k/")
    assert listing["Contents"] == [{"Key": "k/1", "Size": 7, "LastModified": modified}]
