"""Model-chain storm: a matrix of throttle shapes x loads, ours against LiteLLM's Router on the same
arrivals, against the fake Bedrock; prints JSON.

Five models in order. Each cell: 3 processes x 2 threads, open-loop Poisson arrivals at 80% or 150% of
the aggregate real capacity, one contender at a time on a fresh fake and fresh Redis state.

Shapes (what the fake really allows, at the configured per-minute rates unless --configured-factor):
token_bucket (refills continuously, holds one second's worth), fixed_window, sliding_window, concurrency
(429 beyond N in flight), random_faults (5xx and timeouts on 5% of calls, over the token bucket),
unusable (two models answer AccessDeniedException / ResourceNotFoundException from the start), outage
(every model answers 503 for a while).

Time is scaled down so a cell takes ~20 s: the 60 s windows are --window s long (10 by default) with the
per-window limits scaled alike, and the outage lasts --outage s (10). Targets per cell: at 80% every
request succeeds and, after the first 10 s, at most 0.05 throttled calls per success; at 150% none fail
(served, or back with a retry time) and served throughput is at least 90% of the real capacity (what
the fake offered in the measured window: see summarise); in
every cell at most one call per unusable model per probe interval and chain overhead p95 at most 3 ms.

python -m bench.chain_storm [--duration 20] [--shapes token_bucket,outage] [--loads 0.8,1.5]
                            [--peers tuned,default | none]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
import zlib

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
PEERS_PYTHON = os.path.join(ROOT, ".venv-peers", "bin", "python")
PROCESSES = 3
MODELS = [f"storm-{i}" for i in range(5)]
CAPACITY = [2.0, 1.5, 1.0, 1.0, 0.5]  # real calls per second each (rate shapes)
CONCURRENCY = [2, 1, 1, 1, 1]  # real calls in flight each (concurrency shape)
LATENCY_S = 0.2
CONCURRENCY_LATENCY_S = 0.5
CONFIGURED_FACTOR = 1.0  # configured RPM over what the fake allows (--configured-factor)
UNUSABLE = {"storm-3": "access_denied", "storm-4": "end_of_life"}
SHAPES = ["token_bucket", "fixed_window", "sliding_window", "concurrency", "random_faults", "unusable", "outage"]
WARMUP_S = 10.0
PROBE_INTERVAL_S = 3600.0
OUTAGE_START_S = 4.0
FAULT_SHARE = 0.05  # random_faults: share of admitted calls answered 5xx or timed out
FAULT_HANG_S = 0.5  # how long a timed-out call hangs
FAULT_MODES = ("unavailable", "timeout")  # RandomFaults' default modes


# ------------------------------------------------------------------------------------ ours, one process
def ours_worker(spec: dict) -> None:
    import redis

    from app.llm.bedrock import BedrockProvider
    from app.llm.chain import ModelChain
    from app.llm.errors import CapacityExhausted
    from app.llm.state import ChainState
    from app.llm.types import ModelRequest, ModelSpec
    from bench import storm_load

    specs = [ModelSpec(m["id"], m["id"], rpm=m["rpm"], tpm=m["tpm"], cooldown_s=spec["cooldown_s"]) for m in spec["models"]]
    state = ChainState(redis.Redis.from_url(spec["redis"]["url"]), prefix=spec["redis"]["namespace"] + ":",
                       breaker_timeout_s=spec["cooldown_s"] * 2, max_concurrency=20, lease_s=30,
                       unusable_probe_s=PROBE_INTERVAL_S)
    chain = ModelChain(specs, state, BedrockProvider("us-east-1", spec["fake"], 2, 5, max_connections=16))
    request = ModelRequest(messages=[{"role": "user", "text": "Review: " + "x" * 400}], max_tokens=200)

    def call(max_wait_s):
        response = chain.complete(request, context={"purpose": "bench"}, max_wait_s=max_wait_s)
        return response.model_id, response.overhead_ms

    call.retry_after = lambda exc: exc.retry_after if isinstance(exc, CapacityExhausted) else None
    storm_load.run(call, rate_per_s=spec["rate"], duration=spec["duration"], seed=spec["seed"], t0=spec["t0"],
                   mode=spec["mode"], out_path=spec["out"])


# ------------------------------------------------------------------------------------ the fake, per cell
def capacity_of(shape: str) -> float:
    if shape == "concurrency":
        return sum(CONCURRENCY) / CONCURRENCY_LATENCY_S
    if shape == "unusable":
        return sum(c for m, c in zip(MODELS, CAPACITY) if m not in UNUSABLE)
    return sum(CAPACITY)


def configure_fake(fake, shape: str, window_s: float) -> None:
    from tests.fakes import limits

    fake.reset()
    fake.limiters.clear()
    latency = CONCURRENCY_LATENCY_S if shape == "concurrency" else LATENCY_S
    for model, rate, slots in zip(MODELS, CAPACITY, CONCURRENCY):
        fake.configure(model, rpm=10**6, tpm=10**9, latency_s=latency)
        if shape == "fixed_window":
            fake.limiters[model] = limits.FixedWindow(int(rate * window_s), window_s)
        elif shape == "sliding_window":
            fake.limiters[model] = limits.SlidingWindow(int(rate * window_s), window_s)
        elif shape == "concurrency":
            fake.limiters[model] = limits.Concurrency(slots)
        elif shape == "random_faults":
            # The fault is drawn after the bucket admitted the call: a faulted call has used its token
            # (the capacity is counted without those, see summarise). Seeded per model, the same for
            # every contender and run (str hash() is randomised per process).
            fake.limiters[model] = limits.Combined(limits.TokenBucket(rate, max(1.0, rate)),
                                                   limits.RandomFaults(FAULT_SHARE, hang_s=FAULT_HANG_S, seed=zlib.crc32(model.encode()) % 1000))
        else:
            fake.limiters[model] = limits.TokenBucket(rate, max(1.0, rate))  # one second's worth, one call at least
    if shape == "unusable":
        for model, mode in UNUSABLE.items():
            fake.limiters.pop(model, None)
            fake.fault(mode, model=model)


def model_table(shape: str, factor: float = CONFIGURED_FACTOR) -> list[dict]:
    latency = CONCURRENCY_LATENCY_S if shape == "concurrency" else LATENCY_S
    out = []
    for model, rate, slots in zip(MODELS, CAPACITY, CONCURRENCY):
        real_rps = slots / latency if shape == "concurrency" else rate
        rpm = int(real_rps * 60 * factor)
        out.append({"id": model, "rpm": rpm, "tpm": rpm * 1000})
    return out


# ------------------------------------------------------------------------------------ one cell
def run_cell(contender: str, shape: str, load: float, fake, args) -> dict:
    configure_fake(fake, shape, args.window)
    capacity = capacity_of(shape)
    rate = load * capacity
    mode = "serve" if load < 1 else "once"
    namespace = f"storm:{uuid.uuid4().hex[:8]}"
    startup = 7.0 if contender != "ours" else 3.0
    t0 = time.time() + startup
    outdir = tempfile.mkdtemp(prefix="storm-")
    procs = []
    for i in range(PROCESSES):
        spec = {"fake": fake.url, "redis": {"url": args.redis, "namespace": namespace}, "models": model_table(shape, args.configured_factor),
                "rate": rate / PROCESSES, "duration": args.duration, "seed": 1000 + i + int(load * 100), "t0": t0,
                "mode": mode, "out": os.path.join(outdir, f"{i}.json"), "config": contender.split(":")[-1],
                "cooldown_s": args.window / 2}
        if contender == "ours":
            cmd = [sys.executable, "-m", "bench.chain_storm", "--worker", json.dumps(spec)]
        else:
            cmd = [PEERS_PYTHON, "-m", "bench.peers_litellm", "--spec", json.dumps(spec)]
        procs.append((subprocess.Popen(cmd, cwd=ROOT, stderr=subprocess.DEVNULL if contender != "ours" else None), spec["out"]))
    timer = None
    if shape == "outage":
        def outage():
            time.sleep(max(0.0, t0 + OUTAGE_START_S - time.time()))
            fake.fault("unavailable", seconds=args.outage)
        timer = threading.Thread(target=outage, daemon=True)
        timer.start()
    results = []
    for proc, out in procs:
        proc.wait(timeout=args.duration + 300)
        if os.path.exists(out):
            with open(out) as handle:
                results += json.load(handle)
    return summarise(results, list(fake.log), t0, args, shape, load, capacity)


def summarise(results, log, t0, args, shape, load, capacity) -> dict:
    ok = [r for r in results if r["outcome"] == "ok"]
    failed = [r for r in results if r["outcome"] == "fail"]
    healthy = [m for m in MODELS if not (shape == "unusable" and m in UNUSABLE)]
    after = [e for e in log if e[0] >= t0 + WARMUP_S and e[1] in healthy]
    throttled = sum(1 for e in after if e[2] == "throttle")
    served = sum(1 for e in after if e[2] == "ok")
    end = t0 + args.duration
    window = [e for e in log if t0 + WARMUP_S <= e[0] < end]
    served_in_run = sum(1 for e in window if e[2] == "ok")
    # The real capacity is what the fake offered over the measured window: each model's real rate
    # while it was up (no model serves during the outage: it is left out), less the calls the fake
    # itself faulted after they had taken a rate token (random_faults), which no client can use.
    seconds = args.duration - WARMUP_S
    if shape == "outage":
        seconds -= max(0.0, min(args.duration, OUTAGE_START_S + args.outage) - max(WARMUP_S, OUTAGE_START_S))
    burned = sum(1 for e in window if e[2] in FAULT_MODES) if shape == "random_faults" else 0
    offered = max(1e-9, seconds * capacity - burned)
    unusable_calls = {m: sum(1 for e in log if e[1] == m) for m in UNUSABLE} if shape == "unusable" else {}
    overheads = [r["overhead_ms"] for r in ok if r.get("overhead_ms") is not None]
    cell = {
        "requests": len(results), "succeeded": len(ok), "came_back_with_retry_time": sum(1 for r in results if r["outcome"] == "retry"),
        "failed": len(failed),
        "throttled_per_success_after_10s": round(throttled / max(1, served), 3),
        "served_share_of_real_capacity_after_10s": round(served_in_run / offered, 3),
        "served_calls_after_10s": served_in_run, "real_capacity_calls_after_10s": round(offered, 1),
        "faulted_calls_after_10s": burned,
        "calls_to_unusable_models": sum(unusable_calls.values()),
        "max_calls_per_unusable_model": max(unusable_calls.values(), default=0),
        "latency_p95_s": round(statistics.quantiles([r["done"] - r["t"] for r in ok], n=20)[18], 2) if len(ok) > 20 else None,
    }
    if overheads:
        cell["overhead_ms_p95"] = round(statistics.quantiles(overheads, n=20)[18], 2) if len(overheads) > 20 else max(overheads)
    if failed:
        cell["first_failures"] = sorted({r["error"][:160] for r in failed})[:3]
    if load < 1:
        cell["targets_met"] = len(ok) == len(results) and cell["throttled_per_success_after_10s"] <= 0.05
    else:
        cell["targets_met"] = not failed and cell["served_share_of_real_capacity_after_10s"] >= 0.9
    if shape == "unusable":
        cell["targets_met"] = cell["targets_met"] and cell["max_calls_per_unusable_model"] <= 1
    if "overhead_ms_p95" in cell:
        cell["targets_met"] = cell["targets_met"] and cell["overhead_ms_p95"] <= 3
    return cell


def better_or_equal(ours: dict, peer: dict) -> bool:
    return (ours["failed"] <= peer["failed"]
            and ours["throttled_per_success_after_10s"] <= peer["throttled_per_success_after_10s"]
            and ours["calls_to_unusable_models"] <= peer["calls_to_unusable_models"])


def best_peer(cells: dict) -> tuple[str, dict]:
    return min(cells.items(), key=lambda kv: (kv[1]["failed"], kv[1]["throttled_per_success_after_10s"], kv[1]["calls_to_unusable_models"]))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--worker")
    parser.add_argument("--duration", type=float, default=20.0)
    parser.add_argument("--window", type=float, default=10.0, help="the fake's 'minute' windows, scaled")
    parser.add_argument("--outage", type=float, default=10.0)
    parser.add_argument("--shapes", default=",".join(SHAPES))
    parser.add_argument("--loads", default="0.8,1.5")
    parser.add_argument("--configured-factor", type=float, default=CONFIGURED_FACTOR,
                        help="each model's configured RPM over what the fake really allows (1.5: limits must be learned down)")
    parser.add_argument("--peers", default="tuned", help="LiteLLM configurations: tuned, default, or none")
    parser.add_argument("--redis", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14"))
    args = parser.parse_args()
    if args.worker:
        ours_worker(json.loads(args.worker))
        return

    from tests.fakes.bedrock import FakeBedrock

    os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
    peers = [] if args.peers == "none" else [f"litellm:{p}" for p in args.peers.split(",")]
    if peers and not os.path.exists(PEERS_PYTHON):
        sys.exit("LiteLLM is not installed: run `make bench-peers` first (or --peers none)")
    fake = FakeBedrock().start()
    started = time.time()
    matrix = {}
    try:
        for shape in args.shapes.split(","):
            for load in (float(x) for x in args.loads.split(",")):
                key = f"{shape}@{int(load * 100)}%"
                row = {"ours": run_cell("ours", shape, load, fake, args)}
                for peer in peers:
                    row[peer] = run_cell(peer, shape, load, fake, args)
                if peers:
                    name, best = best_peer({p: row[p] for p in peers})
                    row["best_litellm"] = name
                    row["ours_better_or_equal"] = better_or_equal(row["ours"], best)
                matrix[key] = row
                print(json.dumps({key: row}), file=sys.stderr, flush=True)
    finally:
        fake.stop()
    report = {
        "benchmark": "chain_storm", "load_average": os.getloadavg(),
        "setup": {"models": MODELS, "real_calls_per_s": CAPACITY, "concurrency_shape_slots": CONCURRENCY,
                  "latency_s": LATENCY_S, "concurrency_shape_latency_s": CONCURRENCY_LATENCY_S,
                  "configured_over_real": args.configured_factor, "processes": PROCESSES, "threads_each": 2,
                  "cell_s": args.duration, "time_scale": f"60 s windows scaled to {args.window} s, outage {args.outage} s from {OUTAGE_START_S} s",
                  "unusable_models": UNUSABLE, "random_faults": {"share": FAULT_SHARE, "hang_s": FAULT_HANG_S},
                  "real_capacity": "calls the fake offered in the measured window: each model's real rate while it was up "
                                   "(outage left out), less calls it faulted after they took a rate token", "load": "open-loop Poisson, same seeds for every contender",
                  "peers": peers, "litellm": "1.80.0"},
        "matrix": matrix,
        "all_targets_met": all(row["ours"]["targets_met"] for row in matrix.values()),
        "ours_better_or_equal_everywhere": all(row.get("ours_better_or_equal", True) for row in matrix.values()),
        "wall_s": round(time.time() - started, 1),
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
