"""The data representations of MQTT (spec section 1.5): integers, variable byte integers, strings, binary.

Decoders read a ``bytes`` object in place between ``pos`` and ``end`` and return ``(value, new_pos)``, so a
packet is decoded without slicing it into pieces first. Reading past ``end`` means a length field lied about
the content, which is MALFORMED_PACKET. Encoders trust their caller (our own code) and raise ``ValueError``
for values the wire cannot carry: a bug on our side is not a protocol error of the peer.
"""

from __future__ import annotations

from corral.mqtt.errors import MQTTProtocolError, ReasonCode

MAX_VARINT = 268_435_455
"""The largest value a four-byte variable byte integer holds."""

_ONE_BYTE_VARINTS = tuple(bytes((i,)) for i in range(128))


def malformed(message: str) -> MQTTProtocolError:
    return MQTTProtocolError(ReasonCode.MALFORMED_PACKET, message)


def protocol_error(message: str) -> MQTTProtocolError:
    return MQTTProtocolError(ReasonCode.PROTOCOL_ERROR, message)


def encode_varint(value: int) -> bytes:
    if 0 <= value < 128:
        return _ONE_BYTE_VARINTS[value]
    if not 0 <= value <= MAX_VARINT:
        raise ValueError(f"{value} does not fit a variable byte integer")
    out = bytearray()
    while value >= 128:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def decode_varint(data: bytes, pos: int, end: int) -> tuple[int, int]:
    """Decode a variable byte integer of at most four bytes (a fifth byte is MALFORMED_PACKET)."""
    value = 0
    shift = 0
    limit = pos + 4
    while pos < end:
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, pos
        if pos == limit:
            raise malformed("variable byte integer longer than four bytes")
        shift += 7
    raise malformed("variable byte integer runs past the end of its packet")


def encode_u16(value: int) -> bytes:
    return value.to_bytes(2, "big")


def decode_u16(data: bytes, pos: int, end: int) -> tuple[int, int]:
    stop = pos + 2
    if stop > end:
        raise malformed("two-byte integer runs past the end of its packet")
    return (data[pos] << 8) | data[pos + 1], stop


def decode_u32(data: bytes, pos: int, end: int) -> tuple[int, int]:
    stop = pos + 4
    if stop > end:
        raise malformed("four-byte integer runs past the end of its packet")
    return int.from_bytes(data[pos:stop], "big"), stop


def decode_byte(data: bytes, pos: int, end: int) -> tuple[int, int]:
    if pos >= end:
        raise malformed("byte field runs past the end of its packet")
    return data[pos], pos + 1


def encode_str(value: str) -> bytes:
    """A UTF-8 encoded string: two-byte length, then the bytes (no U+0000, at most 65,535 bytes)."""
    raw = value.encode("utf-8")
    if len(raw) > 0xFFFF:
        raise ValueError("string longer than 65,535 bytes")
    if "\x00" in value:
        raise ValueError("string contains U+0000")
    return len(raw).to_bytes(2, "big") + raw


def decode_str(data: bytes, pos: int, end: int) -> tuple[str, int]:
    """Decode a UTF-8 string; ill-formed UTF-8 (surrogates included) or U+0000 is MALFORMED_PACKET."""
    start = pos + 2
    if start > end:
        raise malformed("string length runs past the end of its packet")
    stop = start + ((data[pos] << 8) | data[pos + 1])
    if stop > end:
        raise malformed("string runs past the end of its packet")
    try:
        text = data[start:stop].decode("utf-8")
    except UnicodeDecodeError:
        raise malformed("string is not well-formed UTF-8") from None
    if "\x00" in text:
        raise malformed("string contains U+0000")
    return text, stop


def encode_bin(value: bytes) -> bytes:
    if len(value) > 0xFFFF:
        raise ValueError("binary data longer than 65,535 bytes")
    return len(value).to_bytes(2, "big") + value


def decode_bin(data: bytes, pos: int, end: int) -> tuple[bytes, int]:
    start = pos + 2
    if start > end:
        raise malformed("binary data length runs past the end of its packet")
    stop = start + ((data[pos] << 8) | data[pos + 1])
    if stop > end:
        raise malformed("binary data runs past the end of its packet")
    return data[start:stop], stop
