"""An RQ worker outlives a Redis outage that happens while it runs a job: it waits, starts working
again when Redis is back, and runs the jobs enqueued after, without a process restart (found by
`make chaos`: RQ's own worker exits)."""
from __future__ import annotations

import signal
import subprocess
import time

import pytest
import redis as redis_lib
from rq import Queue
from rq.job import Job

from app.jobs import JOB_KINDS, SERIALIZER
from tests.support.processes import BIN, ROOT, process_env
from tests.support.tcp_proxy import TCPProxy

pytestmark = pytest.mark.slow


def test_worker_survives_redis_going_away_and_coming_back(database_url, redis_url, tmp_path):
    from urllib.parse import urlparse

    parsed = urlparse(redis_url)
    proxy = TCPProxy(parsed.hostname, parsed.port).start()
    proxied = f"redis://127.0.0.1:{proxy.port}{parsed.path}"
    env = process_env(database_url, proxied, str(tmp_path / "storage"))
    log = open(tmp_path / "worker.log", "wb")
    worker = subprocess.Popen([str(BIN / "flask"), "--app", "application", "worker", "--queues", "maintenance"],
                              cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    connection = redis_lib.Redis.from_url(redis_url)
    try:
        time.sleep(3)
        # A job is running when Redis goes: the worker is watching its work horse, which is where
        # RQ's own worker gives up.
        Queue("maintenance", connection=connection, serializer=SERIALIZER).enqueue("time.sleep", args=(4,), job_id="long-job")
        time.sleep(1.5)
        proxy.cut()
        time.sleep(8)  # longer than the first back-off steps: starting again fails a few times
        assert worker.poll() is None, (tmp_path / "worker.log").read_text()[-2000:]
        proxy.restore()
        queue = Queue("maintenance", connection=connection, serializer=SERIALIZER)
        job = queue.enqueue(JOB_KINDS["purge_expired_tokens"].func, job_id="after-redis-outage")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and Job.fetch(job.id, connection=connection, serializer=SERIALIZER).get_status() != "finished":
            time.sleep(0.3)
        assert Job.fetch(job.id, connection=connection, serializer=SERIALIZER).get_status() == "finished", \
            (tmp_path / "worker.log").read_text()[-2000:]
        assert worker.poll() is None
    finally:
        worker.terminate()
        worker.wait(timeout=30)
        log.close()
        proxy.cut()


def test_worker_asked_to_stop_while_redis_goes_away_stops(database_url, redis_url, tmp_path):
    """Ctrl-C on `make run` stops Redis and the worker together: the worker exits, it does not wait."""
    import signal
    from urllib.parse import urlparse

    parsed = urlparse(redis_url)
    proxy = TCPProxy(parsed.hostname, parsed.port).start()
    env = process_env(database_url, f"redis://127.0.0.1:{proxy.port}{parsed.path}", str(tmp_path / "storage"))
    worker = subprocess.Popen([str(BIN / "flask"), "--app", "application", "worker", "--queues", "maintenance"],
                              cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    try:
        time.sleep(3)
        proxy.cut()
        worker.send_signal(signal.SIGINT)
        worker.wait(timeout=20)
    finally:
        if worker.poll() is None:
            worker.kill()
        proxy.cut()


def test_an_idle_worker_stops_even_when_the_stop_lands_inside_a_logging_call(app):
    """RQ leaves an idle worker by raising StopRequested from the signal handler. Raised while a log
    line is written, logging swallows it and the worker went on retrying an absent Redis for ever (a
    CI run of the test above hung that way). The stop must get through."""
    import logging

    from workers.worker import build_worker

    worker = build_worker(app, ["maintenance"])

    class SignalArrivesHere(logging.Handler):
        def emit(self, record):
            worker.request_stop(signal.SIGINT, None)

    logger = logging.getLogger("tests.stop-inside-logging")
    logger.addHandler(SignalArrivesHere())
    logger.propagate = False
    previous = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    try:
        with pytest.raises(SystemExit):
            logger.warning("redis unavailable")
        assert worker._stop_requested
    finally:
        signal.signal(signal.SIGINT, previous[0])
        signal.signal(signal.SIGTERM, previous[1])
        logger.handlers.clear()


def test_a_stop_during_the_supervisors_warm_up_starts_no_job_process(app):
    """A stop that arrives before or while the job processes are forked is not lost: none is started
    after it (earlier, the ones forked after the signal never heard of it and the supervisor waited on
    them for ever)."""
    import os

    from workers.worker import Supervisor

    supervisor = Supervisor(app, ["maintenance"], processes=2, burst=False, max_jobs=None)
    previous = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    try:
        supervisor.listen()
        os.kill(os.getpid(), signal.SIGTERM)  # the handler only records it: no exception to lose
        time.sleep(0.05)
        assert supervisor.stopping
        started = time.monotonic()
        assert supervisor.run() == 0
        assert supervisor.children == {} and time.monotonic() - started < 5
    finally:
        signal.signal(signal.SIGINT, previous[0])
        signal.signal(signal.SIGTERM, previous[1])
