"""The load generator's worker processes: raw TLS sockets writing pre-encoded MQTT 3.1.1 packets.

Nothing here decodes a packet fully. Received bytes are walked by fixed header (type nibble and remaining
length) to count PUBLISH packets; a QoS 1 delivery's packet id is sliced out to answer with a PUBACK, and a
latency probe's send timestamp (``time.perf_counter_ns``, CLOCK_MONOTONIC, so comparable across processes on
one machine) is read from the first 8 bytes of its payload.

Workers run in forked processes (``multiprocessing`` "fork" context) and talk to the parent only through
shared-memory counters (:class:`Shared`) and, once at the end, a result on a queue. The parent snapshots the
counters at the start and end of the measurement window, so workers never need synchronised clocks.
"""

from __future__ import annotations

import contextlib
import ctypes
import select
import socket
import ssl
import time
import traceback
from array import array
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.queues import Queue
from multiprocessing.sharedctypes import RawArray
from typing import Any, Final, TypeAlias

PROTOCOL_LEVEL: Final = 4  # MQTT 3.1.1
PAYLOAD_SIZE: Final = 100
PUBACK_HEADER: Final = b"\x40\x02"
PINGREQ: Final = b"\xc0\x00"
DISCONNECT: Final = b"\xe0\x00"
RECV_SIZE: Final = 256 * 1024
RING: Final = 65535  # pre-encoded messages per publisher; a QoS 1 message's packet id is its index + 1
SOCKET_TIMEOUT: Final = 0.25  # how often a blocked worker looks at the stop flag
HANDSHAKE_TIMEOUT: Final = 30.0
COALESCE_S: Final = 0.0005

# Flag slots in Shared.flags.
GO: Final = 0
STOP: Final = 1
WINDOW_START_NS: Final = 2  # latency samples count only for messages sent inside the window
WINDOW_END_NS: Final = 3

# Worker status values in Shared.status.
STARTING: Final = 0
READY: Final = 1
FAILED: Final = -1
DONE: Final = 2


# ------------------------------------------------------------------------------------------- encoding


def varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | 0x80 if n else byte)
        if not n:
            return bytes(out)


def _string(value: str) -> bytes:
    raw = value.encode()
    return len(raw).to_bytes(2, "big") + raw


def connect_packet(client_id: str, keep_alive: int = 1200, clean_session: bool = True) -> bytes:
    flags = 0x02 if clean_session else 0x00
    body = _string("MQTT") + bytes((PROTOCOL_LEVEL, flags)) + keep_alive.to_bytes(2, "big")
    body += _string(client_id)
    return b"\x10" + varint(len(body)) + body


def subscribe_packet(packet_id: int, topic_filter: str, qos: int) -> bytes:
    body = packet_id.to_bytes(2, "big") + _string(topic_filter) + bytes((qos,))
    return b"\x82" + varint(len(body)) + body


def publish_packet(topic: str, payload: bytes, qos: int = 0, packet_id: int | None = None) -> bytes:
    variable = _string(topic)
    if qos:
        assert packet_id is not None
        variable += packet_id.to_bytes(2, "big")
    body = variable + payload
    return bytes((0x30 | (qos << 1),)) + varint(len(body)) + body


def qos1_publish_prefix(topic: str, payload_size: int) -> bytes:
    """A QoS 1 PUBLISH up to its packet id, for a payload of ``payload_size`` bytes."""
    name = _string(topic)
    return b"\x32" + varint(len(name) + 2 + payload_size) + name


