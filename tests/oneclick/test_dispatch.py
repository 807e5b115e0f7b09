"""Callbacks and metrics without a server: what a callback names (actions.py), where the dispatcher sends an
event (dispatch.py) and the metrics' data (metrics.py), with fake functions, SNS and CloudWatch; and the
projects service refusing a predefined action without its required default attributes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import orjson
import pytest

from corral.oneclick.actions import (
    ActionTarget,
    FunctionTarget,
    Unusable,
    action_fields,
    target_of,
    template_problem,
)
from corral.oneclick.callbacks import CallbackDelivery
from corral.oneclick.dispatch import ServiceDispatcher
from corral.oneclick.errors import InvalidRequest
from corral.oneclick.events import HEALTH_MONITOR, ON_CLICK, Placement, click_event, health_event
from corral.oneclick.metrics import NAMESPACE, EventMetrics, error_data, event_data
from corral.oneclick.projects import ProjectService
from corral.store import Store

FN = "arn:aws:lambda:us-east-1:000000000000:function:notify"
EMAIL = {"email": "facilities@example.com", "subject": "Meeting Room Feedback", "body": "Feedback given."}


class Functions:
    def __init__(self, missing: bool = False) -> None:
        self.invoked: list[tuple[str, Any, str]] = []
        self.missing = missing

    async def invoke(self, function: str, payload: bytes, invocation_type: str = "RequestResponse") -> Any:
        if self.missing:
            raise LookupError(f"Function not found: {function}")
        self.invoked.append((function, orjson.loads(payload), invocation_type))


class Notifier:
    def __init__(self) -> None:
        self.sms: list[tuple[str, str]] = []
        self.emails: list[tuple[str, str, str]] = []

    async def send_sms(self, phone_number: str, message: str) -> None:
        self.sms.append((phone_number, message))

    async def send_email(self, address: str, subject: str, body: str) -> None:
        self.emails.append((address, subject, body))


class Sink:
    def __init__(self) -> None:
        self.data: list[tuple[str, list[Mapping[str, Any]]]] = []

    async def put(self, namespace: str, data: Sequence[Mapping[str, Any]]) -> None:
        self.data.append((namespace, list(data)))


def placed(attributes: dict[str, str], callback: str) -> Placement:
    return Placement(
        region="us-east-1",
        project_name="MeetingRoomSatisfaction",
        placement_name="room-1001",
        template_name="Satisfied",
        default_attributes={"Building": "Headquarters", "Room": "TBD", **attributes},
        attributes={"Room": "1001"},
        devices={"Satisfied": "G030PM0000000001"},
        callback_overrides={ON_CLICK: callback},
    )


def delivery(callback: Any, placement: Placement | None, kind: str = ON_CLICK) -> CallbackDelivery:
    event = click_event("G030PM0000000001", "button", "SINGLE", "2026-01-01T00:00:00.000Z", 99.95, placement)
    project = placement.project_name if placement is not None else None
    return CallbackDelivery("000000000000", "G030PM0000000001", kind, callback, event, project)


def test_what_a_callback_names() -> None:
    assert target_of(FN) == FunctionTarget(FN)
    assert target_of("arn:aws:lambda:us-west-2:123456789012:MyButtonListener") == FunctionTarget(
        "arn:aws:lambda:us-west-2:123456789012:MyButtonListener"
    )
    assert target_of({"callback": {"awsLambdaArn": FN}}) == FunctionTarget(FN)
    assert target_of({"callback": FN, "condition": {"remainingLifeLowerThan": 10}}) == FunctionTarget(FN)
    assert target_of("SendEmail") == ActionTarget("SendEmail")
    assert target_of("SendSMS") == ActionTarget("SendSMS")
    assert isinstance(target_of({"callback": {}}), Unusable)
    assert isinstance(target_of(""), Unusable)


def test_a_predefined_action_reads_its_fields_from_the_placement() -> None:
    assert action_fields("SendEmail", {**EMAIL, "Room": "1001"}) == EMAIL
    assert action_fields("SendSMS", {"phoneNumber": "+15555551234"}) == (
        "SendSMS needs the placement attributes message"
    )
    assert template_problem("Satisfied", {"callbackOverrides": {ON_CLICK: "SendEmail"}}, EMAIL) is None
    assert template_problem("Satisfied", {"callbackOverrides": {ON_CLICK: FN}}, {}) is None
    problem = template_problem("Satisfied", {"callbackOverrides": {ON_CLICK: "SendEmail"}}, {"email": "a@b"})
    assert problem is not None and "missing: subject, body" in problem


async def test_the_dispatcher_invokes_functions_with_the_event_and_sends_the_actions() -> None:
    functions, notifier, sink = Functions(), Notifier(), Sink()
    metrics = EventMetrics(sink)
    dispatcher = ServiceDispatcher(functions, notifier, metrics, clock=lambda: 1000.0)

    fn_delivery = delivery(FN, placed({}, FN))
    await dispatcher.dispatch(fn_delivery)
    await dispatcher.dispatch(delivery("SendEmail", placed(EMAIL, "SendEmail")))
    sms = {"phoneNumber": "+15555551234", "message": "Mr. Jones needs you"}
    await dispatcher.dispatch(delivery("SendSMS", placed(sms, "SendSMS")))
    health = health_event("G030PM0000000001", "button", 9.5, 10, None)
    monitor = {"callback": {"awsLambdaArn": FN}, "condition": {"remainingLifeLowerThan": 10}}
    await dispatcher.dispatch(
        CallbackDelivery("000000000000", "G030PM0000000001", HEALTH_MONITOR, monitor, health)
    )
    await dispatcher.drain()

    assert functions.invoked == [(FN, fn_delivery.event, "Event"), (FN, health, "Event")]
    assert fn_delivery.event["placementInfo"]["attributes"]["Room"] == "1001"
    assert notifier.emails == [(EMAIL["email"], EMAIL["subject"], EMAIL["body"])]
    assert notifier.sms == [("+15555551234", "Mr. Jones needs you")]
    assert (dispatcher.stats.delivered, dispatcher.stats.failed) == (4, 0)
    assert sink.data == []


async def test_failures_are_callback_invocation_errors() -> None:
    sink = Sink()
    metrics = EventMetrics(sink)
    dispatcher = ServiceDispatcher(Functions(missing=True), Notifier(), metrics, clock=lambda: 1000.0)
    await dispatcher.dispatch(delivery(FN, placed({}, FN)))  # no such function
    await dispatcher.dispatch(delivery("SendEmail", None))  # an action needs a placement's attributes
    await dispatcher.dispatch(delivery({"callback": {}}, None))  # names nothing
    await dispatcher.drain()
    assert dispatcher.stats.failed == 3
    recorded = sorted(
        (d["Dimensions"][0]["Name"], d["Dimensions"][0]["Value"]) for _, data in sink.data for d in data
    )
    assert ("CallbackArn", FN) in recorded and ("CallbackArn", "SendEmail") in recorded
    assert ("ProjectName", "MeetingRoomSatisfaction") in recorded
    assert recorded.count(("DeviceType", "button")) == 3
    assert {namespace for namespace, _ in sink.data} == {NAMESPACE}
    assert all(d["MetricName"] == "CallbackInvocationErrors" for _, data in sink.data for d in data)


def test_the_metrics_dimensions() -> None:
    data = event_data(
        device_event="buttonClicked", device_type="button", product_type="AWS IoT Enterprise Button",
        project_name="P", remaining_life=99.5, at=1.0,
    )  # fmt: skip
    by_metric = {(d["MetricName"], d["Dimensions"][0]["Name"]): (d["Value"], d["Unit"]) for d in data}
    assert by_metric == {
        ("TotalEvents", "DeviceEvent"): (1.0, "Count"),
        ("TotalEvents", "ProjectName"): (1.0, "Count"),
        ("TotalEvents", "DeviceType"): (1.0, "Count"),
        ("TotalEvents", "ProductType"): (1.0, "Count"),
        ("RemainingLife", "ProjectName"): (99.5, "Percent"),
        ("RemainingLife", "DeviceType"): (99.5, "Percent"),
        ("RemainingLife", "ProductType"): (99.5, "Percent"),
    }
    unplaced = event_data(
        device_event="deviceHealthMonitor", device_type="button", product_type="x", project_name=None,
        remaining_life=None, at=1.0,
    )  # fmt: skip
    assert [d["Dimensions"][0]["Name"] for d in unplaced] == ["DeviceEvent", "DeviceType", "ProductType"]
    assert len(error_data(callback=FN, device_type="button", project_name=None, at=1.0)) == 2


async def test_projects_refuse_an_action_without_its_default_attributes(tmp_path: Path) -> None:
    async with await Store.open(None, tmp_path) as store:
        projects = ProjectService(store, "000000000000", "us-east-1")
        template = {"Satisfied": {"deviceType": "button", "callbackOverrides": {ON_CLICK: "SendEmail"}}}
        with pytest.raises(InvalidRequest, match="SendEmail requires the default attributes"):
            await projects.create_project(
                {"projectName": "P", "placementTemplate": {"deviceTemplates": template}}
            )
        await projects.create_project(
            {
                "projectName": "P",
                "placementTemplate": {"defaultAttributes": EMAIL, "deviceTemplates": template},
            }
        )
        with pytest.raises(InvalidRequest, match="missing: email, subject, body"):
            await projects.update_project(
                {"projectName": "P", "placementTemplate": {"defaultAttributes": {}}}
            )
        described = (await projects.describe_project({"projectName": "P"}))["project"]
        assert described["placementTemplate"]["deviceTemplates"]["Satisfied"]["callbackOverrides"] == {
            ON_CLICK: "SendEmail"
        }
