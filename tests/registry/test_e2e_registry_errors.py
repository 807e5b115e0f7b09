"""The errors of the `iot` control plane as operators meet them: boto3 and the real aws CLI against one real
`corral serve`. Each case checks the AWS error code, the HTTP status AWS answers it with (the botocore
model's, docs/control-plane-facts.md §0), that botocore raises its modeled class (``client.exceptions.X``)
and the message: AWS's exact text where a source gives it, Corral's own where none does (marked "Corral's
text" below, so a later finding about AWS can replace it).

Errors change nothing, so every case runs against one world of resources the module sets up once.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest
from botocore.config import Config
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.aws_cli import aws_environment, run_aws
from tests.harness import RunningServer, make_server, serving

ACCOUNT = "000000000000"
OTHER_ACCOUNT = "111122223333"
UNKNOWN_ID = "a" * 64
UNKNOWN_CERT_ARN = f"arn:aws:iot:us-east-1:{ACCOUNT}:cert/{UNKNOWN_ID}"
POLICY = json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "iot:Connect", "Resource": "*"}]}
)
STATUS = {
    "InvalidRequestException": 400,
    "ResourceNotFoundException": 404,
    "CertificateStateException": 406,
    "ResourceAlreadyExistsException": 409,
    "VersionConflictException": 409,
    "DeleteConflictException": 409,
    "TransferConflictException": 409,
    "VersionsLimitExceededException": 409,
    "TransferAlreadyCompletedException": 410,
    "CertificateValidationException": 400,
    "MalformedPolicyException": 400,
}
"""The status of each error shape in botocore's iot model (checked against the model below)."""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    yield from serving(make_server(tmp_path_factory.mktemp("errors")))


@pytest.fixture(scope="module")
def iot(server: RunningServer) -> Any:
    return server.iot()


@pytest.fixture(scope="module")
def unchecked_iot(server: RunningServer, iot: Any) -> Any:
    """A client that sends what botocore's own parameter validation would stop, so the server answers."""
    credentials = iot._request_signer._credentials
    return boto3.client(
        "iot",
        endpoint_url=f"http://{server.endpoints['http']}",
        region_name=server.endpoints["region"],
        aws_access_key_id=credentials.access_key,
        aws_secret_access_key=credentials.secret_key,
        config=Config(parameter_validation=False, retries={"max_attempts": 1}),
    )


def _certificate(subject: str, key: Any, issuer: str, issuer_key: Any, *, ca: bool) -> str:
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
        .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    return builder.sign(issuer_key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM).decode()


@dataclass
class World:
    """What the cases refer to: ids and PEMs made once for the module."""

    active: dict[str, Any] = field(default_factory=dict)  # ACTIVE, attached to thing "holder"
    with_policy: dict[str, Any] = field(default_factory=dict)  # INACTIVE, policy "attached" on it
    with_thing: dict[str, Any] = field(default_factory=dict)  # INACTIVE, attached to thing "holder"
    revoked: dict[str, Any] = field(default_factory=dict)
    pending: dict[str, Any] = field(default_factory=dict)  # PENDING_TRANSFER to OTHER_ACCOUNT
    rejected: dict[str, Any] = field(default_factory=dict)  # transferred, then rejected
    idle: dict[str, Any] = field(default_factory=dict)  # INACTIVE, nothing attached, never transferred
    ca_id: str = ""
    ca_pem: str = ""
    stranger_pem: str = ""  # signed by a CA that is not registered


@pytest.fixture(scope="module")
def world(iot: Any) -> World:
    w = World()
    iot.create_thing(thingName="holder", attributePayload={"attributes": {"site": "seattle"}})
    iot.create_thing_type(thingTypeName="kind", thingTypeProperties={"thingTypeDescription": "bins"})
    iot.create_thing_type(thingTypeName="old")
    iot.deprecate_thing_type(thingTypeName="old")
    iot.create_thing_group(thingGroupName="parent", thingGroupProperties={"thingGroupDescription": "top"})
    iot.create_thing_group(thingGroupName="child", parentGroupName="parent")
    iot.add_thing_to_thing_group(thingGroupName="child", thingName="holder")

    w.active = iot.create_keys_and_certificate(setAsActive=True)
    iot.attach_thing_principal(thingName="holder", principal=w.active["certificateArn"])
    w.with_thing = iot.create_keys_and_certificate(setAsActive=False)
    iot.attach_thing_principal(thingName="holder", principal=w.with_thing["certificateArn"])
    w.with_policy = iot.create_keys_and_certificate(setAsActive=False)
    iot.create_policy(policyName="attached", policyDocument=POLICY)
    iot.attach_policy(policyName="attached", target=w.with_policy["certificateArn"])
    w.revoked = iot.create_keys_and_certificate(setAsActive=False)
    iot.update_certificate(certificateId=w.revoked["certificateId"], newStatus="REVOKED")
    w.pending = iot.create_keys_and_certificate(setAsActive=False)
    iot.transfer_certificate(certificateId=w.pending["certificateId"], targetAwsAccount=OTHER_ACCOUNT)
    w.rejected = iot.create_keys_and_certificate(setAsActive=False)
    iot.transfer_certificate(certificateId=w.rejected["certificateId"], targetAwsAccount=OTHER_ACCOUNT)
    iot.reject_certificate_transfer(certificateId=w.rejected["certificateId"], rejectReason="not ours")
    w.idle = iot.create_keys_and_certificate(setAsActive=False)

    iot.create_policy(policyName="versioned", policyDocument=POLICY)
    iot.create_policy_version(policyName="versioned", policyDocument=POLICY)
    iot.create_policy(policyName="full", policyDocument=POLICY)
    for _ in range(4):
        iot.create_policy_version(policyName="full", policyDocument=POLICY)

    code = iot.get_registration_code()["registrationCode"]
    ca_key = ec.generate_private_key(ec.SECP256R1())
    w.ca_pem = _certificate("Errors CA", ca_key, "Errors CA", ca_key, ca=True)
    verification = _certificate(code, ec.generate_private_key(ec.SECP256R1()), "Errors CA", ca_key, ca=False)
    w.ca_id = iot.register_ca_certificate(
        caCertificate=w.ca_pem, verificationCertificate=verification, setAsActive=True
    )["certificateId"]
    stranger_key = ec.generate_private_key(ec.SECP256R1())
    w.stranger_pem = _certificate(
        "stranger", ec.generate_private_key(ec.SECP256R1()), "Unregistered CA", stranger_key, ca=False
    )
    return w


