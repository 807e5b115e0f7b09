"""Who a connection is, and the two interfaces the broker asks before it lets anything happen.

The broker calls the authenticator once per CONNECT, then asks the authorizer for the connection's
``Grant``: the object it consults on PUBLISH, SUBSCRIBE and every delivery (AWS's ``iot:Receive``). A grant
answers synchronously because it sits on the per-message path: an implementation answers from policies
compiled for that connection, and may withdraw them (``on_revoked``) when the registry changes.

The defaults here serve the loopback-only insecure listener and tests: any certificate that chained to the
Corral root CA during the TLS handshake is accepted, and everything is allowed. ``corral serve`` uses the
registry's authenticator and authorizer (``corral/registry/broker_auth.py``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
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


class Grant(Protocol):
    """What one connection may do. ``on_revoked`` is set by the broker: the grant calls it when the
    connection must end (its certificate deactivated, its iot:Connect permission withdrawn)."""

    on_revoked: Callable[[], None] | None

    def can_publish(self, topic: str) -> bool: ...

    def can_retain_publish(self, topic: str) -> bool: ...

    def can_subscribe(self, topic_filter: str) -> bool: ...

    def can_receive(self, topic: str) -> bool: ...

    def close(self) -> None:
        """The connection is over; the grant stops following registry changes."""
        ...


class Authorizer(Protocol):
    async def authorize_connect(self, principal: Principal, client_id: str, remote_ip: str) -> Grant | None:
        """The connection's grant, or None when iot:Connect is not allowed."""
        ...


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


class AllowAll:
    """A grant that allows everything: the loopback-only insecure listener's, and the foundation's."""

    on_revoked: Callable[[], None] | None = None

    def can_publish(self, topic: str) -> bool:
        return True

    def can_retain_publish(self, topic: str) -> bool:
        return True

    def can_subscribe(self, topic_filter: str) -> bool:
        return True

    def can_receive(self, topic: str) -> bool:
        return True

    def close(self) -> None:
        pass


ALLOW_ALL = AllowAll()


class AllowAllAuthorizer:
    async def authorize_connect(self, principal: Principal, client_id: str, remote_ip: str) -> Grant | None:
        return ALLOW_ALL