_PADDING: Final = b"corral-bench-" * (PAYLOAD_SIZE // 13 + 1)


# ------------------------------------------------------------------------------------------- shared state


@dataclass
class Shared:
    """Counters in shared memory, written by workers and read by the parent (and by QoS 1 publishers)."""

    flags: Any  # ctypes.Array[ctypes.c_int64]: GO, STOP, WINDOW_START_NS, WINDOW_END_NS
    status: Any  # ctypes.Array[ctypes.c_int64], one per worker process
    sent: Any  # ctypes.Array[ctypes.c_int64], one per publishing connection (or per connect-rate worker)
    received: Any  # ctypes.Array[ctypes.c_int64], one per subscribing connection
    acked: Any  # ctypes.Array[ctypes.c_int64], PUBACKs received per publishing connection
    # progress[s * publishers + p]: messages of publisher p that subscriber s has seen or skipped (dropped)
    progress: Any  # ctypes.Array[ctypes.c_int64]
    publishers: int

    @classmethod
    def create(cls, workers: int, publishers: int, subscribers: int) -> Shared:
        publishers = max(publishers, 1)
        return cls(
            flags=RawArray(ctypes.c_int64, 4),
            status=RawArray(ctypes.c_int64, max(workers, 1)),
            sent=RawArray(ctypes.c_int64, publishers),
            received=RawArray(ctypes.c_int64, max(subscribers, 1)),
            acked=RawArray(ctypes.c_int64, publishers),
            progress=RawArray(ctypes.c_int64, max(subscribers, 1) * publishers),
            publishers=publishers,
        )


@dataclass
class Endpoint:
    """Where a worker connects and with which client certificate."""

    port: int
    ca_file: str
    cert_file: str
    key_file: str
    host: str = "127.0.0.1"
    server_hostname: str = "localhost"

    def context(self) -> ssl.SSLContext:
        ctx = ssl.create_default_context(cafile=self.ca_file)
        ctx.load_cert_chain(self.cert_file, self.key_file)
        return ctx


@dataclass
class WorkerResult:
    worker: int
    error: str | None = None
    latencies_ns: bytes = b""  # array('q') of publish-to-deliver latencies
    closed_by_broker: int = 0  # connections the broker closed during the run
    errors: int = 0  # failed attempts (connect-rate worker)
    opened: int = 0  # connections opened (idle worker)


ResultQueue: TypeAlias = "Queue[WorkerResult]"


# ------------------------------------------------------------------------------------------- sockets


class BrokerClosed(Exception):
    pass


class TLSConn:
    """TLS over a plain socket through memory BIOs.

    ``ssl.SSLSocket.recv`` returns one TLS record per call, and a broker that writes each packet as its own
    record (Mosquitto does) would then cost the generator a system call and a Python round trip per message:
    the generator, not the broker, would be measured. Here one ``recv`` takes everything the kernel holds and
    the records are decrypted in a tight loop.
    """

    __slots__ = ("inbio", "obj", "outbio", "raw")

    def __init__(self, endpoint: Endpoint, ctx: ssl.SSLContext, timeout: float = HANDSHAKE_TIMEOUT) -> None:
        self.raw = socket.create_connection((endpoint.host, endpoint.port), timeout=timeout)
        try:
            self.raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.inbio, self.outbio = ssl.MemoryBIO(), ssl.MemoryBIO()
            self.obj = ctx.wrap_bio(self.inbio, self.outbio, server_hostname=endpoint.server_hostname)
            while True:
                try:
                    self.obj.do_handshake()
                    break
                except ssl.SSLWantReadError:
                    self.flush()
                    data = self.raw.recv(RECV_SIZE)
                    if not data:
                        raise BrokerClosed("broker closed the connection during the TLS handshake") from None
                    self.inbio.write(data)
            self.flush()
        except BaseException:
            self.raw.close()
            raise

    def fileno(self) -> int:
        return self.raw.fileno()

    def settimeout(self, timeout: float) -> None:
        self.raw.settimeout(timeout)

    def flush(self, flags: Any = None) -> bool:
        """Sends what TLS has produced; False if the stop flag rose while the socket stayed unwritable."""
        data = self.outbio.read()
        view = memoryview(data)
        off, end = 0, len(data)
        while off < end:
            try:
                off += self.raw.send(view[off:])
            except TimeoutError:
                if flags is None or flags[STOP]:
                    return False
        return True

    def send(self, data: bytes, flags: Any = None) -> bool:
        self.obj.write(data)
        return self.flush(flags)

    def recv(self) -> bytes | None:
        """Every decrypted byte available now; None when nothing arrived within the socket's timeout."""
        try:
            data = self.raw.recv(RECV_SIZE)
        except TimeoutError:
            return None
        if not data:
            raise BrokerClosed("broker closed the connection")
        self.inbio.write(data)
        parts: list[bytes] = []
        read = self.obj.read
        try:
            while True:
                parts.append(read(RECV_SIZE))
        except ssl.SSLWantReadError:
            pass
        except (ssl.SSLZeroReturnError, ssl.SSLEOFError):
            raise BrokerClosed("broker closed the TLS session") from None
        if self.outbio.pending:
            self.flush()
        if not parts:
            return None
        return parts[0] if len(parts) == 1 else b"".join(parts)

    def version(self) -> str:
        cipher = self.obj.cipher()
        return f"{self.obj.version()} {cipher[0] if cipher else '?'}"

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.raw.close()


def read_packet(conn: TLSConn, buf: bytearray) -> tuple[int, bytes]:
    """One whole packet (first byte, body); bytes read past it stay in ``buf``."""
    deadline = time.monotonic() + HANDSHAKE_TIMEOUT
    while True:
        if len(buf) >= 2:
            length, mult, pos = 0, 1, 1
            complete = False
            while pos < len(buf) and pos < 5:
                byte = buf[pos]
                length += (byte & 0x7F) * mult
                mult <<= 7
                pos += 1
                if byte < 0x80:
                    complete = True
                    break
            if complete and len(buf) >= pos + length:
                first, body = buf[0], bytes(buf[pos : pos + length])
                del buf[: pos + length]
                return first, body
        chunk = conn.recv()
        if chunk is not None:
            buf += chunk
        elif time.monotonic() > deadline:
            raise TimeoutError("no answer from the broker")


def mqtt_connect(
    endpoint: Endpoint, ctx: ssl.SSLContext, client_id: str, keep_alive: int = 1200
) -> tuple[TLSConn, bytearray]:
    conn = TLSConn(endpoint, ctx)
    try:
        conn.send(connect_packet(client_id, keep_alive))
        buf = bytearray()
        first, body = read_packet(conn, buf)
        if first != 0x20 or len(body) != 2 or body[1] != 0:
            raise RuntimeError(f"CONNECT refused: first byte {first:#x}, body {body.hex()}")
        return conn, buf
    except BaseException:
        conn.close()
        raise


def mqtt_subscribe(conn: TLSConn, buf: bytearray, topic_filter: str, qos: int) -> None:
    conn.send(subscribe_packet(1, topic_filter, qos))
    while True:
        first, body = read_packet(conn, buf)
        if first == 0x90:
            if body[2:] != bytes((qos,)):
                raise RuntimeError(f"SUBSCRIBE {topic_filter!r} QoS {qos} answered {body[2:].hex()}")
            return
        # Anything else before the SUBACK (a retained message, say) is ignored.


def wait_for_go(shared: Shared) -> bool:
    flags = shared.flags
    while not flags[GO]:
        if flags[STOP]:
            return False
        time.sleep(0.001)
    return not flags[STOP]


def run_worker(
    index: int, shared: Shared, results: ResultQueue, body: Callable[[WorkerResult], None]
) -> None:
    """Common wrapper: status bookkeeping and one WorkerResult on the queue, whatever happens."""
    result = WorkerResult(worker=index)
    try:
        body(result)
        shared.status[index] = DONE
    except BaseException as exc:  # reported to the parent, which prints it
        result.error = f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=4)}"
        shared.status[index] = FAILED
    results.put(result)


