"""AWS Signature Version 4 verification: pure functions, no I/O, standard library only.

``verify()`` takes a request as it came off the wire (the raw, still percent-encoded path and query, the
headers, the body) and either returns who signed it (:class:`SignedRequest`) or raises :class:`SigV4Error`
carrying the AWS error code, message and HTTP status a real AWS service would answer with.

Both ways of signing are accepted: the ``Authorization: AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…,
Signature=…`` header (with ``X-Amz-Date`` or ``Date``), and presigned query parameters (``X-Amz-Algorithm``,
``X-Amz-Credential``, ``X-Amz-Date``, ``X-Amz-SignedHeaders``, ``X-Amz-Signature``, optional
``X-Amz-Expires`` and ``X-Amz-Security-Token``).

The canonical request is built the way AWS defines it and the way botocore (boto3, the aws CLI) and the
AWS Common Runtime (the IoT Device SDK v2) compute it:

* canonical URI: services other than S3 remove dot segments and empty segments from the raw path and then
  percent-encode it once more (each ``%`` of the sent path becomes ``%25``: the path is "double-encoded");
  S3 decodes the path and encodes it once. ``double_encode_path`` overrides the per-service default.
* canonical query: every pair percent-decoded (``+`` read as a space, as AWS's Java front ends read it) and
  re-encoded per RFC 3986 (only ``A-Z a-z 0-9 - _ . ~`` left bare), sorted by key then value; presigned
  requests leave ``X-Amz-Signature`` out.
* canonical headers: the ``SignedHeaders`` names, each with its values trimmed, inner runs of whitespace
  collapsed to one space, repeated headers joined with ``,``. ``host`` must be signed.
* payload hash: the ``X-Amz-Content-Sha256`` header when present (a hex digest, ``UNSIGNED-PAYLOAD`` or
  ``STREAMING-UNSIGNED-PAYLOAD-TRAILER``; signed streaming is refused), else the SHA-256 of the body.
  A presigned request without that value is tried as ``UNSIGNED-PAYLOAD`` (S3, and most presigners) and,
  outside S3, also with the SHA-256 of its (usually empty) body, which is what botocore's generic
  presigner and the CRT sign.

Where a signer deviates from the canonical form in a way that cannot be abused to change a request's
meaning, a second form is tried before failing: the query string sorted exactly as sent (botocore signs a
query given inside a URL verbatim), the S3 path exactly as sent (botocore signs S3 paths verbatim), and,
for presigned ``iotdevicegateway`` URLs, the canonical query without ``X-Amz-Security-Token`` (AWS IoT's
device gateway wants the token appended after signing; the SDKs sign MQTT-over-WebSocket URLs with
``omit_session_token``; ``SignedRequest.security_token_signed`` says which it was).

What is checked, in AWS's order: both forms at once; any authentication at all; completeness; the date's
format; the clock (15 minutes either way for header signatures; for presigned URLs ``X-Amz-Expires`` when
given, else the same 15 minutes, and never more than 15 minutes in the future); ``host`` being signed; the
algorithm; the credential's shape and scope (terminator ``aws4_request``, date equal to the request date's
day, and the region and service when the caller names the expected ones); the access key; the payload
hash; the signature (HMAC, compared in constant time).

What is *not* checked here, because it is the caller's business: the region (returned; pass
``expected_region`` to get AWS's error), the service (returned; routing uses it, see
:func:`credential_scope_service`), and the session token (returned as ``security_token``; a caller that
issues no session tokens must refuse a request carrying one).

Where the errors come from (AWS answers differently per protocol; :func:`error_style` picks the table by
the credential scope's service name; ``style=`` overrides):

``rest-json`` (API-Gateway-fronted: ``iot``, ``iot1click``, ``lambda``, ``iotdevicegateway``; all 403)
    MissingAuthenticationTokenException "Missing Authentication Token"; IncompleteSignatureException with
    the coral messages ("Authorization header requires 'Credential' parameter. … Authorization=…",
    "'…' not a valid key=value pair (missing equal-sign) in Authorization header: '…'.", "AWS query-string
    parameters must include 'X-Amz-Date'. Re-examine the query-string parameters.", "Date must be in
    ISO-8601 'basic format'. Got '…'. See http://en.wikipedia.org/wiki/ISO_8601", "Unsupported AWS
    'algorithm': '…' (only AWS4-HMAC-SHA256 for now). ", "Credential must have exactly 5 slash-delimited
    elements, e.g. keyid/date/region/service/term, got '…'"); InvalidSignatureException for the clock
    ("Signature expired: 20261122T000000Z is now earlier than 20261122T001500Z (20261122T003000Z - 15
    min.)", "Signature not yet current: … is still later than … (… + 15 min.)"), the scope ("Credential
    should be scoped to a valid region, not '…'. ", "Credential should be scoped to correct service: '…'. ",
    "Credential should be scoped with a valid terminator: 'aws4_request', not '…'. ", "Date in Credential
    scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '…' != '…', from '…'."),
    "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.", "Found both
    'X-Amz-Algorithm' as a query-string param and 'Authorization' as HTTP header." and the signature ("The
    request signature we calculated does not match the signature you provided. Check your AWS Secret
    Access Key and signing method. Consult the service documentation for details.");
    UnrecognizedClientException "The security token included in the request is invalid.".
    Sources: API Gateway's and IoT's 403 bodies quoted in aws/chalice#828, aws-amplify/amplify-js#5913
    (IoT's GetThingShadow answering IncompleteSignatureException with 403), aws/aws-sdk-js-v3#1569 (IoT
    InvalidSignatureException, 403), aws/aws-sdk-js#4097 and cllunsford/aws-signing-proxy#25 (scope
    messages), aws/aws-sdk-js#254, serverless/enterprise#11 (clock messages), NetSPI/AWSSigner#3 and
    babbel/okhttp-aws-signer#10 (host), aws/aws-sdk-go#289 and iann0036/cloud9-sync#10 (missing
    equal-sign), iann0036/iamlive#58 (UnrecognizedClientException, 403); the order of the checks and the
    remaining coral wordings as recorded from DynamoDB by the dynalite project.
``iotdata`` (the IoT data plane)
    as ``rest-json``, except an unknown key is ForbiddenException "The security token included in the
    request is invalid." (aws/aws-iot-device-sdk-js#146, aws/aws-sdk-js#1710 and #3490).
``json`` (coral awsJson: ``dynamodb``, ``kinesis``; every status 400)
    the same codes, and "Request is missing Authentication Token" (dynalite; aws/aws-sdk-js#254 shows 400).
``query`` (``sns``, ``sqs``, ``sts``)
    MissingAuthenticationToken 403 "Request is missing Authentication Token", IncompleteSignature 400
    (brendanhay/amazonka#316), SignatureDoesNotMatch 403 for clock, scope and signature (boto/boto3#756),
    InvalidClientTokenId 403 "The security token included in the request is invalid.".
``s3`` (Amazon S3 API reference, "Error responses")
    AccessDenied 403 "Access Denied" for an unsigned request (S3 treats it as anonymous: the caller
    decides), AuthorizationHeaderMalformed 400, AuthorizationQueryParametersError 400 (including
    "X-Amz-Expires must be less than a week (in seconds) that is 604800"), RequestTimeTooSkewed 403 "The
    difference between the request time and the current time is too large.", AccessDenied 403 "Request
    has expired" / "Request is not valid yet" for presigned URLs, InvalidAccessKeyId 403 "The AWS Access
    Key Id you provided does not exist in our records.", SignatureDoesNotMatch 403 "The request signature
    we calculated does not match the signature you provided. Check your key and signing method.",
    XAmzContentSHA256Mismatch 400 "The provided 'x-amz-content-sha256' header does not match what was
    computed.", InvalidRequest 400 "Missing required header for this request: x-amz-content-sha256",
    NotImplemented 501 "A header you provided implies functionality that is not implemented" (signed
    streaming uploads).

Corral's own choices where AWS's behaviour is unknown or unhelpful: presigned URLs honour ``X-Amz-Expires``
everywhere (coral services are reported to apply their fixed 15 minutes instead, aws/aws-sdk-go#2167), and
its expiry message extends the clock message ("… (20261122T003000Z - 5 min.)"); ``X-Amz-Expires`` over a week
is refused everywhere; a hex ``X-Amz-Content-Sha256`` that does not match the body is a signature mismatch
outside S3; signed streaming payloads are refused.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from functools import lru_cache
from types import MappingProxyType
from urllib.parse import quote, unquote_to_bytes

__all__ = [
    "ALGORITHM",
    "EMPTY_SHA256",
    "MAX_PRESIGN_EXPIRES",
    "STREAMING_UNSIGNED_PAYLOAD_TRAILER",
    "UNSIGNED_PAYLOAD",
    "ErrorStyle",
    "Failure",
    "SigV4Error",
    "SignedRequest",
    "canonical_query",
    "canonical_request",
    "canonical_uri",
    "credential_scope_service",
    "error_style",
    "signing_key",
    "string_to_sign",
    "verify",
]

ALGORITHM = "AWS4-HMAC-SHA256"
TERMINATOR = "aws4_request"
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
STREAMING_UNSIGNED_PAYLOAD_TRAILER = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
MAX_PRESIGN_EXPIRES = 604800  # seven days: the signing key is valid for that long
DEFAULT_MAX_SKEW = timedelta(minutes=15)

_AMZ_DATE_FORMAT = "%Y%m%dT%H%M%SZ"
_AMZ_DATE = re.compile(r"\d{8}T\d{6}Z")
_HEX_SHA256 = re.compile(r"[0-9a-fA-F]{64}")
_INTEGER = re.compile(r"[+-]?\d+")
_AUTH_SEPARATORS = re.compile(r"[\s,]+")
_HEADER_CREDENTIAL = re.compile(r"Credential=([^,\s]*)")
# Presigned URLs of these services may carry X-Amz-Security-Token outside the signature: AWS IoT's device
# gateway (MQTT over WebSocket) wants it appended after signing, and the SDKs sign with omit_session_token.
_UNSIGNED_TOKEN_SERVICES = frozenset({"iotdevicegateway"})

# Query parameters of a presigned request, in the order AWS lists the missing ones.
_QUERY_AUTH_PARAMS = (
    "X-Amz-Algorithm",
    "X-Amz-Credential",
    "X-Amz-Signature",
    "X-Amz-SignedHeaders",
    "X-Amz-Date",
)


# ---------------------------------------------------------------------------------------------- results


@dataclass(frozen=True, slots=True)
class SignedRequest:
    """A request whose signature verified. ``date`` is the scope's ``YYYYMMDD``; ``signed_at`` is UTC."""

    access_key_id: str
    service: str
    region: str
    date: str
    signed_at: datetime
    presigned: bool
    signed_headers: tuple[str, ...] = ()
    security_token: str | None = None
    # False when the token was appended after signing (AWS IoT's MQTT-over-WebSocket URLs): anyone holding
    # the URL could have swapped it, so it must be checked to belong to ``access_key_id``.
    security_token_signed: bool = False
    # A hex digest, UNSIGNED-PAYLOAD, or STREAMING-UNSIGNED-PAYLOAD-TRAILER (the body is then aws-chunked).
    payload_hash: str = ""
    expires_at: datetime | None = None  # presigned with X-Amz-Expires only


