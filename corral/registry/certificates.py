"""Device certificates: CreateKeysAndCertificate, CreateCertificateFromCsr, RegisterCertificate,
RegisterCertificateWithoutCA, UpdateCertificate, DescribeCertificate, ListCertificates, ListCertificatesByCA,
DeleteCertificate, and (from :mod:`corral.registry.certificate_transfers`) the four transfer operations.

AWS behaviour, from docs/control-plane-facts.md §5; choices where AWS's is unconfirmed are marked [?]:

- Certificates Corral issues are signed by the Corral root CA
  (:func:`corral.auth.ca.issue_client_certificate`), the one the TLS listeners trust.
  CreateKeysAndCertificate's subject is ``CN=AWS IoT Certificate`` as on AWS; its key pair is RSA 2048, the
  private key PKCS#1 (``BEGIN RSA PRIVATE KEY``) and the public key SPKI (``BEGIN PUBLIC KEY``), as AWS
  returns them. CreateCertificateFromCsr keeps the CSR's public key and its whole subject, as AWS does
  (``CN=AWS IoT Certificate`` only for an empty subject [?]); the extensions are Corral's, not the ones the
  CSR requests (:func:`corral.registry.certificate_x509.certificate_for_csr`).
- The status is ACTIVE with ``setAsActive``, INACTIVE otherwise. RegisterCertificate's body ``status``
  (ACTIVE, INACTIVE or REVOKED) wins over ``setAsActive`` when both are given [?]; neither means INACTIVE [?].
- RegisterCertificate needs the issuing CA registered in this account (406 CertificateStateException
  ``No CA certificate exists for the given certificate``, AWS's text) and ACTIVE (406, [?] text); without
  ``caCertificatePem`` the CA is found by the certificate's issuer, and two registered CAs with that subject
  and key are AWS's 409 CertificateConflictException. The certificate takes the CA's ``certificateMode`` and
  id. An expired certificate is refused (CertificateValidationException) [?].
- UpdateCertificate: the same status again is a no-op; REVOKED is final (406 [?] text); a certificate in
  PENDING_TRANSFER changes only through the transfer operations (406 [?]); PENDING_TRANSFER and
  PENDING_ACTIVATION are refused as a new status (InvalidRequestException [?]: AWS documents "an exception").
- DeleteCertificate: ACTIVE is 406 with AWS's text; attached things are 409 DeleteConflictException even with
  ``forceDelete``; attached policies are 409 unless ``forceDelete``, which detaches them (texts [?], moto's).
- Lists are ordered by creation (newest first unless ``ascendingOrder``), 25 a page by default.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any, Final

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from sqlalchemy import Row, delete, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from corral.auth.ca import CorralPKI, issue_client_certificate
from corral.registry.certificate_store import (
    ACTIVE,
    INACTIVE,
    PENDING_ACTIVATION,
    PENDING_TRANSFER,
    REVOKED,
    SNI_ONLY,
    STATUSES,
    certificate_arn,
    certificate_description,
    certificate_list_item,
    find_certificate,
    new_certificate,
    normalize_id,
    require_certificate,
    update_certificate,
)
from corral.registry.certificate_transfers import CertificateTransfers
from corral.registry.certificate_x509 import (
    AWS_SUBJECT_CN,
    certificate_for_csr,
    id_of,
    is_expired,
    issued_by,
    load_certificate,
    load_csr,
)
from corral.registry.context import RegistryContext
from corral.registry.errors import (
    CertificateConflict,
    CertificateState,
    CertificateValidation,
    DeleteConflict,
    InvalidRequest,
    ResourceAlreadyExists,
)
from corral.registry.security_common import Input, Output, marker_page, with_marker
from corral.store.errors import ConstraintViolation
from corral.store.schema import ca_certificates, certificates, policy_targets, thing_principals

REGISTRABLE_STATUSES: Final = (ACTIVE, INACTIVE, REVOKED)
NO_CA: Final = "No CA certificate exists for the given certificate"
ALREADY_REGISTERED: Final = "The certificate is already provisioned or registered"


class Certificates(CertificateTransfers):
    def __init__(self, context: RegistryContext, pki: CorralPKI) -> None:
        self.context = context
        self._pki = pki

    # -- issuing ------------------------------------------------------------------------------------------

    async def create_keys_and_certificate(self, params: Input) -> Output:
        cert_pem, key_pem = await asyncio.to_thread(issue_client_certificate, self._pki, AWS_SUBJECT_CN)
        assert key_pem is not None
        private_key = serialization.load_pem_private_key(key_pem, password=None)
        public_pem = private_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        output = await self._store_issued(x509.load_pem_x509_certificate(cert_pem), params)
        output["keyPair"] = {"PublicKey": public_pem.decode("ascii"), "PrivateKey": key_pem.decode("ascii")}
        return output

    async def create_certificate_from_csr(self, params: Input) -> Output:
        csr = load_csr(params["certificateSigningRequest"])
        cert = await asyncio.to_thread(certificate_for_csr, self._pki, csr)
        return await self._store_issued(cert, params)

    async def _store_issued(self, cert: x509.Certificate, params: Input) -> Output:
        values = new_certificate(self.context, cert, status=ACTIVE if params.get("setAsActive") else INACTIVE)
        async with self.context.store.begin() as conn:
            await conn.execute(insert(certificates).values(values))
        self.context.changed("certificate", values["certificate_id"])
        return {
            "certificateArn": values["certificate_arn"],
            "certificateId": values["certificate_id"],
            "certificatePem": values["certificate_pem"],
        }

    # -- registering --------------------------------------------------------------------------------------

    async def register_certificate(self, params: Input) -> Output:
        cert = _registrable(params["certificatePem"])
        status = _requested_status(params)
        ca_pem = params.get("caCertificatePem")
        ca_cert = load_certificate(ca_pem, what="CA certificate") if ca_pem else None
        async with self._registering(cert), self.context.store.begin() as conn:
            ca = await self._issuing_ca(conn, cert, ca_cert)
            if ca.status != ACTIVE:
                raise CertificateState(f"The CA certificate is not ACTIVE. Id: {ca.certificate_id}")
            values = new_certificate(
                self.context,
                cert,
                status=status,
                ca_certificate_id=ca.certificate_id,
                mode=ca.certificate_mode,
            )
            await self._insert_new(conn, values)
        self.context.changed("certificate", values["certificate_id"])
        return {"certificateArn": values["certificate_arn"], "certificateId": values["certificate_id"]}

    async def register_certificate_without_ca(self, params: Input) -> Output:
        cert = _registrable(params["certificatePem"])
        status = _requested_status(params)
        values = new_certificate(self.context, cert, status=status, mode=SNI_ONLY)
        async with self._registering(cert), self.context.store.begin() as conn:
            await self._insert_new(conn, values)
        self.context.changed("certificate", values["certificate_id"])
        return {"certificateArn": values["certificate_arn"], "certificateId": values["certificate_id"]}

    async def _issuing_ca(
        self, conn: AsyncConnection, cert: x509.Certificate, ca_cert: x509.Certificate | None
    ) -> Row[Any]:
        """The registered CA that signed ``cert``: the one given, or the one its issuer names."""
        stmt = select(ca_certificates).where(ca_certificates.c.account_id == self.context.account_id)
        if ca_cert is not None:
            row = (await conn.execute(stmt.where(ca_certificates.c.certificate_id == id_of(ca_cert)))).first()
            if row is None:
                raise CertificateState(NO_CA)
            if not issued_by(cert, ca_cert):
                raise CertificateValidation("The certificate is not signed by the given CA certificate")
            return row
        candidates = [
            (row, ca)
            for row in (await conn.execute(stmt)).all()
            if (ca := x509.load_pem_x509_certificate(row.certificate_pem.encode())).subject == cert.issuer
        ]
        if not candidates:
            raise CertificateState(NO_CA)
        signers = [row for row, ca in candidates if issued_by(cert, ca)]
        if not signers:
            raise CertificateValidation("The certificate is not signed by a registered CA certificate")
        if len(signers) > 1:
            raise CertificateConflict(
                "Unable to verify the CA certificate used to sign the device certificate you are attempting "
                "to register. This is happens when you have registered more than one CA certificate that has "
                "the same subject field and public key."
            )
        return signers[0]

    @contextlib.asynccontextmanager
    async def _registering(self, cert: x509.Certificate) -> AsyncIterator[None]:
        """A registration that lost a race with another for the same certificate is a duplicate too."""
        try:
            yield
        except ConstraintViolation as exc:
            cert_id = id_of(cert)
            raise ResourceAlreadyExists(
                ALREADY_REGISTERED, resourceId=cert_id, resourceArn=certificate_arn(self.context, cert_id)
            ) from exc

    async def _insert_new(self, conn: AsyncConnection, values: dict[str, Any]) -> None:
        existing = await find_certificate(conn, self.context, values["certificate_id"])
        if existing is not None:
            raise ResourceAlreadyExists(
                ALREADY_REGISTERED, resourceId=existing.certificate_id, resourceArn=existing.certificate_arn
            )
        await conn.execute(insert(certificates).values(values))

    # -- reading ------------------------------------------------------------------------------------------

    async def describe_certificate(self, params: Input) -> Output:
        async with self.context.store.read() as conn:
            row = await require_certificate(conn, self.context, params["certificateId"])
        return {"certificateDescription": certificate_description(row)}

    async def list_certificates(self, params: Input) -> Output:
        return await self._list(params, None)

    async def list_certificates_by_ca(self, params: Input) -> Output:
        return await self._list(params, normalize_id(params["caCertificateId"]))

    async def _list(self, params: Input, ca_certificate_id: str | None) -> Output:
        stmt = select(certificates).where(certificates.c.account_id == self.context.account_id)
        if ca_certificate_id is not None:
            stmt = stmt.where(certificates.c.ca_certificate_id == ca_certificate_id)
        order = [certificates.c.created_at, certificates.c.certificate_id]
        async with self.context.store.read() as conn:
            rows, marker = await marker_page(
                conn, stmt, order, params, ascending=bool(params.get("ascendingOrder"))
            )
        return with_marker({"certificates": [certificate_list_item(row) for row in rows]}, marker)

    # -- changing -----------------------------------------------------------------------------------------

    async def update_certificate(self, params: Input) -> Output:
        new_status = params["newStatus"]
        if new_status not in STATUSES:
            raise InvalidRequest(f"Invalid certificate status: {new_status}")
        if new_status in (PENDING_TRANSFER, PENDING_ACTIVATION):
            raise InvalidRequest(
                f"A certificate's status cannot be set to {new_status} with UpdateCertificate"
            )
        async with self.context.store.begin() as conn:
            row = await require_certificate(conn, self.context, params["certificateId"], for_update=True)
            if row.status == new_status:
                return {}
            if row.status == REVOKED:
                raise CertificateState(
                    f"The status of a revoked certificate cannot be changed. Id: {row.certificate_id}"
                )
            if row.status == PENDING_TRANSFER:
                raise CertificateState(
                    "The certificate is pending transfer: accept, reject or cancel the transfer first. "
                    f"Id: {row.certificate_id}"
                )
            await update_certificate(conn, self.context, row.certificate_id, status=new_status)
        self.context.changed("certificate", row.certificate_id)
        return {}

    async def delete_certificate(self, params: Input) -> Output:
        async with self.context.store.begin() as conn:
            row = await require_certificate(conn, self.context, params["certificateId"], for_update=True)
            cert_id, arn = row.certificate_id, row.certificate_arn
            if row.status == ACTIVE:
                raise CertificateState(
                    f"Certificate must be deactivated (not ACTIVE) before deletion. Id: {cert_id}"
                )
            account = self.context.account_id
            thing = await conn.execute(
                select(thing_principals.c.thing_name)
                .where(thing_principals.c.account_id == account, thing_principals.c.principal == arn)
                .limit(1)
            )
            if thing.first() is not None:
                raise DeleteConflict(f"Things must be detached before deletion (arn: {arn})")
            attached = policy_targets.c.account_id == account, policy_targets.c.target == arn
            policy = (
                await conn.execute(select(policy_targets.c.policy_name).where(*attached).limit(1))
            ).first()
            if policy is not None:
                if not params.get("forceDelete"):
                    raise DeleteConflict(
                        f"Certificate policies must be detached before deletion (arn: {arn})"
                    )
                await conn.execute(delete(policy_targets).where(*attached))
            await conn.execute(
                delete(certificates).where(
                    certificates.c.account_id == account, certificates.c.certificate_id == cert_id
                )
            )
        self.context.changed("certificate", cert_id)
        if policy is not None:
            self.context.changed("policy_attachment", arn)
        return {}


def _registrable(pem: str) -> x509.Certificate:
    cert = load_certificate(pem)
    if is_expired(cert):
        raise CertificateValidation("The certificate has expired")
    return cert


def _requested_status(params: Input) -> str:
    status = params.get("status")
    if status is None:
        return ACTIVE if params.get("setAsActive") else INACTIVE
    if status not in REGISTRABLE_STATUSES:
        raise InvalidRequest(f"A certificate cannot be registered with status {status}")
    return str(status)
