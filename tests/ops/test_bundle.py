"""`make bundle` builds the deployable zip, and what is in it runs the way Elastic Beanstalk runs it:
the migration container command, then every Procfile line as written, through a shell, with the
environment properties and PORT in the environment; the web answers /health/ready with a worker seen."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
import zipfile
from pathlib import Path

import psycopg
import pytest
import requests

from tests.ops.ebextensions import load
from tests.ops.procfile import procfile
from tests.support.services import free_port

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent


def port_for_web() -> int:
    """8000 as on Elastic Beanstalk, unless something on this machine already holds it."""
    import socket

    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", 8000))
            return 8000
        except OSError:
            return free_port()


def test_make_bundle_then_procfile_processes_reach_ready(tmp_path, services):
    bundle = tmp_path / "ai-prism.zip"
    subprocess.run(["make", "bundle", f"BUNDLE={bundle}"], cwd=ROOT, check=True, capture_output=True)
    with zipfile.ZipFile(bundle) as archive:
        names = set(archive.namelist())
        archive.extractall(tmp_path / "app")
    app_dir = tmp_path / "app"
    for required in ("Procfile", "application.py", "requirements.txt", "gunicorn.conf.py", ".ebextensions/",
                     "migrations/env.py", "scripts/migrate.py"):
        assert required in names, f"{required} missing from the bundle"
    assert not any(n.startswith((".venv/", "instance/", "dist/")) for n in names)

    # Environment properties as .ebextensions sets them, plus the per-environment secrets an
    # operator sets with `eb setenv`; the offline reviewer and a local folder stand in for AWS.
    properties = load(app_dir / ".ebextensions" / "01-environment.config")["option_settings"]["aws:elasticbeanstalk:application:environment"]
    name = f"aiprism_bundle_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(services.postgres_admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    port = port_for_web()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "BEDROCK_", "S3_", "DATABASE_", "REDIS_"))}
    env.update({k: str(v) for k, v in properties.items()})
    env.update({
        "PATH": f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}",  # EB runs the processes in its virtualenv
        "SECRET_KEY": "bundle-test-secret",
        "DATABASE_URL": services.database_url(name),
        "REDIS_URL": f"{services.redis_base_url}/{(os.getpid() + 7) % 16}",
        "MODEL_PROVIDER": "offline",
        "LOCAL_STORAGE_DIR": str(tmp_path / "storage"),
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics"),
        "WEB_CONCURRENCY": "2",
        "PORT": str(port),
        "PYTHONUNBUFFERED": "1",
    })
    (tmp_path / "metrics").mkdir()
    procs: dict[str, subprocess.Popen] = {}
    logs = {}
    try:
        # The leader-only container command, as written in .ebextensions (minus the venv activation).
        commands = load(app_dir / ".ebextensions" / "04-migrations-and-processes.config")["container_commands"]
        migrate = commands["01_migrate"]["command"].split("&&", 1)[1].strip()
        subprocess.run(migrate, shell=True, cwd=app_dir, env=env, check=True, capture_output=True, timeout=120)
        for process, command in procfile(app_dir / "Procfile").items():
            logs[process] = open(tmp_path / f"{process}.log", "wb")
            procs[process] = subprocess.Popen(command, shell=True, cwd=app_dir, env=env, stdout=logs[process],
                                              stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 60
        body = None
        while time.monotonic() < deadline:
            for process, proc in procs.items():
                assert proc.poll() is None, f"{process} exited: " + (tmp_path / f"{process}.log").read_text()[-2000:]
            try:
                response = requests.get(f"http://127.0.0.1:{port}/health/ready", timeout=3)
                body = response.json()
                if response.status_code == 200 and body["checks"]["workers"]["seen"] >= 1:
                    break
            except requests.RequestException:
                pass
            time.sleep(0.5)
        assert body and body["status"] == "ok" and body["mode"] == "production", body
        assert body["checks"]["workers"]["seen"] >= 1
        # The Procfile's web line was used as written; gunicorn bound the PORT from the environment.
        assert f"127.0.0.1:{port}" in requests.get(f"http://127.0.0.1:{port}/health").url
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in procs.values():
            try:
                proc.wait(timeout=40)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
        for handle in logs.values():
            handle.close()
        with psycopg.connect(services.postgres_admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
