"""SigV4 verification against signers we did not write: botocore (boto3 and the aws CLI sign through it),
real boto3 clients whose exact outgoing requests are captured, and the AWS Common Runtime (the IoT Device
SDK v2's signer); then every refusal, with AWS's codes, messages and statuses. The clock is always fixed.
"""

from __future__ import annotations

import hashlib
import io
import random
import string
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, cast
from unittest import mock
from urllib.parse import quote, urlsplit

import boto3  # type: ignore[import-untyped, unused-ignore]
import botocore.auth  # type: ignore[import-untyped, unused-ignore]
import pytest
from awscrt import auth as crt_auth
from awscrt import http as crt_http
from awscrt import websocket as crt_websocket
from botocore.auth import (  # type: ignore[import-untyped, unused-ignore]
    S3SigV4Auth,
    S3SigV4QueryAuth,
    SigV4Auth,
    SigV4QueryAuth,
)
from botocore.awsrequest import AWSRequest, AWSResponse  # type: ignore[import-untyped, unused-ignore]
from botocore.config import Config  # type: ignore[import-untyped, unused-ignore]
from botocore.credentials import Credentials  # type: ignore[import-untyped, unused-ignore]
from hypothesis import given, settings
from hypothesis import strategies as st

from corral.auth import sigv4
from corral.auth.sigv4 import Failure, SignedRequest, SigV4Error

AKID = "AKIAIOSFODNN7EXAMPLE"
SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
SECRETS = {AKID: SECRET}
T0 = datetime(2026, 11, 22, 0, 0, 0, tzinfo=UTC)
ENDPOINT = "http://corral.test:8443"
MISMATCH = (
    "The request signature we calculated does not match the signature you provided. Check your AWS Secret "
    "Access Key and signing method. Consult the service documentation for details."
)


# -------------------------------------------------------------------------------------------- the wire


@dataclass(frozen=True)
class Wire:
    """A request as the server receives it: raw path and query, header pairs, body."""

    method: str
    path: str
    query: str
    headers: tuple[tuple[str, str], ...]
    body: bytes

    def verify(self, now: datetime = T0, **kwargs: Any) -> SignedRequest:
        return sigv4.verify(
            self.method, self.path, self.query, self.headers, self.body, SECRETS.get, now, **kwargs
        )

    def refused(self, now: datetime = T0, **kwargs: Any) -> SigV4Error:
        with pytest.raises(SigV4Error) as caught:
            self.verify(now, **kwargs)
        return caught.value

    def header(self, name: str) -> str:
        return next(value for key, value in self.headers if key.lower() == name.lower())

    def with_header(self, name: str, value: str) -> Wire:
        kept = tuple((key, old) for key, old in self.headers if key.lower() != name.lower())
        return replace(self, headers=(*kept, (name, value)))

    def without_header(self, name: str) -> Wire:
        return replace(self, headers=tuple((k, v) for k, v in self.headers if k.lower() != name.lower()))

    def with_authorization(self, old: str, new: str) -> Wire:
        return self.with_header("Authorization", self.header("Authorization").replace(old, new))


def _host(url: str) -> str:
    """The Host header an HTTP client sends: the netloc, without a default port."""
    parts = urlsplit(url)
    default = {"http": 80, "https": 443}[parts.scheme]
    return parts.hostname or "" if parts.port in (None, default) else f"{parts.hostname}:{parts.port}"


def _body_bytes(body: object) -> bytes:
    if body is None:
        return b""
    if isinstance(body, bytes):
        return body
    if isinstance(body, str):
        return body.encode()
    readable = cast(io.BufferedIOBase, body)
    data = readable.read()
    return data if isinstance(data, bytes) else bytes(data)


def _text(value: str | bytes) -> str:
    return value.decode("latin-1") if isinstance(value, bytes) else value  # bytes as they go on the wire


def _wire(
    method: str, url: str, header_pairs: Sequence[tuple[str | bytes, str | bytes]], body: object
) -> Wire:
    headers = [(_text(name), _text(value)) for name, value in header_pairs]
    if not any(name.lower() == "host" for name, _ in headers):
        headers.append(("Host", _host(url)))  # urllib3 adds it; botocore signs the same value
    parts = urlsplit(url)
    return Wire(method, parts.path, parts.query, tuple(headers), _body_bytes(body))


@contextmanager
def botocore_clock(moment: datetime) -> Iterator[None]:
    """Freezes the clock of botocore's signers, the pure-Python ones and the CRT-backed ones."""
    aware = moment.astimezone(UTC)

    def now(remove_tzinfo: bool = True) -> datetime:
        return aware.replace(tzinfo=None) if remove_tzinfo else aware

    with (
        mock.patch("botocore.auth.get_current_datetime", now),
        mock.patch("botocore.crt.auth.get_current_datetime", now),
    ):
        yield


def botocore_signed(
    method: str,
    url: str,
    *,
    body: bytes = b"",
    headers: Sequence[tuple[str, str]] = (),
    params: Sequence[tuple[str, str]] = (),
    signer: str = "v4",
    service: str = "iot",
    region: str = "us-east-1",
    token: str | None = None,
    expires: int = 3600,
    at: datetime = T0,
) -> Wire:
    """Signs with botocore's own signer classes and returns what would go on the wire."""
    request = AWSRequest(method=method, url=url, data=body, params=list(params))
    for name, value in headers:
        request.headers[name] = value  # HTTPHeaders appends: repeated names stay repeated
    credentials = Credentials(AKID, SECRET, token)
    auth: Any
    if signer == "v4":
        auth = SigV4Auth(credentials, service, region)
    elif signer == "query":
        auth = SigV4QueryAuth(credentials, service, region, expires=expires)
    elif signer == "s3":
        auth = S3SigV4Auth(credentials, service, region)
    else:
        auth = S3SigV4QueryAuth(credentials, service, region, expires=expires)
    with botocore_clock(at):
        auth.add_auth(request)
    prepared = request.prepare()
    return _wire(
        cast(str, prepared.method), cast(str, prepared.url), list(request.headers.items()), prepared.body
    )


