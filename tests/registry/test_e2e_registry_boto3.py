"""Certificates, CAs and policies through boto3 against a real server: the calls and errors operators see."""

from __future__ import annotations

import datetime
import json
from typing import Any

import botocore.exceptions
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.harness import RunningServer

POLICY = json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "iot:Connect", "Resource": "*"}]}
)


def policy_doc(action: str) -> str:
    return json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": action, "Resource": "*"}]}
    )


def error_code(caught: pytest.ExceptionInfo[botocore.exceptions.ClientError]) -> str:
    code: str = caught.value.response["Error"]["Code"]
    return code


def make_cert(subject: str, issuer_key: Any = None, issuer_name: str | None = None) -> tuple[Any, str]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
    issuer = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer_name or subject)])
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=30))
    )
    if issuer_key is None:
        builder = builder.add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
    cert = builder.sign(issuer_key or key, hashes.SHA256())
    return key, cert.public_bytes(serialization.Encoding.PEM).decode()


def test_policy_versions_and_their_limits(server: RunningServer) -> None:
    iot = server.iot()
    iot.create_policy(policyName="versions", policyDocument=policy_doc("iot:Connect"))
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        iot.create_policy(policyName="versions", policyDocument=policy_doc("iot:Connect"))
    assert error_code(caught) == "ResourceAlreadyExistsException"
    for action in ("iot:Publish", "iot:Subscribe", "iot:Receive", "iot:RetainPublish"):
        iot.create_policy_version(policyName="versions", policyDocument=policy_doc(action))
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        iot.create_policy_version(policyName="versions", policyDocument=policy_doc("iot:*"))
    assert error_code(caught) == "VersionsLimitExceededException"
    versions = iot.list_policy_versions(policyName="versions")["policyVersions"]
    assert len(versions) == 5
    assert [v["versionId"] for v in versions if v["isDefaultVersion"]] == ["1"]
    iot.set_default_policy_version(policyName="versions", policyVersionId="3")
    assert iot.get_policy(policyName="versions")["defaultVersionId"] == "3"
    assert (
        "iot:Subscribe"
        in iot.get_policy_version(policyName="versions", policyVersionId="3")["policyDocument"]
    )
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        iot.delete_policy_version(policyName="versions", policyVersionId="3")
    assert error_code(caught) == "DeleteConflictException"
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        iot.delete_policy(policyName="versions")
    assert error_code(caught) == "DeleteConflictException"  # non-default versions remain
    for version in ("1", "2", "4", "5"):
        iot.delete_policy_version(policyName="versions", policyVersionId=version)
    iot.delete_policy(policyName="versions")
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        iot.get_policy(policyName="versions")
    assert error_code(caught) == "ResourceNotFoundException"


def test_malformed_policy_is_refused(server: RunningServer) -> None:
    iot = server.iot()
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        iot.create_policy(policyName="bad", policyDocument='{"Version": "2012-10-17", "Statement": []}')
    assert error_code(caught) == "MalformedPolicyException"
    message = caught.value.response["Error"]["Message"]
    assert message == "Policy document is Malformed: Policy has no statements"


def test_certificate_lifecycle_attachments_and_legacy_calls(server: RunningServer) -> None:
    iot = server.iot()
    created = iot.create_keys_and_certificate(setAsActive=False)
    arn, cert_id = created["certificateArn"], created["certificateId"]
    assert iot.describe_certificate(certificateId=cert_id)["certificateDescription"]["status"] == "INACTIVE"
    iot.create_policy(policyName="legacy", policyDocument=POLICY)
    iot.attach_principal_policy(policyName="legacy", principal=arn)
    assert [p["policyName"] for p in iot.list_principal_policies(principal=arn)["policies"]] == ["legacy"]
    assert iot.list_policy_principals(policyName="legacy")["principals"] == [arn]
    assert iot.list_targets_for_policy(policyName="legacy")["targets"] == [arn]
    iot.detach_principal_policy(policyName="legacy", principal=arn)
    assert iot.list_attached_policies(target=arn)["policies"] == []

    iot.create_thing(thingName="holder")
    iot.attach_thing_principal(thingName="holder", principal=arn)
    assert iot.list_principal_things(principal=arn)["things"] == ["holder"]
    iot.update_certificate(certificateId=cert_id, newStatus="ACTIVE")
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        iot.delete_certificate(certificateId=cert_id)
    assert error_code(caught) == "CertificateStateException"  # still ACTIVE
    iot.update_certificate(certificateId=cert_id, newStatus="REVOKED")
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        iot.update_certificate(certificateId=cert_id, newStatus="ACTIVE")
    assert error_code(caught) == "CertificateStateException"  # REVOKED is final
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        iot.delete_certificate(certificateId=cert_id)
    assert error_code(caught) == "DeleteConflictException"  # a thing holds it
    iot.detach_thing_principal(thingName="holder", principal=arn)
    iot.delete_certificate(certificateId=cert_id)
    listed = [c["certificateId"] for c in iot.list_certificates()["certificates"]]
    assert cert_id not in listed


def test_certificate_transfer_states(server: RunningServer) -> None:
    iot = server.iot()
    created = iot.create_keys_and_certificate(setAsActive=False)
    cert_id = created["certificateId"]
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        iot.accept_certificate_transfer(certificateId=cert_id)
    assert error_code(caught) == "InvalidRequestException"  # nothing was transferred
    iot.transfer_certificate(certificateId=cert_id, targetAwsAccount="111122223333")
    status = iot.describe_certificate(certificateId=cert_id)["certificateDescription"]["status"]
    assert status == "PENDING_TRANSFER"
    iot.cancel_certificate_transfer(certificateId=cert_id)
    assert iot.describe_certificate(certificateId=cert_id)["certificateDescription"]["status"] == "INACTIVE"


def test_ca_registration_listing_and_deletion(server: RunningServer) -> None:
    iot = server.iot()
    code = iot.get_registration_code()["registrationCode"]
    ca_key, ca_pem = make_cert("Operator CA")
    _, verification_pem = make_cert(code, issuer_key=ca_key, issuer_name="Operator CA")
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        iot.register_ca_certificate(
            caCertificate=ca_pem, verificationCertificate=make_cert("not the code")[1]
        )
    assert error_code(caught) == "RegistrationCodeValidationException"
    ca = iot.register_ca_certificate(
        caCertificate=ca_pem, verificationCertificate=verification_pem, setAsActive=True
    )
    ca_id = ca["certificateId"]
    assert [c["certificateId"] for c in iot.list_ca_certificates()["certificates"]] == [ca_id]
    _, device_pem = make_cert("device", issuer_key=ca_key, issuer_name="Operator CA")
    device = iot.register_certificate(certificatePem=device_pem, caCertificatePem=ca_pem, setAsActive=True)
    by_ca = iot.list_certificates_by_ca(caCertificateId=ca_id)["certificates"]
    assert [c["certificateId"] for c in by_ca] == [device["certificateId"]]
    described = iot.describe_ca_certificate(certificateId=ca_id)["certificateDescription"]
    assert described["status"] == "ACTIVE"
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        iot.delete_ca_certificate(certificateId=ca_id)
    assert error_code(caught) == "CertificateStateException"  # must be INACTIVE first
    iot.update_ca_certificate(certificateId=ca_id, newStatus="INACTIVE")
    iot.delete_ca_certificate(certificateId=ca_id)
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        iot.describe_ca_certificate(certificateId=ca_id)
    assert error_code(caught) == "ResourceNotFoundException"
