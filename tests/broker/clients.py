"""Real MQTT clients for the end-to-end tests: paho-mqtt wrapped for waiting on events, and a raw socket
client that speaks hand-encoded MQTT bytes (for what no well-behaved library will send).

Nothing here sleeps to synchronize: every wait is for a packet or a paho callback, with a timeout.
"""

from __future__ import annotations

import json
import os
import socket
import ssl
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TypeVar

import paho.mqtt.client as mqtt
from awscrt.mqtt import Connection as SdkConnection
from awsiot import mqtt_connection_builder
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection
from websockets.sync.client import connect as ws_connect
from websockets.typing import Subprotocol

from tests.harness import DeviceCertificate, RunningServer

TIMEOUT = 10.0
HOST = "127.0.0.1"
V311 = 4
V5 = 5

StreamT = TypeVar("StreamT", bound="PacketStream")
Transport = Literal["mqtts", "wss", "insecure"]
Predicate = Callable[[mqtt.MQTTMessage], bool]


def uid(prefix: str) -> str:
    """A client id or topic level no other test uses."""
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


_devices: dict[Path, DeviceCertificate] = {}
_devices_lock = threading.Lock()


def device_for(server: RunningServer) -> DeviceCertificate:
    """One device certificate per server, for tests that do not care which certificate they present."""
    with _devices_lock:
        device = _devices.get(server.data_dir)
        if device is None:
            device = _devices[server.data_dir] = server.issue_certificate("e2e-device")
        return device


def sdk_connection(
    server: RunningServer,
    device: DeviceCertificate,
    client_id: str,
    *,
    clean_session: bool = True,
    **kwargs: Any,
) -> SdkConnection:
    """An MQTT 3.1.1 connection (not yet connected) built as the AWS IoT Device SDK's samples build it:
    ``mqtt_connection_builder.mtls_from_path`` to the server's MQTTS port with ``device``'s certificate and
    the server's CA, a 30 s keep-alive; ``kwargs`` go to the builder."""
    return mqtt_connection_builder.mtls_from_path(
        endpoint="localhost",
        port=server.mqtts_port,
        cert_filepath=str(device.cert_file),
        pri_key_filepath=str(device.key_file),
        ca_filepath=str(server.ca_file),
        client_id=client_id,
        clean_session=clean_session,
        keep_alive_secs=30,
        **kwargs,
    )


@dataclass(frozen=True)
class Will:
    topic: str
    payload: bytes
    qos: int = 0
    retain: bool = False


@dataclass(frozen=True)
class ConnackInfo:
    session_present: bool
    reason_code: int
    properties: Properties | None


def event_body(message: mqtt.MQTTMessage) -> dict[str, Any]:
    body = json.loads(message.payload)
    assert isinstance(body, dict)
    return body


def is_event(event_type: str, client_id: str) -> Predicate:
    """Matches the lifecycle event of ``event_type`` (connected, disconnected, subscribed...) for a client."""
    group = "presence" if event_type in ("connected", "disconnected", "connect_failed") else "subscriptions"
    topic = f"$aws/events/{group}/{event_type}/{client_id}"
    return lambda m: m.topic == topic


def on_topic(topic: str) -> Predicate:
    return lambda m: m.topic == topic


# -- paho ----------------------------------------------------------------------------------------------


