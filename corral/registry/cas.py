"""CA certificates: GetRegistrationCode, DeleteRegistrationCode, RegisterCACertificate, UpdateCACertificate,
DescribeCACertificate, ListCACertificates, DeleteCACertificate; and just-in-time registration
(:func:`register_just_in_time`, re-exported from :mod:`corral.registry.jitr`) for the broker.

AWS behaviour, from docs/control-plane-facts.md §6; choices where AWS's is unconfirmed are marked [?]:

- The registration code is 64 hex characters, made on the first GetRegistrationCode and the same afterwards
  until DeleteRegistrationCode.
- RegisterCACertificate: the certificate must parse and be a CA (basicConstraints CA:TRUE) and unexpired, else
  400 CertificateValidationException [?] texts. In DEFAULT mode (the default) ``verificationCertificate`` is
  required (400 InvalidRequestException [?]); its subject CN must equal the account's registration code (400
  RegistrationCodeValidationException; 404 ResourceNotFoundException when the account has no code [?]) and it
  must be signed by the CA's key (400 CertificateValidationException). In SNI_ONLY mode it must be absent.
  The same CA twice in this account is 409 ResourceAlreadyExistsException; a CA registered in DEFAULT mode by
  another account is too (AWS: a DEFAULT-mode CA belongs to one account per region; use SNI_ONLY to share)
  [?] text. More than 10 CAs with one subject is 410 LimitExceededException. Status INACTIVE unless
  ``setAsActive``; auto-registration ENABLE only with ``allowAutoRegistration``. The id is the SHA-256 of the
  DER, the ARN ``...:cacert/{id}``.
- UpdateCACertificate: ``newStatus`` ACTIVE|INACTIVE, ``newAutoRegistrationStatus`` ENABLE|DISABLE,
  ``registrationConfig`` replaces the stored one; ``removeAutoRegistration`` sets DISABLE and drops the
  registration config [?] (AWS documents only "removes auto registration"), and contradicts an ENABLE given in
  the same call (InvalidRequestException). A call that changes nothing is a successful no-op.
- DeleteCACertificate: an ACTIVE CA is 406 CertificateStateException, with the device certificate's text [?].
  Device certificates registered under the CA do not block it [?] (nothing documents a conflict); they keep
  their ``caCertificateId``, and the broker refuses a CA-signed certificate whose CA is gone.
- ListCACertificates: creation order (newest first unless ``ascendingOrder``), 25 a page by default,
  ``templateName`` filters on the registration config's template.
"""

from __future__ import annotations

import secrets
from typing import Any, Final

from cryptography import x509
from sqlalchemy import Row, delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from corral.registry.ca_store import (
    ACTIVE,
    DISABLE,
    ENABLE,
    INACTIVE,
    ca_arn,
    ca_description,
    find_ca,
    registration_code,
    require_ca,
)
from corral.registry.certificate_store import DEFAULT_MODE, SNI_ONLY
from corral.registry.certificate_x509 import (
    common_name,
    id_of,
    is_ca,
    is_expired,
    issued_by,
    load_certificate,
    pem_of,
    validity,
)
from corral.registry.context import RegistryContext
from corral.registry.errors import (
    CertificateState,
    CertificateValidation,
    InvalidRequest,
    LimitExceeded,
    RegistrationCodeValidation,
    ResourceAlreadyExists,
    ResourceNotFound,
)
from corral.registry.jitr import JustInTimeRegistration, register_just_in_time
from corral.registry.security_common import Input, Output, marker_page, new_generation_id, with_marker
from corral.registry.tags import delete_tags, insert_tags
from corral.registry.thing_common import to_datetime
from corral.store.errors import ConstraintViolation
from corral.store.schema import ca_certificates, epoch_now, registration_codes

__all__ = ["CACertificates", "JustInTimeRegistration", "register_just_in_time"]

MAX_CAS_PER_SUBJECT: Final = 10
CA_ALREADY_REGISTERED: Final = "The CA certificate is already registered"