class Failure(enum.Enum):
    """Why verification failed; an :class:`ErrorStyle` maps each to an AWS code and status."""

    MISSING_AUTH = "missing-auth"
    BOTH_FORMS = "both-forms"
    NOT_SIGV4 = "not-sigv4"  # an Authorization header of another scheme, where the style refuses it outright
    INCOMPLETE_HEADER = "incomplete-header"
    INCOMPLETE_QUERY = "incomplete-query"
    BAD_DATE = "bad-date"
    BAD_EXPIRES = "bad-expires"
    EXPIRED = "expired"  # header signature older than the allowed skew
    NOT_YET_VALID = "not-yet-valid"  # signed further in the future than the allowed skew
    PRESIGN_EXPIRED = "presign-expired"
    PRESIGN_NOT_YET_VALID = "presign-not-yet-valid"
    HOST_NOT_SIGNED = "host-not-signed"
    BAD_ALGORITHM = "bad-algorithm"
    BAD_CREDENTIAL = "bad-credential"
    BAD_SCOPE = "bad-scope"
    UNKNOWN_KEY = "unknown-key"
    MISSING_CONTENT_SHA256 = "missing-content-sha256"  # S3 header signatures must carry x-amz-content-sha256
    BAD_CONTENT_SHA256 = "bad-content-sha256"
    STREAMING_UNSUPPORTED = "streaming-unsupported"
    BAD_SIGNATURE = "bad-signature"
    CONTENT_SHA256_MISMATCH = "content-sha256-mismatch"


