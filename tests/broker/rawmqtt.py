"""A tiny blocking MQTT client over a raw socket, for tests that must see (or send) exact packets.

It uses Corral's own codec (``encode`` and a client-side ``MQTTParser``) and nothing else: no retries, no
automatic acknowledgements, no keep alive. Every wait has a timeout, so a broker that misbehaves fails a test
instead of hanging it.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import time
from collections import deque
from collections.abc import Iterable
from typing import TypeVar

from corral.mqtt.codec import encode
from corral.mqtt.errors import MQTTProtocolError
from corral.mqtt.packets import (
    MQTT_3_1_1,
    MQTT_5,
    Connack,
    Connect,
    Disconnect,
    Packet,
    Pingreq,
    Pingresp,
    Puback,
    Publish,
    Suback,
    Subscribe,
    Subscription,
    Unsuback,
    Unsubscribe,
)
from corral.mqtt.parser import MQTTParser
from corral.mqtt.properties import Properties
from tests.harness import DeviceCertificate, RunningServer

__all__ = ["MQTT_3_1_1", "MQTT_5", "ConnectionClosed", "RawClient"]

DEFAULT_TIMEOUT = 10.0
P = TypeVar("P", bound=Packet)


class ConnectionClosed(Exception):
    """The server closed the connection while a packet was expected."""


class RawClient:
    """One MQTT connection. ``send`` writes a packet; ``recv`` returns the next packet the server sent."""

    def __init__(self, sock: socket.socket, version: int) -> None:
        self.sock = sock
        self.version = version
        self.parser = MQTTParser(server_side=False, protocol_version=version)
        self.pending: deque[Packet] = deque()
        self.closed = False
        self.tls_error: ssl.SSLError | None = None
        self.connack: Connack | None = None
        self._next_packet_id = 0

    # -- opening -------------------------------------------------------------------------------------

    @classmethod
    def open(
        cls,
        server: RunningServer,
        device: DeviceCertificate | None,
        *,
        version: int = MQTT_3_1_1,
        alpn: Iterable[str] | None = None,
        rcvbuf: int | None = None,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> RawClient:
        """A TLS connection to the MQTTS port with ``device``'s certificate, or, when ``device`` is None, a
        plain TCP connection to the loopback-only insecure port. ``rcvbuf`` shrinks the socket's receive
        buffer before connecting (for clients that stop reading)."""
        port = server.insecure_port if device is None else server.mqtts_port
        raw = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf is not None:
            raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        raw.settimeout(timeout)
        try:
            raw.connect(("127.0.0.1", port))
            sock: socket.socket = raw
            if device is not None:
                ctx = server.client_ssl_context(device)
                if alpn is not None:
                    ctx.set_alpn_protocols(list(alpn))
                sock = ctx.wrap_socket(raw, server_hostname="localhost")
        except BaseException:
            raw.close()
            raise
        return cls(sock, version)

    @classmethod
    def connected(
        cls,
        server: RunningServer,
        device: DeviceCertificate | None,
        client_id: str,
        *,
        version: int = MQTT_3_1_1,
        clean_start: bool = True,
        keep_alive: int = 60,
        properties: Properties | None = None,
        rcvbuf: int | None = None,
    ) -> RawClient:
        """Opens a connection and completes CONNECT/CONNACK; the CONNACK is kept in ``self.connack``."""
        client = cls.open(server, device, version=version, rcvbuf=rcvbuf)
        try:
            connack = client.connect(
                client_id, clean_start=clean_start, keep_alive=keep_alive, properties=properties
            )
            assert connack.reason_code == 0, f"CONNACK refused {client_id!r}: {connack}"
        except BaseException:
            client.close()
            raise
        return client

    # -- raw packets ---------------------------------------------------------------------------------

    @property
    def ssl_object(self) -> ssl.SSLSocket | None:
        return self.sock if isinstance(self.sock, ssl.SSLSocket) else None

    def send(self, packet: Packet) -> None:
        self.send_bytes(encode(packet, self.version))

    def send_bytes(self, data: bytes) -> None:
        self.sock.sendall(data)

    def recv(self, timeout: float = DEFAULT_TIMEOUT) -> Packet:
        """The next packet from the server; TimeoutError if none comes in time, ConnectionClosed on EOF."""
        deadline = time.monotonic() + timeout
        while not self.pending:
            if self.closed:
                raise ConnectionClosed("the server closed the connection")
            self._read(deadline)
        return self.pending.popleft()

    def recv_type(self, kind: type[P], timeout: float = DEFAULT_TIMEOUT) -> P:
        """The next packet, which must be a ``kind``."""
        packet = self.recv(timeout)
        assert isinstance(packet, kind), f"expected {kind.__name__}, got {packet!r}"
        return packet

    def expect_closed(self, timeout: float = DEFAULT_TIMEOUT) -> list[Packet]:
        """Waits for the server to close the connection; returns the packets that came before the close."""
        deadline = time.monotonic() + timeout
        packets: list[Packet] = []
        while True:
            packets.extend(self.pending)
            self.pending.clear()
            if self.closed:
                return packets
            try:
                self._read(deadline)
            except TimeoutError:
                raise AssertionError(
                    f"connection still open after {timeout} s; received {_summary(packets)}"
                ) from None

    def _read(self, deadline: float) -> None:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("no packet from the server in time")
        self.sock.settimeout(remaining)
        try:
            data = self.sock.recv(1 << 20)
        except TimeoutError:
            raise TimeoutError("no packet from the server in time") from None
        except (ConnectionResetError, BrokenPipeError, ssl.SSLEOFError, ssl.SSLZeroReturnError):
            data = b""
        except ssl.SSLError as exc:
            # A TLS alert from the server (a refused certificate) is a close too.
            self.closed = True
            self.tls_error = exc
            return
        if not data:
            self.closed = True
            return
        try:
            self.pending.extend(self.parser.feed(data))
        except MQTTProtocolError as exc:
            raise AssertionError(f"server sent bytes that do not parse: {exc}") from exc

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.close()

    def __enter__(self) -> RawClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- conveniences ----------------------------------------------------------------------------------

    def packet_id(self) -> int:
        self._next_packet_id = self._next_packet_id % 0xFFFF + 1
        return self._next_packet_id

    def connect(
        self,
        client_id: str,
        *,
        clean_start: bool = True,
        keep_alive: int = 60,
        properties: Properties | None = None,
        username: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> Connack:
        self.send(
            Connect(
                client_id=client_id,
                protocol_version=self.version,
                clean_start=clean_start,
                keep_alive=keep_alive,
                username=username,
                properties=properties or Properties(),
            )
        )
        self.connack = self.recv_type(Connack, timeout)
        return self.connack

    def subscribe(self, *filters: str, qos: int = 1, timeout: float = DEFAULT_TIMEOUT) -> list[int]:
        """Subscribes and returns the SUBACK's reason codes (other packets before it are kept)."""
        pid = self.packet_id()
        self.send(Subscribe(pid, [Subscription(f, qos) for f in filters]))
        suback = self.wait_for(Suback, timeout)
        assert suback.packet_id == pid
        return suback.reason_codes

    def unsubscribe(self, *filters: str, timeout: float = DEFAULT_TIMEOUT) -> Unsuback:
        pid = self.packet_id()
        self.send(Unsubscribe(pid, list(filters)))
        unsuback = self.wait_for(Unsuback, timeout)
        assert unsuback.packet_id == pid
        return unsuback

    def publish(
        self,
        topic: str,
        payload: bytes,
        *,
        qos: int = 0,
        retain: bool = False,
        properties: Properties | None = None,
    ) -> int | None:
        """Sends a PUBLISH without waiting; returns its packet identifier (None at QoS 0)."""
        pid = self.packet_id() if qos else None
        self.send(Publish(topic, payload, qos, retain, packet_id=pid, properties=properties))
        return pid

    def publish_acked(
        self,
        topic: str,
        payload: bytes,
        *,
        properties: Properties | None = None,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> Puback:
        """A QoS 1 publish; returns its PUBACK."""
        pid = self.publish(topic, payload, qos=1, properties=properties)
        puback = self.wait_for(Puback, timeout)
        assert puback.packet_id == pid, f"PUBACK for {puback.packet_id}, expected {pid}"
        return puback

    def ping(self, timeout: float = DEFAULT_TIMEOUT) -> list[Packet]:
        """A PINGREQ/PINGRESP round trip: a barrier. Returns the packets that arrived before the PINGRESP
        (everything the server had queued for this client before it handled the PINGREQ)."""
        self.send(Pingreq())
        before: list[Packet] = []
        deadline = time.monotonic() + timeout
        while True:
            packet = self.recv(max(deadline - time.monotonic(), 0.001))
            if isinstance(packet, Pingresp):
                return before
            before.append(packet)

    def wait_for(self, kind: type[P], timeout: float = DEFAULT_TIMEOUT) -> P:
        """The first packet of type ``kind``; packets of other types before it stay pending, in order."""
        deadline = time.monotonic() + timeout
        skipped: list[Packet] = []
        try:
            while True:
                packet = self.recv(max(deadline - time.monotonic(), 0.001))
                if isinstance(packet, kind):
                    return packet
                skipped.append(packet)
        finally:
            self.pending.extendleft(reversed(skipped))

    def disconnect(self, reason_code: int = 0) -> None:
        self.send(Disconnect(reason_code=reason_code))
        self.close()


def _summary(packets: list[Packet]) -> str:
    if len(packets) <= 5:
        return repr(packets)
    kinds: dict[str, int] = {}
    for packet in packets:
        kinds[type(packet).__name__] = kinds.get(type(packet).__name__, 0) + 1
    return f"{len(packets)} packets {kinds}; last {packets[-1]!r}"
