"""The AWS API: one ASGI application for every service Corral answers as.

A request is routed by its SigV4 credential scope's service name (``iot``, ``iotdata``...), verified
against the access keys in the store, matched to an operation of that service's botocore model, parsed,
handed to the domain's service object, and its result (or error) serialized in the service's protocol.
Domain errors carry their AWS code and status (``AWSServiceError``); anything else is our fault and answers
500 ``InternalFailureException``, logged with its traceback.
"""

from __future__ import annotations

import hashlib
import logging
import ssl
from collections.abc import Awaitable, Callable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from botocore.model import ServiceModel

from corral.api.access_keys import AccessKeys
from corral.api.protocol import (
    HttpResponse,
    ProtocolError,
    UnknownOperationError,
    error_response,
    load_service_model,
    new_request_id,
    parse_request,
    profile_for,
    route,
    serialize_error,
    serialize_response,
)
from corral.auth.sigv4 import SigV4Error, credential_scope_service, verify
from corral.errors import AWSServiceError

log = logging.getLogger(__name__)

Handler = Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]
Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]

MAX_BODY = 16 * 1024 * 1024
MISSING_TOKEN = ("MissingAuthenticationTokenException", "Missing Authentication Token", 403)


Permissions = Callable[[str, dict[str, Any]], Sequence[tuple[str, str]] | None]
"""The IoT policy permissions (action, resource relative to the account's ARN prefix) an operation needs from
a certificate-authenticated caller; None for an operation such a caller may not use."""
UNAUTHORIZED = ("UnauthorizedException", "Unauthorized", 401)


@dataclass(frozen=True, slots=True)
class Caller:
    """Who made the request being handled: what the rules engine's ``principal()`` and ``sourceip()`` say of
    a message published over HTTP."""

    principal: str
    """The SigV4 access key id, or the certificate id of a certificate-authenticated (mutual TLS) caller."""
    source_ip: str | None
    """The HTTP client's address."""


CALLER: ContextVar[Caller | None] = ContextVar("corral_api_caller", default=None)
"""The caller of the request a handler is answering (set by :class:`AWSAPI` around each handler call; None
outside one)."""


class CertificateAuthorizer(Protocol):
    async def allows(
        self, certificate_der: bytes, remote_ip: str, permissions: Sequence[tuple[str, str]]
    ) -> bool: ...


@dataclass(slots=True)
class ServiceEndpoint:
    """One AWS service as Corral answers it: its model and where its operations are implemented."""

    model: ServiceModel
    handler: Callable[[str], Handler | None]
    permissions: Permissions | None = None
    """Set for the one service that also answers certificate-authenticated (mutual TLS) requests."""
    route_path: Callable[[bytes], bytes] | None = None
    """Rewrites a (verified) request path before routing, for paths AWS accepts beyond its model's."""