@dataclass(frozen=True)
class Case:
    operation: str  # boto3's method name
    params: Callable[[World], dict[str, Any]]
    code: str
    message: Callable[[World], str]


def arn(cert: dict[str, Any]) -> str:
    value: str = cert["certificateArn"]
    return value


def cid(cert: dict[str, Any]) -> str:
    value: str = cert["certificateId"]
    return value


CASES: dict[str, Case] = {
    # -- ResourceNotFoundException 404 (Corral's texts unless noted) -----------------------------------------
    "describe-thing": Case(
        "describe_thing", lambda w: {"thingName": "nope"}, "ResourceNotFoundException",
        lambda w: "Thing nope does not exist",
    ),
    "update-thing": Case(
        "update_thing", lambda w: {"thingName": "nope"}, "ResourceNotFoundException",
        lambda w: "Thing nope does not exist",
    ),
    "create-thing-unknown-type": Case(
        "create_thing", lambda w: {"thingName": "typed", "thingTypeName": "nope"},
        "ResourceNotFoundException", lambda w: "Thing type nope does not exist",
    ),
    "update-thing-unknown-type": Case(
        "update_thing", lambda w: {"thingName": "holder", "thingTypeName": "nope"},
        "ResourceNotFoundException", lambda w: "Thing type nope does not exist",
    ),
    "list-thing-principals": Case(  # AWS's exact text (moto#2910)
        "list_thing_principals", lambda w: {"thingName": "nope"}, "ResourceNotFoundException",
        lambda w: "Failed to list principals for thing nope because the thing does not exist in your account",
    ),
    "attach-thing-principal-unknown-thing": Case(
        "attach_thing_principal", lambda w: {"thingName": "nope", "principal": arn(w.idle)},
        "ResourceNotFoundException", lambda w: "Thing nope does not exist",
    ),
    "attach-thing-principal-unknown-certificate": Case(
        "attach_thing_principal", lambda w: {"thingName": "holder", "principal": UNKNOWN_CERT_ARN},
        "ResourceNotFoundException", lambda w: f"The certificate {UNKNOWN_CERT_ARN} does not exist",
    ),
    "list-principal-things": Case(
        "list_principal_things", lambda w: {"principal": UNKNOWN_CERT_ARN}, "ResourceNotFoundException",
        lambda w: f"The certificate {UNKNOWN_CERT_ARN} does not exist",
    ),
    "describe-thing-type": Case(
        "describe_thing_type", lambda w: {"thingTypeName": "nope"}, "ResourceNotFoundException",
        lambda w: "Thing type nope does not exist",
    ),
    "deprecate-thing-type": Case(
        "deprecate_thing_type", lambda w: {"thingTypeName": "nope"}, "ResourceNotFoundException",
        lambda w: "Thing type nope does not exist",
    ),
    "delete-thing-type": Case(
        "delete_thing_type", lambda w: {"thingTypeName": "nope"}, "ResourceNotFoundException",
        lambda w: "Thing type nope does not exist",
    ),
    "describe-thing-group": Case(
        "describe_thing_group", lambda w: {"thingGroupName": "nope"}, "ResourceNotFoundException",
        lambda w: "Thing Group nope does not exist",
    ),
    "update-thing-group": Case(
        "update_thing_group", lambda w: {"thingGroupName": "nope", "thingGroupProperties": {}},
        "ResourceNotFoundException", lambda w: "Thing Group nope does not exist",
    ),
    "create-thing-group-unknown-parent": Case(
        "create_thing_group", lambda w: {"thingGroupName": "orphan", "parentGroupName": "nope"},
        "ResourceNotFoundException", lambda w: "Thing Group nope does not exist",
    ),
    "list-thing-groups-unknown-parent": Case(
        "list_thing_groups", lambda w: {"parentGroup": "nope"}, "ResourceNotFoundException",
        lambda w: "Thing Group nope does not exist",
    ),
    "add-thing-to-unknown-group": Case(
        "add_thing_to_thing_group", lambda w: {"thingGroupName": "nope", "thingName": "holder"},
        "ResourceNotFoundException", lambda w: "Thing Group nope does not exist",
    ),
    "add-unknown-thing-to-group": Case(
        "add_thing_to_thing_group", lambda w: {"thingGroupName": "parent", "thingName": "nope"},
        "ResourceNotFoundException", lambda w: "Thing nope does not exist",
    ),
    "remove-unknown-thing-from-group": Case(
        "remove_thing_from_thing_group", lambda w: {"thingGroupName": "parent", "thingName": "nope"},
        "ResourceNotFoundException", lambda w: "Thing nope does not exist",
    ),
    "list-things-in-unknown-group": Case(
        "list_things_in_thing_group", lambda w: {"thingGroupName": "nope"}, "ResourceNotFoundException",
        lambda w: "Thing Group nope does not exist",
    ),
    "list-thing-groups-for-unknown-thing": Case(
        "list_thing_groups_for_thing", lambda w: {"thingName": "nope"}, "ResourceNotFoundException",
        lambda w: "Thing nope does not exist",
    ),
    "tag-unknown-resource": Case(
        "tag_resource",
        lambda w: {"resourceArn": f"arn:aws:iot:us-east-1:{ACCOUNT}:thinggroup/nope",
                   "tags": [{"Key": "k", "Value": "v"}]},
        "ResourceNotFoundException",
        lambda w: f"The resource arn:aws:iot:us-east-1:{ACCOUNT}:thinggroup/nope does not exist",
    ),
    "list-tags-unknown-resource": Case(
        "list_tags_for_resource", lambda w: {"resourceArn": f"arn:aws:iot:us-east-1:{ACCOUNT}:policy/nope"},
        "ResourceNotFoundException",
        lambda w: f"The resource arn:aws:iot:us-east-1:{ACCOUNT}:policy/nope does not exist",
    ),
    "describe-certificate": Case(
        "describe_certificate", lambda w: {"certificateId": UNKNOWN_ID}, "ResourceNotFoundException",
        lambda w: f"Certificate {UNKNOWN_ID} does not exist",
    ),
    "update-certificate": Case(
        "update_certificate", lambda w: {"certificateId": UNKNOWN_ID, "newStatus": "ACTIVE"},
        "ResourceNotFoundException", lambda w: f"Certificate {UNKNOWN_ID} does not exist",
    ),
    "delete-certificate": Case(
        "delete_certificate", lambda w: {"certificateId": UNKNOWN_ID}, "ResourceNotFoundException",
        lambda w: f"Certificate {UNKNOWN_ID} does not exist",
    ),
    "transfer-certificate": Case(
        "transfer_certificate", lambda w: {"certificateId": UNKNOWN_ID, "targetAwsAccount": OTHER_ACCOUNT},
        "ResourceNotFoundException", lambda w: f"Certificate {UNKNOWN_ID} does not exist",
    ),
    "accept-certificate-transfer": Case(
        "accept_certificate_transfer", lambda w: {"certificateId": UNKNOWN_ID}, "ResourceNotFoundException",
        lambda w: f"Certificate {UNKNOWN_ID} does not exist",
    ),
    "reject-certificate-transfer": Case(
        "reject_certificate_transfer", lambda w: {"certificateId": UNKNOWN_ID}, "ResourceNotFoundException",
        lambda w: f"Certificate {UNKNOWN_ID} does not exist",
    ),
    "cancel-certificate-transfer": Case(
        "cancel_certificate_transfer", lambda w: {"certificateId": UNKNOWN_ID}, "ResourceNotFoundException",
        lambda w: f"Certificate {UNKNOWN_ID} does not exist",
    ),
    "get-effective-policies": Case(
        "get_effective_policies", lambda w: {"principal": UNKNOWN_CERT_ARN}, "ResourceNotFoundException",
        lambda w: f"Certificate {UNKNOWN_ID} does not exist",
    ),
    "get-policy": Case(
        "get_policy", lambda w: {"policyName": "nope"}, "ResourceNotFoundException",
        lambda w: "Policy nope does not exist",
    ),
    "delete-policy": Case(
        "delete_policy", lambda w: {"policyName": "nope"}, "ResourceNotFoundException",
        lambda w: "Policy nope does not exist",
    ),
    "attach-policy": Case(
        "attach_policy", lambda w: {"policyName": "nope", "target": arn(w.idle)}, "ResourceNotFoundException",
        lambda w: "Policy nope does not exist",
    ),
    "create-policy-version": Case(
        "create_policy_version", lambda w: {"policyName": "nope", "policyDocument": POLICY},
        "ResourceNotFoundException", lambda w: "Policy nope does not exist",
    ),
    "list-policy-versions": Case(
        "list_policy_versions", lambda w: {"policyName": "nope"}, "ResourceNotFoundException",
        lambda w: "Policy nope does not exist",
    ),
    "get-policy-version": Case(
        "get_policy_version", lambda w: {"policyName": "versioned", "policyVersionId": "9"},
        "ResourceNotFoundException", lambda w: "Policy versioned version 9 does not exist",
    ),
    "set-default-policy-version": Case(
        "set_default_policy_version", lambda w: {"policyName": "versioned", "policyVersionId": "9"},
        "ResourceNotFoundException", lambda w: "Policy versioned version 9 does not exist",
    ),
    "list-targets-for-policy": Case(
        "list_targets_for_policy", lambda w: {"policyName": "nope"}, "ResourceNotFoundException",
        lambda w: "Policy nope does not exist",
    ),
    "describe-ca-certificate": Case(
        "describe_ca_certificate", lambda w: {"certificateId": UNKNOWN_ID}, "ResourceNotFoundException",
        lambda w: f"CA certificate {UNKNOWN_ID} does not exist",
    ),
    "update-ca-certificate": Case(
        "update_ca_certificate", lambda w: {"certificateId": UNKNOWN_ID, "newStatus": "INACTIVE"},
        "ResourceNotFoundException", lambda w: f"CA certificate {UNKNOWN_ID} does not exist",
    ),
    "delete-ca-certificate": Case(
        "delete_ca_certificate", lambda w: {"certificateId": UNKNOWN_ID}, "ResourceNotFoundException",
        lambda w: f"CA certificate {UNKNOWN_ID} does not exist",
    ),
    # -- ResourceAlreadyExistsException 409: creating again with other properties ----------------------------
    "create-thing-other-attributes": Case(  # AWS's exact text
        "create_thing", lambda w: {"thingName": "holder", "attributePayload": {"attributes": {"site": "x"}}},
        "ResourceAlreadyExistsException",
        lambda w: "Thing holder already exists in account with different attributes",
    ),
    "create-thing-other-type": Case(
        "create_thing",
        lambda w: {"thingName": "holder", "thingTypeName": "kind",
                   "attributePayload": {"attributes": {"site": "seattle"}}},
        "ResourceAlreadyExistsException",
        lambda w: "Thing holder already exists in account with different attributes",
    ),
    "create-thing-type-other-properties": Case(
        "create_thing_type",
        lambda w: {"thingTypeName": "kind", "thingTypeProperties": {"thingTypeDescription": "other"}},
        "ResourceAlreadyExistsException",
        lambda w: "Thing Type kind already exists in current account with different properties",
    ),
    "create-thing-group-other-properties": Case(  # moto's text, which it says copies AWS
        "create_thing_group",
        lambda w: {"thingGroupName": "parent", "thingGroupProperties": {"thingGroupDescription": "other"}},
        "ResourceAlreadyExistsException",
        lambda w: "Thing Group parent already exists in current account with different properties",
    ),
    "create-thing-group-other-parent": Case(
        "create_thing_group", lambda w: {"thingGroupName": "child"}, "ResourceAlreadyExistsException",
        lambda w: "Thing Group child already exists in current account with different properties",
    ),
    "create-policy-again": Case(  # AWS's exact text; CreatePolicy is never idempotent
        "create_policy", lambda w: {"policyName": "attached", "policyDocument": POLICY},
        "ResourceAlreadyExistsException",
        lambda w: "Policy cannot be created - name already exists (name=attached)",
    ),
    "register-certificate-again": Case(
        "register_certificate_without_ca", lambda w: {"certificatePem": w.active["certificatePem"]},
        "ResourceAlreadyExistsException", lambda w: "The certificate is already provisioned or registered",
    ),
    # -- InvalidRequestException 400: the registry's refusals ------------------------------------------------
    "delete-thing-with-principals": Case(  # AWS's exact text
        "delete_thing", lambda w: {"thingName": "holder"}, "InvalidRequestException",
        lambda w: "Cannot delete. Thing holder is still attached to one or more principals",
    ),
    "create-thing-deprecated-type": Case(  # AWS's text, typo and all
        "create_thing", lambda w: {"thingName": "late", "thingTypeName": "old"}, "InvalidRequestException",
        lambda w: "Can not create new thing with depreated thing type:old",
    ),
    "delete-thing-type-not-deprecated": Case(
        "delete_thing_type", lambda w: {"thingTypeName": "kind"}, "InvalidRequestException",
        lambda w: "Cannot delete thing type : kind. Please deprecate the thing type before deletion",
    ),
    "delete-thing-type-too-soon": Case(  # AWS's exact text
        "delete_thing_type", lambda w: {"thingTypeName": "old"}, "InvalidRequestException",
        lambda w: "Cannot delete thing type : old. Please wait for 5 minutes after deprecation and then "
        "retry",
    ),
    "delete-thing-group-with-children": Case(  # AWS's exact text
        "delete_thing_group", lambda w: {"thingGroupName": "parent"}, "InvalidRequestException",
        lambda w: "Cannot delete thing group : parent when there are still child groups attached to it.",
    ),
    "add-thing-to-second-group-of-a-hierarchy": Case(
        "add_thing_to_thing_group", lambda w: {"thingGroupName": "parent", "thingName": "holder"},
        "InvalidRequestException",
        lambda w: "Cannot add thing holder to thing group parent: it already belongs to thing group child of "
        "the same hierarchy",
    ),
    "add-thing-to-group-without-names": Case(  # moto's text
        "add_thing_to_thing_group", lambda w: {"thingName": "holder"}, "InvalidRequestException",
        lambda w: "Both thingGroupArn and thingGroupName are empty. Need to specify at least one of them",
    ),
    "create-thing-too-many-attributes": Case(
        "create_thing",
        lambda w: {"thingName": "crowded", "attributePayload": {"attributes": {k: "1" for k in "abcd"}}},
        "InvalidRequestException",
        lambda w: "Thing crowded cannot have more than 3 attributes without a thing type (it would have 4)",
    ),
    "update-thing-type-and-remove-type": Case(
        "update_thing", lambda w: {"thingName": "holder", "thingTypeName": "kind", "removeThingType": True},
        "InvalidRequestException", lambda w: "Cannot specify both thingTypeName and removeThingType",
    ),
    "list-things-type-and-attribute": Case(  # AWS's exact text
        "list_things", lambda w: {"thingTypeName": "kind", "attributeName": "site"},
        "InvalidRequestException",
        lambda w: "Listing things by the combination of attribute and thing type is not supported",
    ),
    "list-things-bad-token": Case(
        "list_things", lambda w: {"nextToken": "!!!"}, "InvalidRequestException",
        lambda w: "The specified nextToken is not valid",
    ),
    "attach-thing-principal-not-a-principal": Case(
        "attach_thing_principal", lambda w: {"thingName": "holder", "principal": "garbage"},
        "InvalidRequestException",
        lambda w: "The principal garbage is not a certificate ARN or a Cognito identity id",
    ),
    "update-certificate-to-pending-transfer": Case(
        "update_certificate", lambda w: {"certificateId": cid(w.idle), "newStatus": "PENDING_TRANSFER"},
        "InvalidRequestException",
        lambda w: "A certificate's status cannot be set to PENDING_TRANSFER with UpdateCertificate",
    ),
    "accept-transfer-never-made": Case(
        "accept_certificate_transfer", lambda w: {"certificateId": cid(w.idle)}, "InvalidRequestException",
        lambda w: f"The certificate is not pending transfer. Id: {cid(w.idle)}",
    ),
    "reject-transfer-never-made": Case(
        "reject_certificate_transfer", lambda w: {"certificateId": cid(w.idle)}, "InvalidRequestException",
        lambda w: f"The certificate is not pending transfer. Id: {cid(w.idle)}",
    ),
    "transfer-to-own-account": Case(
        "transfer_certificate", lambda w: {"certificateId": cid(w.idle), "targetAwsAccount": ACCOUNT},
        "InvalidRequestException",
        lambda w: f"The certificate cannot be transferred to the account that owns it. Id: {cid(w.idle)}",
    ),
    "create-certificate-from-garbage-csr": Case(
        "create_certificate_from_csr", lambda w: {"certificateSigningRequest": "garbage"},
        "InvalidRequestException", lambda w: "The certificate signing request is not a valid PEM-encoded CSR",
    ),
    "describe-endpoint-unknown-type": Case(
        "describe_endpoint", lambda w: {"endpointType": "iot:Nonsense"}, "InvalidRequestException",
        lambda w: "Endpoint type iot:Nonsense is not valid.",
    ),
    # -- VersionConflictException 409 (moto's texts) ---------------------------------------------------------
    "update-thing-old-version": Case(
        "update_thing", lambda w: {"thingName": "holder", "expectedVersion": 7}, "VersionConflictException",
        lambda w: "The version for thing holder does not match the expected version.",
    ),
    "delete-thing-old-version": Case(
        "delete_thing", lambda w: {"thingName": "holder", "expectedVersion": 7}, "VersionConflictException",
        lambda w: "The version for thing holder does not match the expected version.",
    ),
    "update-thing-group-old-version": Case(
        "update_thing_group",
        lambda w: {"thingGroupName": "parent", "thingGroupProperties": {}, "expectedVersion": 7},
        "VersionConflictException",
        lambda w: "The version for thing group parent does not match the expected version.",
    ),
    "delete-thing-group-old-version": Case(
        "delete_thing_group", lambda w: {"thingGroupName": "child", "expectedVersion": 7},
        "VersionConflictException",
        lambda w: "The version for thing group child does not match the expected version.",
    ),
    # -- DeleteConflictException 409 -------------------------------------------------------------------------
    "delete-policy-attached": Case(  # AWS's exact text
        "delete_policy", lambda w: {"policyName": "attached"}, "DeleteConflictException",
        lambda w: "The policy cannot be deleted as the policy is attached to one or more principals "
        "(name=attached)",
    ),
    "delete-policy-with-versions": Case(  # AWS's exact text, "than than" included
        "delete_policy", lambda w: {"policyName": "versioned"}, "DeleteConflictException",
        lambda w: "The policy cannot be deleted as versions other than than default version exist",
    ),
    "delete-default-policy-version": Case(
        "delete_policy_version", lambda w: {"policyName": "versioned", "policyVersionId": "1"},
        "DeleteConflictException",
        lambda w: "Cannot delete the default version of a policy; delete the policy itself or make another "
        "version the default first",
    ),
    "delete-certificate-with-thing": Case(  # moto's text
        "delete_certificate", lambda w: {"certificateId": cid(w.with_thing)}, "DeleteConflictException",
        lambda w: f"Things must be detached before deletion (arn: {arn(w.with_thing)})",
    ),
    "delete-certificate-with-thing-forced": Case(  # forceDelete does not detach things
        "delete_certificate", lambda w: {"certificateId": cid(w.with_thing), "forceDelete": True},
        "DeleteConflictException",
        lambda w: f"Things must be detached before deletion (arn: {arn(w.with_thing)})",
    ),
    "delete-certificate-with-policy": Case(  # moto's text
        "delete_certificate", lambda w: {"certificateId": cid(w.with_policy)}, "DeleteConflictException",
        lambda w: f"Certificate policies must be detached before deletion (arn: {arn(w.with_policy)})",
    ),
    # -- CertificateStateException 406 -----------------------------------------------------------------------
    "delete-active-certificate": Case(  # AWS's exact text
        "delete_certificate", lambda w: {"certificateId": cid(w.active)}, "CertificateStateException",
        lambda w: f"Certificate must be deactivated (not ACTIVE) before deletion. Id: {cid(w.active)}",
    ),
    "transfer-active-certificate": Case(
        "transfer_certificate", lambda w: {"certificateId": cid(w.active), "targetAwsAccount": OTHER_ACCOUNT},
        "CertificateStateException",
        lambda w: f"Certificate must be deactivated (not ACTIVE) before transfer. Id: {cid(w.active)}",
    ),
    "transfer-revoked-certificate": Case(
        "transfer_certificate",
        lambda w: {"certificateId": cid(w.revoked), "targetAwsAccount": OTHER_ACCOUNT},
        "CertificateStateException",
        lambda w: f"A revoked certificate cannot be transferred. Id: {cid(w.revoked)}",
    ),
    "reactivate-revoked-certificate": Case(
        "update_certificate", lambda w: {"certificateId": cid(w.revoked), "newStatus": "ACTIVE"},
        "CertificateStateException",
        lambda w: f"The status of a revoked certificate cannot be changed. Id: {cid(w.revoked)}",
    ),
    "activate-certificate-pending-transfer": Case(
        "update_certificate", lambda w: {"certificateId": cid(w.pending), "newStatus": "ACTIVE"},
        "CertificateStateException",
        lambda w: "The certificate is pending transfer: accept, reject or cancel the transfer first. "
        f"Id: {cid(w.pending)}",
    ),
    "delete-active-ca": Case(
        "delete_ca_certificate", lambda w: {"certificateId": w.ca_id}, "CertificateStateException",
        lambda w: f"Certificate must be deactivated (not ACTIVE) before deletion. Id: {w.ca_id}",
    ),
    "register-certificate-of-unknown-ca": Case(  # AWS's exact text
        "register_certificate", lambda w: {"certificatePem": w.stranger_pem}, "CertificateStateException",
        lambda w: "No CA certificate exists for the given certificate",
    ),
    # -- the transfer conflicts ------------------------------------------------------------------------------
    "transfer-with-policy": Case(  # AWS's exact text (the model's documentation)
        "transfer_certificate",
        lambda w: {"certificateId": cid(w.with_policy), "targetAwsAccount": OTHER_ACCOUNT},
        "TransferConflictException",
        lambda w: "You can't transfer the certificate because authorization policies are still attached.",
    ),
    "transfer-again": Case(
        "transfer_certificate",
        lambda w: {"certificateId": cid(w.pending), "targetAwsAccount": OTHER_ACCOUNT},
        "TransferConflictException",
        lambda w: f"The certificate is already pending transfer. Id: {cid(w.pending)}",
    ),
    "cancel-rejected-transfer": Case(  # AWS's exact text (the model's documentation)
        "cancel_certificate_transfer", lambda w: {"certificateId": cid(w.rejected)},
        "TransferAlreadyCompletedException",
        lambda w: "You can't revert the certificate transfer because the transfer is already complete.",
    ),
    "accept-rejected-transfer": Case(
        "accept_certificate_transfer", lambda w: {"certificateId": cid(w.rejected)},
        "TransferAlreadyCompletedException",
        lambda w: "The certificate transfer cannot be accepted because it is already complete. "
        f"Id: {cid(w.rejected)}",
    ),
    "reject-rejected-transfer": Case(
        "reject_certificate_transfer", lambda w: {"certificateId": cid(w.rejected)},
        "TransferAlreadyCompletedException",
        lambda w: "The certificate transfer cannot be rejected because it is already complete. "
        f"Id: {cid(w.rejected)}",
    ),
    # -- policies --------------------------------------------------------------------------------------------
    "policy-version-limit": Case(  # AWS's exact text
        "create_policy_version", lambda w: {"policyName": "full", "policyDocument": POLICY},
        "VersionsLimitExceededException",
        lambda w: "The policy full already has the maximum number of versions (5)",
    ),
    "malformed-policy": Case(  # one of AWS's observed texts (which input gave it is not known)
        "create_policy", lambda w: {"policyName": "broken", "policyDocument": "{not json"},
        "MalformedPolicyException", lambda w: "Policy document is Malformed: Invalid policy syntax.",
    ),
    "garbage-certificate": Case(
        "register_certificate_without_ca", lambda w: {"certificatePem": "garbage"},
        "CertificateValidationException",
        lambda w: "The certificate is not a valid PEM-encoded X.509 certificate",
    ),
}  # fmt: skip


