"""`make run` on a fresh copy of the project, in a terminal (a pseudo-terminal, so Ctrl-C and Enter
arrive as a person's would): web, worker and scheduler on embedded defaults (SQLite, embedded Valkey,
local storage, offline reviewer) answer /health/ready = 200 within 60 s; the terminal stays readable
while a signed-in client polls for 60 s (first-run report: 15,000 JSON lines in 19 minutes, the URL
scrolled away); the URL is the last line and comes back on Enter; Ctrl-C stops everything with exit
code 0 and no traceback."""
import io
import os
import pty
import re
import select
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
URL_LINE = "AI-Prism is running at"
POLL_SECONDS = 60


def project_files() -> list[str]:
    listed = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT, capture_output=True, text=True, check=True)
    return [line for line in listed.stdout.splitlines() if line and (ROOT / line).is_file()]


class Terminal:
    """A command running in a pseudo-terminal, as in a person's terminal window."""

    def __init__(self, argv: list[str], cwd: Path, env: dict):
        self.pid, self.fd = pty.fork()
        if self.pid == 0:  # the child: make, as the session leader of the terminal
            try:
                os.chdir(cwd)
                os.execvpe(argv[0], argv, env)
            finally:
                os._exit(127)
        self.output = b""
        self.status = None

    def read(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while True:
            left = deadline - time.monotonic()
            ready, _, _ = select.select([self.fd], [], [], max(0.0, min(0.1, left)))
            if ready:
                try:
                    chunk = os.read(self.fd, 65536)
                except OSError:  # the terminal closed: everything exited
                    chunk = b""
                if not chunk:
                    return
                self.output += chunk
            elif left <= 0:
                return

    def type(self, keys: bytes) -> None:
        os.write(self.fd, keys)

    def lines(self) -> list[str]:
        text = self.output.decode("utf-8", "replace").replace("\r", "")
        return [line for line in text.split("\n") if line.strip()]

    def exited(self) -> bool:
        if self.status is None:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.status = os.waitstatus_to_exitcode(status)
        return self.status is not None

    def stop(self, folder: Path) -> None:
        """After a failure: Ctrl-C, then SIGKILL for every process still running in ``folder`` (the
        run command takes its own process group, so the terminal's group is not enough)."""
        if not self.exited():
            self.type(b"\x03")
            deadline = time.monotonic() + 45
            while not self.exited() and time.monotonic() < deadline:
                self.read(0.5)
        for entry in Path("/proc").iterdir():
            try:
                if entry.name.isdigit() and str(folder) in os.readlink(entry / "cwd"):
                    os.kill(int(entry.name), signal.SIGKILL)
            except OSError:
                pass
        if not self.exited():
            os.waitpid(self.pid, 0)


def sign_in_as_new_admin(base: str) -> requests.Session:
    client = requests.Session()
    token = client.get(f"{base}/api/auth/csrf", timeout=5).json()["csrf_token"]
    response = client.post(f"{base}/api/auth/setup", json={"email": "admin@example.com", "password": "first run passphrase 17"},
                           headers={"X-CSRFToken": token}, timeout=30)
    assert response.status_code == 201, response.text
    client.headers["X-CSRFToken"] = response.json()["csrf_token"]
    return client


def test_make_run_in_a_terminal_is_quiet_shows_the_url_and_stops_cleanly_on_ctrl_c(tmp_path):
    copy = tmp_path / "ai-prism"
    for name in project_files():
        target = copy / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, target)  # keeps mtimes, so make sees the venv as up to date
    venv = Path(sys.executable).parent.parent
    port = free_port()
    env = {k: v for k, v in os.environ.items()
           if k not in ("DATABASE_URL", "REDIS_URL", "S3_BUCKET_NAME", "SECRET_KEY", "APP_ENV", "LOG_FORMAT")
           and not k.startswith("AWS_")
           # A person types `make run` at a shell, not inside `make test`: no recursive make's
           # "Entering directory" lines from the suite's own make.
           and k not in ("MAKELEVEL", "MAKEFLAGS", "MFLAGS", "MAKEOVERRIDES")}
    env.update({"PORT": str(port), "EMBEDDED_REDIS_PORT": str(free_port()), "WEB_CONCURRENCY": "2", "TERM": "dumb"})
    base = f"http://127.0.0.1:{port}"
    started = time.monotonic()
    terminal = Terminal(["make", "run", f"VENV={venv}"], copy, env)
    try:
        ready_after = None
        while time.monotonic() - started < 60:
            assert not terminal.exited(), "\n".join(terminal.lines()[-40:])
            terminal.read(0.5)
            try:
                response = requests.get(f"{base}/health/ready", timeout=2)
                # ready and a worker registered, and the run command has told the user so
                if (response.status_code == 200 and response.json()["checks"]["workers"]["seen"] >= 1
                        and any(URL_LINE in line for line in terminal.lines())):
                    ready_after = time.monotonic() - started
                    break
            except requests.RequestException:
                pass
        assert ready_after is not None, "\n".join(terminal.lines()[-40:])
        body = response.json()
        assert body["mode"] == "embedded" and body["model_provider"] == "offline"
        assert (copy / "instance" / "ai-prism.db").exists()
        print(f"make run ready after {ready_after:.1f} s")

        client = sign_in_as_new_admin(base)
        upload = client.post(f"{base}/api/documents", timeout=30, files={"file": (
            "first run.txt", io.BytesIO(b"TIMELINE\n\n03-Mar-2025 Several customers complained.\n\nACTIONS\n\nFix it. Owner: [NAME]\n"))})
        assert upload.status_code == 201, upload.text
        document_id = upload.json()["id"]
        assert client.post(f"{base}/api/documents/{document_id}/analyses", json={}, timeout=30).status_code in (200, 201, 202)

        polled = time.monotonic()
        requests_made = 0
        while time.monotonic() - polled < POLL_SECONDS:  # what the pages do, every second
            for path in ("/api/documents", f"/api/documents/{document_id}", f"/api/documents/{document_id}/feedback",
                         f"/api/documents/{document_id}/stats", "/api/auth/me", "/", "/static/js/api.js"):
                assert client.get(f"{base}{path}", timeout=10).status_code == 200, path
                requests_made += 1
            assert requests.get(f"{base}/health/ready", timeout=10).status_code == 200
            requests_made += 1
            terminal.read(max(0.0, 1.0 - (time.monotonic() - polled) % 1.0))
        assert client.get(f"{base}/api/documents/{document_id}", timeout=10).json()["status"] == "completed"

        lines = terminal.lines()
        print(f"{len(lines)} terminal lines after {requests_made} requests:\n" + "\n".join(lines))
        assert any(re.search(r"analysis of .first run. started: 2 sections", line) for line in lines), lines
        assert any(re.search(r"analysis of .first run. finished: completed, risk score", line) for line in lines), lines
        terminal.type(b"\n")  # the URL again, on demand
        terminal.read(1.5)
        lines = terminal.lines()
        assert URL_LINE in lines[-1] and f"{base}/" in lines[-1], lines[-5:]
        assert sum(URL_LINE in line for line in lines) >= 2
        assert len(lines) < 50, "\n".join(lines)

        terminal.type(b"\x03")  # Ctrl-C, as the terminal delivers it: SIGINT to the foreground group
        deadline = time.monotonic() + 60
        while not terminal.exited() and time.monotonic() < deadline:
            terminal.read(0.5)
        terminal.read(0.5)
        assert terminal.exited(), "\n".join(terminal.lines()[-40:])
        output = "\n".join(terminal.lines())
        assert terminal.status == 0, output[-3000:]
        assert "Traceback" not in output and "Error" not in output.split(URL_LINE)[-1], output[-3000:]
        assert "Interrupt" not in output  # make was not interrupted: Ctrl-C reached the run command alone
        assert terminal.lines()[-1].strip().endswith("AI-Prism stopped.")
        assert len(terminal.lines()) < 50
    finally:
        terminal.stop(copy)
    # nothing left running: every process of the run is gone
    assert not [p for p in Path("/proc").iterdir() if p.name.isdigit() and _cwd_in(p, copy)]
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{base}/health", timeout=2)


def _cwd_in(proc: Path, folder: Path) -> bool:
    try:
        return str(folder) in os.readlink(proc / "cwd")
    except OSError:
        return False