# ------------------------------------------------------------------------------------------- subscribers


@dataclass
class SubscriberSpec:
    endpoint: Endpoint
    client_ids: list[str]
    slots: list[int]  # index in Shared.received of each connection
    topic: str
    qos: int
    latency: bool = False
    # Pause after each round of reads so that records pile up in the kernel and one recv takes many:
    # a broker that writes each delivery as its own TLS record would otherwise cost this process a
    # wake-up per message, CPU the broker it shares the cores with would lose. Not for latency runs.
    coalesce_s: float = COALESCE_S


class _Stream:
    __slots__ = ("count", "full", "last", "prev", "rest", "slot", "sock")

    def __init__(self, sock: TLSConn, slot: int, rest: bytes, publishers: int) -> None:
        self.sock = sock
        self.slot = slot
        self.rest = rest
        self.count = 0
        self.last = [-1] * publishers  # ring index of the last message seen from each publisher
        self.prev = [-1] * publishers
        self.full = [0] * publishers  # messages from each publisher up to and including the last seen


def subscriber(index: int, spec: SubscriberSpec, shared: Shared, results: ResultQueue) -> None:
    def body(result: WorkerResult) -> None:
        ctx = spec.endpoint.context()
        streams: list[_Stream] = []
        for client_id, slot in zip(spec.client_ids, spec.slots, strict=True):
            sock, buf = mqtt_connect(spec.endpoint, ctx, client_id)
            mqtt_subscribe(sock, buf, spec.topic, spec.qos)
            sock.settimeout(SOCKET_TIMEOUT)
            streams.append(_Stream(sock, slot, bytes(buf), shared.publishers))
        shared.status[index] = READY
        latencies = array("q")
        try:
            _subscribe_loop(streams, spec, shared, latencies, result)
        finally:
            for st in streams:
                st.sock.close()
        result.latencies_ns = latencies.tobytes()

    run_worker(index, shared, results, body)


