"""The model chain's own overhead per call, alone: one process, one thread (as an analysis job process
runs), five models, the fake Bedrock answering at once; prints JSON. The chain_storm matrix measures
the same overhead under load, where two threads per process and a busy machine add waits for the GIL
and the CPU. python -m bench.chain_overhead [--calls 500]"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=500)
    parser.add_argument("--redis", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14"))
    args = parser.parse_args()
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
    import redis

    from app.llm.bedrock import BedrockProvider
    from app.llm.chain import ModelChain
    from app.llm.state import ChainState
    from app.llm.types import ModelRequest, ModelSpec
    from tests.fakes.bedrock import FakeBedrock

    fake = FakeBedrock().start()
    connection = redis.Redis.from_url(args.redis)
    prefix = f"overhead:{uuid.uuid4().hex[:8]}:"
    try:
        specs = [ModelSpec(f"quick-{i}", "q", rpm=10**7, tpm=10**12) for i in range(5)]
        chain = ModelChain(specs, ChainState(connection, prefix=prefix, max_concurrency=20), BedrockProvider("us-east-1", fake.url, 2, 5))
        request = ModelRequest(messages=[{"role": "user", "text": "Review: " + "x" * 400}], max_tokens=200)
        overheads, totals = [], []
        for _ in range(args.calls):
            started = time.perf_counter()
            response = chain.complete(request)
            totals.append((time.perf_counter() - started) * 1000)
            overheads.append(response.overhead_ms)
        q = lambda xs: round(statistics.quantiles(xs, n=20)[18], 3)  # noqa: E731
        print(json.dumps({"benchmark": "chain_overhead", "calls": args.calls, "load_average": os.getloadavg(),
                          "overhead_ms": {"p50": round(statistics.median(overheads), 3), "p95": q(overheads)},
                          "whole_call_ms": {"p50": round(statistics.median(totals), 3), "p95": q(totals)}}, indent=2))
    finally:
        fake.stop()
        keys = list(connection.scan_iter(prefix + "*"))
        if keys:
            connection.delete(*keys)


if __name__ == "__main__":
    main()
