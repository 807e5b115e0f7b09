"""The interface every protocol module implements, and the registry that picks one by model.

A protocol turns a routed request into the operation's input parameters, and output parameters or an
error into a response. Routing is in ``routing.py`` and validation in ``validate.py``: both are the same
for every protocol.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from botocore.model import OperationModel, ServiceModel, Shape

from corral.api.protocol.errors import SerializationError
from corral.api.protocol.message import HttpRequest, HttpResponse
from corral.api.protocol.profiles import profile_for, wire_protocol


@dataclass(frozen=True)
class ErrorReply:
    """An error to answer with, its modeled shape resolved (None for codes the model does not declare)."""

    code: str
    message: str
    status: int
    shape: Shape | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def wire_code(self) -> str:
        """The code clients see: the shape's ``error.code`` when modeled (query services), else ``code``."""
        if self.shape is None:
            return self.code
        return str(self.shape.metadata.get("error", {}).get("code", self.shape.name))

    @property
    def sender_fault(self) -> bool:
        if self.shape is not None and "senderFault" in self.shape.metadata.get("error", {}):
            return bool(self.shape.metadata["error"]["senderFault"])
        return self.status < 500

    def message_member(self) -> str:
        """The member of the error shape that carries the message (``message`` or ``Message``)."""
        if self.shape is not None:
            for name in self.shape.members:
                if name.lower() == "message":
                    return str(name)
        return "message"


class Protocol(ABC):
    name: ClassVar[str]

    @abstractmethod
    def parse_request(
        self, operation: OperationModel, request: HttpRequest, path_params: Mapping[str, str]
    ) -> dict[str, Any]:
        """The operation's input parameters, typed as botocore's client would have been given them."""

    @abstractmethod
    def serialize_response(
        self, operation: OperationModel, output: Mapping[str, Any], request_id: str
    ) -> HttpResponse: ...

    @abstractmethod
    def serialize_error(self, service: ServiceModel, error: ErrorReply, request_id: str) -> HttpResponse: ...


def serialization_error(operation: OperationModel, message: str) -> SerializationError:
    profile = profile_for(operation.service_model)
    return SerializationError(profile.serialization_code, message, profile.serialization_status)


_PROTOCOLS: dict[str, Protocol] = {}


def register(protocol: Protocol) -> Protocol:
    _PROTOCOLS[protocol.name] = protocol
    return protocol


def protocol_for(service: ServiceModel) -> Protocol:
    name = wire_protocol(service)
    try:
        return _PROTOCOLS[name]
    except KeyError:
        raise NotImplementedError(f"protocol {name!r} ({service.service_name}) is not implemented") from None
