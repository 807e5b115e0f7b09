"""The two 1-Click AWS APIs, served from the models Corral declares (``models/``).

Both services sign as ``iot1click``, so the AWS API's one-service-per-signing-name routing cannot tell them
apart. ``OneClickAPI`` takes every ``iot1click`` request and hands it to the devices or the projects API by
path: ``/projects…`` and tags of a project ARN (``/tags/arn:aws:iot1click:…:projects/…``) are the projects
service's, everything else (``/devices…``, ``/claims…``, device tags) the devices service's. Each side is an
``AWSAPI`` of its own (same access keys), so verification, parsing and errors are the shared ones.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import unquote

from corral.api.access_keys import AccessKeys
from corral.api.app import AWSAPI
from corral.api.protocol import ServiceProfile, register_profile
from corral.auth.sigv4 import credential_scope_service
from corral.oneclick import DEVICES_SERVICE, PROJECTS_SERVICE, SIGNING_NAME, model_path
from corral.oneclick.devices import DeviceService
from corral.oneclick.projects import ProjectService
from corral.registry.context import snake_case

Handler = Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]
Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]

# What the 1-Click services answer when the protocol layer refuses a request: their models' own codes.
_PROFILE = ServiceProfile(
    validation_code="InvalidRequestException",
    serialization_code="InvalidRequestException",
    unknown_operation_code="ResourceNotFoundException",
    unknown_operation_status=404,
    unknown_operation_message="Not Found",
)
register_profile(DEVICES_SERVICE, _PROFILE)
register_profile(PROJECTS_SERVICE, _PROFILE)

DEVICE_OPERATIONS = (
    "ClaimDevicesByClaimCode", "DescribeDevice", "FinalizeDeviceClaim", "GetDeviceMethods",
    "InitiateDeviceClaim", "InvokeDeviceMethod", "ListDeviceEvents", "ListDevices", "ListTagsForResource",
    "TagResource", "UnclaimDevice", "UntagResource", "UpdateDeviceState",
)  # fmt: skip
PROJECT_OPERATIONS = (
    "AssociateDeviceWithPlacement", "CreatePlacement", "CreateProject", "DeletePlacement", "DeleteProject",
    "DescribePlacement", "DescribeProject", "DisassociateDeviceFromPlacement", "GetDevicesInPlacement",
    "ListPlacements", "ListProjects", "ListTagsForResource", "TagResource", "UntagResource",
    "UpdatePlacement", "UpdateProject",
)  # fmt: skip


def _handlers(service: object, operations: tuple[str, ...]) -> Callable[[str], Handler | None]:
    table: dict[str, Handler] = {name: getattr(service, snake_case(name)) for name in operations}
    return table.get


def is_projects_path(raw_path: bytes) -> bool:
    if raw_path == b"/projects" or raw_path.startswith(b"/projects/"):
        return True
    if raw_path.startswith(b"/tags/"):
        return ":projects/" in unquote(raw_path[len(b"/tags/") :].decode("latin-1"))
    return False


class OneClickAPI:
    def __init__(self, keys: AccessKeys, devices: DeviceService, projects: ProjectService) -> None:
        self.devices_api = AWSAPI(keys)
        self.devices_api.add_service(
            SIGNING_NAME, str(model_path(DEVICES_SERVICE)), _handlers(devices, DEVICE_OPERATIONS)
        )
        self.projects_api = AWSAPI(keys)
        self.projects_api.add_service(
            SIGNING_NAME, str(model_path(PROJECTS_SERVICE)), _handlers(projects, PROJECT_OPERATIONS)
        )

    @staticmethod
    def claims(scope: Scope) -> bool:
        """Whether the request is signed for the 1-Click services."""
        if scope.get("type") != "http":
            return False
        return credential_scope_service(scope["headers"], scope.get("query_string", b"")) == SIGNING_NAME

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        raw_path: bytes = scope.get("raw_path") or scope["path"].encode()
        api = self.projects_api if is_projects_path(raw_path) else self.devices_api
        await api(scope, receive, send)