class _RawBody:
    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: object) -> Iterator[bytes]:
        yield self._body


# With awscrt installed (it is, for the IoT Device SDK) botocore signs through the CRT; without it, through
# its pure-Python signers. The aws CLI carries its own botocore, so either may sign: test both.
_PYTHON_SIGNERS = {
    "v4": SigV4Auth,
    "v4-query": SigV4QueryAuth,
    "s3v4": S3SigV4Auth,
    "s3v4-query": S3SigV4QueryAuth,
}
SIGNER_IMPLEMENTATIONS = ["crt", "python"]


@contextmanager
def captured(
    service_name: str, signers: str = "crt", *, endpoint: str = ENDPOINT, reply: bytes = b"{}"
) -> Iterator[tuple[Any, list[Wire]]]:
    """A real boto3 client whose requests are captured at ``before-send``, after signing, and answered 200."""
    session = boto3.session.Session(
        aws_access_key_id=AKID, aws_secret_access_key=SECRET, region_name="us-east-1"
    )
    client = session.client(
        service_name,
        endpoint_url=endpoint,
        config=Config(
            retries={"max_attempts": 1},
            s3={"addressing_style": "path"},
            signature_version="s3v4" if service_name == "s3" else None,
        ),
    )
    wires: list[Wire] = []

    def before_send(request: Any, **_: object) -> Any:
        wires.append(_wire(request.method, request.url, list(request.headers.items()), request.body))
        return AWSResponse(request.url, 200, {}, _RawBody(reply))

    client.meta.events.register("before-send", before_send)
    table = botocore.auth.AUTH_TYPE_MAPS
    with botocore_clock(T0), mock.patch.dict(table, _PYTHON_SIGNERS if signers == "python" else {}):
        if signers == "crt":
            assert table["v4"].__module__ == "botocore.crt.auth"
        yield client, wires


def crt_signed(
    request: crt_http.HttpRequest,
    body: bytes = b"",
    *,
    service: str,
    presign: bool = False,
    token: str | None = None,
    **config: Any,
) -> Wire:
    """Signs with the AWS Common Runtime, as the IoT Device SDK v2 does."""
    provider = crt_auth.AwsCredentialsProvider.new_static(AKID, SECRET, token)
    signing = crt_auth.AwsSigningConfig(
        algorithm=crt_auth.AwsSigningAlgorithm.V4,
        signature_type=(
            crt_auth.AwsSignatureType.HTTP_REQUEST_QUERY_PARAMS
            if presign
            else crt_auth.AwsSignatureType.HTTP_REQUEST_HEADERS
        ),
        credentials_provider=provider,
        region="us-east-1",
        service=service,
        date=T0,
        **config,
    )
    crt_auth.aws_sign_request(request, signing).result(10)
    path, _, query = str(request.path).partition("?")
    pairs = [(str(name), str(value)) for name, value in request.headers]
    return Wire(str(request.method), path, query, tuple(pairs), body)


def crt_request(
    method: str, path: str, headers: Sequence[tuple[str, str]], body: bytes
) -> crt_http.HttpRequest:
    return crt_http.HttpRequest(method, path, crt_http.HttpHeaders(list(headers)), io.BytesIO(body))


# ----------------------------------------------------------------------------------- AWS's own vectors


def test_aws_published_examples_verify() -> None:
    """The 'get-vanilla' case of AWS's SigV4 test suite and the IAM ListUsers example of the SigV4 guide."""
    key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
    at = datetime(2015, 8, 30, 12, 36, tzinfo=UTC)
    vanilla = [
        ("Host", "example.amazonaws.com"),
        ("X-Amz-Date", "20150830T123600Z"),
        (
            "Authorization",
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
            "SignedHeaders=host;x-amz-date, "
            "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
        ),
    ]
    signed = sigv4.verify("GET", "/", "", vanilla, b"", {"AKIDEXAMPLE": key}.get, at)
    assert (signed.access_key_id, signed.service, signed.region) == ("AKIDEXAMPLE", "service", "us-east-1")
    list_users = [
        ("Host", "iam.amazonaws.com"),
        ("Content-Type", "application/x-www-form-urlencoded; charset=utf-8"),
        ("X-Amz-Date", "20150830T123600Z"),
        (
            "Authorization",
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, "
            "SignedHeaders=content-type;host;x-amz-date, "
            "Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7",
        ),
    ]
    query = "Action=ListUsers&Version=2010-05-08"
    assert sigv4.verify("GET", "/", query, list_users, b"", {"AKIDEXAMPLE": key}.get, at).service == "iam"


# ------------------------------------------------------------------------------------- botocore shapes

SHAPES: dict[str, Wire] = {}