class CACertificates:
    def __init__(self, context: RegistryContext) -> None:
        self.context = context

    # -- registration code --------------------------------------------------------------------------------

    async def get_registration_code(self, params: Input) -> Output:
        for attempt in range(3):
            try:
                async with self.context.store.begin() as conn:
                    code = await registration_code(conn, self.context)
                    if code is None:
                        code = secrets.token_hex(32)
                        await conn.execute(
                            insert(registration_codes).values(
                                account_id=self.context.account_id, registration_code=code
                            )
                        )
                return {"registrationCode": code}
            except ConstraintViolation:  # another request made the account's code first: read that one
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    async def delete_registration_code(self, params: Input) -> Output:
        async with self.context.store.begin() as conn:
            await conn.execute(
                delete(registration_codes).where(registration_codes.c.account_id == self.context.account_id)
            )
        return {}

    # -- registering --------------------------------------------------------------------------------------

    async def register_ca_certificate(self, params: Input) -> Output:
        ca = load_certificate(params["caCertificate"], what="CA certificate")
        if not is_ca(ca):
            raise CertificateValidation("The certificate is not a CA certificate (basicConstraints CA:TRUE)")
        if is_expired(ca):
            raise CertificateValidation("The CA certificate has expired")
        mode = params.get("certificateMode") or DEFAULT_MODE
        verification = _verification_certificate(params.get("verificationCertificate"), mode)
        ca_id = id_of(ca)
        arn = ca_arn(self.context, ca_id)
        try:
            async with self.context.store.begin() as conn:
                if verification is not None:
                    await self._verify_possession(conn, ca, verification)
                await self._check_unregistered(conn, ca, ca_id, mode)
                now = epoch_now()
                not_before, not_after = validity(ca)
                await conn.execute(
                    insert(ca_certificates).values(
                        account_id=self.context.account_id,
                        certificate_id=ca_id,
                        certificate_arn=arn,
                        certificate_pem=pem_of(ca),
                        status=ACTIVE if params.get("setAsActive") else INACTIVE,
                        auto_registration_status=ENABLE if params.get("allowAutoRegistration") else DISABLE,
                        registration_config=_registration_config(params.get("registrationConfig")),
                        certificate_mode=mode,
                        owned_by=self.context.account_id,
                        customer_version=1,
                        generation_id=new_generation_id(),
                        created_at=now,
                        last_modified_at=now,
                        validity_not_before=not_before,
                        validity_not_after=not_after,
                    )
                )
                if params.get("tags"):
                    await insert_tags(conn, self.context, arn, params["tags"])
        except ConstraintViolation as exc:  # lost a race with the same registration
            raise ResourceAlreadyExists(CA_ALREADY_REGISTERED, resourceId=ca_id, resourceArn=arn) from exc
        self.context.changed("ca_certificate", ca_id)
        return {"certificateArn": arn, "certificateId": ca_id}

    async def _verify_possession(
        self, conn: AsyncConnection, ca: x509.Certificate, verification: x509.Certificate
    ) -> None:
        """AWS's proof that the caller holds the CA's key: a certificate it signed whose CN is the code."""
        code = await registration_code(conn, self.context)
        if code is None:
            raise ResourceNotFound(
                "The registration code does not exist for this account; call GetRegistrationCode first"
            )
        if common_name(verification.subject) != code:
            raise RegistrationCodeValidation(
                "The verification certificate's subject common name does not match the registration code"
            )
        if not issued_by(verification, ca):
            raise CertificateValidation("The verification certificate is not signed by the CA certificate")

    async def _check_unregistered(
        self, conn: AsyncConnection, ca: x509.Certificate, ca_id: str, mode: str
    ) -> None:
        arn = ca_arn(self.context, ca_id)
        if await find_ca(conn, self.context, ca_id) is not None:
            raise ResourceAlreadyExists(CA_ALREADY_REGISTERED, resourceId=ca_id, resourceArn=arn)
        if mode == DEFAULT_MODE:
            elsewhere = await conn.execute(
                select(ca_certificates.c.account_id)
                .where(
                    ca_certificates.c.certificate_id == ca_id,
                    ca_certificates.c.certificate_mode == DEFAULT_MODE,
                )
                .limit(1)
            )
            if elsewhere.first() is not None:
                raise ResourceAlreadyExists(
                    "The CA certificate is already registered in DEFAULT mode in another account; "
                    "register it in SNI_ONLY mode",
                    resourceId=ca_id,
                    resourceArn=arn,
                )
        pems = await conn.execute(
            select(ca_certificates.c.certificate_pem).where(
                ca_certificates.c.account_id == self.context.account_id
            )
        )
        same_subject = sum(
            1 for (pem,) in pems if x509.load_pem_x509_certificate(pem.encode()).subject == ca.subject
        )
        if same_subject >= MAX_CAS_PER_SUBJECT:
            raise LimitExceeded(
                f"You can register up to {MAX_CAS_PER_SUBJECT} CA certificates with the same subject field"
            )

    # -- reading ------------------------------------------------------------------------------------------

    async def describe_ca_certificate(self, params: Input) -> Output:
        async with self.context.store.read() as conn:
            row = await require_ca(conn, self.context, params["certificateId"])
        output: Output = {"certificateDescription": ca_description(row)}
        if row.registration_config:
            output["registrationConfig"] = dict(row.registration_config)
        return output

    async def list_ca_certificates(self, params: Input) -> Output:
        stmt = select(ca_certificates).where(ca_certificates.c.account_id == self.context.account_id)
        if params.get("templateName"):
            template = ca_certificates.c.registration_config["templateName"].as_string()
            stmt = stmt.where(template == params["templateName"])
        order = [ca_certificates.c.created_at, ca_certificates.c.certificate_id]
        async with self.context.store.read() as conn:
            rows, marker = await marker_page(
                conn, stmt, order, params, ascending=bool(params.get("ascendingOrder"))
            )
        return with_marker({"certificates": [_list_item(row) for row in rows]}, marker)

    # -- changing -----------------------------------------------------------------------------------------

    async def update_ca_certificate(self, params: Input) -> Output:
        changes = _ca_changes(params)
        async with self.context.store.begin() as conn:
            row = await require_ca(conn, self.context, params["certificateId"], for_update=True)
            changes = {name: value for name, value in changes.items() if getattr(row, name) != value}
            if changes:
                await conn.execute(
                    update(ca_certificates)
                    .where(
                        ca_certificates.c.account_id == self.context.account_id,
                        ca_certificates.c.certificate_id == row.certificate_id,
                    )
                    .values(
                        **changes,
                        customer_version=ca_certificates.c.customer_version + 1,
                        generation_id=new_generation_id(),
                        last_modified_at=epoch_now(),
                    )
                )
        if changes:
            self.context.changed("ca_certificate", row.certificate_id)
        return {}

    async def delete_ca_certificate(self, params: Input) -> Output:
        async with self.context.store.begin() as conn:
            row = await require_ca(conn, self.context, params["certificateId"], for_update=True)
            if row.status == ACTIVE:
                raise CertificateState(
                    f"Certificate must be deactivated (not ACTIVE) before deletion. Id: {row.certificate_id}"
                )
            await conn.execute(
                delete(ca_certificates).where(
                    ca_certificates.c.account_id == self.context.account_id,
                    ca_certificates.c.certificate_id == row.certificate_id,
                )
            )
            await delete_tags(conn, self.context, row.certificate_arn)
        self.context.changed("ca_certificate", row.certificate_id)
        return {}


