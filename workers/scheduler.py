"""Periodic maintenance. Safe to run on every instance (Elastic Beanstalk runs the Procfile on each):
every period gets one job id, so however many schedulers run, each job runs once per period.

RQ's own CronScheduler is not used because it enqueues with the pickle serializer, and our workers
accept JSON only.
"""
from __future__ import annotations

import logging
import os
import signal
import socket
import threading
import time
from dataclasses import dataclass

from flask import Flask

from app.fair_queue import feed
from app.jobs import enqueue

log = logging.getLogger(__name__)
HEARTBEAT_KEY = "ai-prism:scheduler:{name}"


@dataclass(frozen=True)
class Periodic:
    kind: str
    every_seconds: int

    def job_id(self, now: float) -> str:
        return f"periodic-{self.kind}-{int(now // self.every_seconds)}"


def schedule(app: Flask) -> list[Periodic]:
    return [
        Periodic("reconcile_analyses", app.config["SCHEDULER_INTERVAL_SECONDS"]),
        Periodic("reconcile_exports", app.config["SCHEDULER_INTERVAL_SECONDS"]),
        Periodic("reconcile_revisions", app.config["SCHEDULER_INTERVAL_SECONDS"]),
        Periodic("reconcile_summaries", app.config["SCHEDULER_INTERVAL_SECONDS"]),
        Periodic("purge_expired_tokens", max(3600, app.config["SCHEDULER_INTERVAL_SECONDS"])),
    ]


def tick(app: Flask, periodics: list[Periodic], now: float | None = None) -> list[str]:
    """Enqueue each periodic job for the current period (a no-op when another scheduler did)."""
    now = time.time() if now is None else now
    connection = app.extensions["redis"]
    ids = [enqueue(p.kind, job_id=p.job_id(now), connection=connection).id for p in periodics]
    feed(connection)  # idle job processes get analyses waiting their turn, even with no worker scheduler
    return ids


def emit_queue_depths(connection) -> None:
    """Queue depths as CloudWatch EMF lines (METRICS_EMF): what the queue-length alarm watches."""
    from app.jobs import queue_depths
    from app.metrics import emf

    for name, depth in queue_depths(connection).items():
        emf("QueueDepth", depth, Queue=name)


def run_scheduler(app: Flask, stop: threading.Event | None = None) -> None:
    stop = stop or threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    name = f"{socket.gethostname()}:{os.getpid()}"
    periodics = schedule(app)
    connection = app.extensions["redis"]
    log.info("scheduler starting", extra={"jobs": [p.kind for p in periodics]})
    while not stop.is_set():
        try:
            tick(app, periodics)
            emit_queue_depths(connection)
            connection.set(HEARTBEAT_KEY.format(name=name), int(time.time()), ex=max(120, 3 * 60))
        except Exception:  # Redis may be away for a while; keep trying rather than exit
            log.exception("scheduler tick failed")
        now = time.time()
        next_due = min((int(now // p.every_seconds) + 1) * p.every_seconds for p in periodics)
        stop.wait(min(60.0, max(1.0, next_due - now)))
    log.info("scheduler stopped")
