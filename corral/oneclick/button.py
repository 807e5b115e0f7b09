"""A simulated AWS IoT Enterprise Button: one press is one MQTT connection with the device's own certificate
(mutual TLS), one QoS 1 publish of the click, and the LED the Enterprise Button user guide says it shows.

Each stage of a press maps to the guide's LED table by what actually went wrong:

| stage | failure | LED |
|---|---|---|
| finding server and certificate | no ``endpoints.json`` or certificate | solid orange (no Wi-Fi set up) |
| reaching the network | ENETUNREACH, EHOSTUNREACH | red short, short, short (wireless network) |
| taking an address | EADDRNOTAVAIL | red short, short, long (IP address) |
| resolving the host | getaddrinfo fails | red short, long, short (host name lookup) |
| connecting | refused, timed out, reset | red short, long, long (cannot connect to AWS IoT) |
| TLS | handshake or certificate refused | red long, short, short (secure connection) |
| MQTT | CONNACK not authorized, or closed instead of CONNACK/PUBACK | red long, short, long (403) |
| done | PUBACK | solid green |

The client is Corral's own sans-I/O MQTT codec over a blocking socket: each failure is seen where it happens.
"""

from __future__ import annotations

import errno
import json
import socket
import ssl
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from corral.mqtt.codec import encode
from corral.mqtt.errors import MQTTProtocolError
from corral.mqtt.packets import MQTT_3_1_1, Connack, Connect, Disconnect, Packet, Puback, Publish
from corral.mqtt.parser import MQTTParser
from corral.oneclick.factory import CERT_FILE, KEY_FILE, device_folder
from corral.oneclick.ingest import click_payload, click_topic


@dataclass(frozen=True, slots=True)
class Led:
    color: str
    pattern: str
    status: str

    def describe(self) -> str:
        light = f"{self.color}: {self.pattern}" if self.pattern else self.color
        return f"{light} — {self.status}"


GREEN = Led("solid green", "", "Successfully connected to Wi-Fi and published a message to AWS IoT.")
ORANGE = Led("solid orange", "", "Wi-Fi not configured.")
WIFI = Led("red", "short, short, short", "There was an error connecting to the configured wireless network.")
IP_ADDRESS = Led(
    "red", "short, short, long", "There was an error obtaining an IP address from the wireless network."
)
DNS = Led("red", "short, long, short", "There was an error performing a host name lookup.")
CONNECT = Led("red", "short, long, long", "Cannot connect to AWS IoT.")
TLS = Led("red", "long, short, short", "Cannot establish a secure connection with the server.")
FORBIDDEN = Led("red", "long, short, long", "Received an HTTP 403 forbidden error.")

CLICK_TYPES = {"single": "SINGLE", "double": "DOUBLE", "long": "LONG"}
NOT_AUTHORIZED = (4, 5, 0x86, 0x87)
P = TypeVar("P", bound=Packet)  # bad user name or password, not authorized (3.1.1 and 5)


@dataclass(frozen=True, slots=True)
class PressResult:
    led: Led
    detail: str

    @property
    def ok(self) -> bool:
        return self.led is GREEN


class _Closed(Exception):
    pass


def press(data_dir: Path, device_id: str, click_type: str, *, timeout: float = 10.0) -> PressResult:
    try:
        endpoints = json.loads((data_dir / "endpoints.json").read_text())
    except (OSError, ValueError):
        return PressResult(ORANGE, f"no server endpoints in {data_dir} (is `corral serve` running?)")
    folder = device_folder(data_dir, device_id)
    cert, key = folder / CERT_FILE, folder / KEY_FILE
    if not cert.is_file() or not key.is_file():
        return PressResult(ORANGE, f"no certificate for {device_id} in {folder} (was it manufactured here?)")
    host, _, port = str(endpoints["mqtts"]).rpartition(":")
    host = host.strip("[]")
    try:
        addresses = socket.getaddrinfo(host, int(port), type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        return PressResult(DNS, f"cannot resolve {host}: {exc}")
    try:
        raw = _connect(addresses, timeout)
    except OSError as exc:
        return PressResult(_network_led(exc), f"cannot connect to {host}:{port}: {exc}")
    try:
        context = ssl.create_default_context(cafile=str(endpoints["ca_file"]))
        context.load_cert_chain(str(cert), str(key))
        sock = context.wrap_socket(raw, server_hostname=host)
    except (ssl.SSLError, ssl.CertificateError) as exc:
        raw.close()
        return PressResult(TLS, f"TLS handshake failed: {exc}")
    except OSError as exc:
        raw.close()
        return PressResult(TLS, f"TLS handshake failed: {exc}")
    with sock:
        return _publish(sock, device_id, click_type)


def _connect(addresses: Sequence[tuple[Any, ...]], timeout: float) -> socket.socket:
    error: OSError | None = None
    for family, kind, proto, _, address in addresses:
        sock = socket.socket(family, kind, proto)
        sock.settimeout(timeout)
        try:
            sock.connect(address)
            return sock
        except OSError as exc:
            sock.close()
            error = exc
    assert error is not None
    raise error


def _network_led(exc: OSError) -> Led:
    if exc.errno in (errno.ENETUNREACH, errno.EHOSTUNREACH, errno.ENETDOWN):
        return WIFI
    if exc.errno == errno.EADDRNOTAVAIL:
        return IP_ADDRESS
    return CONNECT


def _publish(sock: ssl.SSLSocket, device_id: str, click_type: str) -> PressResult:
    parser = MQTTParser(server_side=False, protocol_version=MQTT_3_1_1)
    try:
        sock.sendall(encode(Connect(device_id, keep_alive=60), MQTT_3_1_1))
        connack = _receive(sock, parser, Connack)
        if connack.reason_code != 0:
            led = FORBIDDEN if connack.reason_code in NOT_AUTHORIZED else CONNECT
            return PressResult(led, f"CONNACK refused the connection (return code {connack.reason_code})")
        publish = Publish(click_topic(device_id), click_payload(device_id, click_type), qos=1, packet_id=1)
        sock.sendall(encode(publish, MQTT_3_1_1))
        _receive(sock, parser, Puback)
        sock.sendall(encode(Disconnect(), MQTT_3_1_1))
    except ssl.SSLError as exc:  # TLS 1.3: a refused client certificate surfaces at the first read
        return PressResult(TLS, f"the server refused the TLS session: {exc}")
    except _Closed as exc:
        return PressResult(FORBIDDEN, f"the server closed the connection {exc}")
    except (OSError, MQTTProtocolError) as exc:
        return PressResult(CONNECT, f"the connection failed: {exc}")
    return PressResult(GREEN, f"{click_type} click published on {click_topic(device_id)}")


def _receive(sock: ssl.SSLSocket, parser: MQTTParser, kind: type[P]) -> P:
    deadline = time.monotonic() + (sock.gettimeout() or 10.0)
    while time.monotonic() < deadline:
        data = sock.recv(4096)
        if not data:
            raise _Closed(f"instead of sending {kind.__name__.upper()} (not authorized)")
        for packet in parser.feed(data):
            if isinstance(packet, kind):
                return packet
    raise TimeoutError(f"no {kind.__name__.upper()}")
