"""What a connection knows about itself, as AWS IoT's policy variables and condition keys.

:class:`ConnectionContext` holds the facts (client id, the thing the connection resolves to, the
certificate's fields, source address, CONNECT attributes); :func:`context_values` answers a key with
its values, or None when the key is missing for this connection. Keys are case-insensitive, except
the attribute name inside ``iot:Connection.Thing.Attributes[...]``.

Certificate values follow AWS's documented limits: at most the first five values of a multi-valued
attribute count; as a *substituted variable* a value longer than 1024 characters, or holding one of
``* $ + ? #``, is not substituted, and ``, " \\ + = < > ;`` are escaped with a backslash.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

CERTIFICATE_NAME_ATTRIBUTES = (
    "DistinguishedNameQualifier",
    "Country",
    "Organization",
    "OrganizationalUnit",
    "State",
    "CommonName",
    "SerialNumber",
    "Title",
    "Surname",
    "GivenName",
    "Initials",
    "Pseudonym",
    "GenerationQualifier",
)
ALTERNATIVE_NAME_ATTRIBUTES = (
    "RFC822Name",
    "DNSName",
    "DirectoryName",
    "UniformResourceIdentifier",
    "IPAddress",
)
MAX_CERTIFICATE_ARRAY_ITEMS = 5
MAX_CERTIFICATE_VALUE_CHARS = 1024
_CERTIFICATE_WILDCARDS = frozenset("*$+?#")
_CERTIFICATE_SPECIALS = frozenset(',"\\+=<>;')

DYNAMIC_KEYS = frozenset({"aws:currenttime", "aws:epochtime"})
"""Keys whose value changes during a connection; they are read at each authorization."""

PERSISTENT_CONNECT = "PersistentConnect"
LAST_WILL = "LastWill"


def connect_attributes(*, persistent: bool, last_will: bool) -> tuple[str, ...]:
    """``iot:ConnectAttributes`` of a CONNECT: the features it uses beyond a clean connection.

    AWS documents two ("Connect policy examples", "MQTT persistent sessions"): ``PersistentConnect``
    (a session that outlives the connection: MQTT 3.1.1 cleanSession=0, MQTT 5 Session Expiry
    Interval above 0) and ``LastWill`` (the CONNECT carries a will). A clean connection without a will
    has the empty set, which ``ForAllValues:StringEquals`` with ``[]`` matches ("only default features").
    """
    attributes: list[str] = []
    if persistent:
        attributes.append(PERSISTENT_CONNECT)
    if last_will:
        attributes.append(LAST_WILL)
    return tuple(attributes)


@dataclass(frozen=True, slots=True)
class CertificateFields:
    """The X.509 fields AWS IoT exposes as ``iot:Certificate.*``, keyed by AWS's attribute names."""

    subject: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    issuer: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    subject_alternative_names: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    issuer_alternative_names: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    serial_number: str | None = None
    """The serial number as a decimal integer string, as AWS IoT presents it."""


@dataclass(frozen=True, slots=True)
class ConnectionContext:
    """Everything a connection's policies may refer to. ``None`` means "not known for this connection".

    ``thing_name`` is the thing the connection resolves to (the registry decides: attached to the
    certificate and, for non-exclusive attachment, named like the client id); ``is_attached`` is
    AWS's ``iot:Connection.Thing.IsAttached``. ``extra`` adds condition keys (lower-case names) that
    this module does not know, such as newer MQTT 5 keys.
    """

    region: str = "us-east-1"
    account_id: str = "000000000000"
    partition: str = "aws"
    client_id: str | None = None
    source_ip: str | None = None
    domain_name: str | None = None
    thing_name: str | None = None
    thing_type_name: str | None = None
    thing_attributes: Mapping[str, str] = field(default_factory=dict)
    is_attached: bool | None = None
    certificate: CertificateFields | None = None
    connect_attributes: tuple[str, ...] | None = None
    """AWS's ``iot:ConnectAttributes``: ``PersistentConnect``, ``LastWill``."""
    last_will_topic: str | None = None
    """The will topic; the key ``iot:LastWillTopic`` answers it as a topic ARN."""
    extra: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class KeyValues:
    """A key's values; ``multi`` for a multi-valued key (a ``.List``, or a set like ConnectAttributes)."""

    values: tuple[str, ...]
    multi: bool = False
    certificate: bool = False


