"""Broker benchmark: Corral against Debian's Mosquitto, same machine, same TLS, same client certificates.

Run with ``make bench`` (``BENCH_ARGS="--quick"`` etc.) or ``.venv/bin/python bench/broker.py --help``.
See bench/README.md for what each row measures and how to read it.

Both brokers run side by side for the whole invocation; each scenario runs against Corral, then against
Mosquitto. The load generator (``loadgen.py``) is several forked processes writing pre-encoded MQTT 3.1.1
packets over raw TLS sockets. The generator and the brokers share the machine's cores, so throughput is
reported twice: the raw rate, and the rate per second of broker CPU (utime + stime of the broker process
from ``/proc/PID/stat``), which does not depend on how much CPU the generator left the broker.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import json
import multiprocessing
import os
import platform
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from multiprocessing.context import ForkContext, ForkProcess
from pathlib import Path
from typing import Any, Final

import boto3
import loadgen
from loadgen import (
    GO,
    READY,
    STOP,
    WINDOW_END_NS,
    WINDOW_START_NS,
    ConnectRateSpec,
    Endpoint,
    IdleSpec,
    PacedSpec,
    PublisherSpec,
    ResultQueue,
    Shared,
    SubscriberSpec,
    WorkerResult,
)

from corral.auth.ca import CorralPKI, ensure_pki, issue_client_certificate

CORRAL: Final = "Corral"
MOSQUITTO: Final = "Mosquitto"
# What Corral enforces in the run: registered certificates and this IoT policy (variables, wildcards).
BENCH_POLICY: Final = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": "iot:Connect",
                "Resource": "arn:aws:iot:*:*:client/${iot:ClientId}",
            },
            {
                "Effect": "Allow",
                "Action": ["iot:Publish", "iot:Receive"],
                "Resource": "arn:aws:iot:*:*:topic/bench/*",
            },
            {"Effect": "Allow", "Action": "iot:Subscribe", "Resource": "arn:aws:iot:*:*:topicfilter/bench/*"},
        ],
    }
)
DEFAULT_AUTH: Final = (
    "registered ACTIVE certificates (RegisterCertificateWithoutCA); IoT policy: Connect"
    " client/${iot:ClientId}, Publish+Receive topic/bench/*, Subscribe topicfilter/bench/*"
)
STARTUP_TIMEOUT: Final = 30.0
CLK_TCK: Final = os.sysconf("SC_CLK_TCK")
ROOT: Final = Path(__file__).resolve().parent.parent
SCENARIOS: Final = ("memory", "connect", "qos0-fanin", "qos1-fanin", "qos0-fanout", "qos1-fanout", "latency")


# ------------------------------------------------------------------------------------------- /proc


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process (all its threads), in seconds."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()  # fields from the 3rd (state) on
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def machine_busy_seconds() -> float:
    """CPU time all cores spent on anything but idling, from /proc/stat."""
    fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(f) for f in fields[:8])
    return (user + nice + system + irq + softirq + steal) / CLK_TCK


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmRSS for pid {pid}")


def raise_nofile() -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or hard > soft:
        target = 65536 if hard == resource.RLIM_INFINITY else hard
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        soft = target
    return soft


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


# ------------------------------------------------------------------------------------------- brokers


@dataclass
class Target:
    """One broker under test."""

    name: str
    process: subprocess.Popen[bytes]
    port: int
    log_file: Path
    version: str
    auth: str
    settings: str
    tls: str = ""

    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def _wait_for_port(process: subprocess.Popen[bytes], port: int, log_file: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"broker exited with {process.returncode}:\n{log_file.read_text()[-3000:]}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
            return
        if time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"broker did not listen on {port} in time:\n{log_file.read_text()[-3000:]}")
        time.sleep(0.05)


def _git_version() -> str:
    try:
        out = subprocess.run(
            ["git", "-C", str(ROOT), "describe", "--always", "--dirty"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except OSError:
        return "unknown"
    return out.stdout.strip() or "unknown"


def start_corral(work: Path) -> Target:
    data_dir = work / "corral-data"
    endpoints_file = data_dir / "endpoints.json"
    log_file = work / "corral-serve.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("CORRAL_")}
    args = ["--host", "127.0.0.1", "--mqtts-port", "0", "--https-port", "0", "--http-port", "0"]
    with log_file.open("ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "corral.cli.main", "serve", "--data-dir", str(data_dir), *args],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=work,
        )
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while not endpoints_file.exists():
        if process.poll() is not None:
            raise RuntimeError(f"corral serve exited with {process.returncode}:\n{log_file.read_text()}")
        if time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"corral serve did not write endpoints.json in time:\n{log_file.read_text()}")
        time.sleep(0.05)
    endpoints = json.loads(endpoints_file.read_text())
    port = int(endpoints["mqtts"].rsplit(":", 1)[1])
    return Target(
        name=CORRAL,
        process=process,
        port=port,
        log_file=log_file,
        version=f"corral {_git_version()} (Python {platform.python_version()})",
        auth=DEFAULT_AUTH,
        settings="defaults (inflight 100, queue 1000, 1 MiB output buffer per connection)",
    )


def start_mosquitto(work: Path, pki: CorralPKI, binary: str, extra: Sequence[str] = ()) -> Target:
    port = free_port()
    conf = work / "mosquitto.conf"
    log_file = work / "mosquitto.log"
    lines = [
        "per_listener_settings false",
        "persistence false",
        "allow_anonymous true",  # no username with require_certificate: like Corral's allow-all
        # Corral's quotas (AWS IoT's): 100 unacknowledged QoS 1 deliveries, 1000 queued per client.
        "max_inflight_messages 100",
        "max_queued_messages 1000",
        f"listener {port} 127.0.0.1",
        f"cafile {pki.ca_cert_file.resolve()}",
        f"certfile {pki.server_cert_file.resolve()}",
        f"keyfile {pki.server_key_file.resolve()}",
        "require_certificate true",
        "use_identity_as_username false",
        "tls_version tlsv1.2",  # the oldest version accepted; TLS 1.3 is negotiated when offered
        *extra,
    ]
    if os.geteuid() == 0:
        lines.insert(0, "user root")  # otherwise it drops to user mosquitto, which cannot read the 0600 key
    conf.write_text("\n".join(lines) + "\n")
    with log_file.open("ab") as log:
        process = subprocess.Popen([binary, "-c", str(conf)], stdout=log, stderr=subprocess.STDOUT, cwd=work)
    _wait_for_port(process, port, log_file)
    help_out = subprocess.run([binary, "-h"], capture_output=True, text=True, check=False).stdout
    version = help_out.splitlines()[0].strip() if help_out else "mosquitto"
    return Target(
        name=MOSQUITTO,
        process=process,
        port=port,
        log_file=log_file,
        version=version,
        auth="require_certificate true, use_identity_as_username false, allow_anonymous true",
        settings="; ".join(
            [
                "max_inflight_messages 100, max_queued_messages 1000, rest default",
                *extra,
            ]
        ),
    )


def probe_tls(endpoint: Endpoint) -> str:
    conn = loadgen.TLSConn(endpoint, endpoint.context())
    try:
        return conn.version()
    finally:
        conn.close()


# ------------------------------------------------------------------------------------------- load runs


@dataclass
class Certs:
    ca_file: str
    files: dict[str, tuple[str, str]]  # role -> (certificate, key)

    def endpoint(self, target: Target, role: str) -> Endpoint:
        cert, key = self.files[role]
        return Endpoint(port=target.port, ca_file=self.ca_file, cert_file=cert, key_file=key)


def register_with_corral(work: Path, certs: Certs) -> None:
    """Corral admits only registered certificates: register the bench's and attach the bench policy,
    through Corral's own API with the administrator key it wrote."""
    endpoints = json.loads((work / "corral-data" / "endpoints.json").read_text())
    os.environ["AWS_SHARED_CREDENTIALS_FILE"] = endpoints["credentials_file"]
    session = boto3.Session(profile_name=endpoints["profile"])
    iot = session.client("iot", endpoint_url=f"http://{endpoints['http']}", region_name=endpoints["region"])
    iot.create_policy(policyName="bench", policyDocument=BENCH_POLICY)
    for cert_file, _key in certs.files.values():
        created = iot.register_certificate_without_ca(
            certificatePem=Path(cert_file).read_text(), status="ACTIVE"
        )
        iot.attach_policy(policyName="bench", target=created["certificateArn"])


