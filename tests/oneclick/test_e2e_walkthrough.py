"""The 1-Click guide's "Using AWS IoT 1-Click with the AWS CLI" walkthrough against a real ``corral serve``:
today's aws CLI with the two models ``corral aws-models install`` fetched (into a temporary AWS_DATA_PATH, so
the user's home is untouched), ``corral oneclick manufacture`` making G030PM0123456789, and ``corral button
press`` doing the presses. Outputs are compared with the walkthrough's field by field; ARNs carry Corral's
account and region, dates and event times are Corral's own."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.aws_cli import corral_env
from tests.harness import RunningServer, make_server, serving
from tests.oneclick.e2e_support import CLI, corral, install_models

DEVICE = "G030PM0123456789"


@pytest.fixture(scope="module")
def data_path(tmp_path_factory: pytest.TempPathFactory) -> str:
    """``corral aws-models install --print-data-path``: botocore 1.35.93's two models, fetched with pip."""
    out = install_models(tmp_path_factory.mktemp("aws-models"))
    assert Path(out, "iot1click-devices", "2018-05-14", "service-2.json").is_file()
    assert Path(out, "iot1click-projects", "2018-05-14", "service-2.json").is_file()
    return out


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    yield from serving(make_server(tmp_path_factory.mktemp("oneclick")))


def walkthrough_cli(server: RunningServer, data_path: str, workdir: Path) -> CLI:
    """The aws CLI with the 1-Click services' own endpoint variables only: they must do without
    AWS_ENDPOINT_URL."""
    exports = corral_env(server)
    assert exports["AWS_ENDPOINT_URL_IOT1CLICK_DEVICES"] == exports["AWS_ENDPOINT_URL"]
    assert exports["AWS_ENDPOINT_URL_IOT1CLICK_PROJECTS"] == exports["AWS_ENDPOINT_URL"]
    return CLI(server, data_path, workdir, env={"AWS_ENDPOINT_URL": None})


def write(folder: Path, name: str, text: str) -> None:
    (folder / name).write_text(text)


