"""The iot-data API with a client certificate instead of a signature (AWS's HTTPS data plane with mutual
TLS, as AWS documents it with curl), against a real ``corral serve``: the certificate must be registered and
ACTIVE, and its IoT policies must allow the operation on its resource."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator

import pytest

from tests.broker.clients import PahoClient, uid
from tests.harness import DeviceCertificate, RunningServer, make_server, serving


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    yield from serving(make_server(tmp_path_factory.mktemp("data-plane-mtls")))


def policy(*statements: tuple[str, str]) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": action,
                    "Resource": f"arn:aws:iot:us-east-1:000000000000:{resource}",
                }
                for action, resource in statements
            ],
        }
    )


def curl(
    server: RunningServer, device: DeviceCertificate, method: str, path: str, body: str | None = None
) -> tuple[int, str]:
    """curl as AWS's guide shows it: ``--cert``, ``--key``, ``--cacert``; returns (status, body)."""
    args = [
        "curl", "--silent", "--show-error", "--cert", str(device.cert_file), "--key", str(device.key_file),
        "--cacert", str(server.ca_file), "-X", method, "--write-out", "\n%{http_code}",
        f"https://localhost:{server.https_port}{path}",
    ]  # fmt: skip
    if body is not None:
        args += ["--data", body]
    done = subprocess.run(args, capture_output=True, text=True, timeout=60, check=True)
    text, _, status = done.stdout.rpartition("\n")
    return int(status), text


def test_a_certificate_may_use_the_shadow_its_policy_allows_and_no_other(server: RunningServer) -> None:
    """Device Shadow REST API: TLS mutual authentication with a certificate; iot:UpdateThingShadow and
    iot:GetThingShadow are checked on ``thing/{name}`` (``thing/{name}/{shadow}`` for a named shadow)."""
    thing = uid("lamp")
    device = server.issue_certificate(
        thing,
        policy=policy(
            ("iot:UpdateThingShadow", f"thing/{thing}"),
            ("iot:GetThingShadow", f"thing/{thing}"),
            ("iot:GetThingShadow", f"thing/{thing}/config"),
        ),
    )
    status, text = curl(
        server, device, "POST", f"/things/{thing}/shadow", '{"state": {"reported": {"on": true}}}'
    )
    assert status == 200, text
    assert json.loads(text)["version"] == 1
    status, text = curl(server, device, "GET", f"/things/{thing}/shadow")
    assert status == 200 and json.loads(text)["state"] == {"reported": {"on": True}}

    # Not allowed: another thing, a named shadow it may only read, deleting its own.
    other = uid("other")
    for method, path, body in (
        ("GET", f"/things/{other}/shadow", None),
        ("POST", f"/things/{thing}/shadow?name=config", '{"state": {"reported": {"x": 1}}}'),
        ("DELETE", f"/things/{thing}/shadow", None),
    ):
        status, text = curl(server, device, method, path, body)
        assert status == 401, (method, path, text)
        assert "Unauthorized" in text
    # Reading the named shadow is allowed; it does not exist.
    status, text = curl(server, device, "GET", f"/things/{thing}/shadow?name=config")
    assert status == 404, text


def test_an_https_publish_with_a_certificate_reaches_mqtt_subscribers(server: RunningServer) -> None:
    """HTTPS publish with a client certificate (iot:Publish on the topic; a retained one also needs
    iot:RetainPublish)."""
    topic = f"sensors/{uid('t')}"
    device = server.issue_certificate(uid("pub"), policy=policy(("iot:Publish", f"topic/{topic}")))
    subscriber = PahoClient(server, uid("sub"))
    subscriber.connect()
    subscriber.subscribe(topic)
    try:
        status, text = curl(server, device, "POST", f"/topics/{topic}?qos=1", '{"temperature": 21}')
        assert status == 200, text
        message = subscriber.next_message()
        assert message.topic == topic and json.loads(message.payload) == {"temperature": 21}
        status, text = curl(server, device, "POST", f"/topics/{topic}?qos=1&retain=true", "{}")
        assert status == 401, text
        status, text = curl(server, device, "POST", "/topics/elsewhere", "{}")
        assert status == 401, text
    finally:
        subscriber.close()


def test_an_inactive_certificate_is_refused_until_activated_again(server: RunningServer) -> None:
    """Only a registered ACTIVE certificate is let in (the same rule as MQTT connections)."""
    thing = uid("lamp")
    device = server.issue_certificate(thing, policy=policy(("iot:GetThingShadow", f"thing/{thing}")))
    iot = server.iot()
    assert curl(server, device, "GET", f"/things/{thing}/shadow")[0] == 404  # allowed, nothing there
    iot.update_certificate(certificateId=device.certificate_id, newStatus="INACTIVE")
    assert curl(server, device, "GET", f"/things/{thing}/shadow")[0] == 401
    iot.update_certificate(certificateId=device.certificate_id, newStatus="ACTIVE")
    assert curl(server, device, "GET", f"/things/{thing}/shadow")[0] == 404


def test_without_a_certificate_or_signature_nothing_is_answered(server: RunningServer) -> None:
    """No client certificate and no SigV4: AWS's MissingAuthenticationTokenException (403)."""
    done = subprocess.run(
        ["curl", "--silent", "--cacert", str(server.ca_file), "--write-out", "\n%{http_code}",
         f"https://localhost:{server.https_port}/things/x/shadow"],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    text, _, status = done.stdout.rpartition("\n")
    assert status == "403" and "Missing Authentication Token" in text