def _shapes() -> dict[str, Wire]:
    if SHAPES:
        return SHAPES
    u = ENDPOINT
    json_headers = [("Content-Type", "application/x-amz-json-1.1")]
    SHAPES.update(
        {
            "get-query": botocore_signed("GET", f"{u}/things?maxResults=5&thingTypeName=lamp"),
            "repeated-keys": botocore_signed("GET", f"{u}/things?a=2&a=1&b=&c"),
            "params-special": botocore_signed(
                "GET",
                f"{u}/things",
                params=[
                    ("space", "a b"),
                    ("colon", "a:b"),
                    ("slash", "a/b"),
                    ("encoded", "%2F"),
                    ("plus", "a+b"),
                    ("unicode", "température ☃"),
                    ("tilde", "~x"),
                    ("space key", "v"),
                ],
            ),
            "url-verbatim": botocore_signed("GET", f"{u}/things?q=a+b:c&r=x/y"),  # signed as sent
            "url-special": botocore_signed(
                "GET", f"{u}/things?q=a%20b%3Ac%2Fd%25e%2Bf%7Eg&z=%C3%A9&nextToken=ab%2Fcd%3D%3D"
            ),
            "thing-colon-underscore": botocore_signed("POST", f"{u}/things/my%3Athing_1", body=b"{}"),
            "topic-encoded-slash": botocore_signed("POST", f"{u}/topics/a%2Fb?qos=1", body=b"hi"),
            "shadow-topic": botocore_signed(
                "POST", f"{u}/topics/%24aws%2Fthings%2Fx%2Fshadow%2Fupdate", body=b'{"state":{}}'
            ),
            "raw-special-path": botocore_signed("GET", f"{u}/things/a:b+c~d$e%2Bf%25g"),
            "dot-segments": botocore_signed("GET", f"{u}/things/./a/../b//c/"),
            "json-body": botocore_signed(
                "POST", f"{u}/rules/r_1", body=b'{"sql": "SELECT * FROM \'a/b\'"}', headers=json_headers
            ),
            "raw-body-no-content-type": botocore_signed(
                "POST", f"{u}/topics/sensors", body=bytes(range(256)), service="iotdata"
            ),
            "empty-body-post": botocore_signed("POST", f"{u}/keys-and-certificate?setAsActive=true"),
            "spaces-and-repeats": botocore_signed(
                "PUT",
                f"{u}/target-policies/p",
                body=b"{}",
                headers=[("X-Custom", "  a   b \t c  "), ("X-Multi", "one"), ("X-Multi", "two  three")],
            ),
            "date-header": botocore_signed("GET", f"{u}/things", headers=[("Date", "placeholder")]),
            "session-token": botocore_signed("GET", f"{u}/things", token="FQoGZXIvYXdzE+token/=="),
            "unsigned-payload": botocore_signed(
                "POST",
                f"{u}/things/x",
                body=b"anything",
                headers=[("X-Amz-Content-SHA256", "UNSIGNED-PAYLOAD")],
            ),
            "declared-payload-hash": botocore_signed(
                "POST",
                f"{u}/things/x",
                body=b"body",
                headers=[("X-Amz-Content-SHA256", hashlib.sha256(b"body").hexdigest())],
            ),
            "presigned": botocore_signed(
                "GET", f"{u}/things/a%3Ab/shadow?name=s%201", signer="query", expires=300
            ),
            "presigned-token": botocore_signed("GET", f"{u}/things", signer="query", token="tok+/="),
            "s3-put": botocore_signed(
                "PUT", f"{u}/bucket/dir/a%20b%2Bc~%C3%A9.txt", body=b"data", signer="s3", service="s3"
            ),
            "s3-presigned": botocore_signed(
                "GET", f"{u}/bucket/key%20with%20space", signer="s3-query", service="s3", expires=600
            ),
        }
    )
    return SHAPES


@pytest.mark.parametrize(
    "shape",
    [
        "get-query",
        "repeated-keys",
        "params-special",
        "url-verbatim",
        "url-special",
        "thing-colon-underscore",
        "topic-encoded-slash",
        "shadow-topic",
        "raw-special-path",
        "dot-segments",
        "json-body",
        "raw-body-no-content-type",
        "empty-body-post",
        "spaces-and-repeats",
        "date-header",
        "session-token",
        "unsigned-payload",
        "declared-payload-hash",
        "presigned",
        "presigned-token",
        "s3-put",
        "s3-presigned",
    ],
)
def test_botocore_signed_shapes_verify(shape: str) -> None:
    wire = _shapes()[shape]
    signed = wire.verify()
    assert signed.access_key_id == AKID
    assert signed.region == "us-east-1"
    assert signed.date == "20261122"
    assert signed.signed_at == T0
    assert "host" in signed.signed_headers
    assert signed.presigned == ("presigned" in shape)


def test_shapes_carry_what_they_claim() -> None:
    shapes = _shapes()
    assert shapes["raw-body-no-content-type"].verify().service == "iotdata"
    assert (
        shapes["raw-body-no-content-type"].verify().payload_hash
        == hashlib.sha256(bytes(range(256))).hexdigest()
    )
    assert shapes["session-token"].verify().security_token == "FQoGZXIvYXdzE+token/=="
    assert shapes["presigned-token"].verify().security_token == "tok+/="
    assert shapes["unsigned-payload"].verify().payload_hash == sigv4.UNSIGNED_PAYLOAD
    assert shapes["presigned"].verify().expires_at == T0 + timedelta(seconds=300)
    assert shapes["s3-put"].verify().service == "s3"
    assert shapes["s3-presigned"].verify().payload_hash == sigv4.UNSIGNED_PAYLOAD
    date = shapes["date-header"]
    assert date.header("Date") == "Sun, 22 Nov 2026 00:00:00 -0000"  # email.utils.formatdate
    assert not any(name.lower() == "x-amz-date" for name, _ in date.headers)
    assert "x-multi" in shapes["spaces-and-repeats"].verify().signed_headers


def test_unsigned_headers_may_be_added_after_signing() -> None:
    wire = _shapes()["json-body"]
    assert (
        wire.with_header("User-Agent", "something else").with_header("X-Forwarded-For", "10.0.0.1").verify()
    )


# ---------------------------------------------------------------------------------- real boto3 clients


@pytest.mark.parametrize("signers", SIGNER_IMPLEMENTATIONS)
def test_boto3_iot_client_requests_verify(signers: str) -> None:
    with captured("iot", signers) as (client, wires):
        client.list_things(
            maxResults=5, thingTypeName="lamp type", attributeName="a:b", attributeValue="x/y+z"
        )
        client.create_thing(thingName="my:thing_1", attributePayload={"attributes": {"k": "v w"}})
        client.describe_thing(thingName="odd name+%~é")
        client.create_keys_and_certificate(setAsActive=True)
        client.create_topic_rule(
            ruleName="rule_1",
            topicRulePayload={"sql": "SELECT * FROM 'a/b'", "actions": [], "ruleDisabled": False},
        )
        client.list_things(nextToken="abc/def+ghi==")
        client.attach_policy(policyName="p", target="arn:aws:iot:us-east-1:000000000000:cert/abc")
    assert len(wires) == 7
    for wire in wires:
        signed = wire.verify()
        assert (signed.service, signed.region, signed.presigned) == ("iot", "us-east-1", False)
    assert wires[1].path == "/things/my%3Athing_1"
    assert wires[2].path == "/things/odd%20name%2B%25~%C3%A9"
    assert wires[5].query == "nextToken=abc%2Fdef%2Bghi%3D%3D"
    assert wires[6].path == "/target-policies/p"
    assert not any(name.lower() == "x-amz-content-sha256" for wire in wires for name, _ in wire.headers)