class AWSAPI:
    def __init__(self, keys: AccessKeys, clock: Callable[[], datetime] | None = None) -> None:
        self.keys = keys
        self.services: dict[str, ServiceEndpoint] = {}
        self.certificates: CertificateAuthorizer | None = None
        self._clock = clock or (lambda: datetime.now(UTC))

    def add_service(
        self,
        signing_name: str,
        model_name: str,
        handler: Callable[[str], Handler | None],
        permissions: Permissions | None = None,
        route_path: Callable[[bytes], bytes] | None = None,
    ) -> None:
        """``permissions``: this service also answers requests authenticated by a client certificate instead
        of a signature (AWS's data plane with mutual TLS), each allowed by the certificate's IoT policies."""
        self.services[signing_name] = ServiceEndpoint(
            load_service_model(model_name), handler, permissions, route_path
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        body = await _read_body(receive)
        response = await self.respond(scope, body)
        await send(
            {
                "type": "http.response.start",
                "status": response.status,
                "headers": [
                    (k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in response.headers.items()
                ],
            }
        )
        # 204 and 304 carry no body (HTTP/1.1); a protocol's "{}" for an empty output is dropped here.
        body = b"" if response.status in (204, 304) else response.body
        await send({"type": "http.response.body", "body": body})

    async def respond(self, scope: Scope, body: bytes) -> HttpResponse:
        request_id = new_request_id()
        method: str = scope["method"]
        raw_path: bytes = scope.get("raw_path") or scope["path"].encode()
        raw_query: bytes = scope.get("query_string", b"")
        headers: list[tuple[bytes, bytes]] = scope["headers"]
        signing_name = credential_scope_service(headers, raw_query)
        certificate = _client_certificate(scope) if signing_name is None else None
        endpoint = self._certificate_endpoint() if certificate is not None else None
        if endpoint is None:
            certificate = None
            endpoint = self.services.get(signing_name or "")
        model = endpoint.model if endpoint is not None else self._fallback_model()
        if endpoint is None:
            code, message, status = MISSING_TOKEN
            if signing_name is not None:
                log.warning(
                    "request for a service Corral does not offer: %s %s (%s)", method, raw_path, signing_name
                )
            return serialize_error(model, code, message, status, request_id=request_id)
        try:
            if certificate is None:
                signed = verify(
                    method, raw_path, raw_query, headers, body, self.keys.secret_for, self._clock()
                )
                principal = signed.access_key_id
            else:
                principal = hashlib.sha256(certificate).hexdigest()
            if endpoint.route_path is not None:
                raw_path = endpoint.route_path(raw_path)
            match = route(model, method, raw_path, raw_query, headers, body)
            operation = match.operation
            handler = endpoint.handler(operation.name)
            if handler is None:
                # A real operation Corral does not implement answers as one AWS does not know.
                log.warning("unsupported %s operation: %s", signing_name, operation.name)
                profile = profile_for(model)
                message = profile.unknown_operation_message.format(action=operation.name)
                return serialize_error(
                    model, profile.unknown_operation_code, message, profile.unknown_operation_status,
                    request_id=request_id,
                )  # fmt: skip
            params = parse_request(
                operation, method, raw_path, raw_query, headers, body, path_params=match.path_params
            )
            if certificate is not None and not await self._certificate_allows(
                endpoint, certificate, scope, operation.name, params
            ):
                code, message, status = UNAUTHORIZED
                return serialize_error(model, code, message, status, request_id=request_id)
            client = scope.get("client")
            token = CALLER.set(Caller(principal, str(client[0]) if client else None))
            try:
                output = await handler(params)
            finally:
                CALLER.reset(token)
            return serialize_response(operation, output, request_id=request_id)
        except SigV4Error as exc:
            return serialize_error(model, exc.code, exc.message, exc.status, request_id=request_id)
        except UnknownOperationError as exc:
            log.warning(exc.describe())
            return error_response(model, exc, request_id=request_id)
        except ProtocolError as exc:
            return error_response(model, exc, request_id=request_id)
        except AWSServiceError as exc:
            return serialize_error(model, exc.code, exc.message, exc.status, exc.extra, request_id=request_id)
        except Exception:
            log.exception("internal error in %s %s", method, raw_path)
            return serialize_error(
                model, "InternalFailureException", "Internal failure", 500, request_id=request_id
            )

    def _certificate_endpoint(self) -> ServiceEndpoint | None:
        if self.certificates is None:
            return None
        return next((e for e in self.services.values() if e.permissions is not None), None)

    async def _certificate_allows(
        self,
        endpoint: ServiceEndpoint,
        certificate: bytes,
        scope: Scope,
        operation: str,
        params: dict[str, Any],
    ) -> bool:
        assert endpoint.permissions is not None and self.certificates is not None
        needed = endpoint.permissions(operation, params)
        if needed is None:
            return False
        client = scope.get("client")
        return await self.certificates.allows(certificate, client[0] if client else "", needed)

    def _fallback_model(self) -> ServiceModel:
        endpoint = self.services.get("iot")
        return endpoint.model if endpoint is not None else load_service_model("iot")


def _client_certificate(scope: Scope) -> bytes | None:
    """The DER of the client certificate the TLS handshake verified (ASGI TLS extension), if any."""
    chain = scope.get("extensions", {}).get("tls", {}).get("client_cert_chain")
    if not chain:
        return None
    return ssl.PEM_cert_to_DER_cert(chain[0])


async def _read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY:
            break
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)
