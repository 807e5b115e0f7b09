"""The ``aws-chunked`` content encoding of S3 uploads (``x-amz-content-sha256:
STREAMING-UNSIGNED-PAYLOAD-TRAILER``, what botocore sends over HTTPS): ``<hex size>[;ext]\\r\\n<data>\\r\\n``
chunks, a zero-size chunk, then trailer lines (``x-amz-checksum-crc32:...``) and an empty line.

Sans-I/O: :meth:`AwsChunkedDecoder.feed` takes bytes as they arrive and returns the payload bytes they
complete; ``trailers`` holds the trailer headers once ``done``.
"""

from __future__ import annotations


class AwsChunkedError(ValueError):
    pass


class AwsChunkedDecoder:
    def __init__(self) -> None:
        self._buffer = bytearray()
        self._remaining = 0  # payload bytes left in the current chunk
        self._state = "size"  # size | data | crlf | trailers | done
        self.trailers: dict[str, str] = {}

    @property
    def done(self) -> bool:
        return self._state == "done"

    def feed(self, data: bytes) -> bytes:
        self._buffer += data
        out = bytearray()
        while True:
            if self._state == "data":
                take = min(self._remaining, len(self._buffer))
                out += self._buffer[:take]
                del self._buffer[:take]
                self._remaining -= take
                if self._remaining:
                    return bytes(out)
                self._state = "crlf"
                continue
            if self._state == "done":
                if self._buffer.strip():
                    raise AwsChunkedError("data after the final chunk")
                return bytes(out)
            end = self._buffer.find(b"\r\n")
            if end < 0:
                if len(self._buffer) > 8192:
                    raise AwsChunkedError("chunk header too long")
                return bytes(out)
            line = bytes(self._buffer[:end])
            del self._buffer[: end + 2]
            if self._state == "crlf":
                if line:
                    raise AwsChunkedError("chunk data longer than its size")
                self._state = "size"
            elif self._state == "size":
                try:
                    size = int(line.split(b";", 1)[0].strip(), 16)
                except ValueError as exc:
                    raise AwsChunkedError(f"bad chunk size {line!r}") from exc
                if size:
                    self._remaining = size
                    self._state = "data"
                else:
                    self._state = "trailers"
            elif line:
                name, _, value = line.decode("latin-1").partition(":")
                self.trailers[name.strip().lower()] = value.strip()
            else:
                self._state = "done"