@pytest.mark.parametrize("signers", SIGNER_IMPLEMENTATIONS)
def test_boto3_iot_data_requests_verify(signers: str) -> None:
    with captured("iot-data", signers) as (client, wires):
        client.publish(topic="sensors/a b/température", qos=1, payload=b"\x00\x01 raw \xff")
        client.publish(topic="$aws/things/x/shadow/update", payload=b'{"state":{"desired":{}}}')
        client.update_thing_shadow(thingName="x:y_z", shadowName="s 1", payload=b'{"state":{}}')
        client.get_thing_shadow(thingName="x")
        client.delete_thing_shadow(thingName="x", shadowName="a/b")
    assert len(wires) == 5
    for wire in wires:
        signed = wire.verify()
        assert signed.service == "iotdata"
    publish = wires[0]
    assert publish.path == "/topics/sensors%2Fa%20b%2Ftemp%C3%A9rature"
    assert publish.body == b"\x00\x01 raw \xff"
    assert not any(name.lower() == "content-type" for name, _ in publish.headers)
    assert wires[1].path == "/topics/%24aws%2Fthings%2Fx%2Fshadow%2Fupdate"


def _random_names(count: int) -> list[str]:
    rng = random.Random(20261122)
    pool = string.printable.strip() + " ~%+:/$#?&=éü☃\u00a0\u2028" + chr(0x1F600)
    return ["".join(rng.choice(pool) for _ in range(rng.randint(1, 20))) for _ in range(count)]


@pytest.mark.parametrize("signers", SIGNER_IMPLEMENTATIONS)
def test_boto3_random_names_verify(signers: str) -> None:
    names = _random_names(150)
    with captured("iot-data", signers) as (client, wires):
        for name in names:
            client.publish(topic=name, payload=name.encode())
            client.get_thing_shadow(thingName=name, shadowName=name)
    with captured("iot", signers) as (iot, iot_wires):
        for name in names:
            iot.list_things(nextToken=name, attributeName=name, attributeValue=name)
            iot.describe_thing_group(thingGroupName=name)
    assert len(wires) == len(iot_wires) == 2 * len(names)
    for wire in wires + iot_wires:
        assert wire.verify().access_key_id == AKID


@pytest.mark.parametrize("signers", SIGNER_IMPLEMENTATIONS)
def test_boto3_presigned_urls_verify(signers: str) -> None:
    with captured("iot-data", signers) as (data, _):
        shadow_url = data.generate_presigned_url(
            "get_thing_shadow", Params={"thingName": "x:y", "shadowName": "s 1"}, ExpiresIn=300
        )
    with captured("iot", signers) as (iot, _):
        things_url = iot.generate_presigned_url("list_things", Params={"maxResults": 3}, ExpiresIn=60)
    with captured("s3", signers, reply=b"") as (s3, _):
        object_url = s3.generate_presigned_url(
            "get_object", Params={"Bucket": "b", "Key": "k y+z"}, ExpiresIn=900
        )
    for url, service in ((shadow_url, "iotdata"), (things_url, "iot"), (object_url, "s3")):
        signed = _wire("GET", cast(str, url), [], b"").verify()
        assert signed.presigned and signed.service == service
    assert _wire("GET", cast(str, shadow_url), [], b"").verify().expires_at == T0 + timedelta(seconds=300)


def test_boto3_s3_presigns_with_sigv2_unless_told_s3v4() -> None:
    """A fact for Corral's S3: boto3 presigns S3 URLs for a custom endpoint with SigV2 by default."""
    session = boto3.session.Session(
        aws_access_key_id=AKID, aws_secret_access_key=SECRET, region_name="us-east-1"
    )
    url = session.client("s3", endpoint_url=ENDPOINT).generate_presigned_url(
        "get_object", Params={"Bucket": "b", "Key": "k"}
    )
    assert "AWSAccessKeyId=" in url and "X-Amz-Algorithm" not in url
    error = _wire("GET", cast(str, url), [], b"").refused(style=sigv4.error_style("s3"))  # no scope to go by
    assert (error.failure, error.code) == (Failure.MISSING_AUTH, "AccessDenied")


@pytest.mark.parametrize("signers", SIGNER_IMPLEMENTATIONS)
def test_boto3_s3_put_object_over_http_signs_the_payload(signers: str) -> None:
    with captured("s3", signers, reply=b"") as (s3, wires):
        s3.put_object(Bucket="bucket", Key="dir/a b+c~é.txt", Body=b"hello world")
    (wire,) = wires
    signed = wire.verify()
    assert signed.service == "s3"
    assert signed.payload_hash == hashlib.sha256(b"hello world").hexdigest()
    error = replace(wire, body=b"tampered").refused()
    assert (error.code, error.status) == ("XAmzContentSHA256Mismatch", 400)


@pytest.mark.parametrize("signers", SIGNER_IMPLEMENTATIONS)
def test_boto3_s3_put_object_over_https_uses_an_unsigned_streaming_trailer(signers: str) -> None:
    with captured("s3", signers, endpoint="https://corral.test:8443", reply=b"") as (s3, wires):
        s3.put_object(Bucket="bucket", Key="k", Body=b"hello world")
    (wire,) = wires
    assert wire.header("X-Amz-Content-SHA256") == sigv4.STREAMING_UNSIGNED_PAYLOAD_TRAILER
    assert wire.verify().payload_hash == sigv4.STREAMING_UNSIGNED_PAYLOAD_TRAILER


