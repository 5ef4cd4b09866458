"""The RQ worker: one app context per job, database connections disposed after fork, and a warm
shutdown on SIGTERM (the running job finishes before the worker exits)."""
from __future__ import annotations

import gc
import logging
import time

from flask import Flask
from rq import Worker

from app.jobs import SERIALIZER, queue
from app.logs import current_job_id
from app.metrics import observe_job, use_per_worker_files

log = logging.getLogger(__name__)


class AppWorker(Worker):
    """An RQ fork-per-job worker that runs each job inside the Flask app's context."""

    flask_app: Flask

    def perform_job(self, job, queue, execution):
        # Runs in the forked work horse: pooled connections inherited from the parent must not be
        # shared with it, so drop them (without closing the parent's sockets) and open fresh ones.
        self.flask_app.extensions["database"].dispose(close=False)
        token = current_job_id.set(job.id)
        started, succeeded = time.perf_counter(), False
        try:
            with self.flask_app.app_context():
                succeeded = super().perform_job(job, queue, execution)
                return succeeded
        finally:
            observe_job((job.func_name or "unknown").rsplit(".", 1)[-1], "completed" if succeeded else "failed",
                        time.perf_counter() - started)
            # The horse exits right after this job: model-call records must be written first.
            chain = self.flask_app.extensions.get("model_chain")
            if chain is not None and chain.recorder is not None:
                chain.recorder.flush()
            current_job_id.reset(token)


def warm_up(app: Flask) -> None:
    """Prepare in the parent what every forked work horse would otherwise redo on its first job."""
    from app.extensions import db
    from app.review.service import warm_up as warm_review

    with app.app_context():
        try:
            warm_review(db.session)
        except Exception:  # a cold cache is slower, never wrong: the worker starts anyway
            log.warning("worker warm-up failed", exc_info=True)
        finally:
            db.session.remove()
    # No connection may cross the fork: each horse opens its own.
    app.extensions["database"].dispose()
    # Everything loaded so far lives as long as the worker: move it out of the collector's sight, so a
    # horse's first collection neither walks the inherited heap nor copies its pages (copy-on-write).
    gc.collect()
    gc.freeze()


def build_worker(app: Flask, queue_names: list[str]) -> AppWorker:
    # Import the job functions (and everything they use) once, in the parent: every forked work
    # horse then starts with them loaded instead of importing them again for each job.
    import workers.tasks  # noqa: F401

    use_per_worker_files()
    warm_up(app)

    connection = app.extensions["redis"]
    worker = AppWorker(
        [queue(name, connection) for name in queue_names],
        connection=connection,
        serializer=SERIALIZER,
    )
    worker.flask_app = app
    return worker


def run_worker(app: Flask, queue_names: list[str], burst: bool = False) -> bool:
    """Work until stopped. RQ's worker exits when Redis goes away (a restart, a failover); this one
    waits for Redis and starts working again, so a Redis blip needs no process restart. Jobs that
    were queued or running then are found by the reconciler from the database."""
    import signal

    from redis.exceptions import ConnectionError as RedisConnectionError, TimeoutError as RedisTimeoutError

    delay = 1.0
    while True:
        started = time.monotonic()
        worker = None
        try:
            worker = build_worker(app, queue_names)  # registering asks Redis too
            log.info("worker starting", extra={"queues": queue_names, "burst": burst})
            return worker.work(burst=burst, logging_level=app.config["LOG_LEVEL"], with_scheduler=True)
        except (RedisConnectionError, RedisTimeoutError) as exc:
            if burst:
                raise
            if worker is not None and getattr(worker, "_shutdown_requested_date", None):
                # Asked to stop (SIGTERM, Ctrl-C) and Redis went too, as when `make run` stops
                # everything at once: stop, do not wait for Redis.
                log.info("worker stopped; redis was unavailable during shutdown")
                return False
            if time.monotonic() - started > 60:
                delay = 1.0  # it had been working: this is a new outage
            log.warning("redis unavailable; worker starting again", extra={"retry_in_s": delay, "error": str(exc)[:200]})
            # RQ's handlers belong to the worker that just ended: until the next one starts, a
            # SIGTERM simply stops the process.
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            time.sleep(delay)
            delay = min(30.0, delay * 2)
