"""The registry's AWS behaviours added with migration 0003, through a real `corral serve` on SQLite and
PostgreSQL, driven by boto3 and the real aws CLI: policy version ids never given twice, UpdateThingType and
thing types' MQTT 5 configuration, DescribeEventConfigurations' dates, and CreateCertificateFromCsr keeping
the CSR's whole subject."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import botocore.exceptions
import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID, ExtensionOID

from tests.aws_cli import aws
from tests.harness import RunningServer
from tests.registry.e2e_support import cli_json, profile_iot


@pytest.fixture
def server(server_factory: Callable[..., RunningServer], database_url: str | None) -> RunningServer:
    extra = ("--database-url", database_url) if database_url else ()
    return server_factory(extra_args=extra)


@pytest.fixture
def iot(server: RunningServer, monkeypatch: pytest.MonkeyPatch) -> Any:
    return profile_iot(server, monkeypatch)


def error_code(call: Callable[[], object]) -> tuple[str, str]:
    with pytest.raises(botocore.exceptions.ClientError) as info:
        call()
    error = info.value.response["Error"]
    return error["Code"], error["Message"]


def policy(topic: str) -> str:
    resource = f"arn:aws:iot:us-east-1:000000000000:topic/{topic}"
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "iot:Publish", "Resource": resource}],
        }
    )


def test_policy_version_ids_are_never_given_twice(server: RunningServer, iot: Any) -> None:
    iot.create_policy(policyName="p", policyDocument=policy("v1"))
    assert iot.create_policy_version(policyName="p", policyDocument=policy("v2"))["policyVersionId"] == "2"
    iot.delete_policy_version(policyName="p", policyVersionId="2")
    # The aws CLI sees the next id after the deleted newest one.
    created = cli_json(server, "create-policy-version", "--policy-name", "p",
                       "--policy-document", policy("v3"), "--set-as-default")  # fmt: skip
    assert (created["policyVersionId"], created["isDefaultVersion"]) == ("3", True)
    versions = iot.list_policy_versions(policyName="p")["policyVersions"]
    assert [(v["versionId"], v["isDefaultVersion"]) for v in versions] == [("3", True), ("1", False)]
    assert error_code(lambda: iot.get_policy_version(policyName="p", policyVersionId="2"))[0] == (
        "ResourceNotFoundException"
    )
    assert iot.get_policy(policyName="p")["defaultVersionId"] == "3"


def test_update_thing_type_with_propagating_attributes(server: RunningServer, iot: Any) -> None:
    mqtt5 = {
        "propagatingAttributes": [
            {"userPropertyKey": "serial", "thingAttribute": "serialNumber"},
            {"userPropertyKey": "iot:ClientId", "connectionAttribute": "iot:ClientId"},
        ]
    }
    iot.create_thing_type(
        thingTypeName="Sensor",
        thingTypeProperties={"thingTypeDescription": "a sensor", "mqtt5Configuration": mqtt5},
    )
    described = iot.describe_thing_type(thingTypeName="Sensor")
    assert described["thingTypeProperties"]["mqtt5Configuration"] == mqtt5
    # The aws CLI's update-thing-type replaces the configuration.
    swapped = {
        "propagatingAttributes": [{"userPropertyKey": "thing", "connectionAttribute": "iot:Thing.ThingName"}]
    }
    assert cli_json(server, "update-thing-type", "--thing-type-name", "Sensor", "--thing-type-properties",
                    json.dumps({"mqtt5Configuration": swapped})) is None  # fmt: skip
    described = cli_json(server, "describe-thing-type", "--thing-type-name", "Sensor")
    assert described["thingTypeProperties"] == {
        "thingTypeDescription": "a sensor",
        "searchableAttributes": [],
        "mqtt5Configuration": swapped,
    }
    listed = iot.list_thing_types()["thingTypes"]
    assert [t["thingTypeProperties"].get("mqtt5Configuration") for t in listed] == [swapped]
    # AWS's refusal, as the aws CLI reported it in aws-cli#9884.
    refused = aws(server, "iot", "update-thing-type", "--thing-type-name", "Sensor",
                  "--thing-type-properties", "searchableAttributes=product,environment")  # fmt: skip
    assert refused.returncode != 0
    assert (
        "An error occurred (InvalidRequestException) when calling the UpdateThingType operation: "
        "Can only update mqtt5Configuration." in refused.stderr
    )
    code, _ = error_code(
        lambda: iot.update_thing_type(
            thingTypeName="Sensor",
            thingTypeProperties={
                "mqtt5Configuration": {
                    "propagatingAttributes": [{"userPropertyKey": "k", "connectionAttribute": "iot:SourceIp"}]
                }
            },
        )
    )
    assert code == "InvalidRequestException"
    code, _ = error_code(
        lambda: iot.update_thing_type(thingTypeName="Nope", thingTypeProperties={"mqtt5Configuration": mqtt5})
    )
    assert code == "ResourceNotFoundException"
    iot.update_thing_type(
        thingTypeName="Sensor", thingTypeProperties={"mqtt5Configuration": {"propagatingAttributes": []}}
    )
    assert "mqtt5Configuration" not in iot.describe_thing_type(thingTypeName="Sensor")["thingTypeProperties"]


def test_event_configuration_dates(iot: Any) -> None:
    before = datetime.now(UTC).replace(microsecond=0)
    iot.update_event_configurations(eventConfigurations={"THING": {"Enabled": True}})
    first = iot.describe_event_configurations()
    assert first["eventConfigurations"]["THING"] == {"Enabled": True}
    assert len(first["eventConfigurations"]) == 11
    assert isinstance(first["creationDate"], datetime) and isinstance(first["lastModifiedDate"], datetime)
    assert before <= first["creationDate"] <= first["lastModifiedDate"] <= datetime.now(UTC)
    iot.update_event_configurations(
        eventConfigurations={"POLICY": {"Enabled": True}, "THING": {"Enabled": False}}
    )
    later = iot.describe_event_configurations()
    assert later["creationDate"] == first["creationDate"]
    assert later["lastModifiedDate"] >= first["lastModifiedDate"]
    assert {t for t, c in later["eventConfigurations"].items() if c["Enabled"]} == {"POLICY"}


def test_certificate_from_csr_keeps_the_subject(server: RunningServer, tmp_path: Path) -> None:
    key, csr_file = tmp_path / "device.key", tmp_path / "device.csr"
    subprocess.run(
        ["openssl", "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
         "-keyout", str(key), "-out", str(csr_file),
         "-subj", "/C=US/ST=Washington/L=Seattle/O=Acme Inc./OU=Fleet/serialNumber=SN-7/CN=sensor-7",
         "-addext", "subjectAltName=DNS:sensor-7.example"],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    csr = x509.load_pem_x509_csr(csr_file.read_bytes())
    out = cli_json(server, "create-certificate-from-csr", "--certificate-signing-request", f"file://{csr_file}",
                   "--set-as-active")  # fmt: skip
    cert = x509.load_pem_x509_certificate(out["certificatePem"].encode())
    assert cert.subject == csr.subject
    assert cert.subject.public_bytes() == csr.subject.public_bytes()
    assert cert.public_key() == csr.public_key()
    assert ExtensionOID.SUBJECT_ALTERNATIVE_NAME not in {ext.oid for ext in cert.extensions}
    assert cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value == x509.ExtendedKeyUsage(
        [ExtendedKeyUsageOID.CLIENT_AUTH]
    )
    # openssl agrees: the issued certificate names the same subject, and chains to Corral's root CA.
    pem_file = tmp_path / "device.crt"
    pem_file.write_text(out["certificatePem"])
    printed = subprocess.run(
        ["openssl", "x509", "-in", str(pem_file), "-noout", "-subject", "-nameopt", "RFC2253"],
        check=True, capture_output=True, text=True, timeout=60,
    ).stdout  # fmt: skip
    assert printed.strip() == (
        "subject=CN=sensor-7,serialNumber=SN-7,OU=Fleet,O=Acme Inc.,L=Seattle,ST=Washington,C=US"
    )
    verified = subprocess.run(
        ["openssl", "verify", "-purpose", "sslclient", "-CAfile", server.endpoints["ca_file"], str(pem_file)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert verified.returncode == 0, verified.stdout + verified.stderr
    described = cli_json(server, "describe-certificate", "--certificate-id", out["certificateId"])
    assert described["certificateDescription"]["status"] == "ACTIVE"