def context_values(context: ConnectionContext, key: str, now: datetime | None = None) -> KeyValues | None:
    """The values of condition key / policy variable ``key``, or None when it is missing."""
    lowered = _normalize(key)
    if lowered in DYNAMIC_KEYS:
        moment = now if now is not None else datetime.now(UTC)
        if lowered == "aws:currenttime":
            return KeyValues((moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),))
        return KeyValues((str(int(moment.timestamp())),))
    single = _single(context, lowered)
    if single is not None:
        return KeyValues((single,))
    if lowered.startswith("iot:connection.thing.attributes[") and lowered.endswith("]"):
        if context.thing_name is None:
            return None
        attribute = key[key.index("[") + 1 : -1]
        value = context.thing_attributes.get(attribute)
        return None if value is None else KeyValues((value,))
    if lowered == "iot:connectattributes":
        attrs = context.connect_attributes
        return None if attrs is None else KeyValues(attrs, multi=True)
    if lowered.startswith("iot:certificate."):
        return _certificate_values(context.certificate, lowered[len("iot:certificate.") :])
    extra = context.extra.get(lowered)
    if extra is not None:
        return KeyValues(extra, multi=len(extra) != 1)
    return None


def variable_value(context: ConnectionContext, name: str) -> str | None:
    """What ``${name}`` becomes in a Resource or condition value, or None when it is not substituted."""
    if _normalize(name) in DYNAMIC_KEYS:
        return None
    found = context_values(context, name)
    if found is None or found.multi or len(found.values) != 1:
        return None
    value = found.values[0]
    if found.certificate:
        if len(value) > MAX_CERTIFICATE_VALUE_CHARS or any(ch in _CERTIFICATE_WILDCARDS for ch in value):
            return None
        value = "".join("\\" + ch if ch in _CERTIFICATE_SPECIALS else ch for ch in value)
    return value


def available_certificate_keys(certificate: CertificateFields | None) -> tuple[str, ...]:
    """``iot:Certificate.AvailableKeys``: the names of the certificate variables that hold values."""
    if certificate is None:
        return ()
    names: list[str] = []
    groups = (
        ("Issuer", certificate.issuer),
        ("Subject", certificate.subject),
        ("Issuer.AlternativeName", certificate.issuer_alternative_names),
        ("Subject.AlternativeName", certificate.subject_alternative_names),
    )
    for prefix, mapping in groups:
        names.extend(f"iot:Certificate.{prefix}.{attr}" for attr, values in mapping.items() if values)
    if certificate.serial_number is not None:
        names.append("iot:Certificate.SerialNumber")
    return tuple(names)


def _normalize(key: str) -> str:
    head, bracket, rest = key.partition("[")
    return head.lower() + bracket + rest


def _single(context: ConnectionContext, key: str) -> str | None:
    if key == "iot:clientid":
        return context.client_id
    if key == "aws:sourceip":
        return context.source_ip
    if key == "iot:domainname":
        return context.domain_name
    if key in ("iot:connection.thing.thingname", "iot:thing.thingname"):
        return context.thing_name
    if key == "iot:connection.thing.thingtypename":
        return context.thing_type_name if context.thing_name is not None else None
    if key == "iot:connection.thing.isattached":
        return None if context.is_attached is None else ("true" if context.is_attached else "false")
    if key == "iot:lastwilltopic" and context.last_will_topic is not None:
        return (
            f"arn:{context.partition}:iot:{context.region}:{context.account_id}:"
            f"topic/{context.last_will_topic}"
        )
    return None


_LOWER_NAME = {attr.lower(): attr for attr in CERTIFICATE_NAME_ATTRIBUTES}
_LOWER_ALT = {attr.lower(): attr for attr in ALTERNATIVE_NAME_ATTRIBUTES}


def _certificate_values(certificate: CertificateFields | None, rest: str) -> KeyValues | None:
    if certificate is None:
        return None
    if rest == "serialnumber":
        serial = certificate.serial_number
        return None if serial is None else KeyValues((serial,), certificate=True)
    if rest == "availablekeys":
        return KeyValues(available_certificate_keys(certificate), multi=True)
    group, _, rest = rest.partition(".")
    alternative = rest.startswith("alternativename.")
    if alternative:
        rest = rest[len("alternativename.") :]
    attribute, _, suffix = rest.partition(".")
    if group == "subject":
        mapping = certificate.subject_alternative_names if alternative else certificate.subject
    elif group == "issuer":
        mapping = certificate.issuer_alternative_names if alternative else certificate.issuer
    else:
        return None
    canonical = (_LOWER_ALT if alternative else _LOWER_NAME).get(attribute)
    if canonical is None:
        return None
    values = tuple(mapping.get(canonical, ()))[:MAX_CERTIFICATE_ARRAY_ITEMS]
    if not values:
        return None
    if suffix == "":
        return KeyValues(values[:1], certificate=True)
    if suffix == "list":
        return KeyValues(values, multi=True, certificate=True)
    if suffix.isdigit() and suffix.isascii() and int(suffix) < len(values):
        return KeyValues((values[int(suffix)],), certificate=True)
    return None