# -------------------------------------------------------------------------------------- the CRT signer


def test_crt_header_signature_verifies() -> None:
    body = b'{"state":{"reported":{"on":true}}}'
    request = crt_request(
        "POST",
        "/things/a%3Ab%20c/shadow?name=x%20y&a=2&a=1",
        [("Host", "corral.test:8443"), ("Content-Type", "application/json"), ("X-Custom", "a   b  ")],
        body,
    )
    signed = crt_signed(request, body, service="iotdata").verify()
    assert signed.service == "iotdata" and not signed.presigned


def test_crt_websocket_presign_with_omitted_session_token_verifies() -> None:
    """What the IoT Device SDK v2 sends for MQTT over WebSocket: the token is added after signing."""
    request = crt_websocket.create_handshake_request(host="corral.test:8443", path="/mqtt")
    request.headers.add("Sec-WebSocket-Protocol", "mqtt")
    wire = crt_signed(
        request, service="iotdevicegateway", presign=True, token="session+token/==", omit_session_token=True
    )
    assert "X-Amz-Security-Token=session%2Btoken%2F%3D%3D" in wire.query
    signed = wire.verify(expected_service="iotdevicegateway")
    assert signed.security_token == "session+token/=="
    assert signed.payload_hash == sigv4.EMPTY_SHA256


def test_crt_presign_with_expiry_and_s3_single_encoding_verify() -> None:
    request = crt_request("GET", "/things/a%2Fb", [("Host", "corral.test")], b"")
    wire = crt_signed(request, service="iot", presign=True, expiration_in_seconds=120)
    assert wire.verify().expires_at == T0 + timedelta(seconds=120)
    assert wire.refused(T0 + timedelta(seconds=121)).failure is Failure.PRESIGN_EXPIRED
    body = b"object bytes"
    s3 = crt_request("PUT", "/bucket/a%20b/c~d", [("Host", "corral.test")], body)
    wire = crt_signed(
        s3,
        body,
        service="s3",
        use_double_uri_encode=False,
        should_normalize_uri_path=False,
        signed_body_header_type=crt_auth.AwsSignedBodyHeaderType.X_AMZ_CONTENT_SHA_256,
    )
    assert wire.verify().service == "s3"


# ------------------------------------------------------------------------------------------ properties

_NAME = st.text(st.characters(exclude_categories=["Cs"]), min_size=1, max_size=24)
_KEY = _NAME.filter(lambda key: not key.startswith("X-Amz-"))  # those are the signature's own (AWS agrees)
_HEADER_VALUE = st.text(st.sampled_from(string.ascii_letters + string.digits + " \t,;:=/"), max_size=24)


@settings(max_examples=150, deadline=None)
@given(
    name=_NAME,
    pairs=st.lists(
        st.tuples(_KEY, st.text(st.characters(exclude_categories=["Cs"]), max_size=12)), max_size=4
    ),
    value=_HEADER_VALUE,
    as_params=st.booleans(),
)
def test_any_name_query_and_header_value_botocore_signs_verifies(
    name: str, pairs: list[tuple[str, str]], value: str, as_params: bool
) -> None:
    path = "/things/" + quote(name.encode("utf-8"), safe="-._~")
    if as_params:
        wire = botocore_signed("GET", ENDPOINT + path, params=pairs, headers=[("X-Custom", value)])
    else:
        query = "&".join(f"{quote(k, safe='-._~')}={quote(v, safe='-._~')}" for k, v in pairs)
        url = ENDPOINT + path + ("?" + query if query else "")
        wire = botocore_signed("GET", url, headers=[("X-Custom", value)])
    assert wire.verify().access_key_id == AKID


# -------------------------------------------------------------------------------------------- refusals


def _base() -> Wire:
    return _shapes()["json-body"]


def test_missing_authentication() -> None:
    bare = Wire("GET", "/things", "", (("Host", "corral.test"),), b"")
    error = bare.refused()
    assert (error.code, error.message, error.status) == (
        "MissingAuthenticationTokenException",
        "Missing Authentication Token",
        403,
    )
    assert error.failure is Failure.MISSING_AUTH
    json = bare.refused(style=sigv4.error_style("dynamodb"))
    assert (json.code, json.message, json.status) == (
        "MissingAuthenticationTokenException",
        "Request is missing Authentication Token",
        400,
    )
    s3 = bare.refused(style=sigv4.error_style("s3"))
    assert (s3.code, s3.status) == ("AccessDenied", 403)


def test_authorization_of_another_scheme_is_incomplete() -> None:
    wire = Wire("GET", "/things", "", (("Host", "h"), ("Authorization", "eyJhbGciOi.eyJzdWIi.c2ln")), b"")
    error = wire.refused()
    assert (error.code, error.status) == ("IncompleteSignatureException", 403)
    assert error.message == (
        "Authorization header requires 'Credential' parameter. "
        "Authorization header requires 'Signature' parameter. "
        "Authorization header requires 'SignedHeaders' parameter. "
        "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. "
        "Authorization=eyJhbGciOi.eyJzdWIi.c2ln"
    )
    assert wire.refused(style=sigv4.error_style("sts")).code == "MissingAuthenticationToken"


def test_missing_equal_sign() -> None:
    bad = _base().with_authorization("Credential=", "Credential= ")
    error = bad.refused()
    assert error.code == "IncompleteSignatureException"
    assert error.message.startswith(
        f"'{AKID}/20261122/us-east-1/iot/aws4_request' not a valid key=value pair (missing equal-sign) in "
        "Authorization header: 'AWS4-HMAC-SHA256 Credential= "
    )