def _verification_certificate(pem: str | None, mode: str) -> x509.Certificate | None:
    if mode == SNI_ONLY:
        if pem:
            raise InvalidRequest("verificationCertificate must be empty when certificateMode is SNI_ONLY")
        return None
    if mode != DEFAULT_MODE:
        raise InvalidRequest(f"Invalid certificateMode: {mode}")
    if not pem:
        raise InvalidRequest("verificationCertificate is required when certificateMode is DEFAULT")
    return load_certificate(pem, what="verification certificate")


def _registration_config(given: Any) -> dict[str, Any] | None:
    if not given:
        return None
    return {name: given[name] for name in ("templateBody", "roleArn", "templateName") if given.get(name)}


def _ca_changes(params: Input) -> dict[str, Any]:
    """The column values UpdateCACertificate asks for (before comparing with the row)."""
    changes: dict[str, Any] = {}
    status = params.get("newStatus")
    if status is not None:
        if status not in (ACTIVE, INACTIVE):
            raise InvalidRequest(f"Invalid CA certificate status: {status}")
        changes["status"] = status
    auto = params.get("newAutoRegistrationStatus")
    if auto is not None:
        if auto not in (ENABLE, DISABLE):
            raise InvalidRequest(f"Invalid auto registration status: {auto}")
        changes["auto_registration_status"] = auto
    if params.get("registrationConfig") is not None:
        changes["registration_config"] = _registration_config(params["registrationConfig"])
    if params.get("removeAutoRegistration"):
        if auto == ENABLE:
            raise InvalidRequest(
                "removeAutoRegistration cannot be combined with newAutoRegistrationStatus ENABLE"
            )
        changes["auto_registration_status"] = DISABLE
        changes["registration_config"] = None
    return changes


def _list_item(row: Row[Any]) -> Output:
    return {
        "certificateArn": row.certificate_arn,
        "certificateId": row.certificate_id,
        "status": row.status,
        "creationDate": to_datetime(row.created_at),
    }
