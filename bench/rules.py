"""Rules engine benchmark: IoT SQL evaluations per second, and messages per second through a republish rule on
a real ``corral serve`` beside plain forwarding (Corral's and Mosquitto's, which has no rules engine).

Run with ``.venv/bin/python bench/rules.py`` (``--help`` for the options). Printed, never asserted; see
bench/README.md ("Rules") for what each line measures.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from multiprocessing.context import ForkContext
from pathlib import Path
from typing import Any, Final

import boto3
import broker as broker_bench
import loadgen
import orjson
from broker import Certs, Target, issue_certs, register_with_corral, run_load, start_corral, start_mosquitto
from loadgen import PublisherSpec, SubscriberSpec

from corral.auth.ca import ensure_pki
from corral.rules.sql import EvalContext, compile_statement, output_payload
from corral.rules.sql.values import NO_MATCH

ROLE: Final = "arn:aws:iam::000000000000:role/bench"
RULE_IN: Final = "bench/rules-in"
RULE_OUT: Final = "bench/rules-out"
PLAIN: Final = "bench/plain"
SENML: Final = {
    "e": [
        {"n": "temperature", "u": "Cel", "t": 1234, "v": 22.5},
        {"n": "light", "u": "lm", "t": 1235, "v": 135},
        {"n": "acidity", "u": "pH", "t": 1235, "v": 7},
    ]
}
READING: Final = {"name": "boiler-7", "temp": 61.5, "humidity": 40, "site": {"id": "north", "floor": 2}}


@dataclass(frozen=True)
class Case:
    label: str
    sql: str
    payload: bytes


CASES: Final = (
    Case("simple filter", "SELECT * FROM 'a/#' WHERE temp > 50", orjson.dumps(READING)),
    Case(
        "projection with functions",
        "SELECT upper(name) AS n, round(temp * 1.8 + 32) AS f, timestamp() AS t FROM 'a/#'",
        orjson.dumps(READING),
    ),
    Case(
        "nested SELECT",
        "SELECT (SELECT v FROM e WHERE n = 'temperature') AS temperature FROM 'a/#'",
        orjson.dumps(SENML),
    ),
)


# ------------------------------------------------------------------------------------------- evaluation


def evaluations_per_second(case: Case, seconds: float) -> tuple[float, float, bytes]:
    """(evaluations/s, evaluations + output bytes/s, the output) of one statement on one payload, in this
    process: what the runner does per (rule, message) before any action, without the task around it."""
    statement = compile_statement(case.sql, "2016-03-23")

    def context() -> EvalContext:
        return EvalContext(
            topic="a/b", payload=case.payload, timestamp_ms=1_700_000_000_000, account_id="000000000000",
            region="us-east-1", rule_name="bench", sql_version="2016-03-23",
        )  # fmt: skip

    def evaluate() -> None:
        statement.evaluate(context())

    def evaluate_and_serialize() -> None:
        result = statement.evaluate(context())
        if result is not NO_MATCH:
            output_payload(result)

    result = statement.evaluate(context())
    assert result is not NO_MATCH, f"{case.sql} does not match its payload"
    return rate(evaluate, seconds), rate(evaluate_and_serialize, seconds), output_payload(result)


def rate(work: Callable[[], None], seconds: float) -> float:
    """Calls per second of ``work``, in batches, over at least ``seconds``."""
    for _ in range(1000):  # warm up
        work()
    calls, batch = 0, 1000
    started = time.perf_counter()
    deadline = started + seconds
    while True:
        for _ in range(batch):
            work()
        calls += batch
        now = time.perf_counter()
        if now >= deadline:
            return calls / (now - started)


# ------------------------------------------------------------------------------------------- end to end


def create_republish_rule(work: Path, source: str, target: str) -> None:
    endpoints = json.loads((work / "corral-data" / "endpoints.json").read_text())
    session = boto3.Session(profile_name=endpoints["profile"])
    iot = session.client("iot", endpoint_url=f"http://{endpoints['http']}", region_name=endpoints["region"])
    iot.create_topic_rule(
        ruleName="bench_republish",
        topicRulePayload={
            "sql": f"SELECT * FROM '{source}'",
            "awsIotSqlVersion": "2016-03-23",
            "actions": [{"republish": {"topic": target, "roleArn": ROLE}}],
        },
    )


@dataclass
class Flow:
    label: str
    rate: float
    per_cpu: float | None
    published: float
    broker_cpu: float
    generator_cpu: float
    other_cpu: float
    closed: int


def flow(
    ctx: ForkContext, target: Target, certs: Certs, args: argparse.Namespace, label: str, pub: str, sub: str
) -> Flow:
    """``args.publishers`` QoS 0 publishers on ``pub`` and one QoS 0 subscriber on ``sub``: deliveries/s at
    the subscriber, with the loadgen's flow control (bench/README.md)."""
    tag = f"{target.name.lower()}-{label.replace(' ', '-')}-{os.getpid()}"
    subscriber = SubscriberSpec(certs.endpoint(target, "subscriber"), [f"sub-{tag}"], [0], sub, 0)
    budget = max(1, args.inflight // args.publishers)
    publishers = [
        PublisherSpec(certs.endpoint(target, "publisher"), f"pub-{tag}-{i}", i, pub, qos=0, budget=budget)
        for i in range(args.publishers)
    ]
    load = run_load(ctx, target, [subscriber], publishers, args.warmup, args.duration)
    w = load.window
    return Flow(
        label=f"{target.name}: {label}",
        rate=w.delivered / w.elapsed,
        per_cpu=w.delivered / w.cpu if w.cpu > 0 else None,
        published=w.published / w.elapsed,
        broker_cpu=w.cpu / w.elapsed,
        generator_cpu=w.generator_cpu / w.elapsed,
        other_cpu=w.other_cpu / w.elapsed,
        closed=load.closed_by_broker,
    )


def end_to_end(args: argparse.Namespace) -> list[Flow]:
    ctx = multiprocessing.get_context("fork")
    flows: list[Flow] = []
    with broker_bench.work_dir(args.keep) as work:
        pki = ensure_pki(work / "corral-data")
        certs = issue_certs(pki, work, ["publisher", "subscriber"])
        corral = start_corral(work)
        try:
            register_with_corral(work, certs)  # also points boto3 at the server's credentials file
            create_republish_rule(work, RULE_IN, RULE_OUT)
            progress("Corral: republish rule")
            flows.append(flow(ctx, corral, certs, args, "republish rule", RULE_IN, RULE_OUT))
            progress("Corral: plain forwarding")
            flows.append(flow(ctx, corral, certs, args, "plain forwarding", PLAIN, PLAIN))
        finally:
            corral.stop()
        if args.mosquitto and Path(args.mosquitto).exists():
            mosquitto = start_mosquitto(work, pki, args.mosquitto)
            try:
                progress("Mosquitto: plain forwarding")
                flows.append(flow(ctx, mosquitto, certs, args, "plain forwarding", PLAIN, PLAIN))
            finally:
                mosquitto.stop()
        elif args.mosquitto:
            progress(f"{args.mosquitto} not found (make system-deps): no Mosquitto line")
    return flows


# ------------------------------------------------------------------------------------------- output


def progress(text: str) -> None:
    print(f"  {text}", file=sys.stderr, flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    broker_bench.raise_nofile()
    print("Corral rules benchmark")
    print(f"  machine    {broker_bench.machine_line()}")
    print()
    print(f"IoT SQL evaluations in one process (SQL 2016-03-23; {args.eval_seconds:g} s per line):")
    print(f"  {'statement':28s} {'evaluations/s':>14s} {'+ output bytes/s':>17s}  output")
    for case in CASES:
        evaluated, serialized, output = evaluations_per_second(case, args.eval_seconds)
        print(f"  {case.label:28s} {evaluated:>14,.0f} {serialized:>17,.0f}  {output.decode()[:60]}")
        print(f"  {'':28s} {case.sql}")
    if args.skip_end_to_end:
        return 0
    print()
    print(
        f"Messages through a real server ({args.publishers} QoS 0 publishers -> 1 QoS 0 subscriber, "
        f"MQTT 3.1.1 over TLS, {loadgen.PAYLOAD_SIZE}-byte payloads; "
        f"{args.warmup:g} s warm-up + {args.duration:g} s):"
    )
    flows = end_to_end(args)
    print(f"  {'':36s} {'deliveries/s':>13s} {'per broker CPU-s':>17s}")
    for f in flows:
        per_cpu = f"{f.per_cpu:,.0f}" if f.per_cpu else "-"
        print(f"  {f.label:36s} {f.rate:>13,.0f} {per_cpu:>17s}")
    print()
    print("  SELECT * FROM 'bench/rules-in' republished to 'bench/rules-out'; the subscriber listens on")
    print("  'bench/rules-out' only. Mosquitto has no rules engine: its plain forwarding rate is for scale.")
    print("Notes:")
    for f in flows:
        note = (
            f"  {f.label}: published {f.published:,.0f}/s, broker CPU {100 * f.broker_cpu:.0f}% of a core, "
            f"load generator {100 * f.generator_cpu:.0f}%, rest of the machine {100 * f.other_cpu:.0f}%"
        )
        if f.closed:
            note += f", {f.closed} connection(s) CLOSED BY THE BROKER"
        print(note)
    return 0


def parse_args(argv: Sequence[str] | None) -> Any:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--eval-seconds", type=float, default=2.0, help="seconds per evaluation line")
    parser.add_argument("--duration", type=float, default=5.0, help="measurement window per flow (s)")
    parser.add_argument("--warmup", type=float, default=1.0, help="warm-up before each window (s)")
    parser.add_argument("--publishers", type=int, default=4, help="publishing connections (processes)")
    parser.add_argument("--inflight", type=int, default=800, help="messages published but not yet received")
    parser.add_argument("--mosquitto", default="/usr/sbin/mosquitto", help="Mosquitto binary ('' to skip)")
    parser.add_argument("--skip-end-to-end", action="store_true", help="only the evaluation lines")
    parser.add_argument("--keep", action="store_true", help="keep the work dir (logs)")
    return parser.parse_args(argv)


if __name__ == "__main__":
    sys.exit(main())
