"""`flask worker`: a small supervisor and its job processes.

The supervisor imports and warms up once (job functions, mappers, the statements every job
compiles), moves that heap out of the garbage collector's sight, and forks WORKER_PROCESSES job
processes, each after fork with database connections of its own. A job process is an RQ worker that
runs its jobs in itself, one app context per job, instead of forking a work horse per job: a job
starts within milliseconds and keeps its database, Redis and Bedrock connections warm for the next.

A job process is replaced by a fresh one after WORKER_MAX_JOBS jobs or once it holds more than
WORKER_MAX_MEMORY_MB (it finishes its job first), and when it dies (a crash, kill -9: the job it was
running is found by the reconciler). SIGTERM is a warm shutdown: every job process finishes its
running job, then all exit; a second SIGTERM stops at once."""
from __future__ import annotations

import gc
import logging
import os
import random
import signal
import sys
import time

from flask import Flask
from rq import SimpleWorker
from rq.worker import WorkerStatus

from app import fair_queue
from app.jobs import SERIALIZER, queue
from app.logs import CONSOLE, current_job_id
from app.metrics import mark_process_dead, observe_job

log = logging.getLogger(__name__)
RESTART_BACKOFF_MAX_S = 30.0
SCHEDULER_SLOT = -1
STOP_SIGNALS = {signal.SIGTERM, signal.SIGINT}


class AppWorker(SimpleWorker):
    """An RQ worker that runs its jobs in itself (no work horse forked per job), each inside the
    Flask app's context."""

    flask_app: Flask
    max_memory_mb: int = 0

    def perform_job(self, job, queue, execution):
        token = current_job_id.set(job.id)
        started, succeeded = time.perf_counter(), False
        try:
            with self.flask_app.app_context():  # its teardown returns the job's session to the pool
                succeeded = super().perform_job(job, queue, execution)
                return succeeded
        finally:
            observe_job((job.func_name or "unknown").rsplit(".", 1)[-1], "completed" if succeeded else "failed",
                        time.perf_counter() - started)
            # Model-call records are written in the background; a finished job has its calls on record.
            _flush_model_calls(self.flask_app)
            current_job_id.reset(token)
            self._recycle_when_too_big()

    def dequeue_job_and_maintain_ttl(self, timeout, max_idle_time=None):
        """Before taking the next job, move one user's turn into the queue for this process (and any
        other idle one): analyses reach RQ's queue through the fair queue only as job processes free up."""
        if "analysis" in self.queue_names():
            try:
                fair_queue.feed(self.connection, extra_idle=1)
            except Exception:  # Redis away: RQ's own dequeue below waits for it; the next feed catches up
                log.warning("fair queue feed failed", exc_info=True)
        return super().dequeue_job_and_maintain_ttl(timeout, max_idle_time)

    def _shutdown(self) -> None:
        """A stop signal (RQ's warm shutdown). RQ leaves an idle worker by raising StopRequested from
        the signal handler; that is an Exception, and raised inside a logging call or redis-py's error
        handling it is swallowed, after which the worker retries an absent Redis for ever. An idle
        worker has no job to finish, so it leaves by SystemExit, which nothing catches on the way."""
        if self.get_state() == WorkerStatus.BUSY:
            super()._shutdown()  # finish the job first
            return
        self._stop_requested = True
        raise SystemExit(0)

    def _recycle_when_too_big(self) -> None:
        size = resident_mb()
        if self.max_memory_mb and size > self.max_memory_mb and not self._stop_requested:
            log.info("job process replaced: memory", extra={"resident_mb": round(size), "limit_mb": self.max_memory_mb})
            self._stop_requested = True  # the work loop stops before taking another job


def resident_mb() -> float:
    """This process's resident memory in MiB (Linux /proc; elsewhere the peak from getrusage)."""
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, IndexError):
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _flush_model_calls(app: Flask) -> None:
    chain = app.extensions.get("model_chain")
    if chain is not None:
        chain.flush()


def warm_up(app: Flask) -> None:
    """Prepare once, in the supervisor, what every job process would otherwise redo."""
    # Import the job functions (and everything they use) before forking.
    import workers.tasks  # noqa: F401
    from app.extensions import db
    from app.review.service import warm_up as warm_review

    with app.app_context():
        try:
            warm_review(db.session)
        except Exception:  # a cold cache is slower, never wrong: the worker starts anyway
            log.warning("worker warm-up failed", exc_info=True)
        finally:
            db.session.remove()
    # No connection may cross the fork: each job process opens its own.
    app.extensions["database"].dispose()
    # Everything loaded so far lives as long as the worker: move it out of the collector's sight, so
    # collections in a job process neither walk the shared heap nor copy its pages (copy-on-write).
    gc.collect()
    gc.freeze()


