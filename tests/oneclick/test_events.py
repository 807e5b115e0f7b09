"""The 1-Click event algebra against the guide's and the walkthrough's examples."""

from __future__ import annotations

import json

from corral.oneclick.events import (
    Placement,
    click_event,
    crossed_below,
    health_event,
    on_click_callback,
    remaining_life,
    reported_time,
    std_event,
)

CERT = "fe8798a6c97c62ef8756b80eeefdcf2280f3352f82faa8080c74cc4f4a4d1811"


def test_remaining_life_is_the_walkthroughs_to_the_last_digit() -> None:
    # describe-device after two clicks, the SINGLE and DOUBLE events, and list-devices after six.
    assert [remaining_life(n, 2000) for n in (2, 3, 4, 6)] == [99.9, 99.85000000000001, 99.8, 99.7]
    assert remaining_life(500, 2000) == 75.0  # the guide's metrics example
    assert remaining_life(2500, 2000) == 0.0


def test_std_event_is_the_walkthroughs_string() -> None:
    text = std_event("SINGLE", "2019-07-18T23:47:55.015Z", CERT, remaining_life(3, 2000))
    assert text == (
        '{"clickType": "SINGLE", "reportedTime": "2019-07-18T23:47:55.015Z", "certificateId": '
        '"fe8798a6c97c62ef8756b80eeefdcf2280f3352f82faa8080c74cc4f4a4d1811", "remainingLife": '
        '99.85000000000001, "testMode": false}'
    )


def test_reported_time_has_milliseconds_and_z() -> None:
    assert reported_time(1563493675.015) == "2019-07-18T23:47:55.015Z"


def test_click_event_of_an_unplaced_device_has_no_placement_info() -> None:
    event = click_event("G030PMXXXXXXXXXX", "button", "DOUBLE", "2018-05-04T23:26:33.747Z", 5.0, None)
    assert event == {
        "deviceEvent": {"buttonClicked": {"clickType": "DOUBLE", "reportedTime": "2018-05-04T23:26:33.747Z"}},
        "deviceInfo": {
            "attributes": {},
            "type": "button",
            "deviceId": "G030PMXXXXXXXXXX",
            "remainingLife": 5.0,
        },
    }


def test_click_event_of_a_placed_device_is_the_guides_shape() -> None:
    placement = Placement(
        region="us-west-2",
        project_name="test",
        placement_name="myPlacement",
        template_name="myButton",
        default_attributes={"location": "Everywhere", "equipment": "printer"},
        attributes={"location": "Seattle"},
        devices={"myButton": "G030PMXXXXXXXXXX"},
    )
    event = click_event("G030PMXXXXXXXXXX", "button", "SINGLE", "2018-05-04T23:26:33.747Z", 5.0, placement)
    assert set(event) == {"deviceEvent", "deviceInfo", "placementInfo"}
    assert event["deviceEvent"] == {
        "buttonClicked": {"clickType": "SINGLE", "reportedTime": "2018-05-04T23:26:33.747Z"}
    }
    assert event["placementInfo"] == {
        "projectName": "test",
        "placementName": "myPlacement",
        "attributes": {"location": "Seattle", "equipment": "printer"},  # the placement's over the template's
        "devices": {"myButton": "G030PMXXXXXXXXXX"},
    }
    info = event["deviceInfo"]
    assert set(info) == {"attributes", "type", "deviceId", "remainingLife"}
    assert (info["type"], info["deviceId"], info["remainingLife"]) == ("button", "G030PMXXXXXXXXXX", 5.0)
    assert info["attributes"] == {
        "location": "Seattle",
        "equipment": "printer",
        "projectRegion": "us-west-2",
        "projectName": "test",
        "placementName": "myPlacement",
        "deviceTemplateName": "myButton",
    }
    json.dumps(event)  # a callback receives it as JSON


def test_health_event_is_the_guides_shape() -> None:
    event = health_event("G030PMXXXXXXXXXX", "button", 5.4, 10, None)
    assert event == {
        "deviceEvent": {"deviceHealthMonitor": {"condition": {"remainingLifeLowerThan": 10}}},
        "deviceInfo": {
            "attributes": {},
            "type": "button",
            "deviceId": "G030PMXXXXXXXXXX",
            "remainingLife": 5.4,
        },
    }
    assert (
        crossed_below(10.05, 9.95, 10) and not crossed_below(9.95, 9.9, 10) and not crossed_below(11, 10, 10)
    )


def test_the_template_callback_wins_over_the_devices() -> None:
    device = {"onClickCallback": {"callback": {"awsLambdaArn": "arn:device"}}}
    placed = Placement("r", "p", "pl", "t", callback_overrides={"onClickCallback": "arn:template"})
    assert on_click_callback(placed, device) == "arn:template"
    assert on_click_callback(Placement("r", "p", "pl", "t"), device) == device["onClickCallback"]
    assert on_click_callback(None, {}) is None
