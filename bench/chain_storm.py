"""Model-chain storm: 8 worker processes drive an open-loop load through three strategies against
the fake Bedrock, one after the other on the same arrivals, and print JSON.

- ours: the shared-Redis chain (app.llm.chain), recording every call in PostgreSQL like the app;
- naive: ordered fallback, no memory (the next model on every throttle);
- per_process: each process keeps its own cooldowns (the earlier tool's design).

Seven models, each limited to RPM requests per minute by the fake; the offered load is 80% of the
aggregate capacity and far above the primary's. Ours also goes through a 30 s outage of every model
(every call throttled) and its recovery. python -m bench.chain_storm [--steady 60] [--rpm 120]
"""
from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
MODELS = [f"storm-model-{i}" for i in range(7)]
WORKERS = 8
LATENCY_S = 0.2
PROBE_WINDOW_S = 2.0


def arrivals(rate_per_s: float, duration: float, seed: int) -> list[float]:
    rng, t, out = random.Random(seed), 0.0, []
    while True:
        t += rng.expovariate(rate_per_s)
        if t >= duration:
            return out
        out.append(t)


# ------------------------------------------------------------------------------------ workers
def naive_call(provider, specs, request, deadline, log):
    from app.llm.errors import ModelCallError

    attempts = 0
    while time.monotonic() < deadline:
        for spec in specs:
            attempts += 1
            log.append((time.time(), spec.id, "call"))
            try:
                return provider.complete(spec, request), attempts
            except ModelCallError:
                continue
        time.sleep(random.uniform(0.5, 1.5))
    return None, attempts


def per_process_call(provider, specs, request, deadline, log, cooldowns, lock):
    from app.llm.errors import ModelCallError

    attempts = 0
    while time.monotonic() < deadline:
        now = time.monotonic()
        with lock:
            ready = [s for s in specs if cooldowns.get(s.id, 0) <= now]
        if not ready:
            with lock:
                wake = min(cooldowns.values())
            time.sleep(max(0.05, wake - now))
            continue
        for spec in ready:
            attempts += 1
            log.append((time.time(), spec.id, "call"))
            try:
                return provider.complete(spec, request), attempts
            except ModelCallError as error:
                if error.kind == "throttle":
                    with lock:
                        cooldowns[spec.id] = time.monotonic() + spec.cooldown_s
    return None, attempts


def worker(args) -> None:
    import redis

    from app.extensions import build_engine
    from app.llm.bedrock import BedrockProvider
    from app.llm.chain import ModelChain
    from app.llm.errors import CapacityExhausted
    from app.llm.records import CallRecorder
    from app.llm.state import ChainState
    from app.llm.types import ModelRequest, ModelSpec

    specs = [ModelSpec(m, m, rpm=args.rpm, tpm=10**9, cooldown_s=5 * (i + 1)) for i, m in enumerate(MODELS)]
    provider = BedrockProvider("us-east-1", args.fake, 2, 10, max_connections=128)
    log: list = []  # (time, model, kind) for every call the strategy makes
    cooldown_log: list = []  # (model, start, end) set by this process (ours)
    results: list = []
    lock = threading.Lock()
    cooldowns: dict = {}
    connection = redis.Redis.from_url(args.redis)

    class LoggedState(ChainState):
        def acquire(self, model_specs, cost):
            decision = super().acquire(model_specs, cost)
            if decision.kind != "wait":  # Redis server time: one clock for every process
                log.append((decision.at_ms / 1000, model_specs[decision.index].id, decision.kind))
            return decision

        def report(self, spec, decision, outcome, actual_tokens=None):
            duration = super().report(spec, decision, outcome, actual_tokens)
            if decision.kind == "probe" and outcome == "success":
                # A successful probe reopens the model: the cooldown ends here.
                cooldown_log.append((spec.id, decision.reported_at_ms / 1000, -1))
            if outcome == "throttle" and duration > 0:
                now = decision.reported_at_ms / 1000
                cooldown_log.append((spec.id, now, now + duration))
            return duration

    engine = build_engine(args.db) if args.db else None
    recorder = CallRecorder(engine)
    chain = ModelChain(specs, LoggedState(connection, prefix=args.prefix, probe_window_s=PROBE_WINDOW_S), provider, recorder)
    request = ModelRequest(messages=[{"role": "user", "text": "Review: " + "x" * 400}], max_tokens=200)

    def one(offset: float):
        started = time.monotonic()
        deadline = started + args.deadline
        model, attempts, overhead = None, 0, None
        try:
            if args.strategy == "ours":
                while True:  # CapacityExhausted is a deferral, as analysis jobs treat it
                    try:
                        response = chain.complete(request, context={"purpose": "bench"}, max_wait_s=max(0.0, deadline - time.monotonic()))
                        break
                    except CapacityExhausted as exc:
                        if time.monotonic() + exc.retry_after > deadline:
                            raise
                        time.sleep(exc.retry_after)
                model, attempts, overhead = response.model_id, response.attempts, response.overhead_ms
            elif args.strategy == "naive":
                response, attempts = naive_call(provider, specs, request, deadline, log)
                model = response.model_id if response else None
            else:
                response, attempts = per_process_call(provider, specs, request, deadline, log, cooldowns, lock)
                model = response.model_id if response else None
        except CapacityExhausted:
            model = None
        results.append({"t": args.t0 + offset, "done": time.time(), "model": model, "attempts": attempts, "overhead_ms": overhead})

    times = arrivals(args.rate / WORKERS, args.duration, args.seed)
    with ThreadPoolExecutor(max_workers=256) as pool:
        for offset in times:
            delay = args.t0 + offset - time.time()
            if delay > 0:
                time.sleep(delay)
            pool.submit(one, offset)
    recorder.flush()
    recorded = 0
    if engine is not None:
        from sqlalchemy import text

        with engine.connect() as conn:
            recorded = conn.execute(text("SELECT count(*) FROM model_calls")).scalar()
    with open(args.out, "w") as handle:
        json.dump({"results": results, "log": log, "cooldowns": cooldown_log, "recorded": recorded}, handle)


