"""Models by name from botocore, or from a service-2.json we ship (as the 1-Click models will be)."""

from __future__ import annotations

import json
from pathlib import Path

from botocore.loaders import Loader

from corral.api.protocol import load_service_model, parse_request, route, serialize_response


def test_by_name_is_cached() -> None:
    assert load_service_model("iot") is load_service_model("iot")
    assert load_service_model("iot-data").protocol == "rest-json"


def test_from_a_path(tmp_path: Path) -> None:
    description = Loader().load_service_model("iot-data", "service-2")
    path = tmp_path / "my-iot-data" / "2015-05-28" / "service-2.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(description), encoding="utf-8")

    service = load_service_model(path)
    assert service.service_name == "my-iot-data"
    assert load_service_model(str(path)) is not None
    match = route(service, "GET", "/things/lamp/shadow", "name=n")
    assert match.operation.name == "GetThingShadow"
    params = parse_request(match.operation, "GET", "/things/lamp/shadow", "name=n")
    assert params == {"thingName": "lamp", "shadowName": "n"}
    response = serialize_response(match.operation, {"payload": b"{}"})
    assert (response.status, response.body) == (200, b"{}")
