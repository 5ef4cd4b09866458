"""RQ on real Redis: jobs run in the app context in job processes forked by the worker's supervisor,
failures are recorded, SIGTERM lets the running job finish, a dead or worn-out job process is
replaced, and the scheduler enqueues each periodic job once per period."""
import contextlib
import signal
import subprocess
import time
from datetime import timedelta

import pytest
import redis as redis_lib
from rq import Queue
from rq.job import Job, JobStatus

from app.extensions import db
from app.jobs import SERIALIZER, enqueue, queue_depths
from app.models import ApiToken, User, utcnow
from tests.support.processes import BIN, ROOT, process_env
from workers.scheduler import Periodic, tick

pytestmark = pytest.mark.slow


def start_worker(env, *extra):
    return subprocess.Popen(
        [str(BIN / "flask"), "--app", "application", "worker", *extra],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )


@pytest.fixture
def worker_env(database_url, redis_url, tmp_path):
    return process_env(database_url, redis_url, str(tmp_path / "storage"))


def test_maintenance_job_runs_in_a_forked_worker_with_the_database(app, make_user, worker_env, redis_url):
    uid = make_user("ann@example.com")
    with app.app_context():
        long_ago = utcnow() - timedelta(days=90)
        db.session.add_all([
            ApiToken(user_id=uid, name="old", token_hash="a" * 64, prefix="aip_old", expires_at=long_ago),
            ApiToken(user_id=uid, name="live", token_hash="b" * 64, prefix="aip_new"),
        ])
        db.session.commit()
        job = enqueue("purge_expired_tokens")
        assert queue_depths(app.extensions["redis"])["maintenance"] == 1
    worker = start_worker(worker_env, "--burst")
    output = worker.communicate(timeout=60)[0].decode()
    assert worker.returncode == 0, output
    connection = redis_lib.Redis.from_url(redis_url)
    finished = Job.fetch(job.id, connection=connection, serializer=SERIALIZER)
    assert finished.get_status() == JobStatus.FINISHED, output
    assert finished.return_value() == 1
    with app.app_context():
        assert [t.name for t in db.session.query(ApiToken).all()] == ["live"]
        assert db.session.get(User, uid) is not None


def test_same_job_id_is_enqueued_once(app):
    with app.app_context():
        first = enqueue("purge_expired_tokens", job_id="purge-once")
        second = enqueue("purge_expired_tokens", job_id="purge-once")
        assert first.id == second.id
        assert queue_depths(app.extensions["redis"])["maintenance"] == 1
        assert first.timeout == 300 and first.result_ttl == 3600 and first.failure_ttl == 7 * 86400
        assert first.retries_left == 2


def test_failing_job_is_recorded_as_failed(app, worker_env, redis_url):
    connection = redis_lib.Redis.from_url(redis_url)
    job = Queue("maintenance", connection=connection, serializer=SERIALIZER).enqueue("tests.support.jobs.explode")
    worker = start_worker(worker_env, "--burst", "--queues", "maintenance")
    worker.communicate(timeout=60)
    failed = Job.fetch(job.id, connection=connection, serializer=SERIALIZER)
    assert failed.get_status() == JobStatus.FAILED
    assert "this job fails on purpose" in failed.latest_result().exc_string


def test_sigterm_lets_the_running_job_finish(app, worker_env, redis_url):
    connection = redis_lib.Redis.from_url(redis_url)
    job = Queue("maintenance", connection=connection, serializer=SERIALIZER).enqueue(
        "tests.support.jobs.slow_mark", args=("graceful", 2.0), job_timeout=30
    )
    worker = start_worker(worker_env, "--queues", "maintenance")
    deadline = time.monotonic() + 30
    while not connection.get("graceful:started"):
        assert time.monotonic() < deadline, "the job never started"
        time.sleep(0.05)
    worker.send_signal(signal.SIGTERM)
    output = worker.communicate(timeout=30)[0].decode()
    assert worker.returncode == 0, output
    assert connection.get("graceful") == b"app"
    assert Job.fetch(job.id, connection=connection, serializer=SERIALIZER).get_status() == JobStatus.FINISHED