# ------------------------------------------------------------------------------------ driver
def run_strategy(strategy, fake, redis_url, db_url, rate, duration, rpm, outage=None) -> dict:
    import redis

    fake.reset()
    prefix = f"bench:{uuid.uuid4().hex[:8]}:"
    t0 = time.time() + 2.0
    outdir = tempfile.mkdtemp(prefix="storm-")
    procs = []
    for i in range(WORKERS):
        out = os.path.join(outdir, f"{i}.json")
        cmd = [sys.executable, "-m", "bench.chain_storm", "--worker", "--strategy", strategy, "--fake", fake.url,
               "--redis", redis_url, "--prefix", prefix, "--rate", str(rate), "--duration", str(duration),
               "--t0", str(t0), "--seed", str(1000 + i), "--out", out, "--rpm", str(rpm), "--deadline", "100"]
        if db_url and strategy == "ours":
            cmd += ["--db", db_url]
        procs.append((subprocess.Popen(cmd, cwd=ROOT), out))
    if outage:
        start_after, length = outage
        time.sleep(max(0.0, t0 + start_after - time.time()))
        fake.fault("throttle", seconds=length)
    for proc, _ in procs:
        proc.wait(timeout=duration + 200)
    merged = {"results": [], "log": [], "cooldowns": []}
    for _, out in procs:
        with open(out) as handle:
            data = json.load(handle)
        for key in merged:
            merged[key] += data[key]
    merged["recorded"] = max((json.load(open(out)).get("recorded", 0) for _, out in procs), default=0)
    merged["fake_log"] = list(fake.log)
    merged["t0"] = t0
    redis.Redis.from_url(redis_url).delete(*(redis.Redis.from_url(redis_url).keys(prefix + "*") or [b"none"]))
    return merged


def summarise(name, data, rpm, steady_end) -> dict:
    t0 = data["t0"]
    results = data["results"]
    steady = [r for r in results if r["t"] - t0 < steady_end]
    ok = [r for r in steady if r["model"]]
    fake_steady = [e for e in data["fake_log"] if e[0] - t0 < steady_end]
    throttled = sum(1 for e in fake_steady if e[2] == "throttle")
    primary_ok = sum(1 for e in fake_steady if e[1] == MODELS[0] and e[2] == "ok" and e[0] - t0 < steady_end)
    summary = {
        "requests": len(steady),
        "success_rate": round(len(ok) / max(1, len(steady)), 4),
        "throttled_calls": throttled,
        "wasted_calls_per_success": round(throttled / max(1, len(ok)), 4),
        "primary_share_of_capacity": round(primary_ok / (rpm * steady_end / 60), 3),
        "latency_p95_s": round(statistics.quantiles([r["done"] - r["t"] for r in ok], n=20)[18], 3) if len(ok) > 20 else None,
    }
    if name == "ours":
        overheads = [r["overhead_ms"] for r in ok if r["overhead_ms"] is not None]
        summary["chain_overhead_ms"] = {"p50": round(statistics.median(overheads), 2),
                                        "p95": round(statistics.quantiles(overheads, n=20)[18], 2)}
        # A call to a model inside a cooldown some process had already set (and no successful probe
        # had ended), other than a probe.
        reopened = sorted((start, m) for m, start, end in data["cooldowns"] if end == -1)
        intervals = []
        for m, start, end in data["cooldowns"]:
            if end == -1:
                continue
            cut = next((t for t, rm in reopened if rm == m and start < t < end), end)
            intervals.append((m, start, cut))
        violations = 0
        for at, model, kind in data["log"]:
            if kind == "probe":
                continue
            if any(m == model and start < at < end for m, start, end in intervals):
                violations += 1
        summary["calls_to_cooling_models"] = violations
        summary["calls_made_whole_run"] = len(data["log"])
        summary["model_calls_rows_written"] = data["recorded"]
    return summary


