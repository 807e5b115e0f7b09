"""Who a connection is, and the two interfaces the broker asks before it lets anything happen.

The broker calls the authenticator once per CONNECT and the authorizer on CONNECT, PUBLISH, SUBSCRIBE and on
every delivery (AWS's ``iot:Receive``). Authorization is synchronous because it sits on the per-message path:
an implementation answers from compiled, in-memory policies. The defaults here are the foundation's:
any certificate that chained to the Corral root CA during the TLS handshake is accepted, and everything
is allowed. The registry replaces both.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class Principal:
    """``id`` is AWS's principal identifier: a certificate id, or ``anonymous`` on the dev port."""

    id: str
    kind: str  # "certificate" | "anonymous"
    certificate_der: bytes | None = None


ANONYMOUS = Principal(id="anonymous", kind="anonymous")


def certificate_principal(cert_der: bytes) -> Principal:
    return Principal(id=hashlib.sha256(cert_der).hexdigest(), kind="certificate", certificate_der=cert_der)


@dataclass(frozen=True, slots=True)
class ConnectAttempt:
    client_id: str
    client_cert_der: bytes | None
    username: str | None
    password: bytes | None
    transport: str  # "mqtts" | "wss" | "mqtt-insecure"
    remote_ip: str


class Authenticator(Protocol):
    async def authenticate(self, attempt: ConnectAttempt) -> Principal | None:
        """The principal, or None to refuse the connection (not authorized)."""
        ...


class Authorizer(Protocol):
    async def authorize_connect(self, principal: Principal, client_id: str) -> bool: ...

    def authorize_publish(self, principal: Principal, client_id: str, topic: str) -> bool: ...

    def authorize_subscribe(self, principal: Principal, client_id: str, topic_filter: str) -> bool: ...

    def authorize_receive(self, principal: Principal, client_id: str, topic: str) -> bool: ...


class CertificateChainAuthenticator:
    """Accepts a client certificate the TLS layer verified against the Corral root CA.

    Connections on the loopback-only insecure port carry no certificate and are anonymous.
    """

    async def authenticate(self, attempt: ConnectAttempt) -> Principal | None:
        if attempt.transport == "mqtt-insecure":
            return ANONYMOUS
        if attempt.client_cert_der is None:
            return None
        return certificate_principal(attempt.client_cert_der)


class AllowAllAuthorizer:
    async def authorize_connect(self, principal: Principal, client_id: str) -> bool:
        return True

    def authorize_publish(self, principal: Principal, client_id: str, topic: str) -> bool:
        return True

    def authorize_subscribe(self, principal: Principal, client_id: str, topic_filter: str) -> bool:
        return True

    def authorize_receive(self, principal: Principal, client_id: str, topic: str) -> bool:
        return True