def _finished(connection, jobs, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        fetched = [Job.fetch(j.id, connection=connection, serializer=SERIALIZER) for j in jobs]
        if all(j.get_status() == JobStatus.FINISHED for j in fetched):
            return [j.return_value() for j in fetched]
        time.sleep(0.1)
    raise AssertionError([j.get_status() for j in fetched])


def _job_processes(worker, count, connection, timeout=30):
    """The supervisor's children that are registered RQ workers (its other child is the scheduler)."""
    import psutil
    from rq import Worker

    deadline = time.monotonic() + timeout
    while True:
        registered = {w.pid for w in Worker.all(connection=connection)}
        children = [c for c in psutil.Process(worker.pid).children()
                    if c.status() != psutil.STATUS_ZOMBIE and c.pid in registered]
        if len(children) == count:
            return children
        assert time.monotonic() < deadline, (children, worker.poll())
        time.sleep(0.1)


@contextlib.contextmanager
def supervised_worker(env, *extra):
    """A `flask worker` for the test's body, which must then stop cleanly on SIGTERM; its output is
    in the yielded dict afterwards."""
    worker, after = start_worker(env, "--queues", "maintenance", *extra), {}
    try:
        yield worker, after
    finally:
        worker.send_signal(signal.SIGTERM)
        after["output"] = worker.communicate(timeout=30)[0].decode()
    assert worker.returncode == 0, after["output"][-2000:]


def _run(queue, connection, count, seconds=0.0):
    return _finished(connection, [queue.enqueue("tests.support.jobs.process_window", args=(seconds,)) for _ in range(count)])


def test_job_processes_run_jobs_side_by_side(app, worker_env, redis_url):
    connection = redis_lib.Redis.from_url(redis_url)
    queue = Queue("maintenance", connection=connection, serializer=SERIALIZER)
    with supervised_worker(worker_env, "--processes", "3") as (worker, _):
        _job_processes(worker, 3, connection)
        windows = _run(queue, connection, 3, 1.5)
        assert len({w["pid"] for w in windows}) == 3  # one job each, in three processes
        assert max(w["started"] for w in windows) < min(w["ended"] for w in windows)  # at the same time


def test_a_job_process_is_replaced_after_max_jobs_and_when_killed(app, worker_env, redis_url):
    connection = redis_lib.Redis.from_url(redis_url)
    queue = Queue("maintenance", connection=connection, serializer=SERIALIZER)
    with supervised_worker(worker_env, "--processes", "1", "--max-jobs", "2") as (worker, _):
        (first,) = _job_processes(worker, 1, connection)
        pids = [w["pid"] for w in _run(queue, connection, 3)]
        # The first two jobs ran in one process, which ran them in itself; the third in its replacement.
        assert pids[0] == pids[1] == first.pid and pids[2] != first.pid
        (second,) = _job_processes(worker, 1, connection)
        assert second.pid == pids[2]
        second.kill()  # a crash: the supervisor starts another, and jobs go on
        deadline = time.monotonic() + 30
        while True:
            (third,) = _job_processes(worker, 1, connection)
            if third.pid != second.pid:
                break
            assert time.monotonic() < deadline
            time.sleep(0.1)
        assert _run(queue, connection, 1)[0]["pid"] == third.pid


def test_a_job_process_over_its_memory_limit_is_replaced_after_its_job(app, worker_env, redis_url):
    connection = redis_lib.Redis.from_url(redis_url)
    queue = Queue("maintenance", connection=connection, serializer=SERIALIZER)
    # Every job process holds more than 64 MiB (the app alone does), so each is replaced after one job.
    env = {**worker_env, "WORKER_MAX_MEMORY_MB": "64", "LOG_LEVEL": "INFO"}
    with supervised_worker(env, "--processes", "1") as (worker, after):
        _job_processes(worker, 1, connection)
        first, second = _run(queue, connection, 1)[0], _run(queue, connection, 1)[0]
        assert first["pid"] != second["pid"]
    assert '"message": "job process replaced: memory"' in after["output"]


def test_job_processes_stop_when_their_supervisor_is_killed(app, worker_env, redis_url):
    import psutil

    worker = start_worker(worker_env, "--queues", "maintenance", "--processes", "2")
    _job_processes(worker, 2, redis_lib.Redis.from_url(redis_url))
    children = psutil.Process(worker.pid).children(recursive=True)
    assert len(children) == 3  # two job processes and the scheduler
    worker.kill()
    worker.wait(timeout=10)

    gone, alive = psutil.wait_procs(children, timeout=20)
    assert not alive, alive


def test_scheduler_enqueues_each_periodic_job_once_per_period(app):
    periodic = [Periodic("purge_expired_tokens", 3600)]
    now = 1_800_000_000.0
    first = tick(app, periodic, now)
    second = tick(app, periodic, now + 10)  # a second scheduler, or the same one, in the same hour
    assert first == second
    assert queue_depths(app.extensions["redis"])["maintenance"] == 1
    third = tick(app, periodic, now + 3600)
    assert third != first
    assert queue_depths(app.extensions["redis"])["maintenance"] == 2


def test_scheduler_process_starts_and_stops_on_sigterm(worker_env, redis_url, app):
    proc = subprocess.Popen([str(BIN / "flask"), "--app", "application", "scheduler"], cwd=ROOT, env=worker_env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    connection = redis_lib.Redis.from_url(redis_url)
    deadline = time.monotonic() + 30
    while not connection.keys("ai-prism:scheduler:*"):
        assert proc.poll() is None, proc.communicate()[0].decode()
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert Queue("maintenance", connection=connection, serializer=SERIALIZER).count == 5  # four reconcilers + token purge
    proc.send_signal(signal.SIGTERM)
    proc.communicate(timeout=20)
    assert proc.returncode == 0


def test_worker_warm_up_prepares_the_parent_and_leaves_no_connection_or_row(app):
    """The worker's supervisor compiles what every job process needs, then lets go of its connections."""
    from sqlalchemy import func, select

    from app.extensions import db
    from app.models import Analysis, FeedbackItem
    from workers.worker import warm_up

    engine = app.extensions["database"]
    warm_up(app)
    assert Analysis.__mapper__.configured
    assert engine.pool.checkedout() == 0
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(FeedbackItem)) == 0