def issue_certs(pki: CorralPKI, work: Path, roles: Sequence[str]) -> Certs:
    files: dict[str, tuple[str, str]] = {}
    for role in roles:
        cert_pem, key_pem = issue_client_certificate(pki, f"bench-{role}")
        assert key_pem is not None
        folder = work / "devices" / role
        folder.mkdir(parents=True, exist_ok=True)
        cert, key = folder / "certificate.pem.crt", folder / "private.pem.key"
        cert.write_bytes(cert_pem)
        key.touch(mode=0o600)
        key.write_bytes(key_pem)
        files[role] = (str(cert), str(key))
    return Certs(str(pki.ca_cert_file.resolve()), files)


@dataclass
class Window:
    elapsed: float = 0.0
    cpu: float = 0.0
    delivered: int = 0
    published: int = 0
    acked: int = 0
    generator_cpu: float = 0.0
    other_cpu: float = 0.0  # everything else on the machine (the parent, the idle broker, other work)


@dataclass
class LoadResult:
    window: Window
    results: list[WorkerResult]
    latencies_ns: list[int] = field(default_factory=list)

    @property
    def closed_by_broker(self) -> int:
        return sum(r.closed_by_broker for r in self.results)

    @property
    def errors(self) -> list[str]:
        return [r.error for r in self.results if r.error]


