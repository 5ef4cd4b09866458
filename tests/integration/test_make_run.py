"""`make run` on a fresh copy of the project: web, worker and scheduler on embedded defaults
(SQLite, embedded Valkey, local storage, offline reviewer) answer /health/ready = 200 within 60 s."""
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from tests.support.services import free_port

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]


def project_files() -> list[str]:
    listed = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT, capture_output=True, text=True, check=True)
    return [line for line in listed.stdout.splitlines() if line and (ROOT / line).is_file()]


def test_make_run_serves_ready_within_60_seconds(tmp_path):
    copy = tmp_path / "ai-prism"
    for name in project_files():
        target = copy / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, target)  # keeps mtimes, so make sees the venv as up to date
    venv = Path(sys.executable).parent.parent
    port = free_port()
    env = {k: v for k, v in os.environ.items()
           if k not in ("DATABASE_URL", "REDIS_URL", "S3_BUCKET_NAME", "SECRET_KEY", "APP_ENV") and not k.startswith("AWS_")}
    env.update({"PORT": str(port), "EMBEDDED_REDIS_PORT": str(free_port()), "WEB_CONCURRENCY": "2"})
    log = open(tmp_path / "make-run.log", "wb")
    started = time.monotonic()
    proc = subprocess.Popen(["make", "run", f"VENV={venv}"], cwd=copy, env=env, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    ready_after = None
    try:
        while time.monotonic() - started < 60:
            assert proc.poll() is None, (tmp_path / "make-run.log").read_text()[-3000:]
            try:
                response = requests.get(f"http://127.0.0.1:{port}/health/ready", timeout=2)
                # ready and a worker registered (the worker starts beside the web, not before it), and
                # the run command has told the user so: it checks the same, on its own polling clock
                if (response.status_code == 200 and response.json()["checks"]["workers"]["seen"] >= 1
                        and "AI-Prism is running at" in (tmp_path / "make-run.log").read_text()):
                    ready_after = time.monotonic() - started
                    break
            except requests.RequestException:
                pass
            time.sleep(0.5)
        assert ready_after is not None, (tmp_path / "make-run.log").read_text()[-3000:]
        body = response.json()
        assert body["mode"] == "embedded" and body["model_provider"] == "offline"
        assert body["checks"]["workers"]["seen"] >= 1
        assert (copy / "instance" / "ai-prism.db").exists()
        print(f"make run ready after {ready_after:.1f} s")
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
        log.close()
    assert "AI-Prism is running at" in (tmp_path / "make-run.log").read_text()
