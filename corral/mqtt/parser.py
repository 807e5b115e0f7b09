"""Incremental parser of an MQTT byte stream: bytes in, packets out, no I/O.

Invariants:

* ``feed`` returns every complete packet in order; a truncated packet is "need more data" (an empty list),
  never an exception. The only exception it raises is ``MQTTProtocolError``; after one, the parser is dead
  and every later ``feed`` raises again (the connection must be closed). Packets completed earlier in the
  same ``feed`` call as the error are dropped with it.
* A packet larger than ``max_packet_size`` (fixed header included) is refused as soon as its fixed header
  is complete, before its body is buffered: PACKET_TOO_LARGE.
* Which packet may arrive when is the table below, per side, state and protocol version. A packet type the
  other side never sends, a packet before CONNECT (server) or CONNACK (client), or a second CONNECT or
  CONNACK is PROTOCOL_ERROR; packet type 0 is MALFORMED_PACKET. These checks also run on the first byte of
  a packet, before its body arrives.

The server side learns the protocol version from CONNECT: ``protocol_version`` is ``None`` until then. When
a CONNECT fails to decode but names protocol level 4 or 5 correctly, ``protocol_version`` is still set, so
the broker can answer in the client's version (CONNACK 0x81 in 5.0, say) before closing. The client side is
told the version at construction (a version given to a server-side parser is ignored).

Performance: this is the broker's hot path. Bytes are parsed straight from the ``bytes`` object handed to
``feed``; only an incomplete packet's bytes are kept, in a ``bytearray``, and they are looked at again only
once enough bytes have arrived to complete what was missing. PUBLISH is decoded by ``decode_publish`` with
its ``raw`` bytes sliced once (not at all when a chunk holds exactly one packet).
"""

from __future__ import annotations

from typing import Final, NoReturn

from corral.mqtt.decoder import decode_body, decode_publish
from corral.mqtt.errors import MQTTProtocolError, ReasonCode
from corral.mqtt.packets import MQTT_3_1_1, MQTT_5, Connect, Packet, PacketType
from corral.mqtt.wire import malformed, protocol_error

_T = PacketType
_BOTH_WAYS: Final = frozenset({_T.PUBLISH, _T.PUBACK, _T.PUBREC, _T.PUBREL, _T.PUBCOMP})
_FROM_CLIENT_311: Final = _BOTH_WAYS | {_T.SUBSCRIBE, _T.UNSUBSCRIBE, _T.PINGREQ, _T.DISCONNECT}
_FROM_SERVER_311: Final = _BOTH_WAYS | {_T.SUBACK, _T.UNSUBACK, _T.PINGRESP}

# What may arrive next: (server_side, connected, protocol_version) -> packet types.
# Before CONNECT the server knows no version yet (None).
ACCEPTS: Final[dict[tuple[bool, bool, int | None], frozenset[int]]] = {
    (True, False, None): frozenset({_T.CONNECT}),
    (True, True, MQTT_3_1_1): _FROM_CLIENT_311,
    (True, True, MQTT_5): _FROM_CLIENT_311 | {_T.AUTH},
    (False, False, MQTT_3_1_1): frozenset({_T.CONNACK}),
    (False, False, MQTT_5): frozenset({_T.CONNACK, _T.AUTH}),
    (False, True, MQTT_3_1_1): _FROM_SERVER_311,
    (False, True, MQTT_5): _FROM_SERVER_311 | {_T.DISCONNECT, _T.AUTH},
}
"""The packets that CONNECT (server side) or CONNACK (client side) move from "not connected" to
"connected"; every other packet leaves the state as it is."""

_CONNECT: Final = int(_T.CONNECT)
_CONNACK: Final = int(_T.CONNACK)
_PUBLISH: Final = int(_T.PUBLISH)
DEFAULT_MAX_PACKET_SIZE: Final = 268_435_460
"""1 byte of packet type, 4 of remaining length, and the largest remaining length."""


