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


def test_a_deferred_job_waits_until_due_then_takes_its_users_next_turn(app, r):
    import time

    from rq import Queue

    submit(app, r, 1, ["a-1", "a-2", "a-3"])
    q = Queue("analysis", connection=r, serializer=SERIALIZER)

    def job(job_id):
        made = q.create_job("workers.tasks.analyse_section", args=(int(job_id.split("-")[1]),), job_id=job_id)
        made.origin = "analysis"
        return made

    fair_queue.submit(r, 2, [job("b-1")], due_at=time.time() - 1)  # due already
    fair_queue.submit(r, 2, [job("b-2")], due_at=time.time() + 3600)  # an hour from now
    # The feed at the end of each submit already took b-1, being due, back to its user (at the ring's end);
    # b-2 holds no turn yet.
    assert fair_queue.backlog(r) == 5 and fair_queue.deferred_count(r) == 1
    assert list(fair_queue.waiting_by_user(r).items()) == [("1", 3), ("2", 1)]
    idle_workers(r, 4)
    assert fair_queue.feed(r) == 4
    assert queued_ids(r) == ["a-1", "b-1", "a-2", "a-3"]
    assert fair_queue.deferred_count(r) == 1 and fair_queue.backlog(r) == 1
    r.delete(RQ_QUEUE)
    assert fair_queue.feed(r) == 0  # b-2 is not due


def test_a_deferral_goes_back_through_the_fair_queue(app, r):
    with app.app_context():
        submit_fairly("analysis", 5, [((9,), "analysis-9-d1")], connection=r, delay_s=30)
    assert fair_queue.deferred_count(r) == 1 and r.exists("rq:job:analysis-9-d1")
    idle_workers(r, 2)
    assert fair_queue.feed(r) == 0 and queued_ids(r) == []