@dataclass(frozen=True, slots=True)
class ErrorStyle:
    """How one family of AWS services reports authentication failures.

    ``codes`` maps every :class:`Failure` to ``(code, status)``; ``messages`` replaces the detailed
    message for the failures the family words its own way. ``non_sigv4`` is what an ``Authorization``
    header that does not start with ``AWS4-`` means: ``None`` to parse it anyway and report what is
    missing (API Gateway), or the failure to raise. ``s3`` switches on S3's rules: the path is encoded
    once, header signatures need ``x-amz-content-sha256``, presigned URLs need ``X-Amz-Expires`` and sign
    ``UNSIGNED-PAYLOAD``.
    """

    name: str
    codes: Mapping[Failure, tuple[str, int]]
    messages: Mapping[Failure, str]
    non_sigv4: Failure | None = None
    s3: bool = False


class SigV4Error(Exception):
    """A refused request: ``code``, ``message`` and ``status`` are what AWS would answer.

    ``canonical_request`` and ``string_to_sign`` are set on a signature mismatch, for logs: AWS itself
    returns them in some services' messages, and they hold no secret.
    """

    def __init__(
        self,
        failure: Failure,
        detail: str,
        style: ErrorStyle,
        *,
        canonical_request: str | None = None,
        string_to_sign: str | None = None,
    ) -> None:
        code, status = style.codes[failure]
        message = style.messages.get(failure, detail)
        super().__init__(f"{code}: {message}")
        self.failure = failure
        self.code = code
        self.message = message
        self.status = status
        self.style = style.name
        self.canonical_request = canonical_request
        self.string_to_sign = string_to_sign


# ---------------------------------------------------------------------------------------------- error styles

_SIGNATURE_MISMATCH = (
    "The request signature we calculated does not match the signature you provided. Check your AWS Secret "
    "Access Key and signing method. Consult the service documentation for details."
)
_INVALID_TOKEN = "The security token included in the request is invalid."
_STREAMING_MESSAGE = "Signed streaming payloads (STREAMING-*) are not supported."


def _table(incomplete: tuple[str, int], invalid: tuple[str, int]) -> dict[Failure, tuple[str, int]]:
    """The coral families: every failure is either 'incomplete' or 'invalid'."""
    table = {failure: invalid for failure in Failure}
    for failure in (
        Failure.INCOMPLETE_HEADER,
        Failure.INCOMPLETE_QUERY,
        Failure.BAD_DATE,
        Failure.BAD_EXPIRES,
        Failure.BAD_ALGORITHM,
        Failure.BAD_CREDENTIAL,
        Failure.MISSING_CONTENT_SHA256,
        Failure.NOT_SIGV4,
    ):
        table[failure] = incomplete
    return table


def _style(
    name: str,
    codes: dict[Failure, tuple[str, int]],
    messages: dict[Failure, str],
    *,
    non_sigv4: Failure | None = None,
    s3: bool = False,
) -> ErrorStyle:
    missing = set(Failure) - set(codes)
    assert not missing, f"style {name} lacks {missing}"
    return ErrorStyle(name, MappingProxyType(codes), MappingProxyType(messages), non_sigv4, s3)


_REST_JSON_CODES = _table(("IncompleteSignatureException", 403), ("InvalidSignatureException", 403))
_REST_JSON_CODES[Failure.MISSING_AUTH] = ("MissingAuthenticationTokenException", 403)
_REST_JSON_CODES[Failure.UNKNOWN_KEY] = ("UnrecognizedClientException", 403)
_REST_JSON_MESSAGES = {
    Failure.MISSING_AUTH: "Missing Authentication Token",
    Failure.UNKNOWN_KEY: _INVALID_TOKEN,
    Failure.BAD_SIGNATURE: _SIGNATURE_MISMATCH,
    Failure.CONTENT_SHA256_MISMATCH: _SIGNATURE_MISMATCH,
    Failure.BAD_CONTENT_SHA256: _SIGNATURE_MISMATCH,
    Failure.STREAMING_UNSUPPORTED: _STREAMING_MESSAGE,
}
REST_JSON = _style("rest-json", _REST_JSON_CODES, _REST_JSON_MESSAGES)