def test_missing_date() -> None:
    error = _base().without_header("X-Amz-Date").refused()
    assert error.code == "IncompleteSignatureException"
    assert (
        "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. "
        in error.message
    )


def test_bad_date_format() -> None:
    error = _base().with_header("X-Amz-Date", "2026-11-22T00:00:00Z").refused()
    assert (error.code, error.status) == ("IncompleteSignatureException", 403)
    assert error.message == (
        "Date must be in ISO-8601 'basic format'. Got '2026-11-22T00:00:00Z'. See http://en.wikipedia.org/wiki/ISO_8601"
    )


def test_both_forms() -> None:
    presigned = _shapes()["presigned"]
    error = presigned.with_header("Authorization", _base().header("Authorization")).refused()
    assert (error.code, error.status) == ("InvalidSignatureException", 403)
    assert error.message == (
        "Found both 'X-Amz-Algorithm' as a query-string param and 'Authorization' as HTTP header."
    )


def test_incomplete_presigned_query() -> None:
    wire = Wire(
        "GET", "/mqtt", f"X-Amz-Credential={AKID}%2F20261122%2Fus-east-1%2Fiot%2Faws4_request", (), b""
    )
    error = wire.refused()
    assert error.code == "IncompleteSignatureException"
    assert error.message == (
        "AWS query-string parameters must include 'X-Amz-Algorithm'. "
        "AWS query-string parameters must include 'X-Amz-Signature'. "
        "AWS query-string parameters must include 'X-Amz-SignedHeaders'. "
        "AWS query-string parameters must include 'X-Amz-Date'. "
        "Re-examine the query-string parameters."
    )


def test_unknown_access_key_per_service() -> None:
    def refused(wire: Wire) -> SigV4Error:
        with pytest.raises(SigV4Error) as caught:
            sigv4.verify(wire.method, wire.path, wire.query, wire.headers, wire.body, lambda _: None, T0)
        return caught.value

    iot = refused(_base())
    assert (iot.code, iot.message, iot.status) == (
        "UnrecognizedClientException",
        "The security token included in the request is invalid.",
        403,
    )
    data = refused(_shapes()["raw-body-no-content-type"])
    assert (data.code, data.status) == ("ForbiddenException", 403)
    s3 = refused(_shapes()["s3-put"])
    assert (s3.code, s3.message) == (
        "InvalidAccessKeyId",
        "The AWS Access Key Id you provided does not exist in our records.",
    )
    sns = refused(botocore_signed("POST", f"{ENDPOINT}/", body=b"Action=ListTopics", service="sns"))
    assert (sns.code, sns.status) == ("InvalidClientTokenId", 403)


def test_wrong_secret() -> None:
    wire = _base()
    with pytest.raises(SigV4Error) as caught:
        sigv4.verify(
            wire.method, wire.path, wire.query, wire.headers, wire.body, lambda _: "not-the-secret", T0
        )
    error = caught.value
    assert (error.code, error.message, error.status) == ("InvalidSignatureException", MISMATCH, 403)
    assert error.canonical_request is not None and error.canonical_request.startswith("POST\n/rules/r_1\n")
    assert error.string_to_sign is not None and error.string_to_sign.startswith(
        "AWS4-HMAC-SHA256\n20261122T000000Z\n"
    )


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(lambda w: replace(w, body=w.body + b" "), id="body"),
        pytest.param(lambda w: replace(w, path="/rules/r_2"), id="path"),
        pytest.param(lambda w: replace(w, path="/rules/r%5F1"), id="path-encoding"),
        pytest.param(lambda w: replace(w, query="x=1"), id="query-added"),
        pytest.param(lambda w: replace(w, method="PUT"), id="method"),
        pytest.param(lambda w: w.with_header("Content-Type", "text/plain"), id="signed-header"),
        pytest.param(lambda w: w.with_header("Host", "elsewhere.test"), id="host"),
        pytest.param(lambda w: w.with_authorization("Signature=", "Signature=0"), id="signature"),
    ],
)
def test_tampering_breaks_the_signature(tamper: Any) -> None:
    error = cast(Wire, tamper(_base())).refused()
    assert (error.code, error.message, error.status) == ("InvalidSignatureException", MISMATCH, 403)


def test_tampered_query_and_presigned_values() -> None:
    get = _shapes()["get-query"]
    assert replace(get, query="maxResults=6&thingTypeName=lamp").refused().failure is Failure.BAD_SIGNATURE
    presigned = _shapes()["presigned"]
    assert replace(
        presigned, query=presigned.query.replace("name=s%201", "name=s%202")
    ).refused().failure is (Failure.BAD_SIGNATURE)
    forged = "&X-Amz-Security-Token=forged"
    assert replace(presigned, query=presigned.query + forged).refused().failure is Failure.BAD_SIGNATURE
    token = _shapes()["presigned-token"]
    swapped = replace(
        token, query=token.query.replace("X-Amz-Security-Token=tok", "X-Amz-Security-Token=tik")
    )
    assert swapped.refused().failure is Failure.BAD_SIGNATURE


def test_device_gateway_tokens_may_be_unsigned_and_say_so() -> None:
    request = crt_websocket.create_handshake_request(host="corral.test:8443", path="/mqtt")
    omitted = crt_signed(
        request, service="iotdevicegateway", presign=True, token="t1", omit_session_token=True
    )
    signed = omitted.verify()
    assert (signed.security_token, signed.security_token_signed) == ("t1", False)
    swapped = replace(
        omitted, query=omitted.query.replace("X-Amz-Security-Token=t1", "X-Amz-Security-Token=t2")
    )
    assert swapped.verify().security_token == "t2"  # as on AWS: the caller must check the token itself
    request = crt_websocket.create_handshake_request(host="corral.test:8443", path="/mqtt")
    included = crt_signed(request, service="iotdevicegateway", presign=True, token="t1")
    assert included.verify().security_token_signed
    assert _shapes()["session-token"].verify().security_token_signed
    request = crt_request("GET", "/things", [("Host", "corral.test")], b"")
    elsewhere = crt_signed(request, service="iot", presign=True, token="t1", omit_session_token=True)
    assert elsewhere.refused().failure is Failure.BAD_SIGNATURE  # only the device gateway signs that way