def test_each_error_shape_has_the_status_of_the_model(iot: Any) -> None:
    shapes = iot.meta.service_model.error_shapes
    by_name = {shape.name: shape.metadata["error"]["httpStatusCode"] for shape in shapes}
    assert {code: by_name[code] for code in STATUS} == STATUS


@pytest.mark.parametrize("name", sorted(CASES))
def test_boto3_raises_the_modeled_exception(name: str, iot: Any, world: World) -> None:
    case = CASES[name]
    with pytest.raises(getattr(iot.exceptions, case.code)) as caught:
        getattr(iot, case.operation)(**case.params(world))
    response = caught.value.response
    assert response["Error"]["Code"] == case.code
    assert response["ResponseMetadata"]["HTTPStatusCode"] == STATUS[case.code]
    assert response["ResponseMetadata"]["HTTPHeaders"]["x-amzn-errortype"].startswith(case.code)
    assert response["ResponseMetadata"]["RequestId"]
    assert response["Error"]["Message"] == case.message(world)


def test_already_exists_names_the_existing_resource(iot: Any, world: World) -> None:
    """ResourceAlreadyExistsException carries ``resourceId`` and ``resourceArn`` (the model's members)."""
    with pytest.raises(iot.exceptions.ResourceAlreadyExistsException) as caught:
        iot.register_certificate_without_ca(certificatePem=world.active["certificatePem"])
    assert caught.value.response["resourceId"] == cid(world.active)
    assert caught.value.response["resourceArn"] == arn(world.active)
    described = iot.describe_thing(thingName="holder")
    with pytest.raises(iot.exceptions.ResourceAlreadyExistsException) as caught:
        iot.create_thing(thingName="holder")
    assert caught.value.response["resourceId"] == described["thingId"]
    assert caught.value.response["resourceArn"] == described["thingArn"]


