from __future__ import annotations

import hashlib
import re
from collections.abc import Coroutine
from typing import Any, cast

import botocore.session
import orjson
import pytest

from corral.auth.ca import CorralPKI
from corral.registry.cas import CACertificates, register_just_in_time
from corral.registry.certificates import Certificates
from corral.registry.context import RegistryContext
from corral.registry.errors import (
    CertificateState,
    CertificateValidation,
    InvalidRequest,
    LimitExceeded,
    RegistrationCodeValidation,
    ResourceAlreadyExists,
    ResourceNotFound,
)
from corral.registry.policies import Policies
from corral.registry.service import RegistryService
from corral.registry.tags import Tags
from corral.store.engine import Store
from tests.registry.conftest import ACCOUNT, REGION, Recorder
from tests.registry.pki_support import corral_pki, make_ca, make_leaf, new_key, register_ca
from tests.registry.thing_support import expect_error, kinds

CONFIG = {"templateBody": '{"Resources": {}}', "roleArn": "arn:aws:iam::123456789012:role/jitp"}


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> CorralPKI:
    return corral_pki(tmp_path_factory)


@pytest.fixture
def cas(registry_context: RegistryContext) -> CACertificates:
    return CACertificates(registry_context)


async def test_registration_code(cas: CACertificates) -> None:
    code = (await cas.get_registration_code({}))["registrationCode"]
    assert re.fullmatch(r"[0-9a-f]{64}", code)
    assert (await cas.get_registration_code({}))["registrationCode"] == code
    await cas.delete_registration_code({})
    renewed = (await cas.get_registration_code({}))["registrationCode"]
    assert renewed != code
    assert (await cas.get_registration_code({}))["registrationCode"] == renewed


async def test_register_describe_list_ca(
    registry_context: RegistryContext, cas: CACertificates, recorder: Recorder
) -> None:
    ca = make_ca("Fleet CA")
    code = (await cas.get_registration_code({}))["registrationCode"]
    out = await cas.register_ca_certificate(
        {
            "caCertificate": ca.pem,
            "verificationCertificate": make_leaf(ca, code).pem,
            "registrationConfig": {**CONFIG, "templateName": "fleet"},
            "tags": [{"Key": "team", "Value": "ops"}],
        }
    )
    ca_id = hashlib.sha256(ca.der).hexdigest()
    assert out == {"certificateArn": f"arn:aws:iot:{REGION}:{ACCOUNT}:cacert/{ca_id}", "certificateId": ca_id}
    described = await cas.describe_ca_certificate({"certificateId": ca_id})
    description = described["certificateDescription"]
    assert (description["status"], description["autoRegistrationStatus"]) == ("INACTIVE", "DISABLE")
    assert (description["certificateMode"], description["ownedBy"]) == ("DEFAULT", ACCOUNT)
    assert description["certificatePem"] == ca.pem
    assert description["customerVersion"] == 1
    assert description["validity"]["notAfter"] == ca.cert.not_valid_after_utc
    assert description["creationDate"].tzinfo is not None
    assert described["registrationConfig"] == {**CONFIG, "templateName": "fleet"}
    tags = await Tags(registry_context).list_tags_for_resource({"resourceArn": out["certificateArn"]})
    assert tags["tags"] == [{"Key": "team", "Value": "ops"}]
    assert kinds(recorder) == [("ca_certificate", ca_id)]

    error = await expect_error(
        register_ca(cas, ca), ResourceAlreadyExists, "The CA certificate is already registered"
    )
    assert error.extra["resourceId"] == ca_id
    active_id = await register_ca(cas, make_ca("Second CA"), active=True, auto=True)
    sni = await cas.register_ca_certificate(
        {"caCertificate": make_ca("SNI CA").pem, "certificateMode": "SNI_ONLY"}
    )
    description = (await cas.describe_ca_certificate({"certificateId": sni["certificateId"]}))[
        "certificateDescription"
    ]
    assert description["certificateMode"] == "SNI_ONLY"
    active = (await cas.describe_ca_certificate({"certificateId": active_id}))["certificateDescription"]
    assert (active["status"], active["autoRegistrationStatus"]) == ("ACTIVE", "ENABLE")

    listed = await cas.list_ca_certificates({"ascendingOrder": True})
    assert [item["certificateId"] for item in listed["certificates"]] == [
        ca_id,
        active_id,
        sni["certificateId"],
    ]
    assert set(listed["certificates"][0]) == {"certificateArn", "certificateId", "status", "creationDate"}
    first = await cas.list_ca_certificates({"pageSize": 2})
    assert [item["certificateId"] for item in first["certificates"]] == [sni["certificateId"], active_id]
    rest = await cas.list_ca_certificates({"pageSize": 2, "marker": first["nextMarker"]})
    assert [item["certificateId"] for item in rest["certificates"]] == [ca_id]
    assert "nextMarker" not in rest
    by_template = await cas.list_ca_certificates({"templateName": "fleet"})
    assert [item["certificateId"] for item in by_template["certificates"]] == [ca_id]
    await expect_error(cas.describe_ca_certificate({"certificateId": "ab" * 32}), ResourceNotFound)


