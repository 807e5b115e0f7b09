"""Corral's declaration of the two 1-Click models agrees with the facts of botocore 1.35.93's (the last that
shipped them, installed by ``corral aws-models install``): every operation's method, path, status code,
members, their wire names and locations, required members and errors. Our files are our own text; only
these facts must match, since today's aws CLI speaks from AWS's copy."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
from botocore.model import OperationModel, Shape

from corral.api.protocol import load_service_model, route
from corral.oneclick import DEVICES_SERVICE, PROJECTS_SERVICE, model_path
from corral.oneclick.api import DEVICE_OPERATIONS, PROJECT_OPERATIONS, is_projects_path
from tests.aws_cli import CORRAL


@pytest.fixture(scope="module")
def aws_models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("aws-models")
    out = subprocess.run(
        [CORRAL, "aws-models", "install", "--print-data-path", "--data-dir", str(base)],
        capture_output=True, text=True, timeout=300, check=True,
    ).stdout  # fmt: skip
    return Path(out.strip())


def _facts(shape: Shape | None, depth: int = 0) -> Any:
    if shape is None:
        return None
    if depth > 6:
        return shape.type_name
    if shape.type_name == "structure":
        return {
            "required": sorted(shape.required_members),
            "members": {
                name: (
                    member.serialization.get("name", name),
                    member.serialization.get("location"),
                    _facts(member, depth + 1),
                )
                for name, member in shape.members.items()
            },
        }
    if shape.type_name == "list":
        return ["list", _facts(shape.member, depth + 1)]
    if shape.type_name == "map":
        return ["map", _facts(shape.key, depth + 1), _facts(shape.value, depth + 1)]
    return shape.type_name


def _operation(op: OperationModel) -> Any:
    return {
        "http": (op.http["method"], op.http["requestUri"], op.http.get("responseCode", 200)),
        "input": _facts(op.input_shape),
        "output": _facts(op.output_shape)
        if op.output_shape is not None and op.output_shape.members
        else None,
        "errors": sorted((e.name, e.metadata["error"]["httpStatusCode"]) for e in op.error_shapes),
    }


@pytest.mark.parametrize("service", [DEVICES_SERVICE, PROJECTS_SERVICE])
def test_our_models_state_awss_facts(service: str, aws_models: Path) -> None:
    ours = load_service_model(model_path(service))
    theirs = load_service_model(aws_models / service / "2018-05-14" / "service-2.json")
    assert ours.service_name == theirs.service_name == service
    for key in ("apiVersion", "endpointPrefix", "signingName", "protocol", "serviceId"):
        assert ours.metadata[key] == theirs.metadata[key], key
    assert sorted(ours.operation_names) == sorted(theirs.operation_names)
    for name in ours.operation_names:
        assert _operation(ours.operation_model(name)) == _operation(theirs.operation_model(name)), name


def test_every_operation_has_a_handler_and_routes_to_its_service() -> None:
    devices = load_service_model(model_path(DEVICES_SERVICE))
    projects = load_service_model(model_path(PROJECTS_SERVICE))
    assert set(DEVICE_OPERATIONS) == set(devices.operation_names)
    assert set(PROJECT_OPERATIONS) == set(projects.operation_names)
    # The paths FIELD-NOTES saw the aws CLI use.
    for method, path, service, operation in [
        ("GET", "/devices", devices, "ListDevices"),
        ("PUT", "/claims/C-123EXAMPLE", devices, "ClaimDevicesByClaimCode"),
        ("POST", "/devices/G030PM0123456789/methods", devices, "InvokeDeviceMethod"),
        ("PUT", "/devices/G030PM0123456789/state", devices, "UpdateDeviceState"),
        ("GET", "/projects", projects, "ListProjects"),
        ("POST", "/projects/p/placements", projects, "CreatePlacement"),
        ("PUT", "/projects/p/placements/pl/devices/t", projects, "AssociateDeviceWithPlacement"),
    ]:
        assert route(service, method, path.encode(), b"").operation.name == operation
        assert is_projects_path(path.encode()) == (service is projects)
    assert is_projects_path(
        b"/tags/arn%3Aaws%3Aiot1click%3Aus-west-2%3A012345678901%3Aprojects%2FSeattleDumpsters"
    )
    assert not is_projects_path(
        b"/tags/arn%3Aaws%3Aiot1click%3Aus-west-2%3A012345678901%3Adevices%2FG030PM01"
    )