IOT_DATA = _style(
    "iotdata", {**_REST_JSON_CODES, Failure.UNKNOWN_KEY: ("ForbiddenException", 403)}, _REST_JSON_MESSAGES
)

_JSON_CODES = _table(("IncompleteSignatureException", 400), ("InvalidSignatureException", 400))
_JSON_CODES[Failure.MISSING_AUTH] = ("MissingAuthenticationTokenException", 400)
_JSON_CODES[Failure.NOT_SIGV4] = ("MissingAuthenticationTokenException", 400)
_JSON_CODES[Failure.UNKNOWN_KEY] = ("UnrecognizedClientException", 400)
_CORAL_MISSING = "Request is missing Authentication Token"
JSON = _style(
    "json",
    _JSON_CODES,
    {**_REST_JSON_MESSAGES, Failure.MISSING_AUTH: _CORAL_MISSING, Failure.NOT_SIGV4: _CORAL_MISSING},
    non_sigv4=Failure.NOT_SIGV4,
)

_QUERY_CODES = _table(("IncompleteSignature", 400), ("SignatureDoesNotMatch", 403))
_QUERY_CODES[Failure.MISSING_AUTH] = ("MissingAuthenticationToken", 403)
_QUERY_CODES[Failure.NOT_SIGV4] = ("MissingAuthenticationToken", 403)
_QUERY_CODES[Failure.UNKNOWN_KEY] = ("InvalidClientTokenId", 403)
QUERY = _style(
    "query",
    _QUERY_CODES,
    {**_REST_JSON_MESSAGES, Failure.MISSING_AUTH: _CORAL_MISSING, Failure.NOT_SIGV4: _CORAL_MISSING},
    non_sigv4=Failure.NOT_SIGV4,
)

_S3_CODES: dict[Failure, tuple[str, int]] = {
    Failure.MISSING_AUTH: ("AccessDenied", 403),
    Failure.BOTH_FORMS: ("InvalidArgument", 400),
    Failure.NOT_SIGV4: ("InvalidRequest", 400),
    Failure.INCOMPLETE_HEADER: ("AuthorizationHeaderMalformed", 400),
    Failure.INCOMPLETE_QUERY: ("AuthorizationQueryParametersError", 400),
    Failure.BAD_DATE: ("AccessDenied", 403),
    Failure.BAD_EXPIRES: ("AuthorizationQueryParametersError", 400),
    Failure.EXPIRED: ("RequestTimeTooSkewed", 403),
    Failure.NOT_YET_VALID: ("RequestTimeTooSkewed", 403),
    Failure.PRESIGN_EXPIRED: ("AccessDenied", 403),
    Failure.PRESIGN_NOT_YET_VALID: ("AccessDenied", 403),
    Failure.HOST_NOT_SIGNED: ("AuthorizationHeaderMalformed", 400),
    Failure.BAD_ALGORITHM: ("AuthorizationHeaderMalformed", 400),
    Failure.BAD_CREDENTIAL: ("AuthorizationHeaderMalformed", 400),
    Failure.BAD_SCOPE: ("AuthorizationHeaderMalformed", 400),
    Failure.UNKNOWN_KEY: ("InvalidAccessKeyId", 403),
    Failure.MISSING_CONTENT_SHA256: ("InvalidRequest", 400),
    Failure.BAD_CONTENT_SHA256: ("InvalidArgument", 400),
    Failure.STREAMING_UNSUPPORTED: ("NotImplemented", 501),
    Failure.BAD_SIGNATURE: ("SignatureDoesNotMatch", 403),
    Failure.CONTENT_SHA256_MISMATCH: ("XAmzContentSHA256Mismatch", 400),
}
S3 = _style(
    "s3",
    _S3_CODES,
    {
        Failure.MISSING_AUTH: "Access Denied",
        Failure.BOTH_FORMS: (
            "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query "
            "string parameter or the Authorization header should be specified"
        ),
        Failure.NOT_SIGV4: (
            "The authorization mechanism you have provided is not supported. Please use AWS4-HMAC-SHA256."
        ),
        Failure.INCOMPLETE_QUERY: (
            "Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, "
            "X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters."
        ),
        Failure.BAD_DATE: "AWS authentication requires a valid Date or x-amz-date header",
        Failure.EXPIRED: "The difference between the request time and the current time is too large.",
        Failure.NOT_YET_VALID: "The difference between the request time and the current time is too large.",
        Failure.PRESIGN_EXPIRED: "Request has expired",
        Failure.PRESIGN_NOT_YET_VALID: "Request is not valid yet",
        Failure.UNKNOWN_KEY: "The AWS Access Key Id you provided does not exist in our records.",
        Failure.MISSING_CONTENT_SHA256: "Missing required header for this request: x-amz-content-sha256",
        Failure.BAD_CONTENT_SHA256: (
            "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-UNSIGNED-PAYLOAD-TRAILER, "
            "STREAMING-AWS4-HMAC-SHA256-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER, "
            "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD, STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD-TRAILER "
            "or a valid sha256 value."
        ),
        Failure.STREAMING_UNSUPPORTED: "A header you provided implies functionality that is not implemented",
        Failure.BAD_SIGNATURE: (
            "The request signature we calculated does not match the signature you provided. "
            "Check your key and signing method."
        ),
        Failure.CONTENT_SHA256_MISMATCH: (
            "The provided 'x-amz-content-sha256' header does not match what was computed."
        ),
    },
    non_sigv4=Failure.NOT_SIGV4,
    s3=True,
)

STYLES: Mapping[str, ErrorStyle] = MappingProxyType(
    {style.name: style for style in (REST_JSON, IOT_DATA, JSON, QUERY, S3)}
)