async def test_register_ca_refusals(cas: CACertificates, registry_context: RegistryContext) -> None:
    ca = make_ca("Fleet CA")
    await expect_error(
        cas.register_ca_certificate(
            {"caCertificate": ca.pem, "verificationCertificate": make_leaf(ca, "x").pem}
        ),
        ResourceNotFound,
    )  # the account has no registration code yet
    code = (await cas.get_registration_code({}))["registrationCode"]

    def register(
        ca_pem: str, verification_pem: str | None = None, **params: object
    ) -> Coroutine[Any, Any, dict[str, Any]]:
        request: dict[str, object] = {"caCertificate": ca_pem, **params}
        if verification_pem is not None:
            request["verificationCertificate"] = verification_pem
        return cas.register_ca_certificate(request)

    await expect_error(register(ca.pem, make_leaf(ca, "not-the-code").pem), RegistrationCodeValidation)
    other = make_ca("Other CA")
    await expect_error(register(ca.pem, make_leaf(other, code).pem), CertificateValidation)
    await expect_error(register(make_leaf(ca, "leaf").pem, make_leaf(ca, code).pem), CertificateValidation)
    await expect_error(
        register(make_ca(expired=True).pem, None, certificateMode="SNI_ONLY"), CertificateValidation
    )
    await expect_error(register("not a pem", make_leaf(ca, code).pem), CertificateValidation)
    await expect_error(register(ca.pem), InvalidRequest)
    await expect_error(register(ca.pem, make_leaf(ca, code).pem, certificateMode="SNI_ONLY"), InvalidRequest)
    assert (await cas.list_ca_certificates({}))["certificates"] == []

    # At most 10 CAs with one subject (each with its own key).
    for _ in range(10):
        await register(make_ca("Same Subject", key=new_key()).pem, None, certificateMode="SNI_ONLY")
    await expect_error(
        register(make_ca("Same Subject").pem, None, certificateMode="SNI_ONLY"),
        LimitExceeded,
        "You can register up to 10 CA certificates with the same subject field",
    )


async def test_default_mode_ca_belongs_to_one_account(
    registry_context: RegistryContext, cas: CACertificates
) -> None:
    ca = make_ca("Shared CA")
    await register_ca(cas, ca)
    other = CACertificates(
        RegistryContext(store=registry_context.store, account_id="210987654321", region=REGION)
    )
    await expect_error(register_ca(other, ca), ResourceAlreadyExists)
    shared = await other.register_ca_certificate({"caCertificate": ca.pem, "certificateMode": "SNI_ONLY"})
    assert shared["certificateArn"].startswith("arn:aws:iot:us-east-1:210987654321:cacert/")


