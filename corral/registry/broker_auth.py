"""The registry as the broker's gatekeeper: who may connect, and what each connection's policies allow.

Authentication: a device must present a certificate registered in this account and ACTIVE, and when it was
registered with a CA, that CA must be ACTIVE too. A certificate signed by a registered CA with
auto-registration on is registered just in time (PENDING_ACTIVATION) and refused until someone activates it.
Only the loopback-only insecure listener admits anyone; its connections are anonymous and unrestricted.

Authorization: at CONNECT the policies that apply to the certificate (its own, and its thing's groups') are
compiled once into the connection's grant, with the policy variables it resolves (client id, thing,
certificate fields); publish, subscribe and every delivery then ask that grant. When the registry reports a
change, every live grant is recompiled, and a connection whose certificate or iot:Connect permission is
gone is told to go (``on_revoked``), so a change reaches devices within a moment.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

from cryptography import x509
from sqlalchemy import and_, select

from corral.auth.policy import (
    ConnectionContext,
    ConnectionPolicy,
    PolicyDocument,
    compile_policies,
    parse_policy,
)
from corral.auth.policy_certificate import certificate_fields
from corral.auth.principals import (
    ALLOW_ALL,
    ANONYMOUS,
    ConnectAttempt,
    Grant,
    Principal,
    certificate_principal,
)
from corral.registry.certificate_store import PENDING_ACTIVATION
from corral.registry.certificate_x509 import issued_by
from corral.registry.context import Change, RegistryContext
from corral.registry.jitr import register_just_in_time
from corral.registry.policies import policies_for_certificate
from corral.store.schema import ca_certificates, certificates, thing_principals, things

log = logging.getLogger(__name__)

ACTIVE = "ACTIVE"
ACCESS_KEY = "access-key"
"""``Principal.kind`` of a connection authenticated by a SigV4-presigned WebSocket URL (the broker's
``corral/broker/websocket.py`` makes those principals)."""


ConnectFacts = tuple[tuple[str, ...], str | None]
"""What a CONNECT tells the policies besides who and where: ``iot:ConnectAttributes``, the will topic."""
CompiledKey = tuple[str, str, str, ConnectFacts]  # principal id, client id, source address, CONNECT facts
AttachedThings = dict[str, tuple[str | None, dict[str, str]]]  # thing name -> (thing type, attributes)


class PolicyGrant:
    """One connection's compiled policies; recompiled in place when the registry changes."""

    def __init__(
        self,
        owner: PolicyAuthorizer,
        principal: Principal,
        client_id: str,
        remote_ip: str,
        connect: ConnectFacts,
        policy: ConnectionPolicy,
    ) -> None:
        self.owner = owner
        self.principal = principal
        self.client_id = client_id
        self.remote_ip = remote_ip
        self.connect = connect
        self.policy = policy
        self.on_revoked: Callable[[], None] | None = None

    def can_publish(self, topic: str) -> bool:
        return self.policy.can_publish(topic)

    def can_retain_publish(self, topic: str) -> bool:
        return self.policy.can_retain_publish(topic)

    def can_subscribe(self, topic_filter: str) -> bool:
        return self.policy.can_subscribe(topic_filter)

    def can_receive(self, topic: str) -> bool:
        return self.policy.can_receive(topic)

    def close(self) -> None:
        self.owner.grants.discard(self)


K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class UntilChange(Generic[K, V]):
    """Answers remembered until the registry reports any change.

    Devices reconnect with the same certificate and client id, so CONNECT would otherwise read the store
    and compile the same policies again each time. ``generation`` guards against an answer computed from
    data read before a change being stored after it.
    """

    def __init__(self, context: RegistryContext, size: int = 10_000) -> None:
        self.values: dict[K, V] = {}
        self.generation = 0
        self.size = size
        context.listeners.append(self._forget)

    def _forget(self, change: Change) -> None:
        self.generation += 1
        self.values.clear()

    def get(self, key: K) -> V | None:
        return self.values.get(key)

    def put(self, key: K, value: V, generation: int) -> None:
        if generation != self.generation:
            return
        if len(self.values) >= self.size:
            del self.values[next(iter(self.values))]
        self.values[key] = value


