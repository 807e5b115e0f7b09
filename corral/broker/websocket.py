"""MQTT over WebSocket at ``/mqtt`` (subprotocol ``mqtt``): an ASGI endpoint feeding the same connection code.

Who connects, decided before the upgrade, as AWS IoT does on its WebSocket endpoint:

* a URL presigned with SigV4 (``/mqtt?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=…``, signing
  service ``iotdevicegateway``, what the AWS IoT Device SDKs and hand-built presigned URLs send) whose
  access key is one of the account's active keys: the connection's principal is that access key. A bad
  signature, an unknown or inactive key, an expired URL, another region or service, or a session token
  (Corral issues none) is answered with HTTP 403 and no upgrade;
* otherwise the client certificate of the TLS connection, checked by the registry at CONNECT as on the
  MQTT port; no certificate and no signature: HTTP 403.

The endpoint gives ``MQTTConnection`` a transport-shaped adapter, so the broker cannot tell a WebSocket
client from a TCP one: binary frames in are fed to the parser as a byte stream, writes are sent as binary
frames by one sender task, and the adapter applies the same write-buffer flow control as a socket.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs

import orjson
from starlette.responses import Response
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from corral.auth.principals import Principal
from corral.auth.sigv4 import SigV4Error, verify
from corral.broker.broker import Broker
from corral.broker.connection import MQTTConnection

log = logging.getLogger(__name__)

SIGNING_SERVICE = "iotdevicegateway"
ACCESS_KEY_PRINCIPAL = "access-key"
"""``Principal.kind`` of a SigV4 connection (``corral/registry/broker_auth.py`` grants it everything)."""


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class SigV4Access:
    """What the endpoint needs to check presigned URLs: the secret of an active access key (None when
    the key is unknown or inactive), the account's region, and the clock."""

    secret_for: Callable[[str], str | None]
    region: str
    clock: Callable[[], datetime] = field(default=_utc_now)


