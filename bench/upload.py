"""End-to-end upload of a 20-page .docx through real gunicorn (gevent workers) on real PostgreSQL
and Redis: vet, store, extract, write rows, answer 201. Prints JSON with latency percentiles.
    python -m bench.upload [--uploads 200] [--pages 20]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--uploads", type=int, default=200)
    parser.add_argument("--pages", type=int, default=20)
    args = parser.parse_args()

    from bench.docgen import pages_docx
    from bench.harness import UNLIMITED, bench_environment, signed_in
    from tests.support.processes import Gunicorn, process_env

    with bench_environment(redis_db=15) as env:
        server = Gunicorn(process_env(env.database_url, env.redis_url, env.storage_dir, **UNLIMITED), workers=4)
        try:
            server.wait_ready()
            session, csrf = signed_in(server.url)
            data = pages_docx(args.pages)
            latencies, sections = [], 0
            for i in range(args.uploads + 5):
                started = time.perf_counter()
                response = session.post(f"{server.url}/api/documents", files={"file": (f"case-{i}.docx", data)},
                                        headers={"X-CSRFToken": csrf})
                elapsed = (time.perf_counter() - started) * 1000
                assert response.status_code == 201, response.text
                if i >= 5:  # the first few warm up each worker's imports and pools
                    latencies.append(elapsed)
                    sections = len(response.json()["sections"])
        finally:
            server.stop()
    print(json.dumps({
        "benchmark": "upload",
        "document": {"pages": args.pages, "bytes": len(data), "sections": sections},
        "uploads": len(latencies),
        "latency_ms": {
            "p50": round(statistics.median(latencies), 1), "p95": round(percentile(latencies, 95), 1),
            "p99": round(percentile(latencies, 99), 1), "max": round(max(latencies), 1),
        },
        "server": f"gunicorn, 4 gevent workers; PostgreSQL {env.postgres_kind}, Redis {env.redis_kind}",
        "target_p95_ms": 300,
        "met": percentile(latencies, 95) <= 300,
    }, indent=2))


if __name__ == "__main__":
    main()
