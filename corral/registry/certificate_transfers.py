"""Certificate transfers: TransferCertificate, AcceptCertificateTransfer, RejectCertificateTransfer,
CancelCertificateTransfer (mixed into :class:`corral.registry.certificates.Certificates`).

The state machine (docs/control-plane-facts.md §5, the model's documentation)::

    INACTIVE (or PENDING_ACTIVATION, REGISTER_INACTIVE) --Transfer--> PENDING_TRANSFER
    PENDING_TRANSFER --Accept--> INACTIVE, or ACTIVE with setAsActive   (transfer state ACCEPTED)
    PENDING_TRANSFER --Reject--> INACTIVE                               (transfer state REJECTED)
    PENDING_TRANSFER --Cancel--> INACTIVE                               (transfer state CANCELLED)

Transfer refuses a transfer to the account that owns the certificate (400 InvalidRequestException, [?]: AWS
documents nothing; a transfer to oneself has no destination to accept or reject it), an ACTIVE or REVOKED
certificate (406 CertificateStateException, [?] texts), a certificate already pending transfer and one with
policies attached (409 TransferConflictException, the latter with AWS's text). Accept, Reject and Cancel need
PENDING_TRANSFER: after an accepted or rejected transfer they answer 410 TransferAlreadyCompletedException
(Cancel with AWS's text, the others [?]); on a certificate that is not being transferred at all, 400
InvalidRequestException [?].

Limits of a single-account Corral: every caller is this account, so Accept and Reject are honoured from it
(on AWS only the destination may call them, and only the source may Cancel). The certificate never moves to
another registry: after Accept it stays here, with ``ownedBy`` the ``targetAwsAccount`` the transfer named
and ``previousOwnedBy`` the former owner, as DescribeCertificate shows them on AWS.
"""

from __future__ import annotations

from typing import Any, Final

from sqlalchemy import Row, select
from sqlalchemy.ext.asyncio import AsyncConnection

from corral.registry.certificate_store import (
    ACTIVE,
    INACTIVE,
    PENDING_TRANSFER,
    REVOKED,
    require_certificate,
    update_certificate,
)
from corral.registry.context import RegistryContext
from corral.registry.errors import (
    CertificateState,
    InvalidRequest,
    TransferAlreadyCompleted,
    TransferConflict,
)
from corral.registry.security_common import Input, Output
from corral.store.schema import epoch_now, policy_targets

PENDING: Final = "PENDING"
ACCEPTED: Final = "ACCEPTED"
REJECTED: Final = "REJECTED"
CANCELLED: Final = "CANCELLED"


class CertificateTransfers:
    context: RegistryContext

    async def transfer_certificate(self, params: Input) -> Output:
        async with self.context.store.begin() as conn:
            row = await require_certificate(conn, self.context, params["certificateId"], for_update=True)
            cert_id = row.certificate_id
            if params["targetAwsAccount"] == row.owned_by:
                raise InvalidRequest(
                    f"The certificate cannot be transferred to the account that owns it. Id: {cert_id}"
                )
            if row.status == ACTIVE:
                raise CertificateState(
                    f"Certificate must be deactivated (not ACTIVE) before transfer. Id: {cert_id}"
                )
            if row.status == REVOKED:
                raise CertificateState(f"A revoked certificate cannot be transferred. Id: {cert_id}")
            if row.status == PENDING_TRANSFER:
                raise TransferConflict(f"The certificate is already pending transfer. Id: {cert_id}")
            attached = await conn.execute(
                select(policy_targets.c.policy_name)
                .where(
                    policy_targets.c.account_id == self.context.account_id,
                    policy_targets.c.target == row.certificate_arn,
                )
                .limit(1)
            )
            if attached.first() is not None:
                raise TransferConflict(
                    "You can't transfer the certificate because authorization policies are still attached."
                )
            data = {
                "transferMessage": params.get("transferMessage"),
                "transferDate": epoch_now(),
                "targetAwsAccount": params["targetAwsAccount"],
                "state": PENDING,
            }
            await update_certificate(conn, self.context, cert_id, status=PENDING_TRANSFER, transfer_data=data)
        self.context.changed("certificate", cert_id)
        return {"transferredCertificateArn": row.certificate_arn}

    async def accept_certificate_transfer(self, params: Input) -> Output:
        async with self.context.store.begin() as conn:
            row, data = await self._pending(conn, params["certificateId"], "accepted")
            data.update(acceptDate=epoch_now(), state=ACCEPTED)
            await update_certificate(
                conn,
                self.context,
                row.certificate_id,
                status=ACTIVE if params.get("setAsActive") else INACTIVE,
                owned_by=data["targetAwsAccount"],
                previous_owned_by=row.owned_by,
                transfer_data=data,
            )
        self.context.changed("certificate", row.certificate_id)
        return {}

    async def reject_certificate_transfer(self, params: Input) -> Output:
        async with self.context.store.begin() as conn:
            row, data = await self._pending(conn, params["certificateId"], "rejected")
            data.update(rejectReason=params.get("rejectReason"), rejectDate=epoch_now(), state=REJECTED)
            await update_certificate(
                conn, self.context, row.certificate_id, status=INACTIVE, transfer_data=data
            )
        self.context.changed("certificate", row.certificate_id)
        return {}

    async def cancel_certificate_transfer(self, params: Input) -> Output:
        async with self.context.store.begin() as conn:
            row, data = await self._pending(conn, params["certificateId"], "cancelled")
            data.update(state=CANCELLED)
            await update_certificate(
                conn, self.context, row.certificate_id, status=INACTIVE, transfer_data=data
            )
        self.context.changed("certificate", row.certificate_id)
        return {}

    async def _pending(
        self, conn: AsyncConnection, cert_id: str, verb: str
    ) -> tuple[Row[Any], dict[str, Any]]:
        """The certificate and a copy of its transfer data, when it is pending transfer."""
        row = await require_certificate(conn, self.context, cert_id, for_update=True)
        data = dict(row.transfer_data or {})
        if row.status == PENDING_TRANSFER and data.get("state") == PENDING:
            return row, data
        if data.get("state") in (ACCEPTED, REJECTED):
            if verb == "cancelled":
                raise TransferAlreadyCompleted(
                    "You can't revert the certificate transfer because the transfer is already complete."
                )
            raise TransferAlreadyCompleted(
                f"The certificate transfer cannot be {verb} because it is already complete. "
                f"Id: {row.certificate_id}"
            )
        raise InvalidRequest(f"The certificate is not pending transfer. Id: {row.certificate_id}")