def test_creating_again_with_identical_arguments_succeeds_where_aws_is_idempotent(
    iot: Any, world: World
) -> None:
    """CreateThing, CreateThingType and CreateThingGroup answer with the existing resource when the
    arguments are the same [M doc; O for things]; CreatePolicy never does (see the case above)."""
    thing = iot.describe_thing(thingName="holder")
    again = iot.create_thing(thingName="holder", attributePayload={"attributes": {"site": "seattle"}})
    assert (again["thingId"], again["thingArn"]) == (thing["thingId"], thing["thingArn"])
    assert iot.describe_thing(thingName="holder")["version"] == thing["version"]

    kind = iot.describe_thing_type(thingTypeName="kind")
    again = iot.create_thing_type(thingTypeName="kind", thingTypeProperties={"thingTypeDescription": "bins"})
    assert again["thingTypeId"] == kind["thingTypeId"]

    child = iot.describe_thing_group(thingGroupName="child")
    again = iot.create_thing_group(thingGroupName="child", parentGroupName="parent")
    assert (again["thingGroupId"], again["thingGroupArn"]) == (child["thingGroupId"], child["thingGroupArn"])
    parent = iot.describe_thing_group(thingGroupName="parent")
    again = iot.create_thing_group(
        thingGroupName="parent", thingGroupProperties={"thingGroupDescription": "top"}
    )
    assert again["thingGroupId"] == parent["thingGroupId"]
    assert iot.describe_thing_group(thingGroupName="parent")["version"] == parent["version"]