class RegistryAuthenticator:
    def __init__(self, context: RegistryContext) -> None:
        self.context = context
        self._admitted: UntilChange[str, bool] = UntilChange(context)

    async def authenticate(self, attempt: ConnectAttempt) -> Principal | None:
        if attempt.transport == "mqtt-insecure":
            return ANONYMOUS
        der = attempt.client_cert_der
        if der is None:
            return None
        cert_id = hashlib.sha256(der).hexdigest()
        if self._admitted.get(cert_id):
            return certificate_principal(der)
        generation = self._admitted.generation
        if await certificate_may_connect(self.context, cert_id):
            self._admitted.put(cert_id, True, generation)  # refusals are not kept: JITR must see each one
            return certificate_principal(der)
        await self._just_in_time(der, cert_id, attempt.remote_ip)
        return None

    async def _just_in_time(self, der: bytes, cert_id: str, remote_ip: str) -> None:
        """An unknown certificate from a registered CA with auto-registration is registered, pending."""
        context = self.context
        async with context.store.read() as conn:
            known = (
                await conn.execute(
                    select(certificates.c.status, certificates.c.ca_certificate_id).where(
                        and_(
                            certificates.c.account_id == context.account_id,
                            certificates.c.certificate_id == cert_id,
                        )
                    )
                )
            ).first()
            cas = [] if known is not None else (
                await conn.execute(
                    select(ca_certificates.c.certificate_id, ca_certificates.c.certificate_pem).where(
                        ca_certificates.c.account_id == context.account_id
                    )
                )
            ).all()  # fmt: skip
        source_ip = remote_ip or None
        if known is not None:
            # Registered but not allowed to connect. A pending certificate announces itself again each time
            # it is presented, as on AWS; an inactive or revoked one is simply refused.
            if known.status == PENDING_ACTIVATION and known.ca_certificate_id is not None:
                await register_just_in_time(context, der, known.ca_certificate_id, source_ip=source_ip)
            return
        try:
            cert = x509.load_der_x509_certificate(der)
        except ValueError:
            return
        for ca_id, ca_pem in cas:
            if issued_by(cert, x509.load_pem_x509_certificate(ca_pem.encode())):
                await register_just_in_time(context, der, ca_id, source_ip=source_ip)
                return


async def certificate_may_connect(context: RegistryContext, cert_id: str) -> bool:
    """Registered here, ACTIVE, and (when registered with a CA) that CA ACTIVE."""
    async with context.store.read() as conn:
        row = (
            await conn.execute(
                select(certificates.c.status, certificates.c.ca_certificate_id).where(
                    and_(
                        certificates.c.account_id == context.account_id,
                        certificates.c.certificate_id == cert_id,
                    )
                )
            )
        ).first()
        if row is None or row.status != ACTIVE:
            return False
        if row.ca_certificate_id is None:
            return True
        ca_status = await conn.scalar(
            select(ca_certificates.c.status).where(
                and_(
                    ca_certificates.c.account_id == context.account_id,
                    ca_certificates.c.certificate_id == row.ca_certificate_id,
                )
            )
        )
        return ca_status == ACTIVE