class WorkerGroup:
    """Forked worker processes sharing one Shared block and one result queue."""

    def __init__(self, ctx: ForkContext, shared: Shared) -> None:
        self.ctx = ctx
        self.shared = shared
        self.results: ResultQueue = ctx.Queue()
        self.processes: list[ForkProcess] = []

    def start(self, target: Callable[..., None], spec: object) -> int:
        index = len(self.processes)
        process = self.ctx.Process(target=target, args=(index, spec, self.shared, self.results), daemon=True)
        process.start()
        self.processes.append(process)
        return index

    def cpu_seconds(self) -> float:
        total = 0.0
        for process in self.processes:
            if process.pid is not None:
                with contextlib.suppress(OSError):
                    total += cpu_seconds(process.pid)
        return total

    def wait_ready(self, indices: Sequence[int], timeout: float, broker: Target) -> None:
        deadline = time.monotonic() + timeout
        status = self.shared.status
        while True:
            states = [status[i] for i in indices]
            if all(s == READY for s in states):
                return
            if any(s == loadgen.FAILED for s in states) or any(s == loadgen.DONE for s in states):
                self.shared.flags[STOP] = 1
                errors = [r.error for r in self.collect() if r.error]
                raise RuntimeError(f"{broker.name}: a worker failed to start:\n" + "\n".join(errors))
            if not broker.alive():
                raise RuntimeError(f"{broker.name} exited: see {broker.log_file}")
            if time.monotonic() > deadline:
                self.shared.flags[STOP] = 1
                self.collect()
                raise RuntimeError(f"{broker.name}: workers not ready after {timeout:.0f} s")
            time.sleep(0.01)

    def collect(self, timeout: float = 30.0) -> list[WorkerResult]:
        self.shared.flags[STOP] = 1
        out: list[WorkerResult] = []
        deadline = time.monotonic() + timeout
        while len(out) < len(self.processes):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            try:
                out.append(self.results.get(timeout=min(remaining, 1.0)))
            except Exception:  # queue.Empty: check whether the missing workers died
                if not any(p.is_alive() for p in self.processes) and self.results.empty():
                    break
        for process in self.processes:
            process.join(timeout=2)
            if process.is_alive():
                process.terminate()
                process.join(timeout=2)
        self.processes = []
        return out


def sum_counts(array: Any) -> int:
    return int(sum(array))


def run_load(
    ctx: ForkContext,
    broker: Target,
    subscribers: Sequence[SubscriberSpec],
    publishers: Sequence[PublisherSpec | PacedSpec],
    warmup: float,
    duration: float,
    profiler: Profiler | None = None,
) -> LoadResult:
    n_sub_conns = sum(len(s.client_ids) for s in subscribers)
    n_pub_conns = sum(len(p.client_ids) if isinstance(p, PacedSpec) else 1 for p in publishers)
    shared = Shared.create(len(subscribers) + len(publishers), n_pub_conns, n_sub_conns)
    paced = any(isinstance(p, PacedSpec) for p in publishers)
    group = WorkerGroup(ctx, shared)
    try:
        subs = [group.start(loadgen.subscriber, spec) for spec in subscribers]
        group.wait_ready(subs, 60, broker)
        pubs = [
            group.start(loadgen.paced_publishers if isinstance(spec, PacedSpec) else loadgen.publisher, spec)
            for spec in publishers
        ]
        group.wait_ready(pubs, 60, broker)
        shared.flags[GO] = 1
        time.sleep(warmup)
        t0, cpu0, gen0 = time.perf_counter(), cpu_seconds(broker.pid), group.cpu_seconds()
        busy0 = machine_busy_seconds()
        shared.flags[WINDOW_START_NS] = time.perf_counter_ns()
        d0, p0, a0 = sum_counts(shared.received), sum_counts(shared.sent), sum_counts(shared.acked)
        if profiler is not None:
            profiler.start(broker.pid, duration)
        time.sleep(duration)
        shared.flags[WINDOW_END_NS] = time.perf_counter_ns()
        t1, cpu1, gen1 = time.perf_counter(), cpu_seconds(broker.pid), group.cpu_seconds()
        busy1 = machine_busy_seconds()
        d1, p1, a1 = sum_counts(shared.received), sum_counts(shared.sent), sum_counts(shared.acked)
        if paced:
            time.sleep(0.3)  # let the last probes of the window arrive
    finally:
        results = group.collect()
    if profiler is not None:
        profiler.wait()
    other = (busy1 - busy0) - (cpu1 - cpu0) - (gen1 - gen0)
    window = Window(t1 - t0, cpu1 - cpu0, d1 - d0, p1 - p0, a1 - a0, gen1 - gen0, max(other, 0.0))
    latencies: list[int] = []
    for r in results:
        if r.latencies_ns:
            latencies.extend(memoryview(r.latencies_ns).cast("q").tolist())
    load = LoadResult(window, results, latencies)
    if load.errors:
        raise RuntimeError(f"{broker.name}: worker errors:\n" + "\n".join(load.errors))
    return load


def split(items: Sequence[str], parts: int) -> list[list[str]]:
    parts = max(1, min(parts, len(items)))
    return [list(items[i::parts]) for i in range(parts)]


# ------------------------------------------------------------------------------------------- profiler


