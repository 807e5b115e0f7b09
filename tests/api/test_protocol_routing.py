"""Routing: the most specific operation wins; what matches nothing is answered as AWS answers it."""

from __future__ import annotations

import pytest

from corral.api.protocol import (
    UnknownOperationError,
    error_response,
    load_service_model,
    route,
    router_for,
)
from corral.api.protocol.message import HttpRequest
from tests.api.botocore_loop import botocore_parse


@pytest.mark.parametrize(
    ("service", "method", "path", "query", "operation", "params"),
    [
        ("iot", "GET", "/things/lamp", "", "DescribeThing", {"thingName": "lamp"}),
        ("iot", "GET", "/things/lamp/principals", "", "ListThingPrincipals", {"thingName": "lamp"}),
        ("iot", "PUT", "/things/lamp/principals", "", "AttachThingPrincipal", {"thingName": "lamp"}),
        (
            "iot",
            "GET",
            "/policies/p/version/2",
            "",
            "GetPolicyVersion",
            {"policyName": "p", "policyVersionId": "2"},
        ),
        ("iot", "GET", "/policies/p/version", "", "ListPolicyVersions", {"policyName": "p"}),
        (
            "iot",
            "GET",
            "/destinations/arn%3Aaws%3Aiot%3Aus-east-1%3A0%3Aruledestination/http/1",
            "",
            "GetTopicRuleDestination",
            {"arn": "arn:aws:iot:us-east-1:0:ruledestination/http/1"},
        ),
        ("iot-data", "POST", "/topics/a%2Fb%2Fc", "qos=1", "Publish", {"topic": "a/b/c"}),
        ("iot-data", "POST", "/things/lamp/shadow", "name=n", "UpdateThingShadow", {"thingName": "lamp"}),
        ("lambda", "GET", "/2018-10-31/layers", "find=LayerVersion&Arn=x", "GetLayerVersionByArn", {}),
        ("lambda", "GET", "/2018-10-31/layers", "", "ListLayers", {}),
        (
            "s3",
            "PUT",
            "/bucket/key/with/slashes",
            "",
            "PutObject",
            {"Bucket": "bucket", "Key": "key/with/slashes"},
        ),
        ("s3", "PUT", "/bucket/k", "partNumber=1&uploadId=u", "UploadPart", {"Bucket": "bucket", "Key": "k"}),
        ("s3", "GET", "/bucket", "versions", "ListObjectVersions", {"Bucket": "bucket"}),
        ("s3", "GET", "/bucket", "list-type=2", "ListObjectsV2", {"Bucket": "bucket"}),
    ],
)
def test_most_specific_operation(
    service: str, method: str, path: str, query: str, operation: str, params: dict[str, str]
) -> None:
    match = route(load_service_model(service), method, path, query)
    assert match.operation.name == operation
    assert match.path_params == params


def test_json_target_and_query_action() -> None:
    match = route(
        load_service_model("dynamodb"), "POST", "/", None, {"X-Amz-Target": "DynamoDB_20120810.GetItem"}
    )
    assert match.operation.name == "GetItem"
    body = b"Action=Publish&Version=2010-03-31&TopicArn=arn"
    headers = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}
    assert route(load_service_model("sns"), "POST", "/", None, headers, body).operation.name == "Publish"


def test_unknown_iot_path_is_404_resource_not_found() -> None:
    service = load_service_model("iot")
    with pytest.raises(UnknownOperationError) as caught:
        route(service, "GET", "/no-such-thing/x", "a=1")
    error = caught.value
    assert (error.code, error.status, error.message) == ("ResourceNotFoundException", 404, "Not Found")
    assert error.describe() == "unsupported iot operation: GET /no-such-thing/x"
    response = error_response(service, error)
    assert response.status == 404
    operation = service.operation_model("ListThings")
    parsed = botocore_parse(operation, response, error=True)
    assert parsed["Error"] == {"Code": "ResourceNotFoundException", "Message": "Not Found"}


def test_wrong_method_is_unknown_too() -> None:
    with pytest.raises(UnknownOperationError):
        route(load_service_model("iot"), "PUT", "/things/lamp")


def test_unknown_json_target() -> None:
    service = load_service_model("dynamodb")
    with pytest.raises(UnknownOperationError) as caught:
        route(service, "POST", "/", None, {"X-Amz-Target": "DynamoDB_20120810.Frobnicate"})
    assert (caught.value.code, caught.value.status) == ("UnknownOperationException", 400)
    assert "DynamoDB_20120810.Frobnicate" in caught.value.describe()


def test_unknown_query_action() -> None:
    with pytest.raises(UnknownOperationError) as caught:
        route(load_service_model("sns"), "GET", "/", "Action=Frobnicate")
    assert caught.value.code == "InvalidAction"
    assert caught.value.message == "The action Frobnicate is not valid for this web service."


def test_request_normalization() -> None:
    request = HttpRequest.build(
        "get",
        b"/things?maxResults=2",
        [("a", "1"), ("a", "2")],
        [(b"X-Amzn-Principal", b"p"), (b"x-amzn-principal", b"q")],
    )
    assert request.method == "GET"
    assert request.raw_path == "/things"
    assert request.query == {"a": ["1", "2"], "maxResults": ["2"]}
    assert request.header("X-AMZN-PRINCIPAL") == "p, q"


def test_path_params_for_a_given_operation() -> None:
    service = load_service_model("iot")
    request = HttpRequest.build("GET", "/things/a%3Ab")
    assert router_for(service).path_params(service.operation_model("DescribeThing"), request) == {
        "thingName": "a:b"
    }