def test_the_walkthrough(server: RunningServer, data_path: str, tmp_path: Path) -> None:
    aws = walkthrough_cli(server, data_path, tmp_path)
    region, account = server.endpoints["region"], server.endpoints["account_id"]
    project_arn = f"arn:aws:iot1click:{region}:{account}:projects/SeattleDumpsters"
    device_arn = f"arn:aws:iot1click:{region}:{account}:devices/{DEVICE}"

    made = json.loads(
        corral(
            "oneclick",
            "manufacture",
            "--product",
            "enterprise-button",
            "--device-id",
            DEVICE,
            "--data-dir",
            str(server.data_dir),
        ).stdout
    )
    [device] = made
    assert (device["deviceId"], device["deviceType"], device["ratedLife"]) == (DEVICE, "button", 2000)
    certificate_id = device["certificateId"]
    assert aws.run("iot1click-devices", "help").returncode in (0, 255)  # help needs groff/less here

    assert aws("iot1click-devices", "initiate-device-claim", "--device-id", DEVICE) == {
        "State": "CLAIM_INITIATED"
    }
    aws.press(DEVICE)  # solid green
    assert aws("iot1click-devices", "finalize-device-claim", "--device-id", DEVICE) == {"State": "CLAIMED"}

    write(
        tmp_path,
        "create-project.json",
        """{
      "projectName": "SeattleDumpsters",
      "description": "All dumpsters in the Seattle region.",
      "placementTemplate": {
         "defaultAttributes": {
            "City" : "Seattle"
         },
         "deviceTemplates": {
            "empty-dumpster-request" : {
               "deviceType": "button"
            }
         }
      }
   }""",
    )
    assert (
        aws("iot1click-projects", "create-project", "--cli-input-json", "file://create-project.json") is None
    )
    [listed] = aws("iot1click-projects", "list-projects")["projects"]
    created = listed["createdDate"]
    assert isinstance(created, int) and listed["updatedDate"] == created
    assert listed == {
        "arn": project_arn,
        "projectName": "SeattleDumpsters",
        "createdDate": created,
        "updatedDate": created,
        "tags": {},
    }
    template = {
        "defaultAttributes": {"City": "Seattle"},
        "deviceTemplates": {"empty-dumpster-request": {"deviceType": "button", "callbackOverrides": {}}},
    }
    project = {
        "arn": project_arn,
        "projectName": "SeattleDumpsters",
        "description": "All dumpsters in the Seattle region.",
        "createdDate": created,
        "updatedDate": created,
        "placementTemplate": template,
        "tags": {},
    }
    assert aws("iot1click-projects", "describe-project", "--project-name", "SeattleDumpsters") == {
        "project": project
    }

    aws(
        "iot1click-projects",
        "create-placement",
        "--project-name",
        "SeattleDumpsters",
        "--placement-name",
        "customer217",
        "--attributes",
        '{"location": "1800 9th Ave Seattle, WA 98101", "phone": "206-123-4567"}',
    )
    [summary] = aws("iot1click-projects", "list-placements", "--project-name", "SeattleDumpsters")[
        "placements"
    ]
    placed = summary["createdDate"]
    assert summary == {
        "projectName": "SeattleDumpsters",
        "placementName": "customer217",
        "createdDate": placed,
        "updatedDate": placed,
    }
    placement_args = ("--project-name", "SeattleDumpsters", "--placement-name", "customer217")
    placement = {
        "projectName": "SeattleDumpsters",
        "placementName": "customer217",
        "attributes": {"phone": "206-123-4567", "location": "1800 9th Ave Seattle, WA 98101"},
        "createdDate": placed,
        "updatedDate": placed,
    }
    assert aws("iot1click-projects", "describe-placement", *placement_args) == {"placement": placement}
    assert aws("iot1click-projects", "get-devices-in-placement", *placement_args) == {"devices": {}}
    aws(
        "iot1click-projects",
        "associate-device-with-placement",
        *placement_args,
        "--device-template-name",
        "empty-dumpster-request",
        "--device-id",
        DEVICE,
    )
    assert aws("iot1click-projects", "get-devices-in-placement", *placement_args) == {
        "devices": {"empty-dumpster-request": DEVICE}
    }

    aws.press(DEVICE, "single")  # the walkthrough's device had two clicks before describe-device: 99.9
    attributes = {
        "projectRegion": region,
        "projectName": "SeattleDumpsters",
        "placementName": "customer217",
        "deviceTemplateName": "empty-dumpster-request",
    }
    description = {
        "Arn": device_arn,
        "Attributes": attributes,
        "DeviceId": DEVICE,
        "Enabled": False,
        "RemainingLife": 99.9,
        "Type": "button",
        "Tags": {},
    }
    assert aws("iot1click-devices", "describe-device", "--device-id", DEVICE) == {
        "DeviceDescription": description
    }
    assert aws("iot1click-devices", "list-devices", "--device-type", "button") == {"Devices": [description]}

    start = datetime.now(UTC) - timedelta(seconds=1)
    window = (
        "--from-time-stamp",
        start.isoformat(),
        "--to-time-stamp",
        (start + timedelta(hours=1)).isoformat(),
    )
    aws.press(DEVICE, "single")
    events = aws("iot1click-devices", "list-device-events", "--device-id", DEVICE, *window)["Events"]
    aws.press(DEVICE, "double")
    events = aws("iot1click-devices", "list-device-events", "--device-id", DEVICE, *window)["Events"]
    assert [e["Device"] for e in events] == [{"Attributes": {}, "DeviceId": DEVICE, "Type": "button"}] * 2
    std = [json.loads(e["StdEvent"]) for e in events]
    assert [(s["clickType"], s["remainingLife"]) for s in std] == [
        ("SINGLE", 99.85000000000001),
        ("DOUBLE", 99.8),
    ]
    for s in std:
        assert set(s) == {"clickType", "reportedTime", "certificateId", "remainingLife", "testMode"}
        assert (s["certificateId"], s["testMode"]) == (certificate_id, False)
        assert s["reportedTime"].endswith("Z") and datetime.fromisoformat(s["reportedTime"]) >= start
    assert events[0]["StdEvent"].startswith('{"clickType": "SINGLE", "reportedTime": "')

    methods = [
        "getDeviceHealthParameters",
        "setDeviceHealthMonitorCallback",
        "getDeviceHealthMonitorCallback",
    ]
    methods += ["setOnClickCallback", "getOnClickCallback"]
    assert aws("iot1click-devices", "get-device-methods", "--device-id", DEVICE) == {
        "DeviceMethods": [{"MethodName": name} for name in methods]
    }
    invoke = {
        "DeviceId": DEVICE,
        "DeviceMethod": {"DeviceType": "device", "MethodName": "getDeviceHealthParameters"},
    }
    write(tmp_path, "invoke-device-method.json", json.dumps(invoke))
    assert aws(
        "iot1click-devices", "invoke-device-method", "--cli-input-json", "file://invoke-device-method.json"
    ) == {"DeviceMethodResponse": '{"remainingLife": 99.8}'}
    write(tmp_path, "invoke-empty.json", json.dumps({**invoke, "DeviceMethodParameters": ""}))
    refused = aws.run(
        "iot1click-devices", "invoke-device-method", "--cli-input-json", "file://invoke-empty.json"
    )
    assert refused.returncode != 0
    assert (
        "An error occurred (InvalidRequestException) when calling the InvokeDeviceMethod operation: "
        "A request parameter was invalid." in refused.stderr
    )

    assert aws("iot1click-devices", "update-device-state", "--device-id", DEVICE, "--enabled") is None
    assert (
        aws("iot1click-devices", "list-devices", "--device-type", "button")["Devices"][0]["Enabled"] is True
    )
    aws("iot1click-devices", "update-device-state", "--device-id", DEVICE, "--no-enabled")
    assert (
        aws("iot1click-devices", "describe-device", "--device-id", DEVICE)["DeviceDescription"]["Enabled"]
        is False
    )
    aws("iot1click-devices", "update-device-state", "--device-id", DEVICE, "--enabled")

    assert aws("iot1click-projects", "describe-placement", *placement_args) == {"placement": placement}
    update = {
        "projectName": "SeattleDumpsters",
        "placementName": "customer217",
        "attributes": {"phone": "206-266-1000", "location": "410 Terry Ave N Seattle, WA 98109"},
    }
    write(tmp_path, "update-placement.json", json.dumps(update, indent=4))
    aws("iot1click-projects", "update-placement", "--cli-input-json", "file://update-placement.json")
    after = aws("iot1click-projects", "describe-placement", *placement_args)["placement"]
    assert after["updatedDate"] >= placed
    assert after == {**placement, "attributes": update["attributes"], "updatedDate": after["updatedDate"]}

    assert aws("iot1click-projects", "describe-project", "--project-name", "SeattleDumpsters") == {
        "project": project
    }
    new_description = "All dumpsters (yard waste, recycling, garbage) in the Seattle region."
    aws(
        "iot1click-projects",
        "update-project",
        "--project-name",
        "SeattleDumpsters",
        "--description",
        new_description,
    )
    described = aws("iot1click-projects", "describe-project", "--project-name", "SeattleDumpsters")["project"]
    project = {**project, "description": new_description, "updatedDate": described["updatedDate"]}
    assert described == project and described["updatedDate"] >= created

    write(
        tmp_path,
        "projects-tag-resource.json",
        json.dumps({"resourceArn": project_arn, "tags": {"Account": "45215", "Manager": "Tom Jones"}}),
    )
    aws("iot1click-projects", "tag-resource", "--cli-input-json", "file://projects-tag-resource.json")
    project_tags = {"Manager": "Tom Jones", "Account": "45215"}
    assert aws("iot1click-projects", "list-tags-for-resource", "--resource-arn", project_arn) == {
        "tags": project_tags
    }
    project = {**project, "tags": project_tags}
    assert aws("iot1click-projects", "describe-project", "--project-name", "SeattleDumpsters") == {
        "project": project
    }

    aws.press(DEVICE, "single")
    aws.press(DEVICE, "long")  # six clicks in all: 99.7, as the walkthrough's list-devices shows
    description = {**description, "Enabled": True, "RemainingLife": 99.7}
    assert aws("iot1click-devices", "list-devices") == {"Devices": [description]}
    device_tags = {"Driver": "John Smith", "Driver Phone": "206-123-4567"}
    write(tmp_path, "devices-tag-resource.json", json.dumps({"ResourceArn": device_arn, "Tags": device_tags}))
    aws("iot1click-devices", "tag-resource", "--cli-input-json", "file://devices-tag-resource.json")
    assert aws("iot1click-devices", "list-tags-for-resource", "--resource-arn", device_arn) == {
        "Tags": device_tags
    }
    assert aws("iot1click-devices", "list-devices") == {"Devices": [{**description, "Tags": device_tags}]}

    # Teardown.
    aws("iot1click-projects", "untag-resource", "--resource-arn", project_arn, "--tag-keys", "Manager")
    project = {**project, "tags": {"Account": "45215"}}
    assert aws("iot1click-projects", "describe-project", "--project-name", "SeattleDumpsters") == {
        "project": project
    }
    aws(
        "iot1click-devices",
        "untag-resource",
        "--resource-arn",
        device_arn,
        "--tag-keys",
        "Driver Phone",
        "Driver",
    )
    assert aws("iot1click-devices", "list-devices") == {"Devices": [description]}
    aws(
        "iot1click-projects",
        "disassociate-device-from-placement",
        *placement_args,
        "--device-template-name",
        "empty-dumpster-request",
    )
    assert aws("iot1click-projects", "get-devices-in-placement", *placement_args) == {"devices": {}}
    aws("iot1click-projects", "delete-placement", *placement_args)
    assert aws("iot1click-projects", "list-placements", "--project-name", "SeattleDumpsters") == {
        "placements": []
    }
    aws("iot1click-projects", "delete-project", "--project-name", "SeattleDumpsters")
    assert aws("iot1click-projects", "list-projects") == {"projects": []}
    assert aws("iot1click-devices", "unclaim-device", "--device-id", DEVICE) == {"State": "UNCLAIMED"}
    assert aws("iot1click-devices", "list-devices") == {"Devices": []}