async def test_update_and_delete_ca(
    registry_context: RegistryContext, cas: CACertificates, recorder: Recorder
) -> None:
    ca_id = await register_ca(cas, make_ca(), active=True, registrationConfig=CONFIG)

    async def description() -> dict[str, object]:
        found: dict[str, object] = (await cas.describe_ca_certificate({"certificateId": ca_id}))[
            "certificateDescription"
        ]
        return found

    await cas.update_ca_certificate({"certificateId": ca_id, "newAutoRegistrationStatus": "ENABLE"})
    assert (await description())["autoRegistrationStatus"] == "ENABLE"
    assert (await description())["customerVersion"] == 2
    await cas.update_ca_certificate({"certificateId": ca_id, "newAutoRegistrationStatus": "ENABLE"})  # no-op
    assert (await description())["customerVersion"] == 2
    new_config = {"templateBody": "{}", "templateName": "t2"}
    await cas.update_ca_certificate({"certificateId": ca_id, "registrationConfig": new_config})
    assert (await cas.describe_ca_certificate({"certificateId": ca_id}))["registrationConfig"] == new_config
    await expect_error(
        cas.update_ca_certificate(
            {"certificateId": ca_id, "removeAutoRegistration": True, "newAutoRegistrationStatus": "ENABLE"}
        ),
        InvalidRequest,
    )
    await cas.update_ca_certificate({"certificateId": ca_id, "removeAutoRegistration": True})
    described = await cas.describe_ca_certificate({"certificateId": ca_id})
    assert described["certificateDescription"]["autoRegistrationStatus"] == "DISABLE"
    assert "registrationConfig" not in described
    await expect_error(
        cas.update_ca_certificate({"certificateId": ca_id, "newStatus": "REVOKED"}), InvalidRequest
    )
    await expect_error(
        cas.update_ca_certificate({"certificateId": "0" * 64, "newStatus": "ACTIVE"}), ResourceNotFound
    )

    await expect_error(
        cas.delete_ca_certificate({"certificateId": ca_id}),
        CertificateState,
        f"Certificate must be deactivated (not ACTIVE) before deletion. Id: {ca_id}",
    )
    await cas.update_ca_certificate({"certificateId": ca_id, "newStatus": "INACTIVE"})
    recorder.changes.clear()
    await cas.delete_ca_certificate({"certificateId": ca_id})
    assert kinds(recorder) == [("ca_certificate", ca_id)]
    await expect_error(cas.describe_ca_certificate({"certificateId": ca_id}), ResourceNotFound)
    await expect_error(cas.delete_ca_certificate({"certificateId": ca_id}), ResourceNotFound)


async def test_just_in_time_registration(
    registry_context: RegistryContext, cas: CACertificates, recorder: Recorder, pki: CorralPKI
) -> None:
    assert registry_context.enabled_events == set()  # the JITR message is sent whatever the configuration
    ca = make_ca("JITR CA")
    ca_id = await register_ca(cas, ca, active=True, auto=True)
    device = make_leaf(ca, "dev-1")
    cert_id = hashlib.sha256(device.der).hexdigest()
    recorder.changes.clear()

    first = await register_just_in_time(registry_context, device.der, ca_id, source_ip="203.0.113.9")
    assert first is not None
    assert (first.certificate_id, first.status, first.registered) == (cert_id, "PENDING_ACTIVATION", True)
    assert first.certificate_arn == registry_context.arn(f"cert/{cert_id}")
    assert kinds(recorder) == [("certificate", cert_id)]
    [(topic, payload)] = recorder.events
    assert topic == f"$aws/events/certificates/registered/{ca_id}"
    message = orjson.loads(payload)
    assert isinstance(message.pop("timestamp"), int)
    assert message == {
        "certificateId": cert_id,
        "caCertificateId": ca_id,
        "certificateStatus": "PENDING_ACTIVATION",
        "awsAccountId": ACCOUNT,
        "certificateRegistrationTimestamp": None,
        "sourceIp": "203.0.113.9",
    }
    certs = Certificates(registry_context, pki)
    description = (await certs.describe_certificate({"certificateId": cert_id}))["certificateDescription"]
    assert (description["status"], description["caCertificateId"]) == ("PENDING_ACTIVATION", ca_id)

    # Presenting it again while pending announces it again; once active, silence.
    again = await register_just_in_time(registry_context, device.der, ca_id)
    assert again is not None and (again.status, again.registered) == ("PENDING_ACTIVATION", False)
    assert len(recorder.events) == 2 and "sourceIp" not in orjson.loads(recorder.events[1][1])
    await certs.update_certificate({"certificateId": cert_id, "newStatus": "ACTIVE"})
    active = await register_just_in_time(registry_context, device.der, ca_id)
    assert active is not None and active.status == "ACTIVE"
    assert len(recorder.events) == 2

    # No JITR: a certificate of another CA, a garbled one, an unknown CA, auto-registration off, CA inactive.
    assert await register_just_in_time(registry_context, make_leaf(make_ca("JITR CA")).der, ca_id) is None
    assert await register_just_in_time(registry_context, b"\x30\x03garbage", ca_id) is None
    assert await register_just_in_time(registry_context, make_leaf(ca).der, "0" * 64) is None
    assert await register_just_in_time(registry_context, make_leaf(ca, expired=True).der, ca_id) is None
    await cas.update_ca_certificate({"certificateId": ca_id, "newAutoRegistrationStatus": "DISABLE"})
    assert await register_just_in_time(registry_context, make_leaf(ca).der, ca_id) is None
    await cas.update_ca_certificate(
        {"certificateId": ca_id, "newAutoRegistrationStatus": "ENABLE", "newStatus": "INACTIVE"}
    )
    assert await register_just_in_time(registry_context, make_leaf(ca).der, ca_id) is None
    assert len(recorder.events) == 2
    listed = await certs.list_certificates_by_ca({"caCertificateId": ca_id})
    assert [item["certificateId"] for item in listed["certificates"]] == [cert_id]