def _subscribe_loop(
    streams: list[_Stream], spec: SubscriberSpec, shared: Shared, latencies: array[int], result: WorkerResult
) -> None:
    flags, received, progress = shared.flags, shared.received, shared.progress
    n_pub = shared.publishers
    qos1 = spec.qos == 1
    latency = spec.latency
    by_fd = {st.sock.fileno(): st for st in streams}
    poller = select.poll()
    for fd in by_fd:
        poller.register(fd, select.POLLIN)
    single = streams[0] if len(streams) == 1 else None
    live = len(streams)
    acks: list[bytes] = []
    coalesce = 0.0 if latency else spec.coalesce_s
    sleep = time.sleep
    while not flags[STOP] and live:
        if coalesce:
            sleep(coalesce)
        if single is not None:
            ready = [single]
        else:
            ready = [by_fd[fd] for fd, _ in poller.poll(SOCKET_TIMEOUT * 1000)]
        for st in ready:
            sock = st.sock
            try:
                chunk = sock.recv()
            except (BrokerClosed, OSError):
                result.closed_by_broker += 1
                poller.unregister(sock.fileno())
                live -= 1
                if single is not None:
                    single = None
                    live = 0
                continue
            if chunk is None:
                continue
            now = time.perf_counter_ns()
            data = st.rest + chunk if st.rest else chunk
            n = len(data)
            pos = 0
            count = st.count
            last = st.last
            start, end = flags[WINDOW_START_NS], flags[WINDOW_END_NS] or 1 << 62
            while pos + 2 <= n:
                first = data[pos]
                length = data[pos + 1]
                header = 2
                if length >= 0x80:
                    length &= 0x7F
                    mult = 128
                    while True:
                        if pos + header >= n:
                            header = -1
                            break
                        byte = data[pos + header]
                        header += 1
                        length += (byte & 0x7F) * mult
                        mult <<= 7
                        if byte < 0x80:
                            break
                    if header < 0:
                        break
                stop = pos + header + length
                if stop > n:
                    break
                if first & 0xF0 == 0x30:
                    count += 1
                    at = pos + header
                    at += 2 + ((data[at] << 8) | data[at + 1])  # past the topic name
                    if first & 0x06:
                        if qos1:
                            acks.append(PUBACK_HEADER + data[at : at + 2])
                        at += 2
                    # Payload: publisher slot, ring index, send time (see ``message_payload``).
                    last[data[at]] = (data[at + 1] << 8) | data[at + 2]
                    if latency:
                        sent = int.from_bytes(data[at + 3 : at + 11], "big")
                        if start <= sent < end:
                            latencies.append(now - sent)
                pos = stop
            st.rest = data[pos:] if pos < n else b""
            st.count = count
            received[st.slot] = count
            prev, full = st.prev, st.full
            base = st.slot * n_pub
            for p in range(n_pub):
                if last[p] != prev[p]:
                    full[p] += (last[p] - prev[p]) % RING
                    prev[p] = last[p]
                    progress[base + p] = full[p]
            if acks:
                out = b"".join(acks)
                acks.clear()
                if not sock.send(out, flags):
                    return


# ------------------------------------------------------------------------------------------- publishers


@dataclass
class PublisherSpec:
    endpoint: Endpoint
    client_id: str
    slot: int  # index in Shared.sent / Shared.acked, and the publisher byte of each payload
    topic: str
    qos: int = 0
    budget: int = 125  # messages published but not yet seen by the slowest subscriber
    window: int = 100  # QoS 1: unacknowledged publishes
    batch: int = 128


