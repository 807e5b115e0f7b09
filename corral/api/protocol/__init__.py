"""AWS wire protocols, implemented once and driven by botocore's service models.

One module per protocol (``rest_json``, ``json_rpc``, ``query``, ``rest_xml``) behind one interface
(``base.Protocol``); routing (``routing``), validation (``validate``) and the per-service error answers
(``profiles``) are shared. Sans-I/O: the server hands in method, raw path, query, headers and body bytes
and gets back parameters, or status, headers and body bytes.
"""

from corral.api.protocol.errors import (
    ProtocolError,
    SerializationError,
    UnknownOperationError,
    ValidationError,
)
from corral.api.protocol.message import HttpRequest, HttpResponse
from corral.api.protocol.models import find_error_shape, load_service_model
from corral.api.protocol.profiles import ServiceProfile, profile_for, register_profile
from corral.api.protocol.routing import OperationMatch, Router, router_for
from corral.api.protocol.wire import (
    error_response,
    new_request_id,
    parse_request,
    route,
    serialize_error,
    serialize_response,
    validate_input,
)

__all__ = [
    "HttpRequest",
    "HttpResponse",
    "OperationMatch",
    "ProtocolError",
    "Router",
    "SerializationError",
    "ServiceProfile",
    "UnknownOperationError",
    "ValidationError",
    "error_response",
    "find_error_shape",
    "load_service_model",
    "new_request_id",
    "parse_request",
    "profile_for",
    "register_profile",
    "route",
    "router_for",
    "serialize_error",
    "serialize_response",
    "validate_input",
]