class PahoClient:
    """A paho-mqtt client on its own network thread; callbacks only record, tests wait on what they record."""

    def __init__(
        self,
        server: RunningServer,
        client_id: str,
        *,
        version: int = V5,
        transport: Transport = "mqtts",
        device: DeviceCertificate | None = None,
        clean: bool = True,
        session_expiry: int | None = None,
        will: Will | None = None,
        keepalive: int = 60,
        client_certificate: bool = True,
    ) -> None:
        self.server = server
        self.client_id = client_id
        self.version = version
        self.transport = transport
        self.clean = clean
        self.session_expiry = session_expiry
        self.keepalive = keepalive
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id,
            clean_session=clean if version == V311 else None,
            protocol=mqtt.MQTTv5 if version == V5 else mqtt.MQTTv311,
            transport="websockets" if transport == "wss" else "tcp",
            reconnect_on_failure=False,
        )
        if transport == "wss":
            self.client.ws_set_options(path="/mqtt")
        if transport != "insecure":
            if client_certificate:
                device = device or device_for(server)
                self.client.tls_set(
                    ca_certs=str(server.ca_file), certfile=str(device.cert_file), keyfile=str(device.key_file)
                )
            else:
                self.client.tls_set(ca_certs=str(server.ca_file))
        if will is not None:
            self.client.will_set(will.topic, will.payload, will.qos, will.retain)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_message = self._on_message
        self.client.on_subscribe = self._on_subscribe
        self.client.on_unsubscribe = self._on_unsubscribe
        self.client.on_publish = self._on_publish
        self._cond = threading.Condition()
        self._connacks: list[ConnackInfo] = []
        self._disconnects: list[int] = []
        self._subacks: dict[int, list[int]] = {}
        self._unsubacks: dict[int, list[int]] = {}
        self._pubacks: dict[int, int] = {}
        self.received: list[mqtt.MQTTMessage] = []
        self._cursor = 0
        self._started = False

    # -- callbacks (paho's thread) -------------------------------------------------------------------

    def _on_connect(
        self,
        client: mqtt.Client,
        userdata: Any,
        flags: mqtt.ConnectFlags,
        reason_code: ReasonCode,
        properties: Properties | None,
    ) -> None:
        with self._cond:
            self._connacks.append(ConnackInfo(flags.session_present, reason_code.value, properties))
            self._cond.notify_all()

    def _on_disconnect(
        self,
        client: mqtt.Client,
        userdata: Any,
        flags: mqtt.DisconnectFlags,
        reason_code: ReasonCode,
        properties: Properties | None,
    ) -> None:
        with self._cond:
            self._disconnects.append(reason_code.value)
            self._cond.notify_all()

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        with self._cond:
            self.received.append(message)
            self._cond.notify_all()

    def _on_subscribe(
        self,
        client: mqtt.Client,
        userdata: Any,
        mid: int,
        reason_codes: list[ReasonCode],
        properties: Properties | None,
    ) -> None:
        with self._cond:
            self._subacks[mid] = [rc.value for rc in reason_codes]
            self._cond.notify_all()

    def _on_unsubscribe(
        self,
        client: mqtt.Client,
        userdata: Any,
        mid: int,
        reason_codes: list[ReasonCode],
        properties: Properties | None,
    ) -> None:
        with self._cond:
            self._unsubacks[mid] = [rc.value for rc in reason_codes]
            self._cond.notify_all()

    def _on_publish(
        self, client: mqtt.Client, userdata: Any, mid: int, reason_code: ReasonCode, properties: Properties
    ) -> None:
        with self._cond:
            self._pubacks[mid] = reason_code.value
            self._cond.notify_all()

    # -- waiting -------------------------------------------------------------------------------------

    def _wait(self, what: str, ready: Callable[[], bool], timeout: float) -> None:
        with self._cond:
            if not self._cond.wait_for(ready, timeout):
                raise AssertionError(f"{self.client_id}: no {what} within {timeout} s")

    # -- connection ----------------------------------------------------------------------------------

    @property
    def port(self) -> int:
        if self.transport == "wss":
            return self.server.https_port
        if self.transport == "insecure":
            return self.server.insecure_port
        return self.server.mqtts_port

    def start(self) -> None:
        """Opens the connection and sends CONNECT, without waiting for the CONNACK."""
        properties: Properties | None = None
        if self.version == V5:
            properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
            if self.session_expiry is not None:
                properties.SessionExpiryInterval = self.session_expiry
            self.client.connect(
                HOST, self.port, self.keepalive, clean_start=self.clean, properties=properties
            )
        else:
            self.client.connect(HOST, self.port, self.keepalive)
        self.client.loop_start()
        self._started = True

    def connect(self, timeout: float = TIMEOUT) -> ConnackInfo:
        """Connects and returns the CONNACK; fails unless the server accepted the connection."""
        self.start()
        connack = self.wait_connack(timeout)
        assert connack.reason_code == 0, f"{self.client_id}: CONNACK {connack.reason_code:#x}"
        return connack

    def wait_connack(self, timeout: float = TIMEOUT) -> ConnackInfo:
        self._wait("CONNACK", lambda: bool(self._connacks), timeout)
        return self._connacks[-1]

    def wait_disconnected(self, timeout: float = TIMEOUT) -> int:
        """The reason code paho reports once the connection is gone (an MQTT 5 DISCONNECT's, if one came)."""
        self._wait("disconnect", lambda: bool(self._disconnects), timeout)
        self.client.loop_stop()
        return self._disconnects[0]

    @property
    def connacks(self) -> list[ConnackInfo]:
        with self._cond:
            return list(self._connacks)

    @property
    def disconnected(self) -> bool:
        with self._cond:
            return bool(self._disconnects)

    def disconnect(self, reason: int | None = None, timeout: float = TIMEOUT) -> None:
        """A clean DISCONNECT (MQTT 5: with ``reason``)."""
        if reason is None:
            self.client.disconnect()
        else:
            self.client.disconnect(reasoncode=ReasonCode(PacketTypes.DISCONNECT, identifier=reason))
        self.wait_disconnected(timeout)

    def drop(self, timeout: float = TIMEOUT) -> None:
        """Ends the connection abnormally: TCP goes away with no DISCONNECT and no TLS close_notify."""
        sock = self.client.socket()
        assert sock is not None, "not connected"
        dup = socket.socket(fileno=os.dup(sock.fileno()))
        try:
            dup.shutdown(socket.SHUT_RDWR)
        finally:
            dup.close()
        self.wait_disconnected(timeout)

    def close(self) -> None:
        if not self._started:
            return
        if not self.disconnected:
            try:
                self.client.disconnect()
                self._wait("disconnect", lambda: bool(self._disconnects), 5)
            except AssertionError:
                pass
        self.client.loop_stop()
        self._started = False

    # -- operations ----------------------------------------------------------------------------------

    def subscribe(self, *filters: str, qos: int = 1, timeout: float = TIMEOUT) -> list[int]:
        """Subscribes and returns the SUBACK's codes (the granted QoS, or a failure code)."""
        result, mid = self.client.subscribe([(f, qos) for f in filters])
        assert result == mqtt.MQTT_ERR_SUCCESS and mid is not None, f"subscribe failed: {result}"
        self._wait("SUBACK", lambda: mid in self._subacks, timeout)
        return self._subacks[mid]

    def unsubscribe(self, *filters: str, timeout: float = TIMEOUT) -> list[int]:
        result, mid = self.client.unsubscribe(list(filters))
        assert result == mqtt.MQTT_ERR_SUCCESS and mid is not None, f"unsubscribe failed: {result}"
        self._wait("UNSUBACK", lambda: mid in self._unsubacks, timeout)
        return self._unsubacks[mid]

    def publish(
        self,
        topic: str,
        payload: bytes,
        qos: int = 0,
        retain: bool = False,
        *,
        wait: bool = True,
        timeout: float = TIMEOUT,
    ) -> int | None:
        """Publishes; QoS 1 waits for the PUBACK and returns its reason code, QoS 0 waits until sent."""
        info = self.client.publish(topic, payload, qos, retain)
        if not wait:
            # Without waiting the server may already have closed the connection paho is still writing to.
            return None
        assert info.rc == mqtt.MQTT_ERR_SUCCESS, f"publish failed: {info.rc}"
        self._wait("PUBACK" if qos else "publish sent", lambda: info.mid in self._pubacks, timeout)
        return self._pubacks[info.mid] if qos else None

    # -- received messages ---------------------------------------------------------------------------

    def next_message(self, timeout: float = TIMEOUT) -> mqtt.MQTTMessage:
        """The next message in arrival order."""
        self._wait("message", lambda: len(self.received) > self._cursor, timeout)
        with self._cond:
            message = self.received[self._cursor]
            self._cursor += 1
            return message

    def collect_until(self, done: Predicate, timeout: float = TIMEOUT) -> list[mqtt.MQTTMessage]:
        """Every message from the cursor up to and including the first that satisfies ``done``."""

        def found() -> int | None:
            for i in range(self._cursor, len(self.received)):
                if done(self.received[i]):
                    return i
            return None

        self._wait("matching message", lambda: found() is not None, timeout)
        with self._cond:
            end = found()
            assert end is not None
            batch = self.received[self._cursor : end + 1]
            self._cursor = end + 1
            return batch

    def wait_for(self, match: Predicate, timeout: float = TIMEOUT) -> mqtt.MQTTMessage:
        """The first message ever received that satisfies ``match`` (does not move the cursor)."""

        def found() -> mqtt.MQTTMessage | None:
            return next((m for m in self.received if match(m)), None)

        self._wait("matching message", lambda: found() is not None, timeout)
        with self._cond:
            message = found()
            assert message is not None
            return message

    def wait_event(self, event_type: str, client_id: str, timeout: float = TIMEOUT) -> dict[str, Any]:
        """The body of a lifecycle event (this client must subscribe to it first)."""
        return event_body(self.wait_for(is_event(event_type, client_id), timeout))

    def seen(self, match: Predicate) -> list[mqtt.MQTTMessage]:
        with self._cond:
            return [m for m in self.received if match(m)]


