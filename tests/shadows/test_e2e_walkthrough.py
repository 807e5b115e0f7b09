"""The AWS IoT developer guide's shadow walkthroughs, step by step, against a real ``corral serve``.

A paho client holding a registered certificate plays the light bulb (MQTT 3.1.1), another the app (MQTT 5);
the app also uses the real aws CLI, as the guide does. Every message body is compared field by field with
the guide's: versions exactly, timestamps equal to each other where the guide shows one moment, and inside
the wall-clock window of the step otherwise.

Sources: "Device Shadows Data Flow" (developer guide 2016, /work/shared/seeds/003_*.txt), today's "Interacting
with shadows" (device-shadow-data-flow) and "Simulating Device Shadow service communications"
(using-device-shadows).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.broker.clients import V5, V311, ClientPool, uid
from tests.harness import DeviceCertificate, RunningServer
from tests.shadows.shadow_support import (
    Inbox,
    aws_cli,
    read_json,
    response_topics,
    shadow_base,
    shadow_client,
    wall_clock,
)


@pytest.fixture(scope="module")
def certificates(shared_server: RunningServer) -> tuple[DeviceCertificate, DeviceCertificate]:
    """The light bulb's certificate and the app's, both registered and ACTIVE."""
    return shared_server.issue_certificate("light-bulb"), shared_server.issue_certificate("bulb-app")


def bulb_and_app(
    pool: ClientPool,
    server: RunningServer,
    certificates: tuple[DeviceCertificate, DeviceCertificate],
    thing: str,
    shadow: str | None = None,
) -> tuple[Inbox, Inbox]:
    """Both clients connected and subscribed to every response topic with QoS 1, as the guide begins."""
    topics = response_topics(thing, shadow)
    bulb = shadow_client(pool, server, uid("bulb"), certificates[0], topics, version=V311)
    app = shadow_client(pool, server, uid("app"), certificates[1], topics, version=V5)
    return bulb, app


def test_the_light_bulb_data_flow(
    shared_server: RunningServer,
    certificates: tuple[DeviceCertificate, DeviceCertificate],
    pool: ClientPool,
    tmp_path: Path,
) -> None:
    """ "Device Shadows Data Flow" (2016) / "Interacting with shadows": myLightBulb reports red, the app gets
    the shadow, desires green and the bulb receives the delta, the bulb reports green with ``"desired":
    null``, the app reads the shadow with ``aws iot-data get-thing-shadow``, and the shadow is deleted."""
    thing = "myLightBulb"
    base = shadow_base(thing)
    bulb, app = bulb_and_app(pool, shared_server, certificates, thing)

    # "When the light bulb comes online, it sends its current state ... to .../shadow/update".
    with wall_clock() as step1:
        bulb.publish(f"{base}/update", {"state": {"reported": {"color": "red"}}})
        accepted = bulb.take(f"{base}/update/accepted")
    t1 = step1.check(accepted["timestamp"])
    assert accepted == {
        "state": {"reported": {"color": "red"}},
        "metadata": {"reported": {"color": {"timestamp": t1}}},
        "version": 1,
        "timestamp": t1,
    }
    assert app.take(f"{base}/update/accepted") == accepted  # every subscriber gets the same answer
    created = bulb.take(f"{base}/update/documents")
    assert created["timestamp"] == t1
    assert created["previous"] is None  # docs/shadows.md's stated choice: AWS shows no example
    assert created["current"] == {
        "state": {"reported": {"color": "red"}},
        "metadata": {"reported": {"color": {"timestamp": t1}}},
        "version": 1,
    }
    # A report with no desired state has nothing to announce on /delta (checked once /documents is in,
    # which the service publishes after the delta).
    assert bulb.waiting(f"{base}/update/delta") == []

    # "The application sends an empty message to the .../shadow/get topic."
    with wall_clock() as step2:
        app.publish(f"{base}/get", b"")
        got = app.take(f"{base}/get/accepted")
    assert got == {
        "state": {"reported": {"color": "red"}},
        "metadata": {"reported": {"color": {"timestamp": t1}}},
        "version": 1,
        "timestamp": step2.check(got["timestamp"]),
    }

    # "the user requests a change to the light bulb's color (from red to green)".
    with wall_clock() as step3:
        app.publish(f"{base}/update", {"state": {"desired": {"color": "green"}}})
        accepted = app.take(f"{base}/update/accepted")
        delta = bulb.take(f"{base}/update/delta")
    t3 = step3.check(accepted["timestamp"])
    assert accepted == {
        "state": {"desired": {"color": "green"}},
        "metadata": {"desired": {"color": {"timestamp": t3}}},
        "version": 2,
        "timestamp": t3,
    }
    # "and to the .../shadow/update/delta topic": the same moment and version as the accepted message.
    assert delta == {
        "version": 2,
        "timestamp": t3,
        "state": {"color": "green"},
        "metadata": {"color": {"timestamp": t3}},
    }
    documents = bulb.take(f"{base}/update/documents", lambda b: b["current"]["version"] == 2)
    assert documents == {
        "previous": {
            "state": {"reported": {"color": "red"}},
            "metadata": {"reported": {"color": {"timestamp": t1}}},
            "version": 1,
        },
        "current": {
            "state": {"desired": {"color": "green"}, "reported": {"color": "red"}},
            "metadata": {
                "desired": {"color": {"timestamp": t3}},
                "reported": {"color": {"timestamp": t1}},
            },
            "version": 2,
        },
        "timestamp": t3,
    }

    # "The light bulb ... changes its color, and publishes its new state" with "desired": null.
    with wall_clock() as step4:
        bulb.publish(f"{base}/update", {"state": {"reported": {"color": "green"}, "desired": None}})
        accepted = bulb.take(f"{base}/update/accepted", lambda b: b["version"] == 3)
    t4 = step4.check(accepted["timestamp"])
    assert accepted == {
        "state": {"reported": {"color": "green"}, "desired": None},
        "metadata": {"reported": {"color": {"timestamp": t4}}, "desired": {"timestamp": t4}},
        "version": 3,
        "timestamp": t4,
    }
    documents = bulb.take(f"{base}/update/documents", lambda b: b["current"]["version"] == 3)
    assert documents["previous"]["version"] == 2
    assert documents["current"] == {
        "state": {"reported": {"color": "green"}},
        "metadata": {"reported": {"color": {"timestamp": t4}}},
        "version": 3,
    }
    assert bulb.waiting(f"{base}/update/delta") == []  # desired and reported agree: no delta
    assert bulb.waiting(f"{base}/update/rejected") == []

    # "The app requests the current state": aws iot-data get-thing-shadow --thing-name "myLightBulb"
    # "output.txt" (the CLI writes the payload to the outfile).
    with wall_clock() as step5:
        aws_cli(
            shared_server, "iot-data", "get-thing-shadow", "--thing-name", thing, "output.txt", cwd=tmp_path
        )
    shown = read_json(tmp_path / "output.txt")
    assert shown == {
        "state": {"reported": {"color": "green"}},
        "metadata": {"reported": {"color": {"timestamp": t4}}},
        "version": 3,
        "timestamp": step5.check(shown["timestamp"]),
    }
    # GetThingShadow over HTTP answers the caller only: nothing on .../get/accepted.
    assert app.waiting(f"{base}/get/accepted") == []

    # "To delete the thing shadow, publish an empty message to the .../shadow/delete topic."
    with wall_clock() as step6:
        bulb.publish(f"{base}/delete", b"")
        deleted = app.take(f"{base}/delete/accepted")
    assert deleted == {"version": 3, "timestamp": step6.check(deleted["timestamp"])}

    # The deleted shadow is gone: a get is rejected with 404 on .../get/rejected.
    with wall_clock() as step7:
        app.publish(f"{base}/get", b"")
        rejected = app.take(f"{base}/get/rejected")
    assert rejected == {
        "code": 404,
        "message": f"No shadow exists with name: '{thing}'",
        "timestamp": step7.check(rejected["timestamp"]),
    }


def test_simulating_shadow_communications_with_a_named_shadow(
    shared_server: RunningServer,
    certificates: tuple[DeviceCertificate, DeviceCertificate],
    pool: ClientPool,
    tmp_path: Path,
) -> None:
    """ "Simulating Device Shadow service communications": mySimulatedThing's named shadow simShadow1. The
    device's get is rejected (404) before the shadow exists; its first update (with a clientToken and an
    array) creates it; the app updates it with ``aws iot-data update-thing-shadow --shadow-name``; the device
    receives the /delta (carrying the app's clientToken), reports, and /documents shows previous and current;
    the app's ``get-thing-shadow`` shows the final document."""
    thing, shadow = "mySimulatedThing", "simShadow1"
    base = shadow_base(thing, shadow)
    device, app = bulb_and_app(pool, shared_server, certificates, thing, shadow)

    # "If you haven't created the named shadow, simShadow1, you receive a message in ... get/rejected".
    device.publish(f"{base}/get", b"")
    rejected = device.take(f"{base}/get/rejected")
    assert (rejected["code"], rejected["message"]) == (404, "No shadow exists with name: 'simShadow1'")

    # "To create a shadow with the current status of the device".
    token1 = "426bfd96-e720-46d3-95cd-014e3ef12bb6"
    with wall_clock() as step1:
        device.publish(
            f"{base}/update",
            {
                "state": {"reported": {"ID": "SmartLamp21", "ColorRGB": [128, 128, 128]}},
                "clientToken": token1,
            },
        )
        accepted = device.take(f"{base}/update/accepted")
    t1 = step1.check(accepted["timestamp"])
    rgb1 = [{"timestamp": t1}] * 3
    assert accepted == {
        "state": {"reported": {"ID": "SmartLamp21", "ColorRGB": [128, 128, 128]}},
        "metadata": {"reported": {"ID": {"timestamp": t1}, "ColorRGB": rgb1}},
        "version": 1,
        "timestamp": t1,
        "clientToken": token1,
    }

    # "To update a shadow from an app" (AWS CLI v1.x): the command prints nothing, the outfile holds the
    # /accepted document with the app's clientToken.
    token2 = "21b21b21-bfd2-4279-8c65-e2f697ff4fab"
    with wall_clock() as step2:
        aws_cli(
            shared_server, "iot-data", "update-thing-shadow", "--thing-name", thing, "--shadow-name", shadow,
            "--payload", '{"state":{"desired":{"ColorRGB":[255,255,0]}},"clientToken":"' + token2 + '"}',
            "update.json", cwd=tmp_path,
        )  # fmt: skip
        delta = device.take(f"{base}/update/delta")
    answer = read_json(tmp_path / "update.json")
    t2 = step2.check(answer["timestamp"])
    rgb2 = [{"timestamp": t2}] * 3
    assert answer == {
        "state": {"desired": {"ColorRGB": [255, 255, 0]}},
        "metadata": {"desired": {"ColorRGB": rgb2}},
        "version": 2,
        "timestamp": t2,
        "clientToken": token2,
    }
    # The update made over HTTP reaches the MQTT subscribers as the same /accepted message.
    assert device.take(f"{base}/update/accepted", lambda b: b["version"] == 2) == answer
    # "you should see a /delta message similar to this one".
    assert delta == {
        "version": 2,
        "timestamp": t2,
        "state": {"ColorRGB": [255, 255, 0]},
        "metadata": {"ColorRGB": rgb2},
        "clientToken": token2,
    }

    # "To update the shadow from the device".
    token3 = "a4dc2227-9213-4c6a-a6a5-053304f60258"
    with wall_clock() as step3:
        device.publish(
            f"{base}/update", {"state": {"reported": {"ColorRGB": [255, 255, 0]}}, "clientToken": token3}
        )
        accepted = device.take(f"{base}/update/accepted", lambda b: b["version"] == 3)
        documents = app.take(f"{base}/update/documents", lambda b: b["current"]["version"] == 3)
    t3 = step3.check(accepted["timestamp"])
    rgb3 = [{"timestamp": t3}] * 3
    assert accepted == {
        "state": {"reported": {"ColorRGB": [255, 255, 0]}},
        "metadata": {"reported": {"ColorRGB": rgb3}},
        "version": 3,
        "timestamp": t3,
        "clientToken": token3,
    }
    # "a comprehensive description of the shadow state" on /update/documents.
    assert documents == {
        "previous": {
            "state": {
                "desired": {"ColorRGB": [255, 255, 0]},
                "reported": {"ID": "SmartLamp21", "ColorRGB": [128, 128, 128]},
            },
            "metadata": {
                "desired": {"ColorRGB": rgb2},
                "reported": {"ID": {"timestamp": t1}, "ColorRGB": rgb1},
            },
            "version": 2,
        },
        "current": {
            "state": {
                "desired": {"ColorRGB": [255, 255, 0]},
                "reported": {"ID": "SmartLamp21", "ColorRGB": [255, 255, 0]},
            },
            "metadata": {
                "desired": {"ColorRGB": rgb2},
                "reported": {"ID": {"timestamp": t1}, "ColorRGB": rgb3},
            },
            "version": 3,
        },
        "timestamp": t3,
        "clientToken": token3,
    }

    # "Observe the update in the app": get-thing-shadow --shadow-name simShadow1 /dev/stdout.
    with wall_clock() as step4:
        shown = aws_cli(
            shared_server, "iot-data", "get-thing-shadow", "--thing-name", thing, "--shadow-name", shadow,
            "/dev/stdout",
        )  # fmt: skip
    body = read_json_text(shown.stdout)
    assert body == {
        "state": documents["current"]["state"],
        "metadata": documents["current"]["metadata"],
        "version": 3,
        "timestamp": step4.check(body["timestamp"]),
    }


def read_json_text(text: str) -> dict[str, object]:
    """The JSON object that starts the CLI's stdout (with /dev/stdout as outfile the CLI prints the payload,
    then its own empty output)."""
    body, _ = json.JSONDecoder().raw_decode(text)
    assert isinstance(body, dict), body
    return body


def test_optimistic_locking(
    shared_server: RunningServer,
    certificates: tuple[DeviceCertificate, DeviceCertificate],
    pool: ClientPool,
) -> None:
    """ "Interacting with shadows" > "Optimistic locking": an update whose version does not match is rejected
    on /update/rejected with code 409 "Version conflict" and the request's clientToken; one whose version
    matches is accepted and replaces the array whole ("Arrays" in "Device Shadow service documents")."""
    thing = uid("locked")
    base = shadow_base(thing)
    app, _ = bulb_and_app(pool, shared_server, certificates, thing)
    app.publish(f"{base}/update", {"state": {"desired": {"colors": ["RED", "GREEN", "BLUE"]}}})
    assert app.take(f"{base}/update/accepted")["version"] == 1

    token = "426bfd96-e720-46d3-95cd-014e3ef12bb6"
    with wall_clock() as window:
        app.publish(
            f"{base}/update", {"state": {"desired": {"colors": ["BLUE"]}}, "version": 0, "clientToken": token}
        )
        rejected = app.take(f"{base}/update/rejected")
    assert rejected == {
        "code": 409,
        "message": "Version conflict",
        "clientToken": token,
        "timestamp": window.check(rejected["timestamp"]),
    }

    app.publish(f"{base}/update", {"state": {"desired": {"colors": ["BLUE"]}}, "version": 1})
    assert app.take(f"{base}/update/accepted")["version"] == 2
    app.publish(f"{base}/get", b"")
    got = app.take(f"{base}/get/accepted")
    assert got["state"] == {"desired": {"colors": ["BLUE"]}, "delta": {"colors": ["BLUE"]}}
    assert got["version"] == 2


def test_deleting_a_property_and_recreating_a_deleted_shadow(
    shared_server: RunningServer,
    certificates: tuple[DeviceCertificate, DeviceCertificate],
    pool: ClientPool,
) -> None:
    """ "Interacting with shadows" > "Deleting a property from a shadow document": a property set to null is
    removed (the /accepted message echoes the null with the update's timestamp); "DELETE": a shadow created
    again within 48 hours of its deletion continues the deleted one's version numbers."""
    thing = uid("engine")
    base = shadow_base(thing, "motor")
    device, _ = bulb_and_app(pool, shared_server, certificates, thing, "motor")
    device.publish(f"{base}/update", {"state": {"desired": {"color": {"r": 10}, "engine": "ON"}}})
    first = device.take(f"{base}/update/accepted")
    assert first["version"] == 1

    with wall_clock() as window:
        device.publish(f"{base}/update", {"state": {"desired": {"engine": None}}})
        accepted = device.take(f"{base}/update/accepted")
    now = window.check(accepted["timestamp"])
    assert accepted == {
        "state": {"desired": {"engine": None}},
        "metadata": {"desired": {"engine": {"timestamp": now}}},
        "version": 2,
        "timestamp": now,
    }
    documents = device.take(f"{base}/update/documents", lambda b: b["current"]["version"] == 2)
    assert documents["current"]["state"] == {"desired": {"color": {"r": 10}}}
    assert documents["current"]["metadata"] == {
        "desired": {"color": {"r": {"timestamp": first["timestamp"]}}}
    }

    device.publish(f"{base}/delete", b"")
    assert device.take(f"{base}/delete/accepted")["version"] == 2
    device.publish(f"{base}/update", {"state": {"reported": {"engine": "OFF"}}})
    assert device.take(f"{base}/update/accepted", lambda b: "reported" in b["state"])["version"] == 3