class Profiler:
    """py-spy record on the broker during one measurement window (an investigation aid, not a dependency)."""

    def __init__(self, py_spy: str, out_dir: Path, name: str, native: bool) -> None:
        self.py_spy = py_spy
        self.out_file = out_dir / f"{name}.folded"
        self.native = native
        self.process: subprocess.Popen[bytes] | None = None
        self.log = out_dir / f"{name}.py-spy.log"

    def start(self, pid: int, duration: float) -> None:
        cmd = [self.py_spy, "record", "--pid", str(pid), "--duration", str(max(1, round(duration)))]
        cmd += ["--rate", "250", "--format", "raw", "--output", str(self.out_file)]
        # Native stacks need the process paused for each sample, which slows it down; Python-only
        # sampling reads its memory while it runs.
        cmd.append("--native" if self.native else "--nonblocking")
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)

    def wait(self) -> None:
        if self.process is not None:
            try:
                self.process.wait(60)
            except subprocess.TimeoutExpired:
                self.process.kill()

    def summary(self, top: int = 20) -> list[str]:
        if not self.out_file.exists():
            return [f"(no profile: see {self.log})"]
        own: collections.Counter[str] = collections.Counter()
        own_lines: collections.Counter[str] = collections.Counter()
        inclusive: collections.Counter[str] = collections.Counter()
        total = 0
        for line in self.out_file.read_text(errors="replace").splitlines():
            stack, _, count_text = line.rpartition(" ")
            if not stack or not count_text.isdigit():
                continue
            count = int(count_text)
            total += count
            raw_frames = stack.split(";")
            frames = [_frame_name(f) for f in raw_frames]
            own[frames[-1]] += count
            own_lines[_frame_name(raw_frames[-1], keep_line=True)] += count
            for name in set(frames):
                inclusive[name] += count
        if not total:
            return ["(profile empty)"]
        lines = [f"py-spy: {total} samples while busy (idle excluded), raw stacks in {self.out_file}"]
        lines.append(f"  top {top} by own time (function where the sample landed):")
        lines += [f"    {100 * c / total:5.1f}%  {name}" for name, c in own.most_common(top)]
        lines.append(f"  top {top} lines by own time:")
        lines += [f"    {100 * c / total:5.1f}%  {name}" for name, c in own_lines.most_common(top)]
        lines.append(f"  top {top} by inclusive time (frames in 99% of the samples or more left out):")
        below_root = [(name, c) for name, c in inclusive.most_common() if c < 0.99 * total]
        lines += [f"    {100 * c / total:5.1f}%  {name}" for name, c in below_root[:top]]
        return lines


def _frame_name(frame: str, keep_line: bool = False) -> str:
    # "func (path/to/file.py:123)" -> "func (corral/x/file.py)"; native frames may have no location.
    match = re.match(r"^(.*?) \((.*?)(:\d+)?\)$", frame)
    if not match:
        return frame
    func, location, line = match.groups()
    marker = "site-packages/"
    if marker in location:
        short = location.split(marker, 1)[1]
    elif "/corral/" in location:
        short = "corral/" + location.split("/corral/", 1)[1]
    else:
        short = os.path.basename(location)
    suffix = (line or "") if keep_line else ""
    return f"{func} ({short}{suffix})"


# ------------------------------------------------------------------------------------------- scenarios


@dataclass
class Options:
    duration: float
    warmup: float
    idle_connections: int
    fanout: int
    fanout_qos1: int
    latency_fraction: float
    latency_rate: float
    sub_procs: int
    connect_procs: int
    inflight: int
    profile_dir: Path | None
    native: bool


@dataclass
class Measurement:
    value: float | None = None
    per_cpu: float | None = None
    note: str = ""
    noisy: bool = False  # other processes used a good share of the CPU during the window


NOISY_SHARE: Final = 0.25  # of a core, used by processes other than the broker and the generator


def noisy(other_cpu: float, elapsed: float) -> bool:
    return elapsed > 0 and other_cpu / elapsed > NOISY_SHARE


Results = dict[str, dict[str, Measurement]]  # metric -> broker -> measurement