# -- raw MQTT over a socket ---------------------------------------------------------------------------


def varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n % 128, n // 128
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def utf8(text: str) -> bytes:
    data = text.encode()
    return len(data).to_bytes(2, "big") + data


def packet(first: int, body: bytes) -> bytes:
    return bytes([first]) + varint(len(body)) + body


def connect_packet(
    client_id: str,
    *,
    version: int = V311,
    keepalive: int = 60,
    clean: bool = True,
    will: Will | None = None,
    session_expiry: int | None = None,
) -> bytes:
    flags = 0x02 if clean else 0x00
    payload = utf8(client_id)
    if will is not None:
        flags |= 0x04 | (will.qos << 3) | (0x20 if will.retain else 0)
        if version == V5:
            payload += b"\x00"  # no will properties
        payload += utf8(will.topic) + len(will.payload).to_bytes(2, "big") + will.payload
    header = utf8("MQTT") + bytes([version, flags]) + keepalive.to_bytes(2, "big")
    if version == V5:
        props = b"" if session_expiry is None else b"\x11" + session_expiry.to_bytes(4, "big")
        header += varint(len(props)) + props
    return packet(0x10, header + payload)


def publish_packet(
    topic: str,
    payload: bytes,
    *,
    qos: int = 0,
    packet_id: int = 1,
    retain: bool = False,
    dup: bool = False,
    version: int = V311,
) -> bytes:
    first = 0x30 | (0x08 if dup else 0) | (qos << 1) | (0x01 if retain else 0)
    body = utf8(topic)
    if qos:
        body += packet_id.to_bytes(2, "big")
    if version == V5:
        body += b"\x00"
    return packet(first, body + payload)


