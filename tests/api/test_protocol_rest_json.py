"""rest-json against a real boto3 client: IoT and the IoT data plane, request and response.

Each call goes through boto3 (its serializer, its handlers, SigV4), is routed and parsed by the protocol
layer in the client's ``before-send`` hook, answered by ``serialize_response`` and parsed by botocore.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import pytest
from botocore import xform_name
from botocore.model import OperationModel

from tests.api.botocore_loop import Loop

CERT_ARN = "arn:aws:iot:us-east-1:000000000000:cert/" + "ab" * 32
CERT_ID = "ab" * 32

IOT_CASES: list[tuple[str, dict[str, Any]]] = [
    (
        "CreateThing",
        {
            "thingName": "lamp:1_a-b",
            "thingTypeName": "Lamp",
            "attributePayload": {"attributes": {"color": "red", "room": "kitchen/1"}, "merge": True},
            "billingGroupName": "group",
        },
    ),
    (
        "ListThings",
        {
            "nextToken": "token/with+chars==",
            "maxResults": 25,
            "attributeName": "color",
            "attributeValue": "red",
            "thingTypeName": "Lamp",
            "usePrefixAttributeValue": True,
        },
    ),
    (
        "UpdateThing",
        {
            "thingName": "lamp",
            "thingTypeName": "Lamp",
            "attributePayload": {"attributes": {"color": ""}, "merge": True},
            "expectedVersion": 3,
            "removeThingType": False,
        },
    ),
    ("DeleteThing", {"thingName": "lamp", "expectedVersion": 7}),
    ("DescribeThing", {"thingName": "lamp"}),
    ("CreateKeysAndCertificate", {"setAsActive": True}),
    ("UpdateCertificate", {"certificateId": CERT_ID, "newStatus": "REVOKED"}),
    ("DeleteCertificate", {"certificateId": CERT_ID, "forceDelete": True}),
    (
        "CreatePolicy",
        {
            "policyName": "allow-all",
            "policyDocument": '{"Version": "2012-10-17", "Statement": []}',
            "tags": [{"Key": "team", "Value": "iot"}],
        },
    ),
    (
        "CreatePolicyVersion",
        {"policyName": "allow-all", "policyDocument": '{"Statement": []}', "setAsDefault": True},
    ),
    ("GetPolicyVersion", {"policyName": "allow-all", "policyVersionId": "2"}),
    ("AttachPolicy", {"policyName": "allow-all", "target": CERT_ARN}),
    ("DetachPolicy", {"policyName": "allow-all", "target": CERT_ARN}),
    ("ListTargetsForPolicy", {"policyName": "allow-all", "marker": "m", "pageSize": 10}),
    ("GetEffectivePolicies", {"principal": CERT_ARN, "cognitoIdentityPoolId": "pool", "thingName": "lamp"}),
    (
        "TagResource",
        {"resourceArn": "arn:aws:iot:us-east-1:0:thing/lamp", "tags": [{"Key": "k", "Value": "v"}]},
    ),
    ("UntagResource", {"resourceArn": "arn:aws:iot:us-east-1:0:thing/lamp", "tagKeys": ["k", "j"]}),
    ("DescribeEndpoint", {"endpointType": "iot:Data-ATS"}),
    ("ListThingPrincipals", {"thingName": "lamp", "maxResults": 5, "nextToken": "n"}),
    (
        "AttachThingPrincipal",
        {"thingName": "lamp", "principal": CERT_ARN, "thingPrincipalType": "EXCLUSIVE_THING"},
    ),
    ("DetachThingPrincipal", {"thingName": "lamp", "principal": CERT_ARN}),
    ("ListPrincipalThings", {"principal": CERT_ARN, "maxResults": 2}),
    (
        "RegisterCACertificate",
        {
            "caCertificate": "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
            "verificationCertificate": "-----BEGIN CERTIFICATE-----\nMIIC\n-----END CERTIFICATE-----\n",
            "setAsActive": True,
            "allowAutoRegistration": False,
            "registrationConfig": {"templateBody": "{}", "roleArn": "arn:aws:iam::0:role/r"},
            "tags": [{"Key": "k", "Value": "v"}],
            "certificateMode": "DEFAULT",
        },
    ),
    (
        "UpdateCACertificate",
        {"certificateId": CERT_ID, "newStatus": "INACTIVE", "newAutoRegistrationStatus": "ENABLE"},
    ),
    ("ConfirmTopicRuleDestination", {"confirmationToken": "abc/def+ghi"}),
    ("GetTopicRuleDestination", {"arn": "arn:aws:iot:us-east-1:0:ruledestination/http/1234"}),
    ("DeprecateThingType", {"thingTypeName": "Lamp", "undoDeprecate": True}),
    ("ListAttachedPolicies", {"target": CERT_ARN, "recursive": True, "pageSize": 3}),
]


def _method(name: str) -> str:
    return str(xform_name(name))


@pytest.mark.parametrize(("operation", "params"), IOT_CASES, ids=[case[0] for case in IOT_CASES])
def test_iot_request_parsed_as_given(operation: str, params: dict[str, Any]) -> None:
    loop = Loop("iot")
    getattr(loop.client, _method(operation))(**params)
    assert not loop.errors
    assert loop.last.operation == operation
    assert loop.last.params == params


def test_iot_wire_details() -> None:
    loop = Loop("iot")
    loop.client.create_keys_and_certificate(setAsActive=True)
    assert (loop.last.request.method, loop.last.request.raw_path) == ("POST", "/keys-and-certificate")
    assert loop.last.request.query == "setAsActive=true"
    loop.client.attach_policy(policyName="p", target=CERT_ARN)
    assert (loop.last.request.method, loop.last.request.raw_path) == ("PUT", "/target-policies/p")
    loop.client.attach_thing_principal(thingName="lamp", principal=CERT_ARN)
    headers = {k.lower(): v for k, v in loop.last.request.headers.items()}
    assert headers["x-amzn-principal"] == CERT_ARN


def test_iot_data_publish_raw_payload() -> None:
    loop = Loop("iot-data")
    payload = b'{"clicks": 1, "bin": "\xff"}'
    loop.client.publish(
        topic="iotbutton/G030/click", qos=1, retain=True, payload=payload, userProperties='[{"a": "b"}]'
    )
    request = loop.last.request
    assert request.raw_path == "/topics/iotbutton%2FG030%2Fclick"
    assert request.body == payload
    assert "content-type" not in {k.lower() for k in request.headers}
    assert loop.last.params == {
        "topic": "iotbutton/G030/click",
        "qos": 1,
        "retain": True,
        "payload": payload,
        # A jsonvalue header: the model's type is a JSON string, sent base64-encoded.
        "userProperties": '[{"a": "b"}]',
    }


def test_iot_data_shadows() -> None:
    document = b'{"state": {"reported": {"on": true}}}'

    def reply(operation: OperationModel, params: dict[str, Any]) -> Mapping[str, Any]:
        if operation.name == "ListNamedShadowsForThing":
            return {"results": ["a", "b"], "nextToken": "n2", "timestamp": 1_700_000_000}
        return {"payload": document}

    loop = Loop("iot-data", reply=reply)
    result = loop.client.update_thing_shadow(thingName="lamp", shadowName="night", payload=document)
    assert loop.last.operation == "UpdateThingShadow"
    assert loop.last.params == {"thingName": "lamp", "shadowName": "night", "payload": document}
    assert result["payload"].read() == document

    result = loop.client.get_thing_shadow(thingName="lamp")
    assert loop.last.params == {"thingName": "lamp"}
    assert result["payload"].read() == document

    loop.client.delete_thing_shadow(thingName="lamp", shadowName="night")
    assert (loop.last.operation, loop.last.params) == (
        "DeleteThingShadow",
        {"thingName": "lamp", "shadowName": "night"},
    )

    result = loop.client.list_named_shadows_for_thing(thingName="lamp", nextToken="n1", pageSize=2)
    assert loop.last.params == {"thingName": "lamp", "nextToken": "n1", "pageSize": 2}
    assert (result["results"], result["nextToken"], result["timestamp"]) == (["a", "b"], "n2", 1_700_000_000)


def test_iot_responses_parsed_by_botocore() -> None:
    created = datetime(2025, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)
    outputs: dict[str, dict[str, Any]] = {
        "DescribeThing": {
            "defaultClientId": "lamp",
            "thingName": "lamp",
            "thingId": "0f3c",
            "thingArn": "arn:aws:iot:us-east-1:0:thing/lamp",
            "thingTypeName": "Lamp",
            "attributes": {"color": "red"},
            "version": 4,
        },
        "DescribeCertificate": {
            "certificateDescription": {
                "certificateArn": CERT_ARN,
                "certificateId": CERT_ID,
                "status": "ACTIVE",
                "certificatePem": "-----BEGIN CERTIFICATE-----\n...",
                "creationDate": created,
                "lastModifiedDate": created,
                "customerVersion": 1,
                "validity": {"notBefore": created, "notAfter": created},
            }
        },
        "ListThings": {
            "things": [
                {"thingName": "a", "version": 1, "attributes": {}},
                {"thingName": "b", "thingTypeName": "T", "version": 2, "attributes": {"k": "v"}},
            ],
            "nextToken": "next",
        },
        "CreateKeysAndCertificate": {
            "certificateArn": CERT_ARN,
            "certificateId": CERT_ID,
            "certificatePem": "pem",
            "keyPair": {"PublicKey": "pub", "PrivateKey": "priv"},
        },
    }
    loop = Loop("iot", reply=lambda operation, params: outputs[operation.name])
    results = {
        "DescribeThing": loop.client.describe_thing(thingName="lamp"),
        "DescribeCertificate": loop.client.describe_certificate(certificateId=CERT_ID),
        "ListThings": loop.client.list_things(),
        "CreateKeysAndCertificate": loop.client.create_keys_and_certificate(setAsActive=True),
    }
    for name, result in results.items():
        result.pop("ResponseMetadata")
        assert result == outputs[name], name


def test_timestamps_are_epoch_seconds_in_json() -> None:
    from corral.api.protocol import load_service_model, serialize_response

    operation = load_service_model("iot").operation_model("GetPolicy")
    moment = datetime(2025, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)
    response = serialize_response(
        operation, {"policyName": "p", "creationDate": moment, "lastModifiedDate": 1.5}
    )
    assert response.status == 200
    assert response.headers["Content-Type"] == "application/json"
    assert b'"creationDate":1735787045.678' in response.body
    assert b'"lastModifiedDate":1.5' in response.body


def test_unknown_output_member_is_our_bug() -> None:
    from corral.api.protocol import load_service_model, serialize_response

    operation = load_service_model("iot").operation_model("CreateThing")
    with pytest.raises(ValueError, match="thingNam"):
        serialize_response(operation, {"thingNam": "typo"})