# Credential-scope service name -> style. Anything else answers like IoT's control plane.
_SERVICE_STYLES: Mapping[str, ErrorStyle] = MappingProxyType(
    {
        "iot": REST_JSON,
        "iot1click": REST_JSON,
        "iotdevicegateway": REST_JSON,
        "lambda": REST_JSON,
        "iotdata": IOT_DATA,
        "dynamodb": JSON,
        "kinesis": JSON,
        "firehose": JSON,
        "sns": QUERY,
        "sqs": QUERY,
        "sts": QUERY,
        "s3": S3,
    }
)


def error_style(service: str | None) -> ErrorStyle:
    """The error table for a credential scope's service name (``iot``, ``iotdata``, ``s3``, ``sns``...)."""
    return _SERVICE_STYLES.get(service or "", REST_JSON)


# ---------------------------------------------------------------------------------------- canonical form


def _as_bytes(value: str | bytes) -> bytes:
    return value if isinstance(value, bytes) else value.encode("utf-8")


def _as_text(value: str | bytes) -> str:
    return value.decode("latin-1") if isinstance(value, bytes) else value


def _remove_dot_segments(path: bytes) -> bytes:
    """RFC 3986 dot-segment removal, also dropping empty segments (``//``), as AWS services expect."""
    if not path:
        return b"/"
    out: list[bytes] = []
    for segment in path.split(b"/"):
        if segment == b"..":
            if out:
                out.pop()
        elif segment and segment != b".":
            out.append(segment)
    lead = b"/" if path.startswith(b"/") else b""
    trail = b"/" if path.endswith(b"/") and out else b""
    return lead + b"/".join(out) + trail


def canonical_uri(raw_path: str | bytes, *, double_encode: bool) -> str:
    """The canonical URI of a raw (as sent) path.

    ``double_encode`` (every service but S3): normalize the path, then percent-encode it as it stands, so
    ``/things/a%3Ab`` becomes ``/things/a%253Ab``. Otherwise (S3): decode it and encode each byte once.
    """
    path = _as_bytes(raw_path) or b"/"
    if double_encode:
        return quote(_remove_dot_segments(path), safe="/~")
    return quote(unquote_to_bytes(path), safe="/~")


def _split_query(raw_query: bytes) -> list[tuple[bytes, bytes]]:
    pairs = []
    for part in raw_query.split(b"&"):
        if part:
            key, _, value = part.partition(b"=")
            pairs.append((key, value))
    return pairs


def _decode_component(raw: bytes) -> bytes:
    return unquote_to_bytes(raw.replace(b"+", b" "))


def _decode_text(raw: bytes) -> str:
    return _decode_component(raw).decode("utf-8", "replace")


def canonical_query(raw_query: str | bytes, *, exclude: Iterable[str] = ()) -> str:
    """Each pair decoded and re-encoded per RFC 3986, sorted by key then value, minus the ``exclude`` keys."""
    dropped = set(exclude)
    encoded = sorted(
        (quote(_decode_component(key), safe="-_.~"), quote(_decode_component(value), safe="-_.~"))
        for key, value in _split_query(_as_bytes(raw_query))
        if not dropped or _decode_text(key) not in dropped
    )
    return "&".join(f"{key}={value}" for key, value in encoded)


def _verbatim_query(raw_query: bytes, exclude: set[str]) -> str:
    """The pairs as sent, sorted: what botocore signs for a query string given inside a URL."""
    pairs = sorted(
        (key.decode("latin-1"), value.decode("latin-1"))
        for key, value in _split_query(raw_query)
        if not exclude or _decode_text(key) not in exclude
    )
    return "&".join(f"{key}={value}" for key, value in pairs)


def _trimall(value: str) -> str:
    return " ".join(value.split())


def canonical_request(
    method: str,
    uri: str,
    query: str,
    headers: Mapping[str, list[str]],
    signed_headers: Iterable[str],
    payload_hash: str,
) -> str:
    """The canonical request, given the canonical URI and query; ``headers`` keyed by lower-case name."""
    names = list(signed_headers)
    lines = [f"{name}:{','.join(_trimall(value) for value in headers.get(name, ()))}" for name in names]
    return "\n".join([method.upper(), uri, query, "\n".join(lines) + "\n", ";".join(names), payload_hash])


def string_to_sign(amz_date: str, scope: str, canonical: str) -> str:
    """``scope`` is ``date/region/service/aws4_request``."""
    digest = hashlib.sha256(canonical.encode("utf-8")).hexdigest()
    return f"{ALGORITHM}\n{amz_date}\n{scope}\n{digest}"


def _hmac(key: bytes, message: str) -> bytes:
    return hmac.new(key, message.encode("utf-8"), hashlib.sha256).digest()


@lru_cache(maxsize=512)
def signing_key(secret: str, date: str, region: str, service: str) -> bytes:
    """The derived key for one day, region and service; cached, since a client reuses it all day."""
    key = _hmac(f"AWS4{secret}".encode(), date)
    key = _hmac(key, region)
    key = _hmac(key, service)
    return _hmac(key, TERMINATOR)


# ---------------------------------------------------------------------------------------------- parsing


HeaderInput = Mapping[str, str] | Iterable[tuple[str | bytes, str | bytes]]


def _collect_headers(headers: HeaderInput) -> dict[str, list[str]]:
    items: Iterable[tuple[str | bytes, str | bytes]] = (
        headers.items() if isinstance(headers, Mapping) else headers
    )
    collected: dict[str, list[str]] = {}
    for name, value in items:
        collected.setdefault(_as_text(name).strip().lower(), []).append(_as_text(value))
    return collected


def _first(headers: Mapping[str, list[str]], name: str) -> str | None:
    values = headers.get(name)
    return values[0] if values else None