def test_claim_codes(server: RunningServer, data_path: str, tmp_path: Path) -> None:
    aws = walkthrough_cli(server, data_path, tmp_path)
    data_dir = str(server.data_dir)
    corral(
        "oneclick",
        "manufacture",
        "--product",
        "att-lte-m-button",
        "--count",
        "9",
        "--claim-code",
        "C-123EXAMPLE",
        "--data-dir",
        data_dir,
    )
    assert aws("iot1click-devices", "claim-devices-by-claim-code", "--claim-code", "C-123EXAMPLE") == {
        "Total": 9,
        "ClaimCode": "C-123EXAMPLE",
    }
    devices = aws("iot1click-devices", "list-devices", "--device-type", "button", "--max-items", "5")
    assert len(devices["Devices"]) == 5 and "NextToken" in devices
    assert all(d["DeviceId"].startswith("B9GHXT") and d["Enabled"] is False for d in devices["Devices"])
    assert len(aws("iot1click-devices", "list-devices")["Devices"]) == 9  # the CLI follows NextToken
    corral(
        "oneclick",
        "manufacture",
        "--product",
        "enterprise-button",
        "--count",
        "2",
        "--claim-code",
        "C-ENTERPRISE1",
        "--data-dir",
        data_dir,
    )
    refused = aws.run("iot1click-devices", "claim-devices-by-claim-code", "--claim-code", "C-ENTERPRISE1")
    assert refused.returncode != 0 and "(InvalidRequestException)" in refused.stderr
    unknown = aws.run("iot1click-devices", "claim-devices-by-claim-code", "--claim-code", "C-NOTACODE000")
    assert unknown.returncode != 0 and "(ForbiddenException)" in unknown.stderr
    missing = aws.run("iot1click-devices", "describe-device", "--device-id", "G030PM0000000000")
    assert missing.returncode != 0 and "(ResourceNotFoundException)" in missing.stderr
    for device in aws("iot1click-devices", "list-devices")["Devices"]:
        assert aws("iot1click-devices", "unclaim-device", "--device-id", device["DeviceId"]) == {
            "State": "UNCLAIMED"
        }
