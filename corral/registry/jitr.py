"""Just-in-time registration (JITR): what the broker calls when a device presents a certificate this account
does not know yet, signed by a CA registered here (docs/control-plane-facts.md §10, "JITR event").

AWS's behaviour: the CA must be registered, ACTIVE and have auto-registration ENABLE; the certificate is then
registered as PENDING_ACTIVATION (in the CA's certificate mode) and the connection is refused until someone
activates it (UpdateCertificate). AWS publishes the registration message on
``$aws/events/certificates/registered/{caCertificateId}`` when it registers a certificate "or when a client
presents a certificate in the PENDING_ACTIVATION status", so a device that reconnects while still pending
announces itself again. The message is not a registry event: AWS sends it whatever the event configuration
says (observed), so it bypasses :meth:`RegistryContext.publish_event`. The payload is AWS's, as captured from
a real account: ``timestamp`` in epoch milliseconds, ``certificateRegistrationTimestamp`` null, and
``sourceIp`` when the broker knows the device's address.

Just-in-time provisioning (a CA's ``registrationConfig`` template creating things and policies) is not done
here.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import orjson
from cryptography import x509
from sqlalchemy import insert

from corral.registry.ca_store import ACTIVE, ENABLE, find_ca
from corral.registry.certificate_store import (
    PENDING_ACTIVATION,
    find_certificate,
    new_certificate,
    normalize_id,
)
from corral.registry.certificate_x509 import id_of, is_expired, issued_by
from corral.registry.context import RegistryContext
from corral.store.errors import ConstraintViolation
from corral.store.schema import certificates


@dataclass(frozen=True, slots=True)
class JustInTimeRegistration:
    """The certificate the device presented, as the registry now holds it."""

    certificate_id: str
    certificate_arn: str
    status: str
    registered: bool
    """True when this call registered it (False: it was already registered)."""


def registered_topic(ca_certificate_id: str) -> str:
    return f"$aws/events/certificates/registered/{ca_certificate_id}"


async def register_just_in_time(
    context: RegistryContext, cert_der: bytes, ca_certificate_id: str, *, source_ip: str | None = None
) -> JustInTimeRegistration | None:
    """Register ``cert_der``, signed by the registered CA ``ca_certificate_id``, as PENDING_ACTIVATION.

    Returns ``None`` when JITR does not apply: the CA is not registered in this account, not ACTIVE or its
    auto-registration is DISABLE, or the certificate is unreadable, expired or not signed by that CA. A
    certificate that is already registered is returned as it is; the registration message is published (again)
    when it is PENDING_ACTIVATION, as AWS does.
    """
    ca_id = normalize_id(ca_certificate_id)
    try:
        cert = x509.load_der_x509_certificate(cert_der)
    except ValueError:
        return None
    try:
        outcome = await _register(context, cert, ca_id)
    except ConstraintViolation:  # another connection registered it first: report that registration
        outcome = await _register(context, cert, ca_id)
    if outcome is None:
        return None
    found, topic_ca = outcome
    if found.registered:
        context.changed("certificate", found.certificate_id)
    if found.status == PENDING_ACTIVATION:
        _publish_registered(context, found.certificate_id, topic_ca, source_ip)
    return found


async def _register(
    context: RegistryContext, cert: x509.Certificate, ca_id: str
) -> tuple[JustInTimeRegistration, str] | None:
    """One transaction: the registration and the CA id its message is published under, or ``None``."""
    async with context.store.begin() as conn:
        existing = await find_certificate(conn, context, id_of(cert))
        if existing is not None:
            found = JustInTimeRegistration(
                existing.certificate_id, existing.certificate_arn, existing.status, registered=False
            )
            return found, existing.ca_certificate_id or ca_id
        ca = await find_ca(conn, context, ca_id)
        if ca is None or ca.status != ACTIVE or ca.auto_registration_status != ENABLE:
            return None
        ca_cert = x509.load_pem_x509_certificate(ca.certificate_pem.encode())
        if is_expired(cert) or not issued_by(cert, ca_cert):
            return None
        values = new_certificate(
            context, cert, status=PENDING_ACTIVATION, ca_certificate_id=ca_id, mode=ca.certificate_mode
        )
        await conn.execute(insert(certificates).values(values))
    registered = JustInTimeRegistration(
        values["certificate_id"], values["certificate_arn"], PENDING_ACTIVATION, registered=True
    )
    return registered, ca_id


def _publish_registered(context: RegistryContext, cert_id: str, ca_id: str, source_ip: str | None) -> None:
    if context.publish is None:
        return
    message: dict[str, Any] = {
        "certificateId": cert_id,
        "caCertificateId": ca_id,
        "timestamp": int(time.time() * 1000),
        "certificateStatus": PENDING_ACTIVATION,
        "awsAccountId": context.account_id,
        "certificateRegistrationTimestamp": None,
    }
    if source_ip is not None:
        message["sourceIp"] = source_ip
    context.publish(registered_topic(ca_id), orjson.dumps(message))
