"""The open-loop load both chain_storm contenders run: the same arrivals, 2 threads per process, the
same outcome rules. Standard library only, so the LiteLLM worker (its own virtualenv) imports it too.

A request's outcome: "ok" (served), "retry" (came back with a retry time: the contender said when to
try again), "fail" (anything else). In "serve" mode (80% load) a request that comes back with a retry
time waits that long and tries again, as an analysis job defers, until served or its deadline passes;
in "once" mode (150% load) it is tried once, with a short wait budget.
"""
from __future__ import annotations

import json
import random
import threading
import time
from collections import deque

THREADS = 2
SERVE_DEADLINE_S = 45.0
ONCE_WAIT_S = 1.0


def arrivals(rate_per_s: float, duration: float, seed: int) -> list[float]:
    rng, t, out = random.Random(seed), 0.0, []
    while True:
        t += rng.expovariate(rate_per_s)
        if t >= duration:
            return out
        out.append(t)


def run(call, *, rate_per_s: float, duration: float, seed: int, t0: float, mode: str, out_path: str) -> None:
    """``call(max_wait_s)`` returns (model, overhead_ms) or raises; ``classify(exc)`` is on ``call``:
    ``call.retry_after(exc)`` gives seconds when the exception carries a retry time, else None."""
    pending = deque(arrivals(rate_per_s, duration, seed))
    lock = threading.Lock()
    results: list[dict] = []

    def one(offset: float) -> dict:
        arrived = t0 + offset
        deadline = arrived + SERVE_DEADLINE_S
        tries = 0
        while True:
            tries += 1
            try:
                model, overhead = call(ONCE_WAIT_S if mode == "once" else max(0.0, min(5.0, deadline - time.time())))
                return {"t": arrived, "done": time.time(), "outcome": "ok", "model": model, "overhead_ms": overhead, "tries": tries}
            except Exception as exc:  # noqa: BLE001 - every contender's errors are classified the same way
                retry = call.retry_after(exc)
                if retry is None:
                    return {"t": arrived, "done": time.time(), "outcome": "fail", "error": f"{type(exc).__name__}: {str(exc)[:200]}", "tries": tries}
                if mode == "once" or time.time() + retry > deadline:
                    return {"t": arrived, "done": time.time(), "outcome": "retry", "retry_after": retry, "tries": tries}
                time.sleep(retry)

    def worker():
        while True:
            with lock:
                if not pending:
                    return
                offset = pending.popleft()
            delay = t0 + offset - time.time()
            if delay > 0:
                time.sleep(delay)
            result = one(offset)
            with lock:
                results.append(result)

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with open(out_path, "w") as handle:
        json.dump(results, handle)
