"""MQTT over WebSocket at ``/mqtt`` (subprotocol ``mqtt``): an ASGI endpoint feeding the same connection code.

The endpoint gives ``MQTTConnection`` a transport-shaped adapter, so the broker cannot tell a WebSocket
client from a TCP one: binary frames in are fed to the parser as a byte stream, writes are sent as binary
frames by one sender task, and the adapter applies the same write-buffer flow control as a socket.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from typing import Any

from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from corral.broker.broker import Broker
from corral.broker.connection import MQTTConnection


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


async def mqtt_over_websocket(websocket: WebSocket, broker: Broker) -> None:
    requested = websocket.scope.get("subprotocols", [])
    cert = client_certificate_der(websocket.scope)
    if cert is None:
        # Devices on AWS authenticate here with SigV4 or a certificate; only certificates exist so far.
        await websocket.close(code=1008, reason="a client certificate is required")
        return
    await websocket.accept(subprotocol="mqtt" if "mqtt" in requested else None)
    connection = MQTTConnection(broker, "wss", client_cert_der=cert)
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
