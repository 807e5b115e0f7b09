"""HTTP and HTTPS listeners in the broker's event loop, serving one ASGI application.

uvicorn supplies the HTTP/1.1 and WebSocket protocol implementations; we own the sockets so the listeners
live in the same loop as the broker. uvicorn (0.54) does not yet put the client certificate in the ASGI
scope, so the protocol subclasses below add the ASGI TLS extension (``scope["extensions"]["tls"]``) from the
connection's SSL object before the application sees a request.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from uvicorn.config import Config as UvicornConfig
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.protocols.websockets.wsproto_impl import WSProtocol
from uvicorn.server import ServerState

Scope = MutableMapping[str, Any]
ASGIApp = Callable[[Scope, Callable[[], Awaitable[Any]], Callable[[Any], Awaitable[None]]], Awaitable[None]]


def _tls_extension(transport: asyncio.BaseTransport) -> dict[str, Any] | None:
    ssl_object = transport.get_extra_info("ssl_object")
    if ssl_object is None:
        return None
    der = ssl_object.getpeercert(binary_form=True)
    cipher = ssl_object.cipher()
    return {
        "server_cert": None,
        "client_cert_chain": [ssl.DER_cert_to_PEM_cert(der)] if der else [],
        "client_cert_name": None,
        "client_cert_error": None,
        "tls_version": None,
        "cipher_suite": None,
        "corral_cipher": cipher[0] if cipher else None,
    }


def _with_tls(app: Any, transport: asyncio.BaseTransport) -> Any:
    tls = _tls_extension(transport)
    if tls is None:
        return app

    async def app_with_tls(scope: Scope, receive: Any, send: Any) -> None:
        scope.setdefault("extensions", {})["tls"] = tls
        await app(scope, receive, send)

    return app_with_tls


class _TLSAwareH11(H11Protocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.app = _with_tls(self.config.loaded_app, transport)
        super().connection_made(transport)  # type: ignore[arg-type]


class _TLSAwareWS(WSProtocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.app = _with_tls(self.config.loaded_app, transport)
        super().connection_made(transport)  # type: ignore[arg-type]


class HTTPListeners:
    """The HTTPS (and loopback plain-HTTP) servers for one ASGI application."""

    def __init__(self, app: ASGIApp, *, log_level: str = "warning") -> None:
        self.config = UvicornConfig(
            app=app,
            http=_TLSAwareH11,
            ws=_TLSAwareWS,
            lifespan="off",
            log_level=log_level,
            access_log=False,
            ws_max_size=1024 * 1024,
            ws_ping_interval=None,
            proxy_headers=False,
        )
        self.config.load()
        self.state = ServerState()
        self.app_state: dict[str, Any] = {}
        self.servers: list[asyncio.Server] = []

    async def listen(self, sock: socket.socket, ssl_context: ssl.SSLContext | None) -> asyncio.Server:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(
            lambda: _TLSAwareH11(self.config, self.state, self.app_state),
            sock=sock,
            ssl=ssl_context,
            backlog=1024,
        )
        self.servers.append(server)
        return server

    async def close(self) -> None:
        for server in self.servers:
            server.close()
        for connection in list(self.state.connections):
            connection.shutdown()
        if self.state.tasks:
            await asyncio.wait(list(self.state.tasks), timeout=5)
        for server in self.servers:
            await server.wait_closed()
