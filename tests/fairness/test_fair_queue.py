"""The fair queue's scripts on real Redis: round-robin across users, a new user first, only as many
jobs moved as job processes are idle, ids never queued twice, cancelled jobs skipped."""
import pytest
import redis as redis_lib
from rq.job import Job

from app import fair_queue
from app.jobs import SERIALIZER, queue_depths, submit_fairly

RQ_QUEUE = "rq:queue:analysis"


@pytest.fixture
def r(app, redis_url):
    return redis_lib.Redis.from_url(redis_url)


def idle_workers(r, count):
    """Stand-ins for RQ job processes listening on the analysis queue, as RQ registers them."""
    for i in range(count):
        r.sadd("rq:workers:analysis", f"rq:worker:w{i}")
        r.hset(f"rq:worker:w{i}", "state", "idle")


def queued_ids(r):
    return [i.decode() for i in r.lrange(RQ_QUEUE, 0, -1)]


def submit(app, r, user, ids):
    with app.app_context():
        submit_fairly("analysis", user, [((int(i.split("-")[1]),), i) for i in ids], connection=r)


def test_round_robin_across_users_and_a_new_user_goes_first(app, r):
    submit(app, r, 1, [f"a-{i}" for i in range(100)])
    submit(app, r, 2, [f"b-{i}" for i in range(3)])
    assert queued_ids(r) == []  # no job process idle: nothing moved, everything waits its turn
    assert fair_queue.waiting_by_user(r) == {"2": 3, "1": 100}
    assert queue_depths(r)["analysis"] == 103
    submit(app, r, 3, ["c-0"])
    idle_workers(r, 6)
    assert fair_queue.feed(r) == 6
    assert queued_ids(r) == ["c-0", "b-0", "a-0", "b-1", "a-1", "b-2"]
    assert fair_queue.feed(r) == 0  # the queue holds one job per idle process already
    r.delete(RQ_QUEUE)
    assert fair_queue.feed(r) == 6
    assert queued_ids(r) == [f"a-{i}" for i in range(2, 8)]  # only user 1 is left
    assert fair_queue.waiting_by_user(r) == {"1": 92}


def test_an_id_is_never_queued_twice_and_a_cancelled_job_is_skipped(app, r):
    submit(app, r, 1, ["a-1", "a-2", "a-3"])
    submit(app, r, 1, ["a-1", "a-2"])  # a second click, or two reconcilers in the same minute
    assert fair_queue.backlog(r) == 3
    Job.fetch("a-2", connection=r, serializer=SERIALIZER).cancel()
    idle_workers(r, 5)
    assert fair_queue.feed(r) == 2
    assert queued_ids(r) == ["a-1", "a-3"] and fair_queue.backlog(r) == 0
    assert r.llen(fair_queue.RING_KEY) == 0  # an empty user leaves the ring


def test_jobs_are_real_rq_jobs_with_the_kinds_settings(app, r):
    submit(app, r, 7, ["a-42"])
    job = Job.fetch("a-42", connection=r, serializer=SERIALIZER)
    assert job.func_name == "workers.tasks.analyse_section" and job.args == [42]
    assert job.get_status().value == "queued" and job.origin == "analysis"
    assert job.timeout == 900 and job.retries_left == 2 and job.failure_ttl == 7 * 86400


def test_a_job_process_about_to_dequeue_counts_itself(app, r):
    submit(app, r, 1, ["a-1", "a-2"])
    assert fair_queue.feed(r, extra_idle=1) == 1
    assert queued_ids(r) == ["a-1"]


def test_enqueueing_thousands_is_one_pipeline(app, r):
    import time

    started = time.perf_counter()
    submit(app, r, 1, [f"a-{i}" for i in range(4000)])
    elapsed = time.perf_counter() - started
    assert fair_queue.backlog(r) == 4000 and r.exists("rq:job:a-3999")
    print(f"4,000 jobs submitted in {elapsed * 1000:.0f} ms")
    assert elapsed < 3.0