def subscribe_packet(packet_id: int, filters: list[tuple[str, int]], *, version: int = V311) -> bytes:
    body = packet_id.to_bytes(2, "big") + (b"\x00" if version == V5 else b"")
    for topic_filter, qos in filters:
        body += utf8(topic_filter) + bytes([qos])
    return packet(0x82, body)


def puback_packet(packet_id: int) -> bytes:
    return b"\x40\x02" + packet_id.to_bytes(2, "big")


PINGREQ = b"\xc0\x00"
DISCONNECT = b"\xe0\x00"

CONNACK, PUBLISH, PUBACK, SUBACK, PINGRESP, DISCONNECT_TYPE = 2, 3, 4, 9, 13, 14


@dataclass(frozen=True)
class RawPacket:
    first: int
    body: bytes

    @property
    def type(self) -> int:
        return self.first >> 4


@dataclass(frozen=True)
class RawPublish:
    topic: str
    payload: bytes
    qos: int
    retain: bool
    dup: bool
    packet_id: int | None


def _read_varint(data: bytes, pos: int) -> tuple[int, int] | None:
    value, shift = 0, 0
    while pos < len(data):
        byte = data[pos]
        value |= (byte & 0x7F) << shift
        pos += 1
        if not byte & 0x80:
            return value, pos
        shift += 7
    return None


