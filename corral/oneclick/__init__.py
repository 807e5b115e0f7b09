"""AWS IoT 1-Click on Corral: a factory for devices, claims, projects, placements and templates, device
methods, and click events turned into the events the 1-Click guide documents.

``products`` (what a factory can make), ``events`` (the pure event algebra), ``callbacks`` (where events go:
the interface), ``actions`` (what a callback names), ``dispatch`` (the server's dispatcher: functions, SMS and
e-mail), ``metrics`` (TotalEvents, RemainingLife, CallbackInvocationErrors),
``devices`` and ``projects`` (the two services, one per AWS API), ``ingest`` (clicks arriving on the
broker), ``factory`` (Corral's own manufacturing endpoint), ``api`` (the two AWS APIs from the models we
declare in ``models/``), ``button`` (a simulated Enterprise Button) and ``aws_models`` (installing botocore's
last copies of the two models for today's aws CLI).
"""

from pathlib import Path

MODELS_DIR = Path(__file__).parent / "models"
API_VERSION = "2018-05-14"
DEVICES_SERVICE = "iot1click-devices"
PROJECTS_SERVICE = "iot1click-projects"
SIGNING_NAME = "iot1click"


def model_path(service: str) -> Path:
    """Corral's declaration of ``service`` (``iot1click-devices`` or ``iot1click-projects``)."""
    return MODELS_DIR / service / API_VERSION / "service-2.json"