def test_clock_skew_boundaries() -> None:
    wire = _base()
    skew = timedelta(minutes=15)
    assert wire.verify(T0 + skew).signed_at == T0
    assert wire.verify(T0 - skew).signed_at == T0
    late = wire.refused(T0 + skew + timedelta(seconds=1))
    assert (late.code, late.status) == ("InvalidSignatureException", 403)
    assert late.message == (
        "Signature expired: 20261122T000000Z is now earlier than 20261122T000001Z "
        "(20261122T001501Z - 15 min.)"
    )
    early = wire.refused(T0 - skew - timedelta(seconds=1))
    assert early.message == (
        "Signature not yet current: 20261122T000000Z is still later than 20261121T235959Z "
        "(20261121T234459Z + 15 min.)"
    )
    assert wire.refused(T0 + timedelta(minutes=30)).message == (
        "Signature expired: 20261122T000000Z is now earlier than 20261122T001500Z "
        "(20261122T003000Z - 15 min.)"
    )
    assert wire.verify(T0 + timedelta(minutes=20), max_skew=timedelta(minutes=30))
    s3 = _shapes()["s3-put"].refused(T0 + timedelta(hours=1))
    assert (s3.code, s3.status) == ("RequestTimeTooSkewed", 403)


def test_naive_now_is_utc() -> None:
    assert _base().verify(T0.replace(tzinfo=None) + timedelta(minutes=1)).signed_at == T0


def test_presigned_expiry() -> None:
    presigned = _shapes()["presigned"]  # X-Amz-Expires=300
    assert presigned.verify(T0 + timedelta(seconds=300))
    error = presigned.refused(T0 + timedelta(seconds=301))
    assert (error.code, error.status, error.failure) == (
        "InvalidSignatureException",
        403,
        Failure.PRESIGN_EXPIRED,
    )
    assert error.message == (
        "Signature expired: 20261122T000000Z is now earlier than 20261122T000001Z (20261122T000501Z - 5 min.)"
    )
    future = presigned.refused(T0 - timedelta(minutes=16))
    assert future.failure is Failure.PRESIGN_NOT_YET_VALID
    assert future.message.startswith("Signature not yet current: 20261122T000000Z is still later than")
    s3 = _shapes()["s3-presigned"]  # X-Amz-Expires=600
    assert s3.verify(T0 + timedelta(seconds=600))
    expired = s3.refused(T0 + timedelta(seconds=601))
    assert (expired.code, expired.message, expired.status) == ("AccessDenied", "Request has expired", 403)
    not_yet = s3.refused(T0 - timedelta(minutes=16))
    assert (not_yet.code, not_yet.message) == ("AccessDenied", "Request is not valid yet")


def test_presigned_without_expires_gets_the_skew_window() -> None:
    request = crt_request("GET", "/mqtt", [("Host", "corral.test")], b"")
    wire = crt_signed(request, service="iotdevicegateway", presign=True)
    assert "X-Amz-Expires" not in wire.query
    assert wire.verify(T0 + timedelta(minutes=15)).expires_at is None
    assert wire.refused(T0 + timedelta(minutes=16)).failure is Failure.EXPIRED


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("604801", "X-Amz-Expires must be less than a week (in seconds) that is 604800"),
        ("ten", "X-Amz-Expires should be a number"),
        ("-1", "X-Amz-Expires must be non-negative"),
    ],
)
def test_bad_expires(value: str, message: str) -> None:
    presigned = _shapes()["presigned"]
    iot = replace(
        presigned, query=presigned.query.replace("X-Amz-Expires=300", f"X-Amz-Expires={value}")
    ).refused()
    assert (iot.code, iot.message, iot.status) == ("IncompleteSignatureException", message, 403)
    s3_wire = _shapes()["s3-presigned"]
    s3 = replace(
        s3_wire, query=s3_wire.query.replace("X-Amz-Expires=600", f"X-Amz-Expires={value}")
    ).refused()
    assert (s3.code, s3.message, s3.status) == ("AuthorizationQueryParametersError", message, 400)


def test_a_week_is_allowed() -> None:
    wire = botocore_signed("GET", f"{ENDPOINT}/things", signer="query", expires=604800)
    assert wire.verify(T0 + timedelta(days=7)).expires_at == T0 + timedelta(days=7)


def test_host_must_be_signed() -> None:
    error = (
        _base()
        .with_authorization("SignedHeaders=content-type;host;", "SignedHeaders=content-type;")
        .refused()
    )
    assert (error.code, error.status) == ("InvalidSignatureException", 403)
    assert error.message == "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization."


def test_unsupported_algorithm() -> None:
    error = _base().with_authorization("AWS4-HMAC-SHA256 ", "AWS4-HMAC-SHA512 ").refused()
    assert error.code == "IncompleteSignatureException"
    assert (
        error.message == "Unsupported AWS 'algorithm': 'AWS4-HMAC-SHA512' (only AWS4-HMAC-SHA256 for now). "
    )


def test_credential_shape() -> None:
    error = _base().with_authorization("/iot/aws4_request", "/iot").refused()
    assert error.code == "IncompleteSignatureException"
    assert error.message == (
        "Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, "
        f"got '{AKID}/20261122/us-east-1/iot'"
    )


def test_credential_scope() -> None:
    wrong_date = _base().with_authorization(f"{AKID}/20261122/", f"{AKID}/20261121/").refused()
    assert (wrong_date.code, wrong_date.status) == ("InvalidSignatureException", 403)
    assert wrong_date.message == (
        "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: "
        "'20261121' != '20261122', from '20261122T000000Z'."
    )
    terminator = _base().with_authorization("/aws4_request", "/aws5_request").refused()
    assert (
        terminator.message
        == "Credential should be scoped with a valid terminator: 'aws4_request', not 'aws5_request'. "
    )
    wrong_service = _base().refused(expected_service="iotdata")
    assert wrong_service.message == "Credential should be scoped to correct service: 'iotdata'. "


