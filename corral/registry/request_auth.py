"""Certificate-authenticated HTTPS requests (AWS's data-plane port with mutual TLS): who may do what.

A request carrying a client certificate and no SigV4 signature is answered only when the certificate could
connect over MQTT (registered, ACTIVE, its CA ACTIVE) and its IoT policies allow every permission the
operation needs. There is no MQTT client id on such a request, so the ``iot:Connection.Thing.*`` and
``iot:ClientId`` variables are unknown, as on AWS.
"""

from __future__ import annotations

from collections.abc import Sequence

from corral.auth.policy import ConnectionContext, ConnectionPolicy, compile_policies, parse_policy
from corral.auth.policy_certificate import certificate_fields
from corral.auth.principals import certificate_principal
from corral.registry.broker_auth import UntilChange, certificate_may_connect
from corral.registry.context import RegistryContext
from corral.registry.policy_attachments import policies_for_certificate


class CertificateRequests:
    def __init__(self, context: RegistryContext) -> None:
        self.context = context
        self._policies: UntilChange[tuple[str, str], ConnectionPolicy] = UntilChange(context)

    async def allows(
        self, certificate_der: bytes, remote_ip: str, permissions: Sequence[tuple[str, str]]
    ) -> bool:
        """True when the certificate may be used here and its policies allow each (action, resource)."""
        policy = await self._policy(certificate_der, remote_ip)
        if policy is None:
            return False
        return all(policy.allows(action, self.context.arn(resource)) for action, resource in permissions)

    async def _policy(self, certificate_der: bytes, remote_ip: str) -> ConnectionPolicy | None:
        principal = certificate_principal(certificate_der)
        key = (principal.id, remote_ip)
        cached = self._policies.get(key)
        if cached is not None:
            return cached
        generation = self._policies.generation
        if not await certificate_may_connect(self.context, principal.id):
            return None  # refusals are not kept: an activation must take effect at once
        documents = await policies_for_certificate(self.context, principal.id, None)
        connection = ConnectionContext(
            region=self.context.region,
            account_id=self.context.account_id,
            source_ip=remote_ip or None,
            certificate=certificate_fields(certificate_der),
        )
        policy = compile_policies([parse_policy(text) for text in documents], connection)
        self._policies.put(key, policy, generation)
        return policy