class Bench:
    def __init__(self, ctx: ForkContext, opts: Options, certs: Certs, targets: list[Target]) -> None:
        self.ctx = ctx
        self.opts = opts
        self.certs = certs
        self.targets = targets
        self.results: Results = {}
        self.notes: list[str] = []
        self.profiles: list[Profiler] = []
        self.qos0_peak: dict[str, float] = {}
        self.run_id = f"{os.getpid()}-{int(time.time())}"

    def record(self, metric: str, target: Target, m: Measurement) -> None:
        self.results.setdefault(metric, {})[target.name] = m

    def ids(self, target: Target, what: str, n: int) -> list[str]:
        return [f"bench-{target.name.lower()}-{what}-{self.run_id}-{i}" for i in range(n)]

    def progress(self, text: str) -> None:
        print(f"  {text}", file=sys.stderr, flush=True)

    # -- throughput --------------------------------------------------------------------------------

    def fan(self, target: Target, metric: str, qos: int, n_pub: int, n_sub: int, tag: str) -> None:
        opts = self.opts
        topic = f"bench/{tag}"
        pub_ep = self.certs.endpoint(target, "publisher")
        sub_ep = self.certs.endpoint(target, "subscriber")
        sub_ids = self.ids(target, f"{tag}-sub", n_sub)
        slot = 0
        subs: list[SubscriberSpec] = []
        for group_ids in split(sub_ids, opts.sub_procs):
            slots = list(range(slot, slot + len(group_ids)))
            slot += len(group_ids)
            subs.append(SubscriberSpec(sub_ep, group_ids, slots, topic, qos))
        budget = max(1, opts.inflight // n_pub)
        pubs = [
            PublisherSpec(pub_ep, cid, i, topic, qos=qos, budget=budget)
            for i, cid in enumerate(self.ids(target, f"{tag}-pub", n_pub))
        ]
        profiler = self.profiler(target, tag) if tag == "qos0-fanin" else None
        load = run_load(self.ctx, target, subs, pubs, opts.warmup, opts.duration, profiler)
        w = load.window
        rate = w.delivered / w.elapsed
        per_cpu = w.delivered / w.cpu if w.cpu > 0 else None
        self.record(metric, target, Measurement(rate, per_cpu, noisy=noisy(w.other_cpu, w.elapsed)))
        if tag == "qos0-fanin":
            self.qos0_peak[target.name] = rate
        expected = w.published * n_sub
        share = f"{100 * w.delivered / expected:.1f}% of published x subscribers" if expected else "-"
        note = (
            f"{target.name} {metric}: published {w.published / w.elapsed:,.0f}/s, delivered {share}, "
            f"broker CPU {100 * w.cpu / w.elapsed:.0f}% of a core, "
            f"load generator {100 * w.generator_cpu / w.elapsed:.0f}%, rest of the machine "
            f"{100 * w.other_cpu / w.elapsed:.0f}%"
        )
        if load.closed_by_broker:
            note += f", {load.closed_by_broker} connection(s) CLOSED BY THE BROKER"
        self.notes.append(note)
        self.progress(f"{target.name:9s} {metric}: {rate:,.0f}/s, {per_cpu or 0:,.0f}/CPU-s")

    # -- latency -----------------------------------------------------------------------------------

    def latency(self, target: Target, label: str, total_rate: float, n_pub: int = 4) -> None:
        opts = self.opts
        tag = "latency"
        topic = f"bench/{tag}"
        subs = [
            SubscriberSpec(
                self.certs.endpoint(target, "subscriber"),
                self.ids(target, f"{tag}-sub", 1),
                [0],
                topic,
                0,
                latency=True,
            )
        ]
        pub_ids = self.ids(target, f"{tag}-pub", n_pub)
        pubs = [
            PacedSpec(
                self.certs.endpoint(target, "publisher"), pub_ids, list(range(n_pub)), topic, total_rate
            )
        ]
        load = run_load(self.ctx, target, subs, pubs, opts.warmup, opts.duration)
        samples = sorted(load.latencies_ns)
        w = load.window
        if not samples:
            raise RuntimeError(f"{target.name}: no latency samples")
        p50, p99 = percentile(samples, 50) / 1e6, percentile(samples, 99) / 1e6
        at = f"@ {total_rate:,.0f}/s"
        busy = noisy(w.other_cpu, w.elapsed)
        self.record(
            f"latency p50 {label}, ms (lower is better)", target, Measurement(p50, note=at, noisy=busy)
        )
        self.record(
            f"latency p99 {label}, ms (lower is better)", target, Measurement(p99, note=at, noisy=busy)
        )
        self.notes.append(
            f"{target.name} latency {label}: {len(samples):,} samples at {total_rate:,.0f} msg/s "
            f"(achieved {w.published / w.elapsed:,.0f}/s published, {w.delivered / w.elapsed:,.0f}/s "
            f"delivered), max {samples[-1] / 1e6:.2f} ms, broker CPU {100 * w.cpu / w.elapsed:.0f}%, "
            f"load generator {100 * w.generator_cpu / w.elapsed:.0f}%, "
            f"rest of the machine {100 * w.other_cpu / w.elapsed:.0f}%"
        )
        self.progress(f"{target.name:9s} latency {label}: p50 {p50:.3f} ms, p99 {p99:.3f} ms")

    # -- connections -------------------------------------------------------------------------------

    def idle_memory(self, target: Target) -> None:
        n = self.opts.idle_connections
        endpoint = self.certs.endpoint(target, "idle")
        # Warm the broker up (first handshakes, allocator arenas) before the baseline.
        self._hold(target, endpoint, self.ids(target, "warm", 20), procs=1, settle=0.2)
        time.sleep(0.5)
        before = rss_bytes(target.pid)
        holding: list[int] = []

        def measure() -> None:
            holding.append(rss_bytes(target.pid))

        opened = self._hold(
            target, endpoint, self.ids(target, "idle", n), procs=4, settle=1.0, during=measure
        )
        after = holding[0]
        per_conn = (after - before) / opened / 1024 if opened else float("nan")
        self.record("idle memory per connection, KB (lower is better)", target, Measurement(per_conn))
        self.notes.append(
            f"{target.name} idle memory: {opened} connections, RSS {before / 2**20:.1f} -> "
            f"{after / 2**20:.1f} MiB"
        )
        self.progress(f"{target.name:9s} idle memory: {per_conn:.1f} KB/connection ({opened} connections)")

    def _hold(
        self,
        target: Target,
        endpoint: Endpoint,
        ids: list[str],
        procs: int,
        settle: float,
        during: Callable[[], None] | None = None,
    ) -> int:
        shared = Shared.create(procs, procs, 0)
        group = WorkerGroup(self.ctx, shared)
        try:
            indices = [
                group.start(loadgen.idle_connections, IdleSpec(endpoint, part, i))
                for i, part in enumerate(split(ids, procs))
            ]
            group.wait_ready(indices, 300, target)
            time.sleep(settle)
            if during is not None:
                during()
            opened = sum_counts(shared.sent)
        finally:
            results = group.collect()
        errors = [r.error for r in results if r.error]
        if errors:
            raise RuntimeError(f"{target.name}: idle connections failed:\n" + "\n".join(errors))
        time.sleep(0.5)  # let the broker finish closing them
        return opened

    def profiler(self, target: Target, tag: str) -> Profiler | None:
        """A py-spy recorder for Corral in this scenario, when --profile asks for one."""
        opts = self.opts
        if opts.profile_dir is None or target.name != CORRAL:
            return None
        py_spy = find_py_spy()
        if py_spy is None:
            self.notes.append("--profile: py-spy not found (pip install py-spy into .venv)")
            return None
        profiler = Profiler(py_spy, opts.profile_dir, f"corral-{tag}", opts.native)
        self.profiles.append(profiler)
        return profiler

    def connect_rate(self, target: Target) -> None:
        opts = self.opts
        profiler = self.profiler(target, "connect")
        procs = opts.connect_procs
        shared = Shared.create(procs, procs, 0)
        group = WorkerGroup(self.ctx, shared)
        endpoint = self.certs.endpoint(target, "connect")
        try:
            indices = [
                group.start(
                    loadgen.connect_subscribe,
                    ConnectRateSpec(
                        endpoint, f"bench-{target.name.lower()}-conn-{self.run_id}-{i}", i, "bench/c"
                    ),
                )
                for i in range(procs)
            ]
            group.wait_ready(indices, 60, target)
            shared.flags[GO] = 1
            time.sleep(opts.warmup)
            t0, cpu0, c0 = time.perf_counter(), cpu_seconds(target.pid), sum_counts(shared.sent)
            gen0, busy0 = group.cpu_seconds(), machine_busy_seconds()
            if profiler is not None:
                profiler.start(target.pid, opts.duration)
            time.sleep(opts.duration)
            t1, cpu1, c1 = time.perf_counter(), cpu_seconds(target.pid), sum_counts(shared.sent)
            gen1, busy1 = group.cpu_seconds(), machine_busy_seconds()
        finally:
            results = group.collect()
            if profiler is not None:
                profiler.wait()
        errors = [r.error for r in results if r.error]
        if errors:
            raise RuntimeError(f"{target.name}: connect workers failed:\n" + "\n".join(errors))
        failed = sum(r.errors for r in results)
        rate = (c1 - c0) / (t1 - t0)
        per_cpu = (c1 - c0) / (cpu1 - cpu0) if cpu1 > cpu0 else None
        elapsed = t1 - t0
        other = max((busy1 - busy0) - (cpu1 - cpu0) - (gen1 - gen0), 0.0)
        self.record(
            "connect+subscribe (TLS), connections/s",
            target,
            Measurement(rate, per_cpu, noisy=noisy(other, elapsed)),
        )
        self.notes.append(
            f"{target.name} connect+subscribe: {procs} processes, {failed} failed attempts, broker CPU "
            f"{100 * (cpu1 - cpu0) / elapsed:.0f}% of a core, "
            f"load generator {100 * (gen1 - gen0) / elapsed:.0f}%, "
            f"rest of the machine {100 * other / elapsed:.0f}%"
        )
        self.progress(f"{target.name:9s} connect+subscribe: {rate:,.0f}/s, {per_cpu or 0:,.0f}/CPU-s")
        time.sleep(0.5)

    # -- the whole run -----------------------------------------------------------------------------

    def each(self, action: Callable[[Target], None]) -> None:
        for target in self.targets:
            if not target.alive():
                raise RuntimeError(f"{target.name} is no longer running: see {target.log_file}")
            action(target)

    def run(self, scenarios: Sequence[str]) -> None:
        opts = self.opts
        if "memory" in scenarios:
            self.each(self.idle_memory)
        if "connect" in scenarios:
            self.each(self.connect_rate)
        if "qos0-fanin" in scenarios or "latency" in scenarios:
            self.each(lambda t: self.fan(t, "QoS 0 fan-in 4->1, deliveries/s", 0, 4, 1, "qos0-fanin"))
        if "qos1-fanin" in scenarios:
            self.each(lambda t: self.fan(t, "QoS 1 fan-in 4->1, deliveries/s", 1, 4, 1, "qos1-fanin"))
        n0, n1 = opts.fanout, opts.fanout_qos1
        if "qos0-fanout" in scenarios:
            self.each(lambda t: self.fan(t, f"QoS 0 fan-out 1->{n0}, deliveries/s", 0, 1, n0, "qos0-fanout"))
        if "qos1-fanout" in scenarios:
            self.each(lambda t: self.fan(t, f"QoS 1 fan-out 1->{n1}, deliveries/s", 1, 1, n1, "qos1-fanout"))
        if "latency" not in scenarios:
            return
        pct = f"{100 * opts.latency_fraction:.0f}%"
        self.each(
            lambda t: self.latency(
                t, f"@{pct} of own QoS 0 peak", opts.latency_fraction * self.qos0_peak[t.name]
            )
        )
        if opts.latency_rate > 0:
            rate = opts.latency_rate
            self.each(lambda t: self.latency(t, f"@{rate:,.0f} msg/s", rate))


def percentile(sorted_values: Sequence[int], pct: float) -> float:
    if not sorted_values:
        return float("nan")
    k = (len(sorted_values) - 1) * pct / 100
    lo = int(k)
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (k - lo)


def find_py_spy() -> str | None:
    local = Path(sys.executable).parent / "py-spy"
    if local.exists():
        return str(local)
    return shutil.which("py-spy")


# ------------------------------------------------------------------------------------------- output


def fmt(value: float | None, unit: str = "") -> str:
    if value is None or value != value:
        return "-"
    if unit == "ms":
        return f"{value:.3f}"
    if unit == "KB":
        return f"{value:.1f}"
    if abs(value) >= 1e6:
        return f"{value / 1e6:.2f}M"
    if abs(value) >= 1e4:
        return f"{value / 1e3:.1f}k"
    return f"{value:,.0f}"


def ratio(a: float | None, b: float | None) -> str:
    if a is None or b is None or not b or a != a or b != b:
        return "-"
    return f"{a / b:.2f}x"


def render_table(results: Results, names: Sequence[str]) -> str:
    corral, mosq = CORRAL, MOSQUITTO
    header = ["metric", corral, "per CPU-s", mosq, "per CPU-s", "ratio", "ratio/CPU-s"]
    rows: list[list[str]] = []
    for metric, by_name in results.items():
        unit = "ms" if ", ms" in metric else "KB" if ", KB" in metric else ""
        c, m = by_name.get(corral), by_name.get(mosq)
        row = [metric]
        for meas in (c, m):
            if meas is None:
                row += ["n/a", ""]
                continue
            cell = fmt(meas.value, unit)
            if meas.note:
                cell += f" {meas.note}"
            if meas.noisy:
                cell = "*" + cell
            row += [cell, fmt(meas.per_cpu) if meas.per_cpu is not None else ""]
        if c is not None and m is not None:
            row.append(ratio(c.value, m.value))
            row.append(ratio(c.per_cpu, m.per_cpu) if c.per_cpu is not None and m.per_cpu is not None else "")
        else:
            row += ["", ""]
        rows.append(row)
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    sep = "-+-".join("-" * w for w in widths)

    def line(cells: list[str]) -> str:
        return " | ".join(
            cells[i].ljust(widths[i]) if i == 0 else cells[i].rjust(widths[i]) for i in range(len(cells))
        )

    out = [line(header), sep, *(line(r) for r in rows)]
    if any(m.noisy for by_name in results.values() for m in by_name.values()):
        out.append(
            f"* other processes used more than {100 * NOISY_SHARE:.0f}% of a core during that window "
            "(see the notes): rerun for a clean number"
        )
    if len(names) < 2:
        out.append("(only one broker measured: no ratios)")
    return "\n".join(out)


def machine_line() -> str:
    model = "?"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return f"{os.cpu_count()} CPUs ({model}), Linux {platform.release()}, Python {platform.python_version()}"


# ------------------------------------------------------------------------------------------- main


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--duration", type=float, default=5.0, help="measurement window per scenario, s")
    p.add_argument("--warmup", type=float, default=1.0, help="load before each window, s")
    p.add_argument("--only", choices=["corral", "mosquitto"], help="measure one broker only")
    p.add_argument("--quick", action="store_true", help="2 s windows, 500 idle connections, fan-out 10/5")
    p.add_argument("--idle-connections", type=int, default=2000)
    p.add_argument("--fanout", type=int, default=20, help="subscribers in the QoS 0 fan-out")
    p.add_argument("--fanout-qos1", type=int, default=10, help="subscribers in the QoS 1 fan-out")
    p.add_argument("--latency-fraction", type=float, default=0.25, help="of each broker's QoS 0 fan-in peak")
    p.add_argument("--latency-rate", type=float, default=1000.0, help="fixed rate for both, msg/s (0: skip)")
    p.add_argument("--sub-procs", type=int, default=4, help="subscriber processes (fan-out)")
    p.add_argument("--connect-procs", type=int, default=4, help="processes in the connect+subscribe run")
    p.add_argument(
        "--inflight",
        type=int,
        default=800,
        help="messages published but not yet delivered to the slowest subscriber, across publishers",
    )
    p.add_argument("--mosquitto", default="/usr/sbin/mosquitto", help="mosquitto binary")
    p.add_argument(
        "--scenarios",
        default=",".join(SCENARIOS),
        help=f"comma-separated subset of {','.join(SCENARIOS)} (latency runs qos0-fanin for its rate)",
    )
    p.add_argument(
        "--mosquitto-option",
        action="append",
        default=[],
        metavar="LINE",
        help="extra mosquitto.conf line (repeatable; a later line overrides an earlier one)",
    )
    p.add_argument(
        "--profile",
        type=Path,
        metavar="DIR",
        help="py-spy record Corral's QoS 0 fan-in and connect runs into DIR",
    )
    p.add_argument("--native", action="store_true", help="with --profile: include native frames")
    p.add_argument("--keep", action="store_true", help="keep the work dir (logs, configs, certificates)")
    args = p.parse_args(argv)
    args.scenarios = [s.strip() for s in args.scenarios.split(",") if s.strip()]
    unknown = sorted(set(args.scenarios) - set(SCENARIOS))
    if unknown:
        p.error(f"unknown scenario(s): {', '.join(unknown)}")
    if args.quick:
        args.duration = min(args.duration, 2.0)
        args.warmup = min(args.warmup, 0.5)
        args.idle_connections = min(args.idle_connections, 500)
        args.fanout = min(args.fanout, 10)
        args.fanout_qos1 = min(args.fanout_qos1, 5)
    return args


@contextlib.contextmanager
def work_dir(keep: bool) -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="corral-bench-"))
    try:
        yield path
    finally:
        if keep:
            print(f"work dir kept: {path}")
        else:
            shutil.rmtree(path, ignore_errors=True)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.monotonic()
    nofile = raise_nofile()
    if args.profile is not None:
        args.profile.mkdir(parents=True, exist_ok=True)
        args.profile = args.profile.resolve()
    opts = Options(
        duration=args.duration,
        warmup=args.warmup,
        idle_connections=args.idle_connections,
        fanout=args.fanout,
        fanout_qos1=args.fanout_qos1,
        latency_fraction=args.latency_fraction,
        latency_rate=args.latency_rate,
        sub_procs=args.sub_procs,
        connect_procs=args.connect_procs,
        inflight=args.inflight,
        profile_dir=args.profile,
        native=args.native,
    )
    ctx = multiprocessing.get_context("fork")
    with work_dir(args.keep) as work:
        pki = ensure_pki(work / "corral-data")  # Corral's CA and server certificate, shared with Mosquitto
        certs = issue_certs(pki, work, ["publisher", "subscriber", "idle", "connect"])
        targets: list[Target] = []
        try:
            if args.only in (None, "corral"):
                targets.append(start_corral(work))
                register_with_corral(work, certs)
            if args.only in (None, "mosquitto"):
                if not Path(args.mosquitto).exists():
                    raise SystemExit(f"{args.mosquitto} not found: run make system-deps")
                targets.append(start_mosquitto(work, pki, args.mosquitto, args.mosquitto_option))
            for t in targets:
                t.tls = probe_tls(certs.endpoint(t, "publisher"))
            print_header(args, opts, targets, nofile)
            bench = Bench(ctx, opts, certs, targets)
            bench.run(args.scenarios)
        finally:
            for t in targets:
                t.stop()
        print()
        print(render_table(bench.results, [t.name for t in targets]))
        print()
        print("ratio = Corral / Mosquitto: above 1x is better for Corral on throughput rows, below 1x is")
        print("better for Corral on rows marked (lower is better). per CPU-s = deliveries (or connections)")
        print("per second of broker CPU time (utime+stime); the load generator shares the same cores.")
        if any(t.name == MOSQUITTO for t in targets):
            print("Mosquitto keeps its default set_tcp_nodelay false: its connect+subscribe rate is bound by")
            print("Nagle + delayed ACK, not CPU (see bench/README.md); compare the per CPU-s column.")
        print()
        print("Notes:")
        for note in bench.notes:
            print(f"  {note}")
        for profiler in bench.profiles:
            print()
            print("\n".join(profiler.summary()))
    print(f"\nTotal time {time.monotonic() - started:.0f} s")
    return 0


def print_header(args: argparse.Namespace, opts: Options, targets: Sequence[Target], nofile: int) -> None:
    print("Corral broker benchmark")
    print(f"  machine    {machine_line()}, RLIMIT_NOFILE {nofile}")
    print(
        f"  load       {opts.warmup:g} s warm-up + {opts.duration:g} s window per scenario; "
        f"MQTT 3.1.1 over TLS, {loadgen.PAYLOAD_SIZE}-byte payloads, keep alive 1200, "
        "client certificates (RSA 2048) issued by Corral's CA"
    )
    print(
        f"  flow       at most {opts.inflight} messages published but not yet delivered to the slowest "
        "subscriber (within both brokers' 1000-message queues);"
    )
    print(f"  {'':10s} QoS 1 publishers also keep at most 100 PUBACKs outstanding")
    for t in targets:
        print(f"  {t.name:10s} {t.version}; pid {t.pid}; port {t.port}; {t.tls}")
        print(f"  {'':10s} auth: {t.auth}")
        print(f"  {'':10s} settings: {t.settings}")
    print(flush=True)


if __name__ == "__main__":
    sys.exit(main())
