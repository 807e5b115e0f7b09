"""DeviceService and ProjectService on SQLite and PostgreSQL: claims, state, methods, events, projects,
placements, limits, and the events handed to the callback dispatcher. Time is a fake clock."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from corral.oneclick.callbacks import RecordingDispatcher
from corral.oneclick.devices import DeviceService, NewDevice
from corral.oneclick.errors import (
    Forbidden,
    InvalidRequest,
    PreconditionFailed,
    ResourceConflict,
    ResourceNotFound,
)
from corral.oneclick.products import PRODUCTS
from corral.oneclick.projects import ProjectService
from corral.oneclick.settings import OneClickSettings
from corral.store import Store

ACCOUNT, REGION = "000000000000", "us-west-2"
EB, LTE = "G030PM0123456789", "B9GHXT0000000001"


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_563_483_100.0

    def __call__(self) -> float:
        self.now += 1.0
        return self.now


@dataclass
class OneClick:
    devices: DeviceService
    projects: ProjectService
    dispatcher: RecordingDispatcher

    async def press(self, device_id: str, click: str = "SINGLE") -> Any:
        return await self.devices.record_click(device_id, f"cert-{device_id}", click)

    async def claim(self, device_id: str) -> None:
        await self.devices.initiate_device_claim({"DeviceId": device_id})
        await self.press(device_id)
        await self.devices.finalize_device_claim({"DeviceId": device_id})


@pytest.fixture
async def oneclick(database_url: str | None, tmp_path: Path) -> AsyncIterator[OneClick]:
    async with await Store.open(database_url, tmp_path) as store:
        clock = FakeClock()
        dispatcher = RecordingDispatcher()
        devices = DeviceService(store, ACCOUNT, REGION, dispatcher, clock)
        settings = OneClickSettings(max_device_templates=2, max_projects=2)
        projects = ProjectService(store, ACCOUNT, REGION, settings, clock)
        await devices.add_devices(
            PRODUCTS["enterprise-button"], [NewDevice(EB, f"cert-{EB}")], "C-123EXAMPLE"
        )
        lte = [NewDevice(f"B9GHXT000000000{i}", f"cert-B9GHXT000000000{i}") for i in range(1, 4)]
        await devices.add_devices(PRODUCTS["att-lte-m-button"], lte, "C-LTEBATCH01")
        yield OneClick(devices, projects, dispatcher)


async def test_a_claim_needs_an_event_after_it_was_initiated(oneclick: OneClick) -> None:
    devices = oneclick.devices
    with pytest.raises(ResourceNotFound):
        await devices.describe_device({"DeviceId": EB})  # unclaimed: nobody's
    await oneclick.press(EB)  # a click before the claim does not count
    assert await devices.initiate_device_claim({"DeviceId": EB}) == {"State": "CLAIM_INITIATED"}
    with pytest.raises(PreconditionFailed):
        await devices.finalize_device_claim({"DeviceId": EB})
    await oneclick.press(EB)
    assert await devices.finalize_device_claim({"DeviceId": EB}) == {"State": "CLAIMED"}
    with pytest.raises(ResourceConflict):
        await devices.initiate_device_claim({"DeviceId": EB})
    described = (await devices.describe_device({"DeviceId": EB}))["DeviceDescription"]
    assert described == {
        "Arn": f"arn:aws:iot1click:{REGION}:{ACCOUNT}:devices/{EB}",
        "Attributes": {},
        "DeviceId": EB,
        "Enabled": False,
        "RemainingLife": 99.9,
        "Type": "button",
        "Tags": {},
    }
    assert await devices.unclaim_device({"DeviceId": EB}) == {"State": "UNCLAIMED"}
    with pytest.raises(ResourceNotFound):
        await devices.describe_device({"DeviceId": EB})
    with pytest.raises(ResourceNotFound):
        await devices.initiate_device_claim({"DeviceId": "G030PM9999999999"})


async def test_claim_codes_claim_lte_buttons_but_not_enterprise_buttons(oneclick: OneClick) -> None:
    devices = oneclick.devices
    with pytest.raises(InvalidRequest, match="cannot be claimed with a claim code"):
        await devices.claim_devices_by_claim_code({"ClaimCode": "C-123EXAMPLE"})
    with pytest.raises(Forbidden):
        await devices.claim_devices_by_claim_code({"ClaimCode": "C-NOSUCHCODE"})
    claimed = await devices.claim_devices_by_claim_code({"ClaimCode": "C-LTEBATCH01"})
    assert claimed == {"ClaimCode": "C-LTEBATCH01", "Total": 3}
    listed = await devices.list_devices({"DeviceType": "button", "MaxResults": 2})
    assert [d["DeviceId"] for d in listed["Devices"]] == ["B9GHXT0000000001", "B9GHXT0000000002"]
    rest = await devices.list_devices({"DeviceType": "button", "NextToken": listed["NextToken"]})
    assert [d["DeviceId"] for d in rest["Devices"]] == ["B9GHXT0000000003"] and "NextToken" not in rest
    assert (await devices.list_devices({"DeviceType": "sensor"}))["Devices"] == []


async def test_device_methods(oneclick: OneClick) -> None:
    devices = oneclick.devices
    await oneclick.claim(EB)
    names = [m["MethodName"] for m in (await devices.get_device_methods({"DeviceId": EB}))["DeviceMethods"]]
    assert names == [
        "getDeviceHealthParameters",
        "setDeviceHealthMonitorCallback",
        "getDeviceHealthMonitorCallback",
        "setOnClickCallback",
        "getOnClickCallback",
    ]

    async def invoke(name: str, parameters: str | None = None, device_type: str = "device") -> Any:
        params: dict[str, Any] = {
            "DeviceId": EB,
            "DeviceMethod": {"DeviceType": device_type, "MethodName": name},
        }
        if parameters is not None:
            params["DeviceMethodParameters"] = parameters
        return json.loads((await devices.invoke_device_method(params))["DeviceMethodResponse"])

    assert await invoke("getDeviceHealthParameters") == {"remainingLife": 99.95}
    with pytest.raises(InvalidRequest, match="A request parameter was invalid"):
        await invoke("getDeviceHealthParameters", "")
    with pytest.raises(InvalidRequest):
        await invoke("rebootDevice")
    with pytest.raises(InvalidRequest):
        await invoke("setOnClickCallback", "not json", "button")
    callback = {
        "deviceId": EB,
        "callback": {"awsLambdaArn": "arn:aws:lambda:us-west-2:000000000000:function:f"},
    }
    assert await invoke("setOnClickCallback", json.dumps(callback), "button") == {}
    assert await invoke("getOnClickCallback", device_type="button") == {"callback": callback["callback"]}
    assert await invoke("getDeviceHealthMonitorCallback") == {}


async def test_events_between_two_times_and_only_the_owners(oneclick: OneClick) -> None:
    devices = oneclick.devices
    await oneclick.claim(EB)
    before = datetime.fromtimestamp(1_563_483_000, UTC)
    for click in ("SINGLE", "DOUBLE", "LONG"):
        await oneclick.press(EB, click)
    far = datetime.fromtimestamp(1_900_000_000, UTC)
    listed = await devices.list_device_events({"DeviceId": EB, "FromTimeStamp": before, "ToTimeStamp": far})
    kinds = [json.loads(e["StdEvent"])["clickType"] for e in listed["Events"]]
    assert kinds == ["SINGLE", "SINGLE", "DOUBLE", "LONG"]  # the claim's press, then three
    assert listed["Events"][0]["Device"] == {"Attributes": {}, "DeviceId": EB, "Type": "button"}
    lives = [json.loads(e["StdEvent"])["remainingLife"] for e in listed["Events"]]
    assert lives == [99.95, 99.9, 99.85000000000001, 99.8]
    page = await devices.list_device_events(
        {"DeviceId": EB, "FromTimeStamp": before, "ToTimeStamp": far, "MaxResults": 3}
    )
    assert len(page["Events"]) == 3 and "NextToken" in page
    await devices.unclaim_device({"DeviceId": EB})
    other = DeviceService(devices.store, "111111111111", REGION, clock=devices.clock)
    await other.initiate_device_claim({"DeviceId": EB})
    await other.record_click(EB, f"cert-{EB}", "LONG")
    await other.finalize_device_claim({"DeviceId": EB})  # a new owner sees none of the old owner's events
    listed = await other.list_device_events({"DeviceId": EB, "FromTimeStamp": before, "ToTimeStamp": far})
    assert [json.loads(e["StdEvent"])["clickType"] for e in listed["Events"]] == ["LONG"]
    with pytest.raises(ResourceNotFound):
        await devices.describe_device({"DeviceId": EB})


async def test_a_placed_enabled_device_sends_the_guides_event_to_its_templates_callback(
    oneclick: OneClick,
) -> None:
    devices, projects = oneclick.devices, oneclick.projects
    await oneclick.claim(EB)
    await projects.create_project(
        {
            "projectName": "test",
            "placementTemplate": {
                "defaultAttributes": {"location": "Anywhere", "equipment": "printer"},
                "deviceTemplates": {
                    "myButton": {"deviceType": "button", "callbackOverrides": {"onClickCallback": "arn:f"}}
                },
            },
        }
    )
    await projects.create_placement(
        {"projectName": "test", "placementName": "myPlacement", "attributes": {"location": "Seattle"}}
    )
    await projects.associate_device_with_placement(
        {
            "projectName": "test",
            "placementName": "myPlacement",
            "deviceTemplateName": "myButton",
            "deviceId": EB,
        }
    )
    recorded = await oneclick.press(EB, "LONG")
    assert not recorded.delivered and oneclick.dispatcher.deliveries == []  # disabled: nothing invoked
    await devices.update_device_state({"DeviceId": EB, "Enabled": True})
    recorded = await oneclick.press(EB, "DOUBLE")
    assert recorded.delivered
    [delivery] = oneclick.dispatcher.deliveries
    assert (delivery.kind, delivery.callback, delivery.project_name) == ("onClickCallback", "arn:f", "test")
    event = delivery.event
    assert event["deviceEvent"]["buttonClicked"]["clickType"] == "DOUBLE"
    assert event["deviceInfo"]["remainingLife"] == 99.85000000000001
    assert event["placementInfo"] == {
        "projectName": "test",
        "placementName": "myPlacement",
        "attributes": {"location": "Seattle", "equipment": "printer"},
        "devices": {"myButton": EB},
    }
    described = (await devices.describe_device({"DeviceId": EB}))["DeviceDescription"]
    assert described["Attributes"] == {
        "projectRegion": REGION,
        "projectName": "test",
        "placementName": "myPlacement",
        "deviceTemplateName": "myButton",
    }
    with pytest.raises(InvalidRequest):
        await devices.unclaim_device({"DeviceId": EB})  # still placed


async def test_health_events_fire_once_below_the_threshold(oneclick: OneClick) -> None:
    devices = oneclick.devices
    await oneclick.claim(EB)
    await devices.update_device_state({"DeviceId": EB, "Enabled": True})
    monitor = {"callback": {"awsLambdaArn": "arn:health"}, "condition": {"remainingLifeLowerThan": 99.85}}
    await devices.invoke_device_method(
        {
            "DeviceId": EB,
            "DeviceMethod": {"DeviceType": "device", "MethodName": "setDeviceHealthMonitorCallback"},
            "DeviceMethodParameters": json.dumps(monitor),
        }
    )
    for _ in range(4):  # 99.9, 99.85000000000001, 99.8 (below), 99.75
        await oneclick.press(EB)
    [health] = oneclick.dispatcher.deliveries
    assert health.kind == "deviceHealthMonitorCallback"
    assert health.event["deviceEvent"] == {
        "deviceHealthMonitor": {"condition": {"remainingLifeLowerThan": 99.85}}
    }
    assert health.event["deviceInfo"]["remainingLife"] == 99.8


async def test_a_click_with_another_certificate_is_not_the_devices(oneclick: OneClick) -> None:
    assert await oneclick.devices.record_click(EB, "someone-else", "SINGLE") is None


async def test_projects_placements_and_their_rules(oneclick: OneClick) -> None:
    projects = oneclick.projects
    template = {"deviceTemplates": {name: {"deviceType": "button"} for name in ("a", "b", "c")}}
    with pytest.raises(InvalidRequest, match="at most 2 device templates"):
        await projects.create_project({"projectName": "p", "placementTemplate": template})
    await projects.create_project({"projectName": "p", "description": "d", "tags": {"k": "v"}})
    with pytest.raises(ResourceConflict):
        await projects.create_project({"projectName": "p"})
    await projects.create_project({"projectName": "q"})
    with pytest.raises(InvalidRequest, match="at most 2 projects"):
        await projects.create_project({"projectName": "r"})
    described = (await projects.describe_project({"projectName": "p"}))["project"]
    assert described["placementTemplate"] == {"defaultAttributes": {}, "deviceTemplates": {}}
    assert described["arn"] == f"arn:aws:iot1click:{REGION}:{ACCOUNT}:projects/p" and described["tags"] == {
        "k": "v"
    }
    await projects.update_project({"projectName": "p", "description": "new"})
    updated = (await projects.describe_project({"projectName": "p"}))["project"]
    assert updated["description"] == "new" and updated["updatedDate"] > updated["createdDate"]
    await projects.create_placement(
        {"projectName": "p", "placementName": "x", "attributes": {"a": "1", "b": "2"}}
    )
    with pytest.raises(ResourceConflict):
        await projects.create_placement({"projectName": "p", "placementName": "x"})
    await projects.update_placement(
        {"projectName": "p", "placementName": "x", "attributes": {"a": "", "c": "3"}}
    )
    placement = (await projects.describe_placement({"projectName": "p", "placementName": "x"}))["placement"]
    assert placement["attributes"] == {"b": "2", "c": "3"}
    with pytest.raises(InvalidRequest, match="has placements"):
        await projects.delete_project({"projectName": "p"})
    with pytest.raises(ResourceNotFound):
        await projects.associate_device_with_placement(
            {"projectName": "p", "placementName": "x", "deviceTemplateName": "a", "deviceId": EB}
        )
    await projects.delete_placement({"projectName": "p", "placementName": "x"})
    await projects.delete_project({"projectName": "p"})
    assert [p["projectName"] for p in (await projects.list_projects({}))["projects"]] == ["q"]
    arn = f"arn:aws:iot1click:{REGION}:{ACCOUNT}:projects/q"
    await projects.tag_resource({"resourceArn": arn, "tags": {"Account": "45215", "Manager": "Tom Jones"}})
    await projects.untag_resource({"resourceArn": arn, "tagKeys": ["Manager"]})
    assert await projects.list_tags_for_resource({"resourceArn": arn}) == {"tags": {"Account": "45215"}}
    with pytest.raises(ResourceNotFound):
        await projects.list_tags_for_resource({"resourceArn": arn.replace("/q", "/nope")})


async def test_a_device_has_one_placement(oneclick: OneClick) -> None:
    projects = oneclick.projects
    await oneclick.claim(EB)
    await projects.create_project(
        {"projectName": "p", "placementTemplate": {"deviceTemplates": {"t": {"deviceType": "button"}}}}
    )
    for name in ("x", "y"):
        await projects.create_placement({"projectName": "p", "placementName": name})
    slot = {"projectName": "p", "placementName": "x", "deviceTemplateName": "t", "deviceId": EB}
    await projects.associate_device_with_placement(slot)
    with pytest.raises(ResourceConflict):
        await projects.associate_device_with_placement(slot)
    with pytest.raises(ResourceConflict):
        await projects.associate_device_with_placement({**slot, "placementName": "y"})
    with pytest.raises(InvalidRequest, match="has devices"):
        await projects.delete_placement({"projectName": "p", "placementName": "x"})
    await projects.disassociate_device_from_placement(
        {"projectName": "p", "placementName": "x", "deviceTemplateName": "t"}
    )
    assert await projects.get_devices_in_placement({"projectName": "p", "placementName": "x"}) == {
        "devices": {}
    }
