"""1-Click callbacks against a real ``corral serve``, driven by today's aws CLI with the installed models and
``corral button press``: the guide's two example projects calling real local functions (each records the
event it received by publishing it through boto3's iot-data to a topic a paho client subscribes to), the
console's "Send email" (received by aiosmtpd) and "Send SMS" (by a small HTTP gateway), health events below
the threshold setDeviceHealthMonitorCallback sets, a disabled device invoking nothing, and the metrics in
CloudWatch (aws cloudwatch get-metric-statistics) and at /metrics."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.broker.clients import V311, ClientPool, PahoClient, uid
from tests.harness import RunningServer
from tests.mail_support import Inbox, SmsGateway, server_with_mail, sms_gateway, text_of
from tests.oneclick.e2e_support import CLI, WAIT, install_models

ROLE = "arn:aws:iam::000000000000:role/iot1click"
RECORDER = """\
import json
import boto3

iot_data = boto3.client("iot-data")


def handler(event, context):
    iot_data.publish(topic="oneclick/received/" + context.function_name, qos=1, payload=json.dumps(event))
"""
EMAIL = {
    "email": "facilities@example.com",
    "subject": "Meeting Room Feedback",
    "body": "Either positive or negative meeting room feedback has been provided.",
}


@pytest.fixture(scope="module")
def mail(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[RunningServer, Inbox]]:
    """The server, its e-mails from iot1click@example.com to aiosmtpd and its SMS to the SMS gateway."""
    with sms_gateway() as sms_url:
        yield from server_with_mail(
            tmp_path_factory.mktemp("oneclick-callbacks"),
            sender="iot1click@example.com",
            insecure=True,
            config_toml=f'sms_gateway_url = "{sms_url}"\n',
        )


@pytest.fixture(scope="module")
def server(mail: tuple[RunningServer, Inbox]) -> RunningServer:
    return mail[0]


@pytest.fixture(scope="module")
def inbox(mail: tuple[RunningServer, Inbox]) -> Inbox:
    return mail[1]


def subscribe(pool: ClientPool, server: RunningServer, topic: str) -> PahoClient:
    """A paho client on the loopback MQTT port, subscribed to ``topic``: where the recorder's events go."""
    client = pool.connected(server, uid("sub"), transport="insecure", version=V311)
    client.subscribe(topic, timeout=WAIT)
    return client


def received(client: PahoClient) -> tuple[str, dict[str, Any]]:
    """The next event a recorder published: its topic and body."""
    message = client.next_message(timeout=WAIT)
    return message.topic, json.loads(message.payload)


@pytest.fixture(scope="module")
def aws(server: RunningServer, tmp_path_factory: pytest.TempPathFactory) -> CLI:
    data_path = install_models(tmp_path_factory.mktemp("aws-models"))
    cli = CLI(server, data_path, tmp_path_factory.mktemp("cli"))
    zipped = io.BytesIO()
    with zipfile.ZipFile(zipped, "w") as archive:
        archive.writestr("app.py", RECORDER)
    (cli.workdir / "recorder.zip").write_bytes(zipped.getvalue())
    return cli


def create_function(aws: CLI, name: str) -> str:
    created = aws(
        "lambda", "create-function", "--function-name", name, "--runtime", "python3.12",
        "--handler", "app.handler", "--role", ROLE, "--zip-file", "fileb://recorder.zip",
    )  # fmt: skip
    return str(created["FunctionArn"])


def create_project(aws: CLI, name: str, attributes: dict[str, str], templates: dict[str, str]) -> None:
    """A project whose device templates (name -> onClickCallback) are buttons."""
    body = {
        "projectName": name,
        "placementTemplate": {
            "defaultAttributes": attributes,
            "deviceTemplates": {
                template: {"deviceType": "button", "callbackOverrides": {"onClickCallback": callback}}
                for template, callback in templates.items()
            },
        },
    }
    aws("iot1click-projects", "create-project", "--cli-input-json", aws.write(f"{name}.json", body))


def place(
    aws: CLI, project: str, placement: str, attributes: dict[str, str], devices: dict[str, str]
) -> None:
    aws(
        "iot1click-projects", "create-placement", "--project-name", project, "--placement-name", placement,
        "--attributes", json.dumps(attributes),
    )  # fmt: skip
    for template, device_id in devices.items():
        aws(
            "iot1click-projects", "associate-device-with-placement", "--project-name", project,
            "--placement-name", placement, "--device-template-name", template, "--device-id", device_id,
        )  # fmt: skip