class MQTTParser:
    """Split a byte stream into MQTT packets, checking each against the protocol's state."""

    __slots__ = (
        "_accepts",
        "_buf",
        "_connected",
        "_error",
        "_need",
        "max_packet_size",
        "protocol_version",
        "server_side",
    )

    def __init__(
        self,
        *,
        server_side: bool = True,
        protocol_version: int | None = None,
        max_packet_size: int = DEFAULT_MAX_PACKET_SIZE,
    ) -> None:
        if server_side:
            protocol_version = None
        elif protocol_version not in (MQTT_3_1_1, MQTT_5):
            raise ValueError(f"a client-side parser needs protocol version 4 or 5, not {protocol_version}")
        self.server_side = server_side
        self.protocol_version: int | None = protocol_version
        self.max_packet_size = max_packet_size
        self._connected = False
        self._accepts = ACCEPTS[(server_side, False, protocol_version)]
        self._buf = bytearray()
        self._need = 0  # bytes ``_buf`` must hold before parsing it again is worth it
        self._error: MQTTProtocolError | None = None

    @property
    def dead(self) -> bool:
        """True once a protocol error has been raised: the parser refuses all further input."""
        return self._error is not None

    def feed(self, data: bytes) -> list[Packet]:
        """Add ``data`` to the stream; return the packets it completes (maybe none)."""
        if self._error is not None:
            raise MQTTProtocolError(
                self._error.reason_code, f"parser stopped after an earlier error: {self._error.message}"
            )
        buf = self._buf
        if buf:
            buf += data
            if len(buf) < self._need:
                return []
            data = bytes(buf)
            buf.clear()
        elif type(data) is not bytes:
            data = bytes(data)
        try:
            return self._parse(data)
        except MQTTProtocolError as exc:
            self._error = exc
            self._buf = bytearray()
            raise

    def _parse(self, data: bytes) -> list[Packet]:
        out: list[Packet] = []
        end = len(data)
        pos = 0
        accepts = self._accepts
        version = self.protocol_version or 0  # 0 only before CONNECT, when nothing but CONNECT is accepted
        max_size = self.max_packet_size
        need = 0
        while pos < end:
            first = data[pos]
            packet_type = first >> 4
            if packet_type not in accepts:
                self._refuse(packet_type)
            # Remaining length: one byte almost always, up to four.
            if pos + 1 >= end:
                need = 2
                break
            length = data[pos + 1]
            header = 2
            if length >= 0x80:
                length &= 0x7F
                shift = 7
                while True:
                    if pos + header >= end:
                        break
                    byte = data[pos + header]
                    header += 1
                    length |= (byte & 0x7F) << shift
                    if byte < 0x80:
                        break
                    if header == 5:
                        raise malformed("remaining length longer than four bytes")
                    shift += 7
                if data[pos + header - 1] >= 0x80:  # the remaining length is not all here yet
                    need = header + 1
                    break
            total = header + length
            if total > max_size:
                raise MQTTProtocolError(
                    ReasonCode.PACKET_TOO_LARGE, f"packet of {total} bytes exceeds the maximum of {max_size}"
                )
            stop = pos + total
            if stop > end:
                need = total
                break
            if packet_type == _PUBLISH:
                raw = data if total == end else data[pos:stop]
                out.append(decode_publish(raw, first, header, version))
            elif packet_type == _CONNECT:
                out.append(self._connect(data, first, pos + header, stop))
                accepts = self._accepts
                version = self.protocol_version or 0
            else:
                out.append(decode_body(data, first, pos + header, stop, version))
                if packet_type == _CONNACK:
                    self._connected = True
                    accepts = self._accepts = ACCEPTS[(False, True, version)]
            pos = stop
        if pos < end:
            self._buf += memoryview(data)[pos:]
        self._need = need
        return out

    def _connect(self, data: bytes, first: int, pos: int, end: int) -> Packet:
        try:
            packet = decode_body(data, first, pos, end, MQTT_5)
        except MQTTProtocolError:
            # Let the broker answer a malformed CONNECT in the version the client speaks.
            level = data[pos + 6] if pos + 6 < end and data[pos : pos + 6] == b"\x00\x04MQTT" else 0
            if level in (MQTT_3_1_1, MQTT_5):
                self.protocol_version = level
            raise
        assert isinstance(packet, Connect)
        self.protocol_version = packet.protocol_version
        self._connected = True
        self._accepts = ACCEPTS[(True, True, packet.protocol_version)]
        return packet

    def _refuse(self, packet_type: int) -> NoReturn:
        if packet_type == 0:
            raise malformed("packet type 0 is reserved")
        name = PacketType(packet_type).name
        opening = _CONNECT if self.server_side else _CONNACK
        if not self._connected:
            raise protocol_error(f"{name} before {PacketType(opening).name}")
        if packet_type == opening:
            raise protocol_error(f"second {name}")
        sender = "client" if self.server_side else "server"
        raise protocol_error(f"{name} may not be sent by a {sender} (MQTT version {self.protocol_version})")
