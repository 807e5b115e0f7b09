"""Reading the ``iot:Certificate.*`` policy variables out of an X.509 certificate (pure, no I/O)."""

from __future__ import annotations

from cryptography import x509
from cryptography.x509.oid import ExtensionOID, NameOID

from corral.auth.policy_context import CertificateFields

_NAME_OIDS = {
    NameOID.DN_QUALIFIER: "DistinguishedNameQualifier",
    NameOID.COUNTRY_NAME: "Country",
    NameOID.ORGANIZATION_NAME: "Organization",
    NameOID.ORGANIZATIONAL_UNIT_NAME: "OrganizationalUnit",
    NameOID.STATE_OR_PROVINCE_NAME: "State",
    NameOID.COMMON_NAME: "CommonName",
    NameOID.SERIAL_NUMBER: "SerialNumber",
    NameOID.TITLE: "Title",
    NameOID.SURNAME: "Surname",
    NameOID.GIVEN_NAME: "GivenName",
    NameOID.INITIALS: "Initials",
    NameOID.PSEUDONYM: "Pseudonym",
    NameOID.GENERATION_QUALIFIER: "GenerationQualifier",
}


def certificate_fields(certificate: x509.Certificate | bytes) -> CertificateFields:
    """The policy-visible fields of a certificate (an object, or its DER bytes).

    The serial number is the decimal string AWS IoT uses; alternative names keep their order; a
    DirectoryName is written as an RFC 4514 string.
    """
    cert = x509.load_der_x509_certificate(certificate) if isinstance(certificate, bytes) else certificate
    return CertificateFields(
        subject=_name(cert.subject),
        issuer=_name(cert.issuer),
        subject_alternative_names=_alternative_names(cert, ExtensionOID.SUBJECT_ALTERNATIVE_NAME),
        issuer_alternative_names=_alternative_names(cert, ExtensionOID.ISSUER_ALTERNATIVE_NAME),
        serial_number=str(cert.serial_number),
    )


def _name(name: x509.Name) -> dict[str, tuple[str, ...]]:
    out: dict[str, list[str]] = {}
    for attribute in name:
        label = _NAME_OIDS.get(attribute.oid)
        if label is not None:
            value = attribute.value
            out.setdefault(label, []).append(
                value if isinstance(value, str) else value.decode("utf-8", "replace")
            )
    return {label: tuple(values) for label, values in out.items()}


def _alternative_names(cert: x509.Certificate, oid: x509.ObjectIdentifier) -> dict[str, tuple[str, ...]]:
    try:
        extension = cert.extensions.get_extension_for_oid(oid)
    except x509.ExtensionNotFound:
        return {}
    value = extension.value
    if not isinstance(value, x509.SubjectAlternativeName | x509.IssuerAlternativeName):
        return {}
    out: dict[str, list[str]] = {}
    for general_name in value:
        if isinstance(general_name, x509.DNSName):
            out.setdefault("DNSName", []).append(general_name.value)
        elif isinstance(general_name, x509.RFC822Name):
            out.setdefault("RFC822Name", []).append(general_name.value)
        elif isinstance(general_name, x509.UniformResourceIdentifier):
            out.setdefault("UniformResourceIdentifier", []).append(general_name.value)
        elif isinstance(general_name, x509.IPAddress):
            out.setdefault("IPAddress", []).append(str(general_name.value))
        elif isinstance(general_name, x509.DirectoryName):
            out.setdefault("DirectoryName", []).append(general_name.value.rfc4514_string())
    return {label: tuple(values) for label, values in out.items()}