def test_region_is_returned_and_checked_only_on_request() -> None:
    wire = botocore_signed("GET", f"{ENDPOINT}/things", region="eu-west-1")
    assert wire.verify().region == "eu-west-1"
    assert wire.verify(expected_region="eu-west-1").region == "eu-west-1"
    error = wire.refused(expected_region="us-east-1")
    assert (error.code, error.status) == ("InvalidSignatureException", 403)
    assert error.message == "Credential should be scoped to a valid region, not 'eu-west-1'. "


def test_declared_payload_hash_must_match_the_body() -> None:
    wire = botocore_signed(
        "POST",
        f"{ENDPOINT}/things/x",
        body=b"actual",
        headers=[("X-Amz-Content-SHA256", hashlib.sha256(b"claimed").hexdigest())],
    )
    error = wire.refused()
    assert (error.code, error.message, error.status) == ("InvalidSignatureException", MISMATCH, 403)
    garbage = botocore_signed(
        "POST", f"{ENDPOINT}/things/x", headers=[("X-Amz-Content-SHA256", "not-a-hash")]
    )
    assert garbage.refused().failure is Failure.BAD_CONTENT_SHA256


def test_signed_streaming_is_unsupported() -> None:
    streaming = [("X-Amz-Content-SHA256", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD")]
    iot = botocore_signed("PUT", f"{ENDPOINT}/things/x", headers=streaming).refused()
    assert (iot.failure, iot.status) == (Failure.STREAMING_UNSUPPORTED, 403)
    s3 = botocore_signed("PUT", f"{ENDPOINT}/b/k", headers=streaming, service="s3").refused()
    assert (s3.code, s3.status) == ("NotImplemented", 501)


def test_s3_header_signatures_need_a_content_hash() -> None:
    wire = botocore_signed("GET", f"{ENDPOINT}/bucket/key", service="s3")  # generic signer: no header
    error = wire.refused()
    assert (error.code, error.message, error.status) == (
        "InvalidRequest",
        "Missing required header for this request: x-amz-content-sha256",
        400,
    )


def test_s3_paths_are_not_double_encoded() -> None:
    wire = _shapes()["s3-put"]
    assert wire.verify(double_encode_path=False)
    assert wire.refused(double_encode_path=True).failure is Failure.BAD_SIGNATURE
    iot = _shapes()["thing-colon-underscore"]
    assert iot.refused(double_encode_path=False).failure is Failure.BAD_SIGNATURE


# --------------------------------------------------------------------------------------------- helpers


def test_error_styles() -> None:
    assert sigv4.error_style("iot").name == "rest-json"
    assert sigv4.error_style("iot1click").name == "rest-json"
    assert sigv4.error_style("iotdata").name == "iotdata"
    assert sigv4.error_style("dynamodb").name == "json"
    assert sigv4.error_style("sns").name == "query"
    assert sigv4.error_style("s3").name == "s3"
    assert sigv4.error_style(None).name == "rest-json"
    query = sigv4.error_style("sqs")
    assert query.codes[Failure.BAD_SIGNATURE] == ("SignatureDoesNotMatch", 403)
    assert query.codes[Failure.EXPIRED] == ("SignatureDoesNotMatch", 403)
    s3 = sigv4.error_style("s3")
    assert s3.codes[Failure.BAD_SIGNATURE] == ("SignatureDoesNotMatch", 403)
    for style in sigv4.STYLES.values():
        assert set(style.codes) == set(Failure)


def test_credential_scope_service() -> None:
    assert sigv4.credential_scope_service(_base().headers, "") == "iot"
    assert sigv4.credential_scope_service(_shapes()["raw-body-no-content-type"].headers, "") == "iotdata"
    presigned = _shapes()["s3-presigned"]
    assert sigv4.credential_scope_service([], presigned.query.encode()) == "s3"
    assert sigv4.credential_scope_service({"Authorization": "Bearer x"}, b"") is None
    assert sigv4.credential_scope_service([], "X-Amz-Credential=a%2Fb") is None
    assert (
        sigv4.credential_scope_service(
            [(b"authorization", b"AWS4-HMAC-SHA256 Credential=A/d/r/sns/aws4_request")], ""
        )
        == "sns"
    )


def test_headers_as_bytes_and_mapping() -> None:
    wire = _base()
    as_bytes = [(name.encode(), value.encode("latin-1")) for name, value in wire.headers]
    assert sigv4.verify(wire.method, wire.path.encode(), b"", as_bytes, wire.body, SECRETS.get, T0)
    assert sigv4.verify(wire.method, wire.path, "", dict(wire.headers), wire.body, SECRETS.get, T0)


def test_signing_keys_are_cached() -> None:
    sigv4.signing_key.cache_clear()
    _base().verify()
    _shapes()["get-query"].verify()
    info = sigv4.signing_key.cache_info()
    assert (info.misses, info.hits) == (1, 1)


def test_canonical_forms() -> None:
    assert sigv4.canonical_uri("/things/a%3Ab", double_encode=True) == "/things/a%253Ab"
    assert sigv4.canonical_uri("/a/./b/../c//d/", double_encode=True) == "/a/c/d/"
    assert sigv4.canonical_uri("", double_encode=True) == "/"
    assert sigv4.canonical_uri("/b/a%20b+c", double_encode=False) == "/b/a%20b%2Bc"
    assert sigv4.canonical_query("b=2&a=2&a=1&c&d=a+b&e=%7e") == "a=1&a=2&b=2&c=&d=a%20b&e=~"
    assert sigv4.canonical_query("X-Amz-Signature=x&a=1", exclude=["X-Amz-Signature"]) == "a=1"