async def test_just_in_time_registration_is_per_account_and_idempotent(
    registry_context: RegistryContext, cas: CACertificates
) -> None:
    ca = make_ca("JITR CA")
    ca_id = await register_ca(cas, ca, active=True, auto=True)
    device = make_leaf(ca)
    elsewhere = RegistryContext(store=registry_context.store, account_id="210987654321", region=REGION)
    assert await register_just_in_time(elsewhere, device.der, ca_id) is None  # the CA is not registered there
    results = [await register_just_in_time(registry_context, device.der, ca_id) for _ in range(2)]
    assert [r.registered for r in results if r is not None] == [True, False]


def test_every_operation_is_dispatched_by_its_aws_name() -> None:
    """The three security parts answer exactly these operations, found from AWS's operation names (acronyms
    such as CA are one word: DeleteCACertificate is ``delete_ca_certificate``)."""
    context = RegistryContext(store=cast(Store, None), account_id=ACCOUNT, region=REGION)
    pki = cast(CorralPKI, None)
    service = RegistryService(
        context, [Certificates(context, pki), CACertificates(context), Policies(context)]
    )
    model = botocore.session.get_session().get_service_model("iot")
    expected = [
        "CreateKeysAndCertificate",
        "CreateCertificateFromCsr",
        "RegisterCertificate",
        "RegisterCertificateWithoutCA",
        "UpdateCertificate",
        "DescribeCertificate",
        "ListCertificates",
        "ListCertificatesByCA",
        "DeleteCertificate",
        "TransferCertificate",
        "AcceptCertificateTransfer",
        "RejectCertificateTransfer",
        "CancelCertificateTransfer",
        "GetRegistrationCode",
        "DeleteRegistrationCode",
        "RegisterCACertificate",
        "UpdateCACertificate",
        "DescribeCACertificate",
        "ListCACertificates",
        "DeleteCACertificate",
        "CreatePolicy",
        "GetPolicy",
        "ListPolicies",
        "DeletePolicy",
        "CreatePolicyVersion",
        "GetPolicyVersion",
        "ListPolicyVersions",
        "SetDefaultPolicyVersion",
        "DeletePolicyVersion",
        "AttachPolicy",
        "DetachPolicy",
        "ListAttachedPolicies",
        "ListTargetsForPolicy",
        "GetEffectivePolicies",
        "AttachPrincipalPolicy",
        "DetachPrincipalPolicy",
        "ListPrincipalPolicies",
        "ListPolicyPrincipals",
    ]
    assert set(expected) <= set(model.operation_names)
    assert all(service.handler(name) is not None for name in expected)
    assert len(service.operations) == len(expected)