def parse_publish(pkt: RawPacket, version: int) -> RawPublish:
    assert pkt.type == PUBLISH, f"expected PUBLISH, got packet type {pkt.type}"
    flags, body = pkt.first & 0x0F, pkt.body
    qos = (flags >> 1) & 0x03
    length = int.from_bytes(body[:2], "big")
    topic = body[2 : 2 + length].decode()
    pos = 2 + length
    packet_id = None
    if qos:
        packet_id = int.from_bytes(body[pos : pos + 2], "big")
        pos += 2
    if version == V5:
        parsed = _read_varint(body, pos)
        assert parsed is not None
        props_len, pos = parsed
        pos += props_len
    return RawPublish(topic, body[pos:], qos, bool(flags & 0x01), bool(flags & 0x08), packet_id)


class PacketStream:
    """Sends bytes and reads whole MQTT packets back; subclasses supply the transport."""

    def __init__(self, version: int = V311) -> None:
        self.version = version
        self._buffer = b""
        self.eof = False

    def send(self, data: bytes) -> None:
        raise NotImplementedError

    def _recv(self, timeout: float) -> bytes:
        """Some bytes; b"" once the peer has closed. Raises TimeoutError."""
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    def _take_packet(self) -> RawPacket | None:
        data = self._buffer
        if len(data) < 2:
            return None
        parsed = _read_varint(data, 1)
        if parsed is None:
            return None
        length, start = parsed
        if len(data) < start + length:
            return None
        self._buffer = data[start + length :]
        return RawPacket(data[0], data[start : start + length])

    def read_packet(self, timeout: float = TIMEOUT) -> RawPacket | None:
        """The next packet, or None once the server has closed the connection."""
        deadline = time.monotonic() + timeout
        while True:
            pkt = self._take_packet()
            if pkt is not None:
                return pkt
            if self.eof:
                return None
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"no packet within {timeout} s")
            try:
                data = self._recv(remaining)
            except TimeoutError:
                raise AssertionError(f"no packet within {timeout} s") from None
            if not data:
                self.eof = True
            self._buffer += data

    def expect(self, packet_type: int, timeout: float = TIMEOUT) -> RawPacket:
        pkt = self.read_packet(timeout)
        assert pkt is not None, f"connection closed while waiting for packet type {packet_type}"
        assert pkt.type == packet_type, f"expected packet type {packet_type}, got {pkt}"
        return pkt

    def connect(self, client_id: str, **kwargs: Any) -> RawPacket:
        """Sends CONNECT and returns the CONNACK, which must accept the connection."""
        self.send(connect_packet(client_id, version=self.version, **kwargs))
        connack = self.expect(CONNACK)
        assert connack.body[1] == 0, f"CONNACK refused: {connack.body[1]:#x}"
        return connack

    def wait_closed(self, timeout: float = TIMEOUT) -> list[RawPacket]:
        """Reads until the server closes the connection; returns the packets that came before."""
        packets: list[RawPacket] = []
        deadline = time.monotonic() + timeout
        while True:
            try:
                pkt = self.read_packet(max(deadline - time.monotonic(), 0.001))
            except AssertionError:
                raise AssertionError(f"still open after {timeout} s; received {packets}") from None
            if pkt is None:
                return packets
            packets.append(pkt)


def _client_context(
    server: RunningServer, device: DeviceCertificate | None, client_certificate: bool
) -> ssl.SSLContext:
    """The TLS context a raw test client presents: ``device``'s certificate (or the shared one), or none."""
    return server.client_ssl_context((device or device_for(server)) if client_certificate else None)


