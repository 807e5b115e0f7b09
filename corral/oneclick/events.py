"""The 1-Click event algebra, pure: remaining life, the StdEvent string ListDeviceEvents answers, and the
click and health events the guide documents ("AWS IoT 1-Click Click Events", "Health Events").

Facts this module keeps:

- RemainingLife is ``(1 - clicks / rated life) * 100`` with the clicks recorded so far ("if a button is
  designed to last for approximately 2000 clicks, and 500 clicks have been recorded, the RemainingLife value
  is reported as 75%"). Computed this way the floats are the walkthrough's to the last digit: 99.9 after two
  clicks, 99.85000000000001 after three, 99.8 after four, 99.7 after six.
- ``StdEvent`` is a JSON string with ``clickType``, ``reportedTime`` (ISO 8601, milliseconds, ``Z``),
  ``certificateId``, ``remainingLife``, ``testMode``, written with ``", "`` and ``": "`` separators as in the
  walkthrough.
- The click event has ``deviceEvent.buttonClicked {clickType, reportedTime}``, ``deviceInfo {attributes, type,
  deviceId, remainingLife}`` and, only for a placed device, ``placementInfo {projectName, placementName,
  attributes, devices}``; ``placementInfo.attributes`` are the template's default attributes overridden by the
  placement's, ``devices`` maps each device template of the placement to its device id.
- ``deviceInfo.attributes`` are the device's attributes as DescribeDevice shows them (``projectRegion``,
  ``projectName``, ``placementName``, ``deviceTemplateName`` once placed) over the placement's attributes: the
  guide's click example shows placement-style keys there, its health example ``projectRegion``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

CLICK_TYPES = ("SINGLE", "DOUBLE", "LONG")
ON_CLICK = "onClickCallback"
HEALTH_MONITOR = "deviceHealthMonitorCallback"


def remaining_life(clicks: int, rated_life: int) -> float:
    if rated_life <= 0:
        return 0.0
    return max(0.0, (1 - clicks / rated_life) * 100)


def reported_time(epoch: float) -> str:
    """``2019-07-18T23:47:55.015Z``"""
    moment = datetime.fromtimestamp(epoch, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def std_event(
    click_type: str, reported: str, certificate_id: str, life: float, *, test_mode: bool = False
) -> str:
    return json.dumps(
        {
            "clickType": click_type,
            "reportedTime": reported,
            "certificateId": certificate_id,
            "remainingLife": life,
            "testMode": test_mode,
        }
    )


@dataclass(frozen=True, slots=True)
class Placement:
    """Where a device is placed, with what its event needs from the project."""

    region: str
    project_name: str
    placement_name: str
    template_name: str
    default_attributes: Mapping[str, str] = field(default_factory=dict)
    attributes: Mapping[str, str] = field(default_factory=dict)
    devices: Mapping[str, str] = field(default_factory=dict)  # template name -> device id
    callback_overrides: Mapping[str, str] = field(default_factory=dict)  # of the device's template

    def effective_attributes(self) -> dict[str, str]:
        return {**self.default_attributes, **self.attributes}

    def device_attributes(self) -> dict[str, str]:
        """DescribeDevice's ``Attributes`` of the placed device."""
        return {
            "projectRegion": self.region,
            "projectName": self.project_name,
            "placementName": self.placement_name,
            "deviceTemplateName": self.template_name,
        }


def device_info(device_id: str, device_type: str, life: float, placement: Placement | None) -> dict[str, Any]:
    attributes: dict[str, str] = {}
    if placement is not None:
        attributes = {**placement.effective_attributes(), **placement.device_attributes()}
    return {"attributes": attributes, "type": device_type, "deviceId": device_id, "remainingLife": life}


def click_event(
    device_id: str,
    device_type: str,
    click_type: str,
    reported: str,
    life: float,
    placement: Placement | None,
) -> dict[str, Any]:
    event: dict[str, Any] = {
        "deviceEvent": {"buttonClicked": {"clickType": click_type, "reportedTime": reported}},
        "deviceInfo": device_info(device_id, device_type, life, placement),
    }
    if placement is not None:
        event["placementInfo"] = {
            "projectName": placement.project_name,
            "placementName": placement.placement_name,
            "attributes": placement.effective_attributes(),
            "devices": dict(placement.devices),
        }
    return event


def health_event(
    device_id: str, device_type: str, life: float, threshold: float, placement: Placement | None
) -> dict[str, Any]:
    return {
        "deviceEvent": {"deviceHealthMonitor": {"condition": {"remainingLifeLowerThan": threshold}}},
        "deviceInfo": device_info(device_id, device_type, life, placement),
    }


def crossed_below(before: float, after: float, threshold: float) -> bool:
    """The health event fires once, on the click that takes remaining life below the threshold."""
    return before >= threshold > after


def on_click_callback(placement: Placement | None, device_callbacks: Mapping[str, Any]) -> Any | None:
    """The device template's onClickCallback when the device is placed and its template sets one, else the
    device's own (InvokeDeviceMethod setOnClickCallback), else None."""
    if placement is not None and placement.callback_overrides.get(ON_CLICK):
        return placement.callback_overrides[ON_CLICK]
    return device_callbacks.get(ON_CLICK)