def test_repeated_and_missing_targets_that_aws_answers_with_success(iot: Any, world: World) -> None:
    """DeleteThing of a missing thing succeeds [M doc]; DeleteThingGroup of a missing group too [moto, which
    says AWS does]; adding a member twice and removing a non-member are no-ops [moto]. Corral's choices
    where nothing documents AWS: attaching a thing principal or a policy twice succeeds without change."""
    iot.delete_thing(thingName="never-made")
    iot.delete_thing_group(thingGroupName="never-made")
    iot.add_thing_to_thing_group(thingGroupName="child", thingName="holder")
    iot.remove_thing_from_thing_group(thingGroupName="parent", thingName="holder")
    assert iot.list_thing_groups_for_thing(thingName="holder")["thingGroups"] == [
        {"groupName": "child", "groupArn": iot.describe_thing_group(thingGroupName="child")["thingGroupArn"]}
    ]
    iot.attach_thing_principal(thingName="holder", principal=arn(world.active))
    assert sorted(iot.list_thing_principals(thingName="holder")["principals"]) == sorted(
        [arn(world.active), arn(world.with_thing)]
    )
    iot.attach_policy(policyName="attached", target=arn(world.with_policy))
    assert iot.list_targets_for_policy(policyName="attached")["targets"] == [arn(world.with_policy)]