def build_worker(app: Flask, queue_names: list[str]) -> AppWorker:
    connection = app.extensions["redis"]
    worker = AppWorker(
        [queue(name, connection) for name in queue_names],
        connection=connection,
        serializer=SERIALIZER,
    )
    worker.flask_app = app
    worker.max_memory_mb = app.config["WORKER_MAX_MEMORY_MB"]
    return worker


def work(app: Flask, queue_names: list[str], burst: bool = False, max_jobs: int | None = None) -> bool:
    """One job process's life: work until stopped, until max_jobs jobs are done, or (burst) until
    the queues are empty. RQ's worker exits when Redis goes away (a restart, a failover); this one
    waits for Redis and starts working again, so a Redis blip needs no restart. Jobs that were
    queued or running then are found by the reconciler from the database."""
    from redis.exceptions import ConnectionError as RedisConnectionError, TimeoutError as RedisTimeoutError

    delay = 1.0
    while True:
        started = time.monotonic()
        worker = None
        try:
            worker = build_worker(app, queue_names)
            log.info("worker starting", extra={"queues": queue_names, "burst": burst})
            # The scheduler of delayed jobs runs in a process of its own beside the job processes
            # (see `schedule`); a burst run moves the due ones itself.
            return worker.work(burst=burst, logging_level=app.config["LOG_LEVEL"], with_scheduler=burst,
                               max_jobs=max_jobs)
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


def schedule(app: Flask, queue_names: list[str]) -> None:
    """RQ's scheduler of delayed jobs (retries with backoff) for these queues, which also feeds the
    fair queue of analyses (due deferrals included) every second.

    RQ's worker would fork it from a job process, where it inherits that process's Redis sockets: a
    job process killed with -9 then leaves behind a socket still blocked in BLMOVE, and Redis hands
    the next job to it, where nobody reads it. Here it is forked from the supervisor, which holds no
    connection. One scheduler per queue leads (a lock in Redis); the others keep trying, so a dead
    leader's queues are taken over once its lock expires (about a minute)."""
    from rq.scheduler import RQScheduler

    class FeedingScheduler(RQScheduler):
        """RQ's scheduler, which also feeds the fair queue every second while it holds the analysis
        queue's lock: no idle job process waits long for a job that is waiting its turn."""

        def enqueue_scheduled_jobs(self):
            super().enqueue_scheduled_jobs()
            if "analysis" in self.acquired_locks:
                try:
                    fair_queue.feed(self.connection)
                except Exception:
                    log.warning("fair queue feed failed", exc_info=True)

    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(True))
    signal.signal(signal.SIGINT, lambda *_: stop.append(True))
    scheduler = FeedingScheduler(queue_names, connection=app.extensions["redis"], serializer=SERIALIZER,
                            logging_level=app.config["LOG_LEVEL"])
    while not stop:
        if scheduler.acquire_locks():
            scheduler.log.info("Scheduler for %s started with PID %s", ", ".join(sorted(scheduler.acquired_locks)), os.getpid())
            if stop:
                scheduler.request_stop()
            scheduler.work()  # until SIGTERM (its own handlers); then it releases its locks
            return
        deadline = time.monotonic() + 10
        while not stop and time.monotonic() < deadline:
            time.sleep(0.2)


