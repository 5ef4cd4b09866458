"""Real server processes for the tests: gunicorn instances (gevent workers), RQ workers."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests

from tests.support.services import free_port

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def stop_processes(*procs: subprocess.Popen, timeout: float = 30) -> None:
    """SIGTERM to every one still running (a warm shutdown), then wait; kill what outlasts `timeout`."""
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    for proc in procs:
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def process_env(database_url: str, redis_url: str, storage_dir: str, **extra: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "BEDROCK_", "S3_"))}
    env.update({
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "SECRET_KEY": "shared-secret-for-both-instances",
        "LOCAL_STORAGE_DIR": storage_dir,
        "MODEL_PROVIDER": "offline",
        "LOG_LEVEL": "WARNING",
        "PYTHONUNBUFFERED": "1",
    })
    env.update(extra)
    return env


class Gunicorn:
    """One 'instance': a gunicorn master with N gevent workers, from gunicorn.conf.py."""

    def __init__(self, env: dict, workers: int = 4, log_path: Path | None = None, app_spec: str = "application:application"):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {**env, "PORT": str(self.port), "HOST": "127.0.0.1", "WEB_CONCURRENCY": str(workers)}
        self._log = open(log_path, "wb") if log_path else subprocess.DEVNULL
        self.proc = subprocess.Popen(
            [str(BIN / "gunicorn"), "-c", "gunicorn.conf.py", app_spec],
            cwd=ROOT, env=env, stdout=self._log, stderr=subprocess.STDOUT,
        )
        self.workers = workers

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.proc.returncode}")
            try:
                if requests.get(f"{self.url}/health", timeout=1).status_code == 200 and len(self.worker_pids()) == self.workers:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.2)
        raise TimeoutError("gunicorn did not become ready")

    def worker_pids(self) -> list[int]:
        import psutil

        return [child.pid for child in psutil.Process(self.proc.pid).children()]

    def stop(self) -> None:
        stop_processes(self.proc, timeout=20)
        if self._log is not subprocess.DEVNULL:
            self._log.close()