class PolicyAuthorizer:
    """IoT policies, compiled per connection; the anonymous dev-listener principal is unrestricted.

    A connection signed with one of the account's access keys (MQTT over WebSocket with SigV4) is not
    governed by IoT policies: on AWS such a principal is authorized by IAM, and Corral's access keys are
    the account's administrators, so it is allowed everything (docs/broker.md, section 10).
    """

    decides_connect_attributes = True
    """The broker passes this authorizer the CONNECT's attributes and will topic."""

    def __init__(self, context: RegistryContext) -> None:
        self.context = context
        self.grants: set[PolicyGrant] = set()
        self._compiled: UntilChange[CompiledKey, ConnectionPolicy] = UntilChange(context)
        # A fleet connects with one client id per device, so compiled policies are rarely reused across
        # connections; what is shared is what the store says about a certificate: its things and the
        # policy documents that apply with each (none: the certificate's own).
        self._things: UntilChange[str, AttachedThings] = UntilChange(context)
        self._documents: UntilChange[tuple[str, str | None], tuple[PolicyDocument, ...]] = UntilChange(
            context
        )
        self._refresh: asyncio.Task[None] | None = None
        self._dirty = False
        context.listeners.append(self._changed)

    async def _compile(
        self, principal: Principal, client_id: str, remote_ip: str, connect: ConnectFacts
    ) -> ConnectionPolicy:
        context = self.context
        assert principal.certificate_der is not None
        cert_arn = context.arn(f"cert/{principal.id}")
        attached = await self._attached_things(cert_arn)
        thing = attached.get(client_id)
        thing_name = client_id if thing is not None else None
        thing_type, attributes = thing if thing is not None else (None, {})
        parsed = self._documents.get((principal.id, thing_name))
        if parsed is None:
            generation = self._documents.generation
            documents = await policies_for_certificate(context, principal.id, thing_name)
            parsed = tuple(parse_policy(text) for text in documents)
            self._documents.put((principal.id, thing_name), parsed, generation)
        connection = ConnectionContext(
            region=context.region,
            account_id=context.account_id,
            client_id=client_id,
            source_ip=remote_ip or None,
            thing_name=thing_name,
            thing_type_name=thing_type,
            thing_attributes=attributes,
            is_attached=thing_name is not None,
            certificate=certificate_fields(principal.certificate_der),
            connect_attributes=connect[0],
            last_will_topic=connect[1],
        )
        return compile_policies(parsed, connection)

    async def _attached_things(self, cert_arn: str) -> AttachedThings:
        """The things attached to the certificate; the one named like the client id is the connection's."""
        attached = self._things.get(cert_arn)
        if attached is None:
            generation = self._things.generation
            attached = await self._read_attached_things(cert_arn)
            self._things.put(cert_arn, attached, generation)
        return attached

    async def _read_attached_things(self, cert_arn: str) -> AttachedThings:
        context = self.context
        async with context.store.read() as conn:
            rows = (
                await conn.execute(
                    select(things.c.thing_name, things.c.thing_type_name, things.c.attributes)
                    .join(
                        thing_principals,
                        and_(
                            thing_principals.c.account_id == things.c.account_id,
                            thing_principals.c.thing_name == things.c.thing_name,
                        ),
                    )
                    .where(
                        and_(
                            things.c.account_id == context.account_id,
                            thing_principals.c.principal == cert_arn,
                        )
                    )
                )
            ).all()
        return {row.thing_name: (row.thing_type_name, dict(row.attributes or {})) for row in rows}

    async def authorize_connect(
        self,
        principal: Principal,
        client_id: str,
        remote_ip: str,
        *,
        connect_attributes: tuple[str, ...] = (),
        last_will_topic: str | None = None,
    ) -> Grant | None:
        if principal.kind in ("anonymous", ACCESS_KEY):
            return ALLOW_ALL  # the loopback-only insecure listener; an administrator's access key
        connect: ConnectFacts = (connect_attributes, last_will_topic)
        key = (principal.id, client_id, remote_ip, connect)
        policy = self._compiled.get(key)
        if policy is None:
            generation = self._compiled.generation
            policy = await self._compile(principal, client_id, remote_ip, connect)
            self._compiled.put(key, policy, generation)
        if not policy.can_connect(client_id):
            return None
        grant = PolicyGrant(self, principal, client_id, remote_ip, connect, policy)
        self.grants.add(grant)
        return grant

    # -- keeping up with the registry ----------------------------------------------------------------

    def _changed(self, change: Change) -> None:
        self._dirty = True
        if self._refresh is None or self._refresh.done():
            self._refresh = asyncio.get_running_loop().create_task(self._recompile_all())

    async def _recompile_all(self) -> None:
        while self._dirty:
            self._dirty = False
            for grant in list(self.grants):
                try:
                    allowed = await certificate_may_connect(self.context, grant.principal.id)
                    policy = await self._compile(
                        grant.principal, grant.client_id, grant.remote_ip, grant.connect
                    )
                    allowed = allowed and policy.can_connect(grant.client_id)
                except Exception:
                    log.exception("recompiling the policies of %s failed; disconnecting it", grant.client_id)
                    allowed, policy = False, grant.policy
                if grant not in self.grants:
                    continue  # the connection ended meanwhile
                grant.policy = policy
                if not allowed:
                    grant.close()
                    if grant.on_revoked is not None:
                        grant.on_revoked()
