"""Service models: botocore's own JSON descriptions of each AWS API, read at run time.

``load_service_model("iot")`` reads the newest API version botocore ships; a path to a
``service-2.json`` (the 1-Click models we ship ourselves) is read directly. Models are cached: a service
model is immutable and botocore caches its shapes and operations inside it.
"""

from __future__ import annotations

import json
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

from botocore.loaders import Loader
from botocore.model import OperationModel, ServiceModel, Shape


@cache
def _loader() -> Loader:
    return Loader()


@lru_cache(maxsize=64)
def load_service_model(name: str | Path, service_name: str | None = None) -> ServiceModel:
    """The model of a service: a botocore service name ("iot", "iot-data", "sqs"...) or a path.

    A path names a ``service-2.json`` file; its service name is ``service_name`` or, failing that, the
    folder layout botocore uses (``NAME/API-VERSION/service-2.json``) or the model's endpoint prefix.
    """
    path = Path(name)
    if isinstance(name, Path) or path.suffix == ".json" or path.is_file():
        description: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        if service_name is None and path.parent.parent.name and path.name == "service-2.json":
            service_name = path.parent.parent.name
        return ServiceModel(description, service_name=service_name)
    description = _loader().load_service_model(str(name), "service-2")
    return ServiceModel(description, service_name=service_name or str(name))


def find_error_shape(service: ServiceModel, code: str) -> Shape | None:
    """The modeled exception named ``code``: by wire code (``error.code``) or by shape name."""
    shape: Shape | None = service.shape_for_error_code(code)
    if shape is not None:
        return shape
    if code in service.shape_names:
        candidate: Shape = service.shape_for(code)
        if candidate.metadata.get("exception", False):
            return candidate
    return None


def operation_named(service: ServiceModel, name: str) -> OperationModel | None:
    if name not in service.operation_names:
        return None
    operation: OperationModel = service.operation_model(name)
    return operation