def message_payload(slot: int, index: int, sent_ns: int = 0) -> bytes:
    """Publisher slot (1 byte), ring index (2 bytes), send time (8 bytes), padding to PAYLOAD_SIZE."""
    head = bytes((slot,)) + index.to_bytes(2, "big") + sent_ns.to_bytes(8, "big")
    return head + _PADDING[: PAYLOAD_SIZE - len(head)]


def publisher(index: int, spec: PublisherSpec, shared: Shared, results: ResultQueue) -> None:
    def body(result: WorkerResult) -> None:
        ctx = spec.endpoint.context()
        sock, buf = mqtt_connect(spec.endpoint, ctx, spec.client_id)
        sock.settimeout(SOCKET_TIMEOUT)
        shared.status[index] = READY
        try:
            if not wait_for_go(shared):
                return
            _publish_window(sock, bytes(buf), spec, shared, result)
        finally:
            sock.close()

    run_worker(index, shared, results, body)


def _publish_window(
    sock: TLSConn, rest: bytes, spec: PublisherSpec, shared: Shared, result: WorkerResult
) -> None:
    """Publishes as fast as two windows allow: at most ``budget`` messages not yet seen by the slowest
    subscriber (so no broker queue overflows and the generator never burns CPU the broker needs), and for
    QoS 1 at most ``window`` publishes not yet acknowledged."""
    flags, sent_counts, acked_counts, progress = shared.flags, shared.sent, shared.acked, shared.progress
    slot, qos1 = spec.slot, spec.qos == 1
    mine = range(slot, len(progress), shared.publishers)  # progress of each subscriber on my messages
    if qos1:
        prefix = qos1_publish_prefix(spec.topic, PAYLOAD_SIZE)
        ring = [prefix + (i + 1).to_bytes(2, "big") + message_payload(slot, i) for i in range(RING)]
    else:
        ring = [publish_packet(spec.topic, message_payload(slot, i)) for i in range(RING)]
    next_index = 0
    outstanding = 0  # QoS 1: unacknowledged
    sent = acked = 0
    buf = rest
    while not flags[STOP]:
        room = spec.budget - (sent - min([progress[i] for i in mine]))
        if qos1:
            room = min(room, spec.window - outstanding)
        if room > 0:
            k = min(room, spec.batch)
            stop = next_index + k
            if stop <= RING:
                data = b"".join(ring[next_index:stop])
            else:
                data = b"".join(ring[next_index:]) + b"".join(ring[: stop - RING])
            next_index = stop % RING
            if not sock.send(data, flags):
                return
            outstanding += k
            sent += k
            sent_counts[slot] = sent
        if not qos1:
            if room <= 0:
                time.sleep(0.0005)  # wait for the subscribers to catch up
            continue
        if not outstanding:
            time.sleep(0.0002)
            continue
        if room > 0:
            continue  # still room: keep writing before reading the PUBACKs
        time.sleep(COALESCE_S)  # let PUBACKs pile up: one wake-up for many (see SubscriberSpec)
        try:
            chunk = sock.recv()
        except BrokerClosed:
            result.closed_by_broker += 1
            return
        if chunk is None:
            continue
        data = buf + chunk if buf else chunk
        pos, n, acks = 0, len(data), 0
        while pos + 2 <= n:  # the broker sends this connection nothing but PUBACKs (4 bytes)
            end = pos + 2 + data[pos + 1]
            if end > n:
                break
            if data[pos] == 0x40:
                acks += 1
            pos = end
        buf = data[pos:]
        outstanding -= acks
        acked += acks
        acked_counts[slot] = acked


@dataclass
class PacedSpec:
    """Several publishing connections driven from one process at a fixed total rate, each message carrying
    its send time. One process rather than one per connection: at tens of thousands of messages a second,
    per-connection processes waking for every message would take the CPU the broker needs and the
    latency measured would be the generator's."""

    endpoint: Endpoint
    client_ids: list[str]
    slots: list[int]  # index in Shared.sent of each connection, and the publisher byte of its payloads
    topic: str
    rate: float  # messages per second, all connections together
    tick_s: float = 0.0002  # send what is due every tick; messages due in one tick share a timestamp