def outage_summary(data, outage_start, outage_len, rate) -> dict:
    t0 = data["t0"]
    begin, end = t0 + outage_start, t0 + outage_start + outage_len
    results = data["results"]
    affected = [r for r in results if begin - 1 <= r["t"] <= end + 15]
    first_after = min((r["done"] for r in results if r["model"] and r["done"] > end), default=None)
    # Normal traffic: successes per second back to 80% of the offered rate.
    resumed = None
    for second in range(0, 30):
        lo = end + second
        done = sum(1 for r in results if r["model"] and lo <= r["done"] < lo + 1 and r["t"] >= lo - 5)
        if done >= 0.8 * rate:
            resumed = second + 1
            break
    # Probes: calls while every model was cooling, per model per probe window, after the first 2 s.
    windows: dict = {}
    kinds: dict = {}
    for at, model, kind in data["log"]:
        if begin + 2 <= at <= end:
            kinds[kind] = kinds.get(kind, 0) + 1
            key = (model, int((at - begin - 2) // PROBE_WINDOW_S))
            windows[key] = windows.get(key, 0) + 1
    return {
        "outage_s": outage_len,
        "requests_during_or_right_after": len(affected),
        "their_success_rate": round(sum(1 for r in affected if r["model"]) / max(1, len(affected)), 4),
        "first_success_after_outage_s": round(first_after - end, 2) if first_after else None,
        "normal_traffic_resumed_within_s": resumed,
        "max_calls_per_model_per_probe_window": max(windows.values()) if windows else 0,
        "calls_during_outage_by_kind": kinds,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--worker", action="store_true")
    parser.add_argument("--strategy", default="ours")
    parser.add_argument("--fake")
    parser.add_argument("--redis")
    parser.add_argument("--db")
    parser.add_argument("--prefix", default="bench:")
    parser.add_argument("--rate", type=float, default=0)
    parser.add_argument("--duration", type=float, default=60)
    parser.add_argument("--t0", type=float, default=0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out")
    parser.add_argument("--rpm", type=int, default=120)
    parser.add_argument("--deadline", type=float, default=100)
    parser.add_argument("--steady", type=float, default=60)
    parser.add_argument("--only-ours", action="store_true", help="skip the two comparison strategies")
    args = parser.parse_args()
    if args.worker:
        worker(args)
        return

    import psycopg

    from app.cli import upgrade_database
    from tests.fakes.bedrock import FakeBedrock
    from tests.support.services import start_services, stop_services

    os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
    services = start_services()
    db_name = f"aiprism_storm_{uuid.uuid4().hex[:6]}"
    with psycopg.connect(services.postgres_admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{db_name}"')
    db_url = services.database_url(db_name)
    upgrade_database(db_url)
    redis_url = f"{services.redis_base_url}/14"
    fake = FakeBedrock().start()
    for model in MODELS:
        fake.configure(model, rpm=args.rpm, tpm=10**9, latency_s=LATENCY_S)
    capacity = len(MODELS) * args.rpm / 60
    rate = 0.8 * capacity
    outage = (args.steady, 30.0)
    try:
        started = time.time()
        ours = run_strategy("ours", fake, redis_url, db_url, rate, args.steady + 30 + 20, args.rpm, outage=outage)
        if args.only_ours:
            print(json.dumps({"ours": summarise("ours", ours, args.rpm, args.steady), "ours_outage": outage_summary(ours, *outage, rate)}, indent=2))
            return
        naive = run_strategy("naive", fake, redis_url, None, rate, args.steady, args.rpm)
        per_process = run_strategy("per_process", fake, redis_url, None, rate, args.steady, args.rpm)
        report = {
            "benchmark": "chain_storm",
            "setup": {"models": len(MODELS), "rpm_each": args.rpm, "aggregate_capacity_rps": round(capacity, 2),
                      "offered_rps": round(rate, 2), "offered_share_of_capacity": 0.8,
                      "primary_capacity_rps": round(args.rpm / 60, 2), "worker_processes": WORKERS,
                      "fake_latency_s": LATENCY_S, "steady_s": args.steady, "load": "open-loop Poisson, same seeds for every strategy"},
            "ours": summarise("ours", ours, args.rpm, args.steady),
            "ours_outage": outage_summary(ours, *outage, rate),
            "naive_ordered_fallback": summarise("naive", naive, args.rpm, args.steady),
            "per_process_cooldowns": summarise("per_process", per_process, args.rpm, args.steady),
            "wall_s": round(time.time() - started, 1),
        }
        o, out = report["ours"], report["ours_outage"]
        report["targets_met"] = {
            "all_succeed": o["success_rate"] == 1.0 and out["their_success_rate"] == 1.0,
            "wasted_per_success_le_0.05": o["wasted_calls_per_success"] <= 0.05,
            "no_call_to_cooling_model": o["calls_to_cooling_models"] == 0,
            "primary_ge_90pct": o["primary_share_of_capacity"] >= 0.9,
            "overhead_p95_le_3ms": o["chain_overhead_ms"]["p95"] <= 3,
            "resumed_within_10s": (out["normal_traffic_resumed_within_s"] or 99) <= 10,
            "one_probe_per_model_per_window": out["max_calls_per_model_per_probe_window"] <= 1,
        }
        print(json.dumps(report, indent=2))
    finally:
        fake.stop()
        with psycopg.connect(services.postgres_admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')
        stop_services(services)


if __name__ == "__main__":
    main()