def test_a_notification_button_per_customer(aws: CLI, server: RunningServer, pool: ClientPool) -> None:
    """The guide's Example 1: SalesPersonNotification, one NotificationButton per customer, calling a function
    with the placement's CustomerName and SalesPersonPhoneNumber."""
    function_arn = create_function(aws, "SendSMSLambda")
    create_project(aws, "SalesPersonNotification", {}, {"NotificationButton": function_arn})
    jones, smith = aws.manufacture(2)
    for device_id in (jones, smith):
        aws.claim(device_id)
    place(aws, "SalesPersonNotification", "MrJones",
          {"CustomerName": "Mr. Jones", "SalesPersonPhoneNumber": "1-555-555-1234"},
          {"NotificationButton": jones})  # fmt: skip
    place(aws, "SalesPersonNotification", "MsSmith",
          {"CustomerName": "Ms. Smith", "SalesPersonPhoneNumber": "1-555-555-9876"},
          {"NotificationButton": smith})  # fmt: skip
    subscriber = subscribe(pool, server, "oneclick/received/SendSMSLambda")
    aws.press(jones)
    topic, event = received(subscriber)
    assert topic == "oneclick/received/SendSMSLambda"
    assert event["deviceEvent"]["buttonClicked"]["clickType"] == "SINGLE"
    assert event["deviceInfo"]["deviceId"] == jones and event["deviceInfo"]["type"] == "button"
    assert event["placementInfo"] == {
        "projectName": "SalesPersonNotification",
        "placementName": "MrJones",
        "attributes": {"CustomerName": "Mr. Jones", "SalesPersonPhoneNumber": "1-555-555-1234"},
        "devices": {"NotificationButton": jones},
    }
    remaining = aws.events(jones)[-1]["remainingLife"]
    assert event["deviceInfo"]["remainingLife"] == remaining
    aws.press(smith, "long")
    _, event = received(subscriber)
    assert event["deviceEvent"]["buttonClicked"]["clickType"] == "LONG"
    assert event["placementInfo"]["attributes"]["CustomerName"] == "Ms. Smith"
    assert event["placementInfo"]["devices"] == {"NotificationButton": smith}


def test_meeting_room_feedback_with_two_buttons(aws: CLI, server: RunningServer, pool: ClientPool) -> None:
    """The guide's MeetingRoomSatisfaction: Satisfied calls SatLambda, Unsatisfied calls UnsatLambda, with the
    room's attributes (the Building default, Room TBD replaced by the placement's)."""
    templates = {
        "Satisfied": create_function(aws, "SatLambda"),
        "Unsatisfied": create_function(aws, "UnsatLambda"),
    }
    create_project(aws, "MeetingRoomSatisfaction", {"Building": "Headquarters", "Room": "TBD"}, templates)
    satisfied, unsatisfied = aws.manufacture(2)
    aws.claim(satisfied)
    aws.claim(unsatisfied)
    place(aws, "MeetingRoomSatisfaction", "room-1001", {"Room": "1001"},
          {"Satisfied": satisfied, "Unsatisfied": unsatisfied})  # fmt: skip
    subscriber = subscribe(pool, server, "oneclick/received/+")
    aws.press(unsatisfied)
    topic, event = received(subscriber)
    assert topic == "oneclick/received/UnsatLambda"
    assert event["deviceInfo"]["deviceId"] == unsatisfied
    assert event["placementInfo"]["attributes"] == {"Building": "Headquarters", "Room": "1001"}
    assert event["placementInfo"]["devices"] == {"Satisfied": satisfied, "Unsatisfied": unsatisfied}
    assert event["deviceInfo"]["attributes"]["deviceTemplateName"] == "Unsatisfied"
    aws.press(satisfied, "double")
    topic, event = received(subscriber)
    assert topic == "oneclick/received/SatLambda"
    assert event["deviceEvent"]["buttonClicked"]["clickType"] == "DOUBLE"
    assert event["deviceInfo"]["attributes"]["Room"] == "1001"

    statistics = metric_sum(aws, "TotalEvents", "ProjectName", "MeetingRoomSatisfaction")
    assert statistics == 2.0  # the claim presses came before the devices were placed


