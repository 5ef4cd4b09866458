"""Chat under load: N concurrent streamed replies through one gunicorn instance (4 gevent workers)
against the fake Bedrock (in its own process) answering in L seconds. Prints JSON: completions,
peak concurrency, time to first token, and the CPU each side used.
    python -m bench.chat [--streams 100] [--latency 2.0] [--ramp 1.0]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time

import psutil
import requests

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)


def start_fake(latency: float) -> tuple[subprocess.Popen, str]:
    """The fake runs in its own process, as Bedrock would be elsewhere: it must not share a GIL with
    the client threads of this process."""
    from tests.support.services import free_port

    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "tests.fakes.bedrock", "--port", str(port)], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            requests.post(f"{url}/_fake/config", json={"default": {"latency_s": latency, "stream_chunks": 20},
                                                       "reply": " ".join(f"word{i}" for i in range(60))}, timeout=1)
            return proc, url
        except requests.RequestException:
            time.sleep(0.1)
    raise RuntimeError("the fake Bedrock did not start")


def cpu_seconds(pids) -> float:
    return sum(sum(psutil.Process(p).cpu_times()[:2]) for p in pids)


def run_streams(server_url: str, document_id: int, csrf: str, cookies: dict, streams: int, ramp: float) -> list[dict]:
    results: list[dict] = []
    lock = threading.Lock()
    go = threading.Barrier(streams)

    def one(i: int):
        go.wait()
        time.sleep(ramp * i / streams)
        started = time.perf_counter()
        first, tokens, status = None, 0, None
        try:
            response = requests.post(f"{server_url}/api/documents/{document_id}/chat", json={"message": f"Question {i}?"},
                                     headers={"X-CSRFToken": csrf}, cookies=cookies, stream=True, timeout=60)
            status = response.status_code
            for line in response.iter_lines():
                if line.startswith(b"event: token"):
                    tokens += 1
                    first = first if first is not None else time.perf_counter() - started
                elif line.startswith(b"event: done"):
                    status = "done"
                elif line.startswith(b"event: error"):
                    status = "error"
        except requests.RequestException as exc:
            status = type(exc).__name__
        with lock:
            results.append({"ttft": first, "status": status, "tokens": tokens, "start": started, "end": time.perf_counter()})

    threads = [threading.Thread(target=one, args=(i,)) for i in range(streams)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--streams", type=int, default=100)
    parser.add_argument("--latency", type=float, default=2.0)
    parser.add_argument("--ramp", type=float, default=1.0, help="seconds over which the streams start (0: the same instant)")
    args = parser.parse_args()

    from bench.harness import UNLIMITED, bench_environment, signed_in
    from tests.documents.corpus import tables_in_reading_order
    from tests.support.processes import Gunicorn, process_env

    fake_proc, fake_url = start_fake(args.latency)
    try:
        with bench_environment(redis_db=12) as env:
            chain = json.dumps([{"id": "chat-primary", "rpm": 100000, "tpm": 10**10}])
            server = Gunicorn(process_env(env.database_url, env.redis_url, env.storage_dir, **UNLIMITED, MODEL_PROVIDER="bedrock",
                                          BEDROCK_ENDPOINT_URL=fake_url, BEDROCK_MODEL_CHAIN=chain, AWS_ACCESS_KEY_ID="bench",
                                          AWS_SECRET_ACCESS_KEY="bench",
                                          MAX_CONCURRENT_REQUESTS="200"), workers=4)
            try:
                server.wait_ready()
                session, csrf = signed_in(server.url)
                doc = session.post(f"{server.url}/api/documents", files={"file": ("c.docx", tables_in_reading_order()[0])},
                                   headers={"X-CSRFToken": csrf}).json()
                pids = (server.worker_pids(), [fake_proc.pid], [os.getpid()])
                before = [cpu_seconds(p) for p in pids]
                results = run_streams(server.url, doc["id"], csrf, session.cookies.get_dict(), args.streams, args.ramp)
                cpu = {name: round(cpu_seconds(p) - b, 2) for name, p, b in zip(("web_workers", "fake_bedrock", "clients"), pids, before)}
            finally:
                server.stop()
    finally:
        fake_proc.terminate()
        fake_proc.wait(timeout=10)
    done = [r for r in results if r["status"] == "done"]
    in_flight = peak = 0
    for _, step in sorted([(r["start"], 1) for r in results] + [(r["end"], -1) for r in results]):
        in_flight += step
        peak = max(peak, in_flight)
    ttfts = sorted(r["ttft"] for r in done if r["ttft"] is not None)
    p95 = statistics.quantiles(ttfts, n=20)[18] if len(ttfts) > 1 else None
    print(json.dumps({
        "benchmark": "chat",
        "setup": {"streams": args.streams, "gunicorn_workers": 4, "worker_class": "gevent", "fake_reply_s": args.latency,
                  "fake_first_chunk_after_s": round(args.latency / 20, 2), "ramp_s": args.ramp},
        "peak_concurrent_streams": peak, "completed": len(done), "statuses": sorted({str(r["status"]) for r in results}),
        "ttft_ms": {"p50": round(statistics.median(ttfts) * 1000, 1), "p95": round(p95 * 1000, 1),
                    "max": round(max(ttfts) * 1000, 1)} if p95 is not None else None,
        "total_s_p95": round(statistics.quantiles([r["end"] - r["start"] for r in done], n=20)[18], 2) if len(done) > 1 else None,
        "cpu_seconds_during_run": cpu,
        "met": len(done) == args.streams and p95 is not None and p95 <= 0.5,
    }, indent=2))


if __name__ == "__main__":
    main()