class Refused(Exception):
    """A WebSocket upgrade answered with an HTTP error instead."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.status = status
        self.code = code
        self.message = message


def is_presigned(query_string: bytes) -> bool:
    names = parse_qs(query_string.decode("latin-1"), keep_blank_values=True)
    return any(name in names for name in ("X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Signature"))


def sigv4_principal(scope: Any, access: SigV4Access | None) -> Principal:
    """The access key that presigned this upgrade request; raises :class:`Refused` (403) otherwise."""
    if access is None:
        raise Refused(403, "ForbiddenException", "SigV4 is not available on this endpoint")
    raw_path = scope.get("raw_path") or scope.get("path", "/").encode("utf-8")
    try:
        signed = verify(
            "GET",
            raw_path,
            scope.get("query_string", b""),
            scope.get("headers", []),
            b"",
            access.secret_for,
            access.clock(),
            expected_service=SIGNING_SERVICE,
            expected_region=access.region,
        )
    except SigV4Error as exc:
        raise Refused(403, exc.code, exc.message) from exc
    if signed.security_token is not None:
        # Corral's access keys are long-term keys; it issues no session tokens, so none can be valid.
        raise Refused(
            403, "UnrecognizedClientException", "The security token included in the request is invalid."
        )
    return Principal(id=signed.access_key_id, kind=ACCESS_KEY_PRINCIPAL)


async def _deny(websocket: WebSocket, refused: Refused) -> None:
    body = orjson.dumps({"message": refused.message})
    headers = {"x-amzn-ErrorType": refused.code}
    await websocket.send_denial_response(
        Response(body, status_code=refused.status, headers=headers, media_type="application/json")
    )


def client_certificate_der(scope: Any) -> bytes | None:
    tls = scope.get("extensions", {}).get("tls")
    if not tls or not tls.get("client_cert_chain"):
        return None
    return ssl.PEM_cert_to_DER_cert(tls["client_cert_chain"][0])


class WebSocketTransport(asyncio.Transport):
    def __init__(self, websocket: WebSocket, protocol: MQTTConnection) -> None:
        super().__init__()
        self._ws = websocket
        self._protocol = protocol
        self._buffer: list[bytes] = []
        self._size = 0
        self._high = 1024 * 1024
        self._paused = False
        self._closing = False
        self._wakeup = asyncio.Event()
        self._reading = asyncio.Event()
        self._reading.set()
        client = websocket.scope.get("client")
        self._extra: dict[str, Any] = {"peername": tuple(client) if client else None}

    # -- what MQTTConnection calls -------------------------------------------------------------------

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return self._extra.get(name, default)

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        if high is not None:
            self._high = high

    def get_write_buffer_size(self) -> int:
        return self._size

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if self._closing:
            return
        self._buffer.append(bytes(data))
        self._size += len(data)
        self._wakeup.set()
        if not self._paused and self._size > self._high:
            self._paused = True
            self._protocol.pause_writing()

    def is_closing(self) -> bool:
        return self._closing

    def close(self) -> None:
        self._closing = True
        self._wakeup.set()

    def abort(self) -> None:
        self.close()

    def pause_reading(self) -> None:
        self._reading.clear()

    def resume_reading(self) -> None:
        self._reading.set()

    def is_reading(self) -> bool:
        return self._reading.is_set()

    # -- the pumps -----------------------------------------------------------------------------------

    async def send_forever(self) -> None:
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            while self._buffer:
                data = b"".join(self._buffer)
                self._buffer.clear()
                await self._ws.send_bytes(data)
                self._size -= len(data)
            if self._paused and self._size <= self._high // 4:
                self._paused = False
                self._protocol.resume_writing()
            if self._closing and not self._buffer:
                return

    async def receive_forever(self) -> None:
        while not self._closing:
            await self._reading.wait()
            message = await self._ws.receive()
            if message["type"] == "websocket.disconnect":
                if message.get("code", 1006) not in (1005, 1006):
                    # A Close frame from the client: AWS counts it as a clean, client-initiated disconnect.
                    self._protocol.client_closed()
                return
            data = message.get("bytes")
            if data is None:
                # MQTT over WebSocket is carried in binary frames only.
                self.close()
                return
            self._protocol.data_received(data)


async def mqtt_over_websocket(websocket: WebSocket, broker: Broker, sigv4: SigV4Access | None = None) -> None:
    scope = websocket.scope
    requested = scope.get("subprotocols", [])
    cert: bytes | None = None
    principal: Principal | None = None
    try:
        if is_presigned(scope.get("query_string", b"")):
            principal = sigv4_principal(scope, sigv4)
        else:
            cert = client_certificate_der(scope)
            if cert is None:
                raise Refused(
                    403, "ForbiddenException", "a client certificate or a SigV4-signed URL is required"
                )
    except Refused as refused:
        log.info("refused a WebSocket upgrade from %s: %s", scope.get("client"), refused)
        await _deny(websocket, refused)
        return
    await websocket.accept(subprotocol="mqtt" if "mqtt" in requested else None)
    connection = MQTTConnection(broker, "wss", client_cert_der=cert, authenticated=principal)
    transport = WebSocketTransport(websocket, connection)
    connection.connection_made(transport)
    receiver = asyncio.create_task(transport.receive_forever())
    sender = asyncio.create_task(transport.send_forever())
    # Either side ends the connection: the peer (receiver returns) or the broker (sender drains and returns).
    await asyncio.wait({receiver, sender}, return_when=asyncio.FIRST_COMPLETED)
    transport.close()
    receiver.cancel()
    try:
        await asyncio.wait_for(sender, timeout=5)
    except (TimeoutError, WebSocketDisconnect, OSError):
        sender.cancel()
    error: BaseException | None = None
    if not receiver.cancelled() and receiver.done():
        error = receiver.exception()
    connection.connection_lost(error if isinstance(error, Exception) else None)
    if websocket.client_state is WebSocketState.CONNECTED:
        with contextlib.suppress(RuntimeError, OSError, WebSocketDisconnect):  # the peer may be gone
            await websocket.close()
