"""Validation against the model, in AWS's words, and type errors in the request."""

from __future__ import annotations

from typing import Any

import pytest

from corral.api.protocol import (
    SerializationError,
    ValidationError,
    load_service_model,
    parse_request,
    validate_input,
)
from corral.api.protocol.patterns import compile_pattern
from tests.api.botocore_loop import Loop, parse_wire, wire_request


def _problems(service: str, operation: str, params: dict[str, Any]) -> ValidationError:
    model = load_service_model(service).operation_model(operation)
    with pytest.raises(ValidationError) as caught:
        parse_wire(model, wire_request(model, params), validate=True)
    return caught.value


def test_pattern_message_is_aws_sentence() -> None:
    error = _problems("iot", "DescribeThing", {"thingName": "a b"})
    assert (error.code, error.status) == ("InvalidRequestException", 400)
    assert error.message == (
        "1 validation error detected: Value 'a b' at 'thingName' failed to satisfy constraint: "
        "Member must satisfy regular expression pattern: [a-zA-Z0-9:_-]+"
    )


def test_several_failures_are_counted() -> None:
    error = _problems("iot", "DescribeThing", {"thingName": "x y" * 50})
    assert error.message.startswith("2 validation errors detected: ")
    assert error.problems[0].endswith("Member must have length less than or equal to 128")
    assert error.problems[1].endswith("Member must satisfy regular expression pattern: [a-zA-Z0-9:_-]+")


def test_range_and_enum() -> None:
    error = _problems("iot", "ListThings", {"maxResults": 0})
    assert error.problems == [
        "Value '0' at 'maxResults' failed to satisfy constraint: "
        "Member must have value greater than or equal to 1"
    ]
    error = _problems("iot", "UpdateCertificate", {"certificateId": "ab" * 32, "newStatus": "BOGUS"})
    assert error.problems == [
        "Value 'BOGUS' at 'newStatus' failed to satisfy constraint: Member must satisfy enum value set: "
        "[ACTIVE, INACTIVE, REVOKED, PENDING_TRANSFER, REGISTER_INACTIVE, PENDING_ACTIVATION]"
    ]


def test_map_keys_and_nested_list_members() -> None:
    error = _problems(
        "iot", "CreateThing", {"thingName": "t", "attributePayload": {"attributes": {"bad key": "v"}}}
    )
    assert error.problems == [
        "Value '{bad key=v}' at 'attributePayload.attributes' failed to satisfy constraint: "
        "Map keys must satisfy constraint: [Member must have length less than or equal to 128, "
        "Member must satisfy regular expression pattern: [a-zA-Z0-9_.,@/:#-]+]"
    ]
    error = _problems("iot", "TagResource", {"resourceArn": "arn", "tags": [{"Key": "", "Value": "v"}]})
    assert error.problems == [
        "Value '' at 'tags.1.member.key' failed to satisfy constraint: "
        "Member must have length greater than or equal to 1"
    ]


def test_missing_required_member_json_protocol() -> None:
    operation = load_service_model("dynamodb").operation_model("GetItem")
    with pytest.raises(ValidationError) as caught:
        validate_input(operation, {"Key": {"id": {"S": "1"}}})
    assert caught.value.code == "ValidationException"
    assert caught.value.problems == [
        "Value null at 'tableName' failed to satisfy constraint: Member must not be null"
    ]


def test_list_of_scalars_reported_once() -> None:
    operation = load_service_model("iot").operation_model("UntagResource")
    with pytest.raises(ValidationError) as caught:
        validate_input(operation, {"resourceArn": "arn", "tagKeys": ["ok", "x" * 200]})
    assert caught.value.problems == [
        f"Value '[ok, {'x' * 200}]' at 'tagKeys' failed to satisfy constraint: "
        "Member must satisfy constraint: [Member must have length less than or equal to 128, "
        "Member must have length greater than or equal to 1, "
        "Member must satisfy regular expression pattern: ^([\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*)$]"
    ]


def test_validation_error_reaches_botocore() -> None:
    loop = Loop("iot")
    with pytest.raises(loop.client.exceptions.InvalidRequestException) as caught:
        loop.client.describe_thing(thingName="a b")
    assert caught.value.response["Error"]["Message"].startswith("1 validation error detected: Value 'a b'")
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


@pytest.mark.parametrize(
    ("query", "body"),
    [("maxResults=many", b""), ("usePrefixAttributeValue=maybe", b"")],
)
def test_bad_query_value_is_a_serialization_error(query: str, body: bytes) -> None:
    operation = load_service_model("iot").operation_model("ListThings")
    with pytest.raises(SerializationError) as caught:
        parse_request(operation, "GET", "/things", query, {}, body)
    assert (caught.value.code, caught.value.status) == ("InvalidRequestException", 400)


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b"[1, 2]",
        b'{"attributePayload": {"attributes": {"a": 1}}}',
        b'{"attributePayload": "x"}',
    ],
)
def test_bad_json_body(body: bytes) -> None:
    operation = load_service_model("iot").operation_model("CreateThing")
    with pytest.raises(SerializationError):
        parse_request(operation, "POST", "/things/t", None, {"Content-Type": "application/json"}, body)


def test_bad_json_body_json_protocol() -> None:
    operation = load_service_model("dynamodb").operation_model("DescribeTable")
    with pytest.raises(SerializationError) as caught:
        parse_request(
            operation,
            "POST",
            "/",
            None,
            {"X-Amz-Target": "DynamoDB_20120810.DescribeTable"},
            b'{"TableName": 5}',
        )
    assert caught.value.code == "SerializationException"
    assert "TableName" in caught.value.message


@pytest.mark.parametrize(
    ("pattern", "accepted", "refused"),
    [
        ("[a-zA-Z0-9:_-]+", ["lamp:1_a-b"], ["a b", "", "é"]),
        ("[\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*", ["héllo wörld 42", ""], ["\x01", "#"]),
        ("[^\\p{C}]*", ["any text é 😀"], ["tab\there"]),
        ("[\\p{Upper}\\p{Digit}_]+", ["ABC_1"], ["abc"]),
        ("[\\u0020-\\uD7FF\\uE000-\\uFFFD\\uD800\\uDC00-\\uDBFF\\uDFFF\\r\\n\\t]*", ["ok 😀\n"], ["\x00"]),
    ],
)
def test_java_patterns(pattern: str, accepted: list[str], refused: list[str]) -> None:
    compiled = compile_pattern(pattern)
    assert compiled is not None
    assert all(compiled.fullmatch(text) for text in accepted)
    assert not any(compiled.fullmatch(text) for text in refused)


def test_untranslatable_pattern_is_not_checked() -> None:
    assert compile_pattern("\\p{NoSuchClass}") is None