def paced_publishers(index: int, spec: PacedSpec, shared: Shared, results: ResultQueue) -> None:
    def body(result: WorkerResult) -> None:
        ctx = spec.endpoint.context()
        conns: list[TLSConn] = []
        try:
            for client_id in spec.client_ids:
                conn, _ = mqtt_connect(spec.endpoint, ctx, client_id)
                conn.settimeout(SOCKET_TIMEOUT)
                conns.append(conn)
            shared.status[index] = READY
            if wait_for_go(shared):
                _publish_paced(conns, spec, shared)
        finally:
            for conn in conns:
                conn.close()

    run_worker(index, shared, results, body)


def _publish_paced(conns: list[TLSConn], spec: PacedSpec, shared: Shared) -> None:
    flags, sent_counts = shared.flags, shared.sent
    prefix = b"\x30" + varint(len(spec.topic.encode()) + 2 + PAYLOAD_SIZE) + _string(spec.topic)
    n = len(conns)
    sent = [0] * n
    total = 0
    turn = 0  # which connection takes the remainder when a tick's messages do not split evenly
    rate_per_ns = spec.rate / 1e9
    start = time.perf_counter_ns()
    tick_ns = spec.tick_s * 1e9
    while not flags[STOP]:
        now = time.perf_counter_ns()
        due = int((now - start) * rate_per_ns) + 1
        k = due - total
        if k <= 0:
            wait = ((total / rate_per_ns) - (now - start)) / 1e9
            time.sleep(max(wait, spec.tick_s) if wait > 0 else spec.tick_s)
            continue
        k = min(k, 1000)
        now = time.perf_counter_ns()
        for j in range(n):
            c = (turn + j) % n
            share = k // n + (1 if j < k % n else 0)
            if not share:
                continue
            slot = spec.slots[c]
            data = b"".join(prefix + message_payload(slot, (sent[c] + i) % RING, now) for i in range(share))
            if not conns[c].send(data, flags):
                return
            sent[c] += share
            sent_counts[slot] = sent[c]
        turn = (turn + k) % n
        total += k
        elapsed = time.perf_counter_ns() - now
        if elapsed < tick_ns:
            time.sleep((tick_ns - elapsed) / 1e9)


# ------------------------------------------------------------------------------------------- connections


@dataclass
class IdleSpec:
    endpoint: Endpoint
    client_ids: list[str]
    slot: int  # index in Shared.sent: connections opened so far


def idle_connections(index: int, spec: IdleSpec, shared: Shared, results: ResultQueue) -> None:
    """Opens connections (TLS, CONNECT with keep alive 1200, CONNACK) and holds them until told to stop."""

    def body(result: WorkerResult) -> None:
        ctx = spec.endpoint.context()
        socks: list[TLSConn] = []
        try:
            for client_id in spec.client_ids:
                if shared.flags[STOP]:
                    break
                sock, _ = mqtt_connect(spec.endpoint, ctx, client_id)
                socks.append(sock)
                shared.sent[spec.slot] = len(socks)
            result.opened = len(socks)
            shared.status[index] = READY
            while not shared.flags[STOP]:
                time.sleep(0.05)
        finally:
            for sock in socks:
                with contextlib.suppress(OSError):
                    sock.send(DISCONNECT)
                sock.close()

    run_worker(index, shared, results, body)


@dataclass
class ConnectRateSpec:
    endpoint: Endpoint
    client_prefix: str
    slot: int  # index in Shared.sent: completed connect+subscribe cycles
    topic: str


def connect_subscribe(index: int, spec: ConnectRateSpec, shared: Shared, results: ResultQueue) -> None:
    """Repeats TLS handshake + CONNECT/CONNACK + SUBSCRIBE/SUBACK, then DISCONNECT and close."""

    def body(result: WorkerResult) -> None:
        ctx = spec.endpoint.context()
        shared.status[index] = READY
        if not wait_for_go(shared):
            return
        flags, counts = shared.flags, shared.sent
        done = 0
        while not flags[STOP]:
            try:
                sock, buf = mqtt_connect(spec.endpoint, ctx, f"{spec.client_prefix}-{done}")
            except (OSError, RuntimeError, BrokerClosed):
                result.errors += 1
                if result.errors > 100:
                    raise
                continue
            try:
                mqtt_subscribe(sock, buf, spec.topic, 1)
                sock.send(DISCONNECT)
            except (OSError, RuntimeError, BrokerClosed):
                result.errors += 1
                continue
            finally:
                sock.close()
            done += 1
            counts[spec.slot] = done

    run_worker(index, shared, results, body)