def _query_params(raw_query: bytes) -> dict[str, str]:
    """Decoded query parameters, the first of each name."""
    params: dict[str, str] = {}
    for key, value in _split_query(raw_query):
        params.setdefault(_decode_text(key), _decode_text(value))
    return params


def _format_amz_date(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime(_AMZ_DATE_FORMAT)


def _parse_amz_date(value: str) -> datetime | None:
    if not _AMZ_DATE.fullmatch(value):
        return None
    try:
        return datetime.strptime(value, _AMZ_DATE_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        return None


def _parse_http_date(value: str) -> datetime | None:
    parsed = _parse_amz_date(value.strip())
    if parsed is not None:
        return parsed
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _span(seconds: int) -> str:
    return f"{seconds // 60} min." if seconds % 60 == 0 else f"{seconds} sec."


@dataclass(frozen=True, slots=True)
class _Parsed:
    presigned: bool
    algorithm: str
    credential: str
    signed_headers: tuple[str, ...]
    signature: str
    amz_date: str  # the request date as it enters the string to sign
    signed_at: datetime
    expires: int | None
    security_token: str | None
    declared_payload: str | None  # X-Amz-Content-Sha256 from the header (or the query, when presigned)


def credential_scope_service(headers: HeaderInput, raw_query: str | bytes) -> str | None:
    """The service named by the request's credential scope, without verifying anything (for routing)."""
    return _scope_service(_collect_headers(headers), _as_bytes(raw_query))


def _scope_service(headers: Mapping[str, list[str]], raw_query: bytes) -> str | None:
    authorization = _first(headers, "authorization")
    credential: str | None = None
    if authorization is not None:
        match = _HEADER_CREDENTIAL.search(authorization)
        credential = match.group(1) if match else None
    if credential is None:
        credential = _query_params(raw_query).get("X-Amz-Credential")
    if not credential:
        return None
    parts = credential.rstrip("/").split("/")
    return parts[3] if len(parts) == 5 and parts[3] else None


def _parse_header_form(
    authorization: str, headers: Mapping[str, list[str]], style: ErrorStyle
) -> tuple[str, dict[str, str], str | None, str | None]:
    """An Authorization header's algorithm and key=value parameters, the date value and its header."""
    text = authorization.strip()
    algorithm, _, rest = text.partition(" ")
    if style.non_sigv4 is not None and not algorithm.startswith("AWS4-"):
        raise SigV4Error(style.non_sigv4, _CORAL_MISSING, style)
    params: dict[str, str] = {}
    for token in _AUTH_SEPARATORS.split(rest):
        if not token:
            continue
        key, equals, value = token.partition("=")
        if not equals:
            raise SigV4Error(
                Failure.INCOMPLETE_HEADER,
                f"'{token}' not a valid key=value pair (missing equal-sign) in Authorization header: "
                f"'{authorization}'.",
                style,
            )
        params.setdefault(key, value)
    amz_date = _first(headers, "x-amz-date")
    http_date = _first(headers, "date")
    problems = [
        f"Authorization header requires '{name}' parameter. "
        for name in ("Credential", "Signature", "SignedHeaders")
        if not params.get(name) and not (name == "SignedHeaders" and name in params)
    ]
    if amz_date is None and http_date is None:
        problems.append(
            "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. "
        )
    if problems:
        raise SigV4Error(
            Failure.INCOMPLETE_HEADER, "".join(problems) + f"Authorization={authorization}", style
        )
    if amz_date is not None:
        return algorithm, params, amz_date, "x-amz-date"
    return algorithm, params, http_date, "date"


def _parse(headers: Mapping[str, list[str]], query: Mapping[str, str], style: ErrorStyle) -> _Parsed:
    authorization = _first(headers, "authorization")
    presigned = "X-Amz-Algorithm" in query
    if authorization is not None and presigned:
        raise SigV4Error(
            Failure.BOTH_FORMS,
            "Found both 'X-Amz-Algorithm' as a query-string param and 'Authorization' as HTTP header.",
            style,
        )
    if authorization is None and not presigned:
        if "X-Amz-Credential" in query or "X-Amz-Signature" in query:
            presigned = True  # a presigned URL that lost its algorithm: report what is missing
        else:
            raise SigV4Error(Failure.MISSING_AUTH, _CORAL_MISSING, style)

    expires: int | None = None
    if authorization is not None:
        algorithm, params, date_value, date_source = _parse_header_form(authorization, headers, style)
        credential = params.get("Credential", "")
        signed_names = params.get("SignedHeaders", "")
        signature = params.get("Signature", "")
        token = _first(headers, "x-amz-security-token")
        declared = _first(headers, "x-amz-content-sha256")
        assert date_value is not None
        if date_source == "date":
            signed_at = _parse_http_date(date_value)
        else:
            signed_at = _parse_amz_date(date_value.strip())
    else:
        missing = [name for name in _QUERY_AUTH_PARAMS if not query.get(name)]
        if style.s3 and "X-Amz-Expires" not in query:
            missing.append("X-Amz-Expires")
        if missing:
            raise SigV4Error(
                Failure.INCOMPLETE_QUERY,
                "".join(f"AWS query-string parameters must include '{name}'. " for name in missing)
                + "Re-examine the query-string parameters.",
                style,
            )
        algorithm = query["X-Amz-Algorithm"]
        credential = query["X-Amz-Credential"]
        signed_names = query["X-Amz-SignedHeaders"]
        signature = query["X-Amz-Signature"]
        token = query.get("X-Amz-Security-Token")
        declared = query.get("X-Amz-Content-Sha256") or _first(headers, "x-amz-content-sha256")
        date_value = query["X-Amz-Date"]
        signed_at = _parse_amz_date(date_value)
        if "X-Amz-Expires" in query:
            expires = _parse_expires(query["X-Amz-Expires"], style)

    if signed_at is None:
        raise SigV4Error(
            Failure.BAD_DATE,
            f"Date must be in ISO-8601 'basic format'. Got '{date_value}'. See http://en.wikipedia.org/wiki/ISO_8601",
            style,
        )
    amz_date = date_value.strip() if _AMZ_DATE.fullmatch(date_value.strip()) else _format_amz_date(signed_at)
    names = tuple(name.strip().lower() for name in signed_names.split(";") if name.strip())
    return _Parsed(
        presigned=authorization is None,
        algorithm=algorithm,
        credential=credential,
        signed_headers=names,
        signature=signature,
        amz_date=amz_date,
        signed_at=signed_at,
        expires=expires,
        security_token=token,
        declared_payload=declared.strip() if declared is not None else None,
    )


def _parse_expires(value: str, style: ErrorStyle) -> int:
    if not _INTEGER.fullmatch(value.strip()):
        raise SigV4Error(Failure.BAD_EXPIRES, "X-Amz-Expires should be a number", style)
    seconds = int(value)
    if seconds < 0:
        raise SigV4Error(Failure.BAD_EXPIRES, "X-Amz-Expires must be non-negative", style)
    if seconds > MAX_PRESIGN_EXPIRES:
        raise SigV4Error(
            Failure.BAD_EXPIRES,
            f"X-Amz-Expires must be less than a week (in seconds) that is {MAX_PRESIGN_EXPIRES}",
            style,
        )
    return seconds


# ---------------------------------------------------------------------------------------------- checks


def _check_clock(parsed: _Parsed, now: datetime, max_skew: timedelta, style: ErrorStyle) -> datetime | None:
    """Raises when the request is outside its validity window; returns a presigned URL's expiry, if any."""
    signed = _format_amz_date(parsed.signed_at)
    skew = int(max_skew.total_seconds())
    if parsed.signed_at > now + max_skew:
        detail = (
            f"Signature not yet current: {signed} is still later than {_format_amz_date(now + max_skew)} "
            f"({_format_amz_date(now)} + {_span(skew)})"
        )
        failure = Failure.PRESIGN_NOT_YET_VALID if parsed.presigned else Failure.NOT_YET_VALID
        raise SigV4Error(failure, detail, style)
    if parsed.presigned and parsed.expires is not None:
        expires_at = parsed.signed_at + timedelta(seconds=parsed.expires)
        if now > expires_at:
            oldest = now - timedelta(seconds=parsed.expires)
            raise SigV4Error(
                Failure.PRESIGN_EXPIRED,
                f"Signature expired: {signed} is now earlier than {_format_amz_date(oldest)} "
                f"({_format_amz_date(now)} - {_span(parsed.expires)})",
                style,
            )
        return expires_at
    if parsed.signed_at < now - max_skew:
        raise SigV4Error(
            Failure.EXPIRED,
            f"Signature expired: {signed} is now earlier than {_format_amz_date(now - max_skew)} "
            f"({_format_amz_date(now)} - {_span(skew)})",
            style,
        )
    return None


def _check_scope(
    parsed: _Parsed,
    style: ErrorStyle,
    expected_service: str | None,
    expected_region: str | None,
) -> tuple[str, str, str, str]:
    if parsed.algorithm != ALGORITHM:
        raise SigV4Error(
            Failure.BAD_ALGORITHM,
            f"Unsupported AWS 'algorithm': '{parsed.algorithm}' (only {ALGORITHM} for now). ",
            style,
        )
    parts = parsed.credential.rstrip("/").split("/")
    if len(parts) != 5 or not all(parts):
        raise SigV4Error(
            Failure.BAD_CREDENTIAL,
            "Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, "
            f"got '{parsed.credential}'",
            style,
        )
    access_key_id, date, region, service, terminator = parts
    problems = []
    if expected_region is not None and region != expected_region:
        problems.append(f"Credential should be scoped to a valid region, not '{region}'. ")
    if expected_service is not None and service != expected_service:
        problems.append(f"Credential should be scoped to correct service: '{expected_service}'. ")
    if terminator != TERMINATOR:
        problems.append(
            f"Credential should be scoped with a valid terminator: '{TERMINATOR}', not '{terminator}'. "
        )
    if date != parsed.amz_date[:8]:
        problems.append(
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: "
            f"'{date}' != '{parsed.amz_date[:8]}', from '{parsed.amz_date}'."
        )
    if problems:
        raise SigV4Error(Failure.BAD_SCOPE, "".join(problems), style)
    return access_key_id, date, region, service


def _payload_candidates(
    parsed: _Parsed, body: bytes, style: ErrorStyle, checked_by_caller: bool
) -> tuple[list[str], str | None]:
    """The payload hashes to try, and the body's own hash when it must match a declared one (never when the
    caller checks the body itself: it then gets the declared value in ``SignedRequest.payload_hash``)."""
    declared = parsed.declared_payload
    if declared is None and checked_by_caller:
        if parsed.presigned:
            return [UNSIGNED_PAYLOAD], None
        # The payload hash is the body's, which this call is not given: the signer must declare it.
        raise SigV4Error(
            Failure.MISSING_CONTENT_SHA256,
            "Missing required header for this request: x-amz-content-sha256",
            style,
        )
    if declared is None:
        if not parsed.presigned:
            return [hashlib.sha256(body).hexdigest()], None
        if style.s3:
            return [UNSIGNED_PAYLOAD], None
        return [hashlib.sha256(body).hexdigest(), UNSIGNED_PAYLOAD], None
    if declared in (UNSIGNED_PAYLOAD, STREAMING_UNSIGNED_PAYLOAD_TRAILER):
        return [declared], None
    if declared.startswith("STREAMING-"):
        raise SigV4Error(Failure.STREAMING_UNSUPPORTED, _STREAMING_MESSAGE, style)
    if not _HEX_SHA256.fullmatch(declared):
        raise SigV4Error(Failure.BAD_CONTENT_SHA256, _SIGNATURE_MISMATCH, style)
    return [declared], None if checked_by_caller else hashlib.sha256(body).hexdigest()


# ---------------------------------------------------------------------------------------------- verify


def verify(
    method: str,
    raw_path: str | bytes,
    raw_query: str | bytes,
    headers: HeaderInput,
    body: bytes,
    secret_for: Callable[[str], str | None],
    now: datetime,
    *,
    max_skew: timedelta = DEFAULT_MAX_SKEW,
    style: ErrorStyle | None = None,
    double_encode_path: bool | None = None,
    expected_service: str | None = None,
    expected_region: str | None = None,
    payload_hash_checked_by_caller: bool = False,
) -> SignedRequest:
    """Verifies a SigV4-signed request; raises :class:`SigV4Error` with AWS's code, message and status.

    ``raw_path`` and ``raw_query`` are as sent, still percent-encoded (ASGI's ``raw_path`` and
    ``query_string``; bytes or ASCII text). ``headers`` is a mapping or name/value pairs (repeated names
    allowed; bytes are read as Latin-1). ``body`` is the whole body; it is hashed unless the signer declared
    ``UNSIGNED-PAYLOAD``. ``secret_for`` returns the secret of an access key id, or None if the key is
    unknown. ``now`` is the server's clock (UTC; a naive value is taken as UTC). ``style`` defaults to
    :func:`error_style` of the scope's service; ``double_encode_path`` to "not S3".

    ``payload_hash_checked_by_caller=True`` is for a body that has not arrived yet (S3 streams uploads to
    disk after the signature is checked): ``body`` is ignored, the signature is verified over the declared
    ``x-amz-content-sha256`` (a presigned request without one over ``UNSIGNED-PAYLOAD``; a header signature
    without one is refused, since the body's hash cannot be computed), and the caller must compare the body,
    once it has it, with ``SignedRequest.payload_hash`` when that is a hex digest.
    """
    header_map = _collect_headers(headers)
    query_bytes = _as_bytes(raw_query)
    if style is None:
        style = error_style(_scope_service(header_map, query_bytes))
    now = now.replace(tzinfo=UTC) if now.tzinfo is None else now.astimezone(UTC)

    parsed = _parse(header_map, _query_params(query_bytes), style)
    expires_at = _check_clock(parsed, now, max_skew, style)
    if "host" not in parsed.signed_headers and ":authority" not in parsed.signed_headers:
        raise SigV4Error(
            Failure.HOST_NOT_SIGNED,
            "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.",
            style,
        )
    access_key_id, date, region, service = _check_scope(parsed, style, expected_service, expected_region)
    secret = secret_for(access_key_id)
    if secret is None:
        raise SigV4Error(Failure.UNKNOWN_KEY, _INVALID_TOKEN, style)
    if style.s3 and not parsed.presigned and parsed.declared_payload is None:
        raise SigV4Error(
            Failure.MISSING_CONTENT_SHA256,
            "Missing required header for this request: x-amz-content-sha256",
            style,
        )
    payloads, body_hash = _payload_candidates(parsed, body, style, payload_hash_checked_by_caller)

    s3_path = service == "s3" if double_encode_path is None else not double_encode_path
    uris = [canonical_uri(raw_path, double_encode=not s3_path)]
    if s3_path:
        uris.append(_as_bytes(raw_path).decode("latin-1") or "/")  # botocore signs S3 paths as sent
    excluded = {"X-Amz-Signature"} if parsed.presigned else set()
    queries: list[tuple[str, bool]] = []  # (canonical query, whether it covers the session token)
    exclusions = [(excluded, parsed.security_token is not None)]
    if parsed.presigned and parsed.security_token is not None and service in _UNSIGNED_TOKEN_SERVICES:
        exclusions.append((excluded | {"X-Amz-Security-Token"}, False))
    for exclude, token_signed in exclusions:
        queries.append((canonical_query(query_bytes, exclude=exclude), token_signed))
        queries.append((_verbatim_query(query_bytes, exclude), token_signed))

    scope = f"{date}/{region}/{service}/{TERMINATOR}"
    key = signing_key(secret, date, region, service)
    provided = parsed.signature.encode("utf-8", "replace")
    first: tuple[str, str] | None = None
    tried: set[str] = set()
    for payload in payloads:
        for query, token_signed in queries:
            for uri in uris:
                canonical = canonical_request(method, uri, query, header_map, parsed.signed_headers, payload)
                if canonical in tried:
                    continue
                tried.add(canonical)
                to_sign = string_to_sign(parsed.amz_date, scope, canonical)
                if first is None:
                    first = (canonical, to_sign)
                expected = hmac.new(key, to_sign.encode("utf-8"), hashlib.sha256).hexdigest().encode("ascii")
                if hmac.compare_digest(expected, provided):
                    if body_hash is not None and body_hash != payload.lower():
                        raise SigV4Error(Failure.CONTENT_SHA256_MISMATCH, _SIGNATURE_MISMATCH, style)
                    return SignedRequest(
                        access_key_id=access_key_id,
                        service=service,
                        region=region,
                        date=date,
                        signed_at=parsed.signed_at,
                        presigned=parsed.presigned,
                        signed_headers=parsed.signed_headers,
                        security_token=parsed.security_token,
                        security_token_signed=token_signed,
                        payload_hash=payload,
                        expires_at=expires_at,
                    )
    assert first is not None
    raise SigV4Error(
        Failure.BAD_SIGNATURE, _SIGNATURE_MISMATCH, style, canonical_request=first[0], string_to_sign=first[1]
    )