# -- validation: the model's constraints, checked by the server ----------------------------------------------

VALIDATION: dict[str, tuple[str, dict[str, Any], str]] = {
    "pattern": (
        "create_thing", {"thingName": "no spaces"},
        "1 validation error detected: Value 'no spaces' at 'thingName' failed to satisfy constraint: "
        "Member must satisfy regular expression pattern: [a-zA-Z0-9:_-]+",
    ),
    "length": (
        "describe_thing_group", {"thingGroupName": "g" * 129},
        f"1 validation error detected: Value '{'g' * 129}' at 'thingGroupName' failed to satisfy constraint: "
        "Member must have length less than or equal to 128",
    ),
    "range-high": (
        "list_things_in_thing_group", {"thingGroupName": "parent", "maxResults": 251},
        "1 validation error detected: Value '251' at 'maxResults' failed to satisfy constraint: "
        "Member must have value less than or equal to 250",
    ),
    "range-low": (
        "list_thing_groups_for_thing", {"thingName": "holder", "maxResults": 0},
        "1 validation error detected: Value '0' at 'maxResults' failed to satisfy constraint: "
        "Member must have value greater than or equal to 1",
    ),
    "required": (
        "update_thing_group", {"thingGroupName": "parent"},
        "1 validation error detected: Value null at 'thingGroupProperties' failed to satisfy constraint: "
        "Member must not be null",
    ),
    "enum": (
        "update_certificate", {"certificateId": UNKNOWN_ID, "newStatus": "BOGUS"},
        "1 validation error detected: Value 'BOGUS' at 'newStatus' failed to satisfy constraint: Member must "
        "satisfy enum value set: [ACTIVE, INACTIVE, REVOKED, PENDING_TRANSFER, REGISTER_INACTIVE, "
        "PENDING_ACTIVATION]",
    ),
    "certificate-id": (
        "accept_certificate_transfer", {"certificateId": "abc"},
        "1 validation error detected: Value 'abc' at 'certificateId' failed to satisfy constraint: "
        "Member must have length greater than or equal to 64",
    ),
    "account": (
        "transfer_certificate", {"certificateId": UNKNOWN_ID, "targetAwsAccount": "12345678901x"},
        "1 validation error detected: Value '12345678901x' at 'targetAwsAccount' failed to satisfy "
        "constraint: Member must satisfy regular expression pattern: [0-9]+",
    ),
    "two": (
        "update_thing_group",
        {"thingGroupName": "bad name",
         "thingGroupProperties": {"attributePayload": {"attributes": {"k": "v v"}}}},
        "2 validation errors detected: Value 'bad name' at 'thingGroupName' failed to satisfy constraint: "
        "Member must satisfy regular expression pattern: [a-zA-Z0-9:_-]+; Value '{k=v v}' at "
        "'thingGroupProperties.attributePayload.attributes' failed to satisfy constraint: Map value must "
        "satisfy constraint: [Member must have length less than or equal to 800, Member must satisfy regular "
        "expression pattern: [a-zA-Z0-9_.,@/:#=\\[\\]-]*]",
    ),
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(VALIDATION))
def test_constraint_violations_answer_with_aws_validation_messages(name: str, unchecked_iot: Any) -> None:
    """The general form is AWS's (docs/control-plane-facts.md §0); botocore's own validation is off so that
    the server, not the client, is what refuses."""
    operation, params, message = VALIDATION[name]
    with pytest.raises(unchecked_iot.exceptions.InvalidRequestException) as caught:
        getattr(unchecked_iot, operation)(**params)
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert caught.value.response["Error"]["Message"] == message


