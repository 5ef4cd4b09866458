"""Analysis throughput and cost: one `flask worker --processes W` (W job processes), the fake Bedrock answering after L seconds, a
20-section document; also the latency of POST /api/documents/{id}/analyses through gunicorn, and the
input tokens billed per document with and without prompt caching. Prints JSON.
    python -m bench.analysis [--workers 4] [--latency 2.0] [--posts 60]
"""
from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import statistics
import subprocess
import sys
import time

import psycopg

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
CACHE_WRITE_FACTOR, CACHE_READ_FACTOR = 1.25, 0.1  # Anthropic prompt-caching prices relative to input


def twenty_sections() -> bytes:
    from tests.documents.corpus import headed_sections

    return headed_sections(20, lambda i: f"In case {i + 1} the seller shipped late; several customers waited and the refund took weeks.")


def job_timeline(connection, latency: float) -> dict:
    """Where the time beyond the model's latency goes, from RQ's own job timestamps: the overhead inside
    each job (its run minus L) and the gap a worker leaves between one job's end and its next start."""
    from datetime import datetime

    def stamp(raw: bytes) -> float:
        return datetime.fromisoformat(raw.decode().rstrip("Z")).timestamp()

    runs: dict[str, list[tuple[float, float]]] = {}
    for key in connection.scan_iter("rq:job:*"):
        if connection.type(key) != b"hash":
            continue
        job = connection.hgetall(key)
        if not job.get(b"started_at") or not job.get(b"ended_at") or not job.get(b"description", b"").startswith(b"analysis"):
            continue
        runs.setdefault(job.get(b"worker_name", b"?").decode(), []).append((stamp(job[b"started_at"]), stamp(job[b"ended_at"])))
        connection.delete(key)  # the next document's timeline starts clean
    overheads, gaps = [], []
    for spans in runs.values():
        spans.sort()
        overheads += [end - begin - latency for begin, end in spans]
        gaps += [b[0] - a[1] for a, b in zip(spans, spans[1:])]
    median = lambda xs: round(statistics.median(xs), 3) if xs else None  # noqa: E731
    spans = [span for worker in runs.values() for span in worker]
    return {"job_overhead_s_median": median(overheads), "job_overhead_s_max": round(max(overheads), 3) if overheads else None,
            "gap_between_jobs_s_median": median(gaps), "gap_between_jobs_s_max": round(max(gaps), 3) if gaps else None,
            "jobs": len(spans), "jobs_per_worker": sorted(len(worker) for worker in runs.values()),
            "first_start_to_last_end_s": round(max(e for _, e in spans) - min(b for b, _ in spans), 2) if spans else None}


def wait_for_idle_workers(connection, count: int) -> None:
    """Until `count` job processes have registered and wait for jobs (start-up includes the app and
    its warm-up, which takes seconds on a loaded machine)."""
    from rq import Worker

    timeout = 90
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if sum(w.state == "idle" for w in Worker.all(connection=connection)) >= count:
            return
        time.sleep(0.1)
    raise RuntimeError(f"{count} job processes did not start within {timeout} s")