def _die_with_parent(supervisor_pid: int) -> None:
    """A job process whose supervisor was killed gets SIGTERM (a warm shutdown) instead of running on
    unsupervised (Linux; elsewhere it runs on until stopped)."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return
    if os.getppid() != supervisor_pid:  # the supervisor died before the request took effect
        os.kill(os.getpid(), signal.SIGTERM)


class Supervisor:
    """Keeps `processes` job processes and one scheduler process running; forwards SIGTERM and SIGINT
    to them."""

    def __init__(self, app: Flask, queue_names: list[str], processes: int, burst: bool, max_jobs: int | None):
        self.app, self.queue_names, self.processes = app, queue_names, processes
        self.burst, self.max_jobs = burst, max_jobs
        self.children: dict[int, tuple[int, float]] = {}  # pid -> (slot, started)
        self.backoff: dict[int, float] = {}
        self.stopping = False
        self.failed = 0

    def listen(self) -> None:
        """Take SIGTERM and SIGINT from now on. Called before the warm-up: a KeyboardInterrupt raised
        there can land in a garbage-collector callback, where Python ignores it, and the stop would be
        lost."""
        signal.signal(signal.SIGTERM, self._stop)
        signal.signal(signal.SIGINT, self._stop)

    def run(self) -> int:
        self.listen()
        for slot in range(self.processes):
            self._spawn(slot)
        if not self.burst:
            self._spawn(SCHEDULER_SLOT)
        log.info("worker supervisor running", extra={"processes": self.processes, "queues": self.queue_names})
        if not self.burst:
            log.info("worker ready: %s job processes on %s", self.processes, ", ".join(self.queue_names), extra=CONSOLE)
        while self.children:
            try:
                pid, status = os.wait()  # a signal runs its handler and the wait goes on (PEP 475)
            except ChildProcessError:
                break
            if pid not in self.children:
                continue
            slot, started = self.children.pop(pid)
            mark_process_dead(pid)
            code = os.waitstatus_to_exitcode(status)
            if code != 0:
                self.failed += 1
            if self.stopping or self.burst:
                continue
            self._restart(slot, code, time.monotonic() - started)
        log.info("worker supervisor stopped", extra={"failed_processes": self.failed})
        return 1 if self.failed and self.burst else 0

    def _restart(self, slot: int, code: int, lived_s: float) -> None:
        if code == 0 or lived_s > 60:
            self.backoff[slot] = 0.0  # replaced on purpose (max jobs, memory), or after a long life
        else:
            self.backoff[slot] = min(RESTART_BACKOFF_MAX_S, max(1.0, 2 * self.backoff.get(slot, 0.0)))
        level = logging.INFO if code == 0 else logging.WARNING
        log.log(level, "worker process exited; starting another", extra={
            "kind": "scheduler" if slot == SCHEDULER_SLOT else "job", "exit_code": code,
            "lived_s": round(lived_s, 1), "restart_in_s": self.backoff[slot]})
        deadline = time.monotonic() + self.backoff[slot]
        while not self.stopping and time.monotonic() < deadline:
            time.sleep(min(0.2, max(0.0, deadline - time.monotonic())))
        if not self.stopping:
            self._spawn(slot)

    def _spawn(self, slot: int) -> None:
        supervisor_pid = os.getpid()
        # No stop signal is taken between the check and the fork, nor between the fork and the new
        # process's own handlers: the supervisor would not yet know the child to pass the stop on to,
        # and the child would run the supervisor's handler and then work on regardless.
        signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
        try:
            if self.stopping:
                return
            pid = os.fork()
            if pid == 0:
                self._run_child(slot, supervisor_pid)  # never returns
            self.children[pid] = (slot, time.monotonic())
        finally:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)  # a pending stop now reaches it too

    def _run_child(self, slot: int, supervisor_pid: int) -> None:
        """The new job or scheduler process: its own handlers, then its work; it ends with os._exit."""
        code = 1
        try:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)
            _die_with_parent(supervisor_pid)
            random.seed()
            self.app.extensions["database"].dispose(close=False)  # never share the supervisor's sockets
            if slot == SCHEDULER_SLOT:
                schedule(self.app, self.queue_names)
            else:
                work(self.app, self.queue_names, burst=self.burst, max_jobs=self.max_jobs)
            code = 0
        except SystemExit as exc:  # a stop: RQ's cold shutdown, or an idle job process's warm one
            code = exc.code if isinstance(exc.code, int) else 0
        except BaseException:
            log.exception("worker process failed", extra={"kind": "scheduler" if slot == SCHEDULER_SLOT else "job"})
        finally:
            # os._exit skips interpreter shutdown, so write out what would otherwise be lost there.
            try:
                _flush_model_calls(self.app)
                logging.shutdown()
                sys.stdout.flush()
                sys.stderr.flush()
            finally:
                os._exit(code)

    def _stop(self, signum, frame) -> None:
        if not self.stopping:
            log.info("worker supervisor stopping", extra={"signal": signal.Signals(signum).name})
        self.stopping = True
        for pid in list(self.children):
            try:
                os.kill(pid, signum)
            except ProcessLookupError:
                pass


def run_worker(app: Flask, queue_names: list[str], burst: bool = False, processes: int | None = None,
               max_jobs: int | None = None) -> int:
    """Warm up, then supervise the job processes until stopped (burst: until the queues are empty).
    Returns the exit code: 1 when a burst job process failed."""
    supervisor = Supervisor(app, queue_names, processes or app.config["WORKER_PROCESSES"], burst,
                            max_jobs or app.config["WORKER_MAX_JOBS"])
    supervisor.listen()
    warm_up(app)
    return supervisor.run()
