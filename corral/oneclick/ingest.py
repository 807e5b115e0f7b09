"""Clicks arriving on the broker.

A 1-Click device connects with its factory certificate (client id: its device id) and publishes each click
as the AWS IoT Button does, the one button whose messages AWS documented (AWS IoT developer guide, "AWS IoT
Button" quickstart and rules tutorials): topic ``iotbutton/{serial number}``, payload
``{"serialNumber": "...", "batteryVoltage": "...mV", "clickType": "SINGLE" | "DOUBLE" | "LONG"}``. The
Enterprise Button's own wire format to 1-Click was never published. The message reaches subscribers and
rules as any message does (so ``SELECT * FROM 'iotbutton/+'`` rules work as in the guide's tutorials); this
hook hands it to the device service only when the publisher's certificate is the device's own.
"""

from __future__ import annotations

import logging

import orjson

from corral.broker.message import Message
from corral.oneclick.devices import DeviceService
from corral.oneclick.events import CLICK_TYPES

log = logging.getLogger(__name__)

TOPIC_PREFIX = "iotbutton/"


def click_topic(device_id: str) -> str:
    return TOPIC_PREFIX + device_id


def click_payload(device_id: str, click_type: str, battery_millivolts: int = 1700) -> bytes:
    return orjson.dumps(
        {"serialNumber": device_id, "batteryVoltage": f"{battery_millivolts}mV", "clickType": click_type}
    )


def parse_click(topic: str, payload: bytes) -> tuple[str, str] | None:
    """(device id, click type) of a button message, or None for anything else."""
    if not topic.startswith(TOPIC_PREFIX):
        return None
    device_id = topic[len(TOPIC_PREFIX) :]
    try:
        body = orjson.loads(payload)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(body, dict) or body.get("clickType") not in CLICK_TYPES:
        return None
    if body.get("serialNumber", device_id) != device_id or not device_id or "/" in device_id:
        return None
    return device_id, str(body["clickType"])


class ClickIngest:
    """``Broker.message_hooks`` entry: publishes by a device's own certificate become recorded clicks."""

    def __init__(self, devices: DeviceService) -> None:
        self.devices = devices

    def __call__(self, message: Message) -> None:
        if message.principal is None or not message.topic.startswith(TOPIC_PREFIX):
            return
        click = parse_click(message.topic, message.payload)
        if click is None:
            return
        device_id, click_type = click
        self.devices.click(device_id, message.principal, click_type)
