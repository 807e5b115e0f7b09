"""The ``ca_certificates`` and ``registration_codes`` rows: lookups and the API shape of a CA.

Shared by the CA operations and just-in-time registration. A CA's id is the lowercase hex SHA-256 of its DER
and its ARN ``arn:aws:iot:{region}:{account}:cacert/{id}``; ``status`` is ACTIVE or INACTIVE,
``auto_registration_status`` ENABLE or DISABLE.
"""

from __future__ import annotations

from typing import Any, Final

from sqlalchemy import Row, select
from sqlalchemy.ext.asyncio import AsyncConnection

from corral.registry.certificate_store import find_by_id, normalize_id
from corral.registry.context import RegistryContext
from corral.registry.errors import ResourceNotFound
from corral.registry.security_common import Output
from corral.registry.thing_common import to_datetime
from corral.store.schema import ca_certificates, registration_codes

ACTIVE: Final = "ACTIVE"
INACTIVE: Final = "INACTIVE"
ENABLE: Final = "ENABLE"
DISABLE: Final = "DISABLE"


def ca_arn(context: RegistryContext, ca_id: str) -> str:
    return context.arn(f"cacert/{ca_id}")


async def find_ca(
    conn: AsyncConnection, context: RegistryContext, ca_id: str, *, for_update: bool = False
) -> Row[Any] | None:
    return await find_by_id(conn, ca_certificates, context, ca_id, for_update=for_update)


async def require_ca(
    conn: AsyncConnection, context: RegistryContext, ca_id: str, *, for_update: bool = False
) -> Row[Any]:
    row = await find_ca(conn, context, ca_id, for_update=for_update)
    if row is None:
        raise ResourceNotFound(f"CA certificate {normalize_id(ca_id)} does not exist")
    return row


async def registration_code(conn: AsyncConnection, context: RegistryContext) -> str | None:
    found = await conn.execute(
        select(registration_codes.c.registration_code).where(
            registration_codes.c.account_id == context.account_id
        )
    )
    code: str | None = found.scalar()
    return code


def ca_description(row: Row[Any]) -> Output:
    """DescribeCACertificate's ``certificateDescription``."""
    return {
        "certificateArn": row.certificate_arn,
        "certificateId": row.certificate_id,
        "status": row.status,
        "certificatePem": row.certificate_pem,
        "ownedBy": row.owned_by,
        "creationDate": to_datetime(row.created_at),
        "autoRegistrationStatus": row.auto_registration_status,
        "lastModifiedDate": to_datetime(row.last_modified_at),
        "customerVersion": row.customer_version,
        "generationId": row.generation_id,
        "validity": {
            "notBefore": to_datetime(row.validity_not_before),
            "notAfter": to_datetime(row.validity_not_after),
        },
        "certificateMode": row.certificate_mode,
    }