def chain_json(caching: bool) -> str:
    return json.dumps([{"id": "bench-primary", "rpm": 10000, "tpm": 10**9, "cooldown_s": 1, "caching": caching}])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--latency", type=float, default=2.0)
    parser.add_argument("--posts", type=int, default=60)
    args = parser.parse_args()

    import redis as redis_lib

    from bench.harness import UNLIMITED, bench_environment, signed_in
    from tests.fakes.bedrock import FakeBedrock
    from tests.review.conftest import grounded_reply
    from tests.support.processes import BIN, Gunicorn, process_env, stop_processes

    fake = FakeBedrock().start()
    fake.responder = grounded_reply
    fake.default.latency_s = args.latency
    procs, server = [], None
    stack = contextlib.ExitStack()
    try:
        bench_env = stack.enter_context(bench_environment(redis_db=13))
        database_url, redis_url, storage = bench_env.database_url, bench_env.redis_url, bench_env.storage_dir
        redis_lib.Redis.from_url(redis_url).flushdb()

        def environment(caching: bool) -> dict:
            return process_env(database_url, redis_url, storage, **UNLIMITED, MODEL_PROVIDER="bedrock", BEDROCK_ENDPOINT_URL=fake.url,
                               BEDROCK_MODEL_CHAIN=chain_json(caching), AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench")

        server = Gunicorn(environment(True), workers=4)
        server.wait_ready()
        session, csrf = signed_in(server.url)
        data = twenty_sections()

        def new_document() -> int:
            response = session.post(f"{server.url}/api/documents", files={"file": ("twenty.docx", data)}, headers={"X-CSRFToken": csrf})
            assert response.status_code == 201, response.text
            return response.json()["id"]

        # 1. POST latency (no workers running; the jobs are then removed).
        post_ms = []
        for _ in range(args.posts + 5):
            document_id = new_document()
            started = time.perf_counter()
            response = session.post(f"{server.url}/api/documents/{document_id}/analyses", json={}, headers={"X-CSRFToken": csrf})
            post_ms.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 202 and len(response.json()["jobs"]) == 20
        post_ms = post_ms[5:]
        connection = redis_lib.Redis.from_url(redis_url)
        stale_jobs = list(connection.scan_iter("rq:*"))  # drop those jobs; keep the session
        if stale_jobs:
            connection.delete(*stale_jobs)
        with psycopg.connect(database_url.replace("+psycopg", ""), autocommit=True) as conn:
            conn.execute("UPDATE analyses SET status = 'cancelled'")

        jobs_redis = redis_lib.Redis.from_url(redis_url)

        def run_document(caching: bool) -> dict:
            env = environment(caching)
            worker = subprocess.Popen([str(BIN / "flask"), "--app", "application", "worker", "--queues", "analysis",
                                       "--processes", str(args.workers)],
                                      cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            procs.append(worker)
            wait_for_idle_workers(jobs_redis, args.workers)
            document_id = new_document()
            started = time.perf_counter()
            session.post(f"{server.url}/api/documents/{document_id}/analyses", json={}, headers={"X-CSRFToken": csrf})
            while True:
                reply = session.get(f"{server.url}/api/documents/{document_id}")
                assert reply.status_code == 200, reply.text
                detail = reply.json()
                if detail["status"] in ("completed", "partially_completed", "failed"):
                    break
                time.sleep(0.05)
            elapsed = time.perf_counter() - started
            stop_processes(worker)
            timeline = job_timeline(jobs_redis, args.latency)  # after the workers stop: every job has ended
            with psycopg.connect(database_url.replace("+psycopg", ""), autocommit=True) as conn:
                row = conn.execute("SELECT sum(input_tokens), sum(cache_read_tokens), sum(cache_write_tokens), count(*) "
                                   "FROM model_calls WHERE document_id = %s", (document_id,)).fetchone()
            plain, read, write, calls = (int(x or 0) for x in row)
            with psycopg.connect(database_url.replace("+psycopg", ""), autocommit=True) as conn:
                spans = conn.execute("SELECT extract(epoch from finished_at - started_at) FROM analyses WHERE document_id = %s",
                                     (document_id,)).fetchall()
            job_seconds = sorted(float(s[0]) for s in spans if s[0] is not None)
            return {"seconds": round(elapsed, 2), "status": detail["status"], "model_calls": calls,
                    "analysis_run_s_median": round(job_seconds[len(job_seconds) // 2], 3) if job_seconds else None,
                    **timeline,
                    "input_tokens": plain, "cache_read_tokens": read, "cache_write_tokens": write,
                    "billed_input_token_equivalent": round(plain + CACHE_WRITE_FACTOR * write + CACHE_READ_FACTOR * read)}

        with_cache = run_document(True)
        without_cache = run_document(False)
        bound = math.ceil(20 / args.workers) * args.latency * 1.1
        print(json.dumps({
            "benchmark": "analysis",
            "setup": {"sections": 20, "workers": args.workers, "fake_latency_s": args.latency, "web": "gunicorn, 4 gevent workers"},
            "document_seconds": {"with_caching": with_cache["seconds"], "without_caching": without_cache["seconds"],
                                 "bound_ceil_20_over_W_times_L_plus_10pct": round(bound, 2)},
            "post_analyses_ms": {"n": len(post_ms), "p50": round(statistics.median(post_ms), 1),
                                 "p95": round(statistics.quantiles(post_ms, n=20)[18], 1), "max": round(max(post_ms), 1)},
            "tokens_per_document": {"with_caching": with_cache, "without_caching": without_cache},
            "met": {"within_bound": max(with_cache["seconds"], without_cache["seconds"]) <= bound,
                    "post_p95_le_100ms": statistics.quantiles(post_ms, n=20)[18] <= 100},
        }, indent=2))
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
        if server:
            server.stop()
        stack.close()  # drops the database
        fake.stop()


if __name__ == "__main__":
    main()