def test_send_email_and_send_sms(aws: CLI, inbox: Inbox) -> None:
    """The console's predefined actions: the e-mail with the project's address, subject and body, received by
    aiosmtpd; the SMS with the placement's phone number and message, received by the SMS gateway."""
    create_project(aws, "MeetingRoomFeedback", {**EMAIL, "Building": "Headquarters"},
                   {"Satisfied": "SendEmail", "Unsatisfied": "SendEmail"})  # fmt: skip
    described = aws("iot1click-projects", "describe-project", "--project-name", "MeetingRoomFeedback")
    templates = described["project"]["placementTemplate"]["deviceTemplates"]
    assert templates["Satisfied"] == {
        "deviceType": "button",
        "callbackOverrides": {"onClickCallback": "SendEmail"},
    }
    satisfied, sms_button = aws.manufacture(2)
    aws.claim(satisfied)
    place(aws, "MeetingRoomFeedback", "room-2002", {"Room": "2002"}, {"Satisfied": satisfied})
    aws.press(satisfied)
    message = inbox.messages.get(timeout=WAIT)
    assert message["To"] == EMAIL["email"]
    assert message["Subject"] == EMAIL["subject"]
    assert text_of(message).strip() == EMAIL["body"]
    assert "iot1click@example.com" in str(message["From"])

    refused = aws.run(
        "iot1click-projects", "create-project", "--project-name", "NoNumber", "--placement-template",
        json.dumps({"deviceTemplates": {"b": {"deviceType": "button",
                                              "callbackOverrides": {"onClickCallback": "SendSMS"}}}}),
    )  # fmt: skip
    assert refused.returncode != 0 and "InvalidRequestException" in refused.stderr
    assert "phoneNumber, message" in refused.stderr

    create_project(aws, "CallMe", {"phoneNumber": "+15555550100", "message": "A customer pressed the button"},
                   {"NotificationButton": "SendSMS"})  # fmt: skip
    aws.claim(sms_button)
    place(aws, "CallMe", "customer-42", {"phoneNumber": "+15555550142"}, {"NotificationButton": sms_button})
    aws.press(sms_button)
    assert SmsGateway.received.get(timeout=WAIT) == {
        "phoneNumber": "+15555550142",
        "message": "A customer pressed the button",
    }


def test_health_events_below_the_threshold(aws: CLI, server: RunningServer, pool: ClientPool) -> None:
    """setDeviceHealthMonitorCallback: the function gets the guide's health event on the click that takes
    RemainingLife (0.05 per click of 2000) below the threshold, and only then."""
    function_arn = create_function(aws, "HealthLambda")
    [device] = aws.manufacture(1)
    aws.claim(device)  # one click: 99.95
    parameters = {"callback": {"awsLambdaArn": function_arn}, "condition": {"remainingLifeLowerThan": 99.9}}
    invoke = {
        "DeviceId": device,
        "DeviceMethod": {"DeviceType": "device", "MethodName": "setDeviceHealthMonitorCallback"},
        "DeviceMethodParameters": json.dumps(parameters),
    }
    aws("iot1click-devices", "invoke-device-method", "--cli-input-json", aws.write("health.json", invoke))
    subscriber = subscribe(pool, server, "oneclick/received/HealthLambda")
    aws.press(device)  # 99.9: not below
    aws.press(device)  # 99.85: below, the event
    aws.press(device)  # 99.8: already below, no other event
    _, event = received(subscriber)
    lives = [e["remainingLife"] for e in aws.events(device)][-3:]
    assert lives == pytest.approx([99.9, 99.85, 99.8])
    assert event == {
        "deviceEvent": {"deviceHealthMonitor": {"condition": {"remainingLifeLowerThan": 99.9}}},
        "deviceInfo": {"attributes": {}, "type": "button", "deviceId": device, "remainingLife": lives[1]},
    }
    assert len(subscriber.received) == 1  # no other event
    assert metric_sum(aws, "TotalEvents", "DeviceEvent", "deviceHealthMonitor") >= 1.0


