"""The ``certificates`` rows: lookups, new rows, versioned updates and their API shapes.

Shared by the certificate operations, the transfer operations, just-in-time registration and the policy
parts (which check that a certificate target exists). Invariants every writer keeps:

- ``certificate_id`` is the lowercase hex SHA-256 of the DER, ``certificate_arn`` is
  ``arn:aws:iot:{region}:{account}:cert/{id}``.
- Every change of a row bumps ``customer_version`` by one, draws a new ``generation_id`` and sets
  ``last_modified_at`` (:func:`update_certificate`); a new row starts at version 1.
- ``ca_certificate_id`` is set only for a certificate registered under a registered CA (RegisterCertificate,
  JITR); Corral-issued certificates (CreateKeysAndCertificate, CreateCertificateFromCsr) and
  RegisterCertificateWithoutCA leave it empty.
- ``transfer_data`` holds the model's TransferData members (dates as float epoch seconds) plus Corral's
  ``targetAwsAccount`` and ``state`` (PENDING, ACCEPTED, REJECTED, CANCELLED), which the API never shows.
"""

from __future__ import annotations

from typing import Any, Final

from cryptography import x509
from sqlalchemy import Row, Table, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from corral.registry.certificate_x509 import id_of, pem_of, validity
from corral.registry.context import RegistryContext
from corral.registry.errors import ResourceNotFound
from corral.registry.security_common import Output, new_generation_id
from corral.registry.thing_common import to_datetime
from corral.store.schema import certificates, epoch_now

ACTIVE: Final = "ACTIVE"
INACTIVE: Final = "INACTIVE"
REVOKED: Final = "REVOKED"
PENDING_TRANSFER: Final = "PENDING_TRANSFER"
REGISTER_INACTIVE: Final = "REGISTER_INACTIVE"
PENDING_ACTIVATION: Final = "PENDING_ACTIVATION"
STATUSES: Final = (ACTIVE, INACTIVE, REVOKED, PENDING_TRANSFER, REGISTER_INACTIVE, PENDING_ACTIVATION)

DEFAULT_MODE: Final = "DEFAULT"
SNI_ONLY: Final = "SNI_ONLY"

_TRANSFER_DATES = ("transferDate", "acceptDate", "rejectDate")
_TRANSFER_TEXTS = ("transferMessage", "rejectReason")


def certificate_arn(context: RegistryContext, cert_id: str) -> str:
    return context.arn(f"cert/{cert_id}")


def normalize_id(cert_id: str) -> str:
    """Ids are stored in lowercase hex; the model's pattern also admits uppercase."""
    return cert_id.lower()


async def find_by_id(
    conn: AsyncConnection, table: Table, context: RegistryContext, cert_id: str, *, for_update: bool = False
) -> Row[Any] | None:
    """The row of a certificate or CA certificate (``table``) of this account, by id."""
    stmt = select(table).where(
        table.c.account_id == context.account_id,
        table.c.certificate_id == normalize_id(cert_id),
    )
    if for_update:
        stmt = stmt.with_for_update()
    return (await conn.execute(stmt)).first()


async def find_certificate(
    conn: AsyncConnection, context: RegistryContext, cert_id: str, *, for_update: bool = False
) -> Row[Any] | None:
    return await find_by_id(conn, certificates, context, cert_id, for_update=for_update)


async def require_certificate(
    conn: AsyncConnection, context: RegistryContext, cert_id: str, *, for_update: bool = False
) -> Row[Any]:
    row = await find_certificate(conn, context, cert_id, for_update=for_update)
    if row is None:
        raise ResourceNotFound(f"Certificate {normalize_id(cert_id)} does not exist")
    return row


def new_certificate(
    context: RegistryContext,
    cert: x509.Certificate,
    *,
    status: str,
    ca_certificate_id: str | None = None,
    mode: str = DEFAULT_MODE,
) -> dict[str, Any]:
    """The values of a new ``certificates`` row for ``cert``."""
    cert_id = id_of(cert)
    now = epoch_now()
    not_before, not_after = validity(cert)
    return {
        "account_id": context.account_id,
        "certificate_id": cert_id,
        "certificate_arn": certificate_arn(context, cert_id),
        "certificate_pem": pem_of(cert),
        "status": status,
        "ca_certificate_id": ca_certificate_id,
        "certificate_mode": mode,
        "owned_by": context.account_id,
        "previous_owned_by": None,
        "transfer_data": None,
        "customer_version": 1,
        "generation_id": new_generation_id(),
        "created_at": now,
        "last_modified_at": now,
        "validity_not_before": not_before,
        "validity_not_after": not_after,
    }


async def update_certificate(
    conn: AsyncConnection, context: RegistryContext, cert_id: str, **changes: Any
) -> None:
    """Apply ``changes`` (column values) to one certificate as a new version of it."""
    await conn.execute(
        update(certificates)
        .where(certificates.c.account_id == context.account_id, certificates.c.certificate_id == cert_id)
        .values(
            **changes,
            customer_version=certificates.c.customer_version + 1,
            generation_id=new_generation_id(),
            last_modified_at=epoch_now(),
        )
    )


def certificate_description(row: Row[Any]) -> Output:
    """DescribeCertificate's ``certificateDescription``."""
    description: Output = {
        "certificateArn": row.certificate_arn,
        "certificateId": row.certificate_id,
        "status": row.status,
        "certificatePem": row.certificate_pem,
        "ownedBy": row.owned_by,
        "creationDate": to_datetime(row.created_at),
        "lastModifiedDate": to_datetime(row.last_modified_at),
        "customerVersion": row.customer_version,
        "generationId": row.generation_id,
        "validity": {
            "notBefore": to_datetime(row.validity_not_before),
            "notAfter": to_datetime(row.validity_not_after),
        },
        "certificateMode": row.certificate_mode,
    }
    if row.ca_certificate_id is not None:
        description["caCertificateId"] = row.ca_certificate_id
    if row.previous_owned_by is not None:
        description["previousOwnedBy"] = row.previous_owned_by
    if row.transfer_data:
        description["transferData"] = transfer_data_output(row.transfer_data)
    return description


def transfer_data_output(data: dict[str, Any]) -> Output:
    output: Output = {name: data[name] for name in _TRANSFER_TEXTS if data.get(name) is not None}
    for name in _TRANSFER_DATES:
        if data.get(name) is not None:
            output[name] = to_datetime(float(data[name]))
    return output


def certificate_list_item(row: Row[Any]) -> Output:
    """An item of ListCertificates and ListCertificatesByCA (the model's ``Certificate``)."""
    return {
        "certificateArn": row.certificate_arn,
        "certificateId": row.certificate_id,
        "status": row.status,
        "certificateMode": row.certificate_mode,
        "creationDate": to_datetime(row.created_at),
    }