class RawMQTT(PacketStream):
    """MQTT over a blocking socket, TLS (the MQTTS port) or plain (the insecure port)."""

    def __init__(self, sock: socket.socket, version: int = V311) -> None:
        super().__init__(version)
        self.sock = sock

    @classmethod
    def tls(
        cls,
        server: RunningServer,
        *,
        device: DeviceCertificate | None = None,
        client_certificate: bool = True,
        version: int = V311,
        context: ssl.SSLContext | None = None,
    ) -> RawMQTT:
        context = context or _client_context(server, device, client_certificate)
        plain = socket.create_connection((HOST, server.mqtts_port), timeout=TIMEOUT)
        try:
            sock = context.wrap_socket(plain, server_hostname=HOST)
        except BaseException:
            plain.close()
            raise
        return cls(sock, version)

    @classmethod
    def plain(cls, server: RunningServer, *, version: int = V311) -> RawMQTT:
        return cls(socket.create_connection((HOST, server.insecure_port), timeout=TIMEOUT), version)

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def _recv(self, timeout: float) -> bytes:
        self.sock.settimeout(timeout)
        try:
            return self.sock.recv(65536)
        except TimeoutError:
            raise
        except OSError:  # reset, TLS alert, or a TLS EOF without close_notify: all mean closed
            return b""

    def close(self) -> None:
        self.sock.close()


class WebSocketMQTT(PacketStream):
    """MQTT in binary WebSocket frames (subprotocol ``mqtt``) at wss://localhost:PORT/mqtt."""

    def __init__(self, ws: ClientConnection, version: int = V311) -> None:
        super().__init__(version)
        self.ws = ws

    @classmethod
    def open(
        cls,
        server: RunningServer,
        *,
        device: DeviceCertificate | None = None,
        client_certificate: bool = True,
        version: int = V311,
        context: ssl.SSLContext | None = None,
    ) -> WebSocketMQTT:
        context = context or _client_context(server, device, client_certificate)
        ws = ws_connect(
            f"wss://localhost:{server.https_port}/mqtt",
            ssl=context,
            subprotocols=[Subprotocol("mqtt")],
            proxy=None,
            compression=None,
            open_timeout=TIMEOUT,
            ping_interval=None,
            close_timeout=5,
            legacy=True,  # a plain ClientConnection, not the reconnecting iterator
        )
        assert isinstance(ws, ClientConnection)
        return cls(ws, version)

    def send(self, data: bytes) -> None:
        self.ws.send(data)

    def _recv(self, timeout: float) -> bytes:
        try:
            data = self.ws.recv(timeout)
        except ConnectionClosed:
            return b""
        assert isinstance(data, bytes), f"MQTT over WebSocket must use binary frames, got text {data!r}"
        return data

    def abort(self) -> None:
        """Drops the TCP connection: no MQTT DISCONNECT, no WebSocket Close frame."""
        self.ws.socket.shutdown(socket.SHUT_RDWR)
        self.ws.close_socket()

    def close(self) -> None:
        self.ws.close()


# -- bookkeeping ---------------------------------------------------------------------------------------


class ClientPool:
    """Makes clients for one test and closes every one of them when the test ends."""

    def __init__(self) -> None:
        self._paho: list[PahoClient] = []
        self._raw: list[PacketStream] = []

    def paho(self, server: RunningServer, client_id: str, **kwargs: Any) -> PahoClient:
        client = PahoClient(server, client_id, **kwargs)
        self._paho.append(client)
        return client

    def connected(self, server: RunningServer, client_id: str, **kwargs: Any) -> PahoClient:
        client = self.paho(server, client_id, **kwargs)
        client.connect()
        return client

    def watcher(self, server: RunningServer, *filters: str, **kwargs: Any) -> PahoClient:
        """A connected client subscribed (QoS 0) to lifecycle events or other filters."""
        client = self.connected(server, uid("watcher"), **kwargs)
        granted = client.subscribe(*(filters or ("$aws/events/#",)), qos=0)
        assert all(code < 0x80 for code in granted), granted
        return client

    def raw(self, client: StreamT) -> StreamT:
        self._raw.append(client)
        return client

    def close(self) -> None:
        for raw in self._raw:
            raw.close()
        for client in self._paho:
            client.close()