# -- the same errors through the aws CLI ---------------------------------------------------------------------

CLI_CASES = [  # one per error code, as the CLI costs a second a call
    "list-things-in-unknown-group", "create-thing-other-attributes", "delete-thing-group-with-children",
    "update-thing-group-old-version", "delete-certificate-with-thing", "delete-active-certificate",
    "transfer-with-policy", "accept-rejected-transfer",
]  # fmt: skip


def cli_args(case: Case, world: World) -> list[str]:
    """The aws CLI's spelling of a case: ``--kebab-name value``, booleans as flags, structures as JSON."""
    args = [case.operation.replace("_", "-")]
    for name, value in case.params(world).items():
        option = "--" + "".join(f"-{c.lower()}" if c.isupper() else c for c in name)
        if value is True:
            args.append(option)
        else:
            args += [option, value if isinstance(value, str) else json.dumps(value)]
    return args


@pytest.fixture(scope="module")
def cli_env(server: RunningServer) -> dict[str, str]:
    return aws_environment(server)


@pytest.mark.parametrize("name", CLI_CASES)
def test_the_aws_cli_reports_the_error(name: str, world: World, cli_env: dict[str, str]) -> None:
    case = CASES[name]
    operation = "".join(part.capitalize() for part in case.operation.split("_"))
    result = run_aws(cli_env, "iot", *cli_args(case, world))
    assert result.returncode == 255, result.stderr  # aws CLI v1: a service error
    expected = (
        f"An error occurred ({case.code}) when calling the {operation} operation: {case.message(world)}"
    )
    assert result.stderr.strip() == expected