def test_a_disabled_device_invokes_nothing(aws: CLI, server: RunningServer, pool: ClientPool) -> None:
    """A disabled device's click is recorded and reaches no callback. The function runs one invocation at a
    time (reserved concurrency 1), in order, so had the disabled click been delivered, its event would arrive
    before the enabled one's."""
    function_arn = create_function(aws, "DumpsterLambda")
    aws("lambda", "put-function-concurrency", "--function-name", "DumpsterLambda",
        "--reserved-concurrent-executions", "1")  # fmt: skip
    create_project(aws, "SeattleDumpsters", {"City": "Seattle"}, {"empty-dumpster-request": function_arn})
    [device] = aws.manufacture(1)
    aws.claim(device, enabled=False)
    place(aws, "SeattleDumpsters", "customer217", {}, {"empty-dumpster-request": device})
    subscriber = subscribe(pool, server, "oneclick/received/DumpsterLambda")
    aws.press(device, "double")  # disabled
    assert [e["clickType"] for e in aws.events(device)][-1] == "DOUBLE"  # recorded all the same
    aws("iot1click-devices", "update-device-state", "--device-id", device, "--enabled")
    aws.press(device, "long")
    _, event = received(subscriber)
    assert event["deviceEvent"]["buttonClicked"]["clickType"] == "LONG"
    aws("iot1click-devices", "update-device-state", "--device-id", device, "--no-enabled")


def test_callback_errors_and_the_metrics(aws: CLI, server: RunningServer) -> None:
    """A callback naming a function that does not exist is a CallbackInvocationErrors datum, by callback and
    by project; TotalEvents and RemainingLife are in CloudWatch and at /metrics."""
    missing = f"arn:aws:lambda:{server.endpoints['region']}:{server.endpoints['account_id']}:function:Gone"
    create_project(aws, "Broken", {}, {"b": missing})
    [device] = aws.manufacture(1)
    aws.claim(device)
    place(aws, "Broken", "p", {}, {"b": device})
    aws.press(device)
    aws.press(device)
    aws.events(device)  # waits for both clicks' recordings: their callbacks and metrics
    assert metric_sum(aws, "CallbackInvocationErrors", "CallbackArn", missing) == 2.0
    assert metric_sum(aws, "CallbackInvocationErrors", "ProjectName", "Broken") == 2.0
    assert metric_sum(aws, "TotalEvents", "ProjectName", "Broken") == 2.0
    total, count = metric_totals(aws, "RemainingLife", "ProjectName", "Broken")
    assert total == pytest.approx(99.9 + 99.85) and count == 2.0
    listed = aws("cloudwatch", "list-metrics", "--namespace", "AWS/IoT1Click")["Metrics"]
    names = {(m["MetricName"], d["Name"]) for m in listed for d in m["Dimensions"]}
    assert {("TotalEvents", "ProductType"), ("RemainingLife", "DeviceType")} <= names

    scraped = httpx.get(f"http://{server.endpoints['http']}/metrics", timeout=30).text
    samples = [
        sample
        for family in text_string_to_metric_families(scraped)
        for sample in family.samples
        if sample.labels.get("namespace") == "AWS/IoT1Click"
    ]
    errors = [
        s for s in samples
        if s.name == "corral_cloudwatch_datapoints_count"
        and s.labels["metric_name"] == "CallbackInvocationErrors"
        and s.labels.get("dimension_ProjectName") == "Broken"
    ]  # fmt: skip
    assert [s.value for s in errors] == [2.0]
    life = [
        s for s in samples
        if s.name == "corral_cloudwatch_value" and s.labels["metric_name"] == "RemainingLife"
        and s.labels.get("dimension_ProjectName") == "Broken"
    ]  # fmt: skip
    assert [s.value for s in life] == [pytest.approx(99.85)]
    assert "Traceback" not in server.log()


def metric_totals(aws: CLI, name: str, dimension: str, value: str) -> tuple[float, float]:
    """(Sum, SampleCount) of a metric over the last hour, across the (epoch-aligned) periods it spans."""
    now = datetime.now(UTC)
    start, end = (now - timedelta(hours=1)).isoformat(), (now + timedelta(hours=1)).isoformat()
    found = aws(
        "cloudwatch", "get-metric-statistics", "--namespace", "AWS/IoT1Click", "--metric-name", name,
        "--dimensions", f"Name={dimension},Value={value}", "--statistics", "Sum", "SampleCount",
        "--start-time", start, "--end-time", end, "--period", "3600",
    )  # fmt: skip
    points: list[dict[str, Any]] = found["Datapoints"]
    return sum(p["Sum"] for p in points), sum(p["SampleCount"] for p in points)


def metric_sum(aws: CLI, name: str, dimension: str, value: str) -> float:
    return metric_totals(aws, name, dimension, value)[0]
