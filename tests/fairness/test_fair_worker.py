"""Fair dispatch with real processes: user A's 4,000 queued analyses do not make user B's single one
wait. A real `flask worker` (two job processes), real Redis and PostgreSQL, the fake Bedrock answering
after a delay."""
import io
import time

import pytest
import redis as redis_lib
from sqlalchemy import func, select

from app import create_app, fair_queue
from app.extensions import db
from app.models import Analysis
from tests.conftest import _clean, app_config, login
from tests.documents.corpus import headed_sections
from tests.review.conftest import start_worker
from tests.support.processes import stop_processes

pytestmark = pytest.mark.slow

HEAVY = 4000
LATENCY_S = 1.0
PROCESSES = 2


def _client(app, make_user, email):
    make_user(email)
    client = app.test_client()
    client.csrf = login(client, email).get_json()["csrf_token"]
    return client


def _upload(client, data):
    response = client.post("/api/documents", data={"file": (io.BytesIO(data), "case.docx")},
                           content_type="multipart/form-data", headers={"X-CSRFToken": client.csrf})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def _analyse(client, document_id):
    return client.post(f"/api/documents/{document_id}/analyses", json={}, headers={"X-CSRFToken": client.csrf})


def _count(app, **where):
    with app.app_context():
        query = select(func.count()).select_from(Analysis)
        for name, value in where.items():
            query = query.where(getattr(Analysis, name).in_(value) if isinstance(value, tuple) else getattr(Analysis, name) == value)
        return db.session.scalar(query)


def _job_processes_idle(redis_url, count, timeout=60):
    connection = redis_lib.Redis.from_url(redis_url)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        states = [connection.hget(key, "state") for key in connection.smembers("rq:workers:analysis")]
        if states.count(b"idle") >= count:
            return
        time.sleep(0.2)
    raise AssertionError("the worker's job processes never registered")


def test_a_light_users_analysis_starts_within_seconds_behind_a_heavy_users_4000(
        database_url, redis_url, tmp_path, bedrock_settings, worker_env, fake, make_user):
    app = create_app(app_config(database_url, redis_url, tmp_path, **bedrock_settings,
                                MAX_SECTIONS=HEAVY, MAX_QUEUED_ANALYSES_PER_USER=HEAVY))
    worker = None
    try:
        heavy, light = _client(app, make_user, "heavy@example.com"), _client(app, make_user, "light@example.com")
        big = _upload(heavy, headed_sections(HEAVY, lambda i: f"The seller in case {i} shipped late."))
        small = _upload(light, headed_sections(1, lambda i: "The refund took six weeks and nobody called back."))
        assert len(big["sections"]) == HEAVY
        fake.default.latency_s = LATENCY_S
        worker = start_worker(worker_env, "--processes", str(PROCESSES))
        _job_processes_idle(redis_url, PROCESSES)

        posted = time.perf_counter()
        response = _analyse(heavy, big["id"])
        post_s = time.perf_counter() - posted
        assert response.status_code == 202 and len(response.get_json()["jobs"]) == HEAVY
        deadline = time.monotonic() + 30
        while _count(app, status=("running", "completed")) < PROCESSES:  # the workers are busy with A's
            assert time.monotonic() < deadline, "A's analyses never started"
            time.sleep(0.1)

        asked_at = time.time()
        (job,) = _analyse(light, small["id"]).get_json()["jobs"]
        deadline = time.monotonic() + 60
        while True:
            with app.app_context():
                started = db.session.get(Analysis, job["id"]).started_at
            if started is not None or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        assert started is not None, "B's analysis never started"
        waited = started.timestamp() - asked_at
        heavy_waiting = _count(app, document_id=big["id"], status="queued")
        connection = redis_lib.Redis.from_url(redis_url)
        print(f"\nPOST of {HEAVY} analyses: {post_s:.2f} s; B's analysis started {waited:.2f} s after its POST, "
              f"with {fair_queue.backlog(connection)} of A's still waiting their turn "
              f"(first in, first out: about {HEAVY * LATENCY_S / PROCESSES:.0f} s)")
        assert waited < 10
        assert fair_queue.backlog(connection) > HEAVY - 200  # B went ahead of nearly all of A's
        assert heavy_waiting > HEAVY - 200
        assert post_s < 30
    finally:
        if worker is not None:
            stop_processes(worker)
        _clean(app, redis_url)


def test_after_a_redis_flush_the_reconciler_puts_every_analysis_back_in_its_users_turn(
        bedrock_app, worker_env, fake, make_user, redis_url):
    """FLUSHDB (the test's own Redis database; FLUSHALL would empty every other suite's on this
    machine too) loses the jobs, the users' lists and the ring; the database rows bring them back."""
    from datetime import timedelta

    from app.models import utcnow
    from app.review.service import reconcile

    heavy, light = _client(bedrock_app, make_user, "heavy@example.com"), _client(bedrock_app, make_user, "light@example.com")
    big = _upload(heavy, headed_sections(30, lambda i: f"The seller in case {i} shipped late."))
    small = _upload(light, headed_sections(1, lambda i: "The refund took six weeks."))
    assert _analyse(heavy, big["id"]).status_code == 202
    (job,) = _analyse(light, small["id"]).get_json()["jobs"]
    connection = redis_lib.Redis.from_url(redis_url)
    assert fair_queue.backlog(connection) == 31
    connection.flushdb()
    assert fair_queue.backlog(connection) == 0 and not connection.exists(f"rq:job:analysis-{job['id']}")

    with bedrock_app.app_context():
        requeued = reconcile(db.session, bedrock_app.extensions["redis"], now=utcnow() + timedelta(minutes=2))
    assert len(requeued) == 31
    assert fair_queue.waiting_by_user(connection) == {str(_user_id(bedrock_app, "light@example.com")): 1,
                                                      str(_user_id(bedrock_app, "heavy@example.com")): 30}
    fake.default.latency_s = 0.2
    worker = start_worker(worker_env, "--burst", "--processes", "1")
    assert worker.wait(timeout=120) == 0
    assert _count(bedrock_app, status="completed") == 31 and fair_queue.backlog(connection) == 0
    with bedrock_app.app_context():
        order = db.session.scalars(select(Analysis.id).order_by(Analysis.started_at)).all()
    assert order[0] == job["id"]  # the light user's analysis ran first, flush or not


def _user_id(app, email):
    from app.models import User

    with app.app_context():
        return db.session.scalar(select(User.id).where(User.email == email))


def test_fair_dispatch_keeps_every_job_process_busy(database_url, redis_url, tmp_path, bedrock_settings, worker_env, fake, make_user):
    """Work-conserving: with one user alone, the fair queue still feeds every idle job process, so 20
    sections on 4 job processes with 2 s model replies take about ceil(20 / 4) × 2 s = 10 s."""
    app = create_app(app_config(database_url, redis_url, tmp_path, **bedrock_settings))
    worker = None
    try:
        client = _client(app, make_user, "solo@example.com")
        document = _upload(client, headed_sections(20, lambda i: f"The seller in case {i} shipped late."))
        fake.default.latency_s = 2.0
        worker = start_worker(worker_env, "--processes", "4")
        _job_processes_idle(redis_url, 4)
        posted = time.monotonic()
        assert _analyse(client, document["id"]).status_code == 202
        deadline = posted + 60
        while _count(app, status="completed") < 20:
            assert time.monotonic() < deadline, _count(app, status="completed")
            time.sleep(0.05)
        elapsed = time.monotonic() - posted
        print(f"\n20 sections on 4 job processes, 2 s replies: {elapsed:.2f} s")
        with app.app_context():
            rows = db.session.scalars(select(Analysis).order_by(Analysis.started_at)).all()
        first_wave = [r.started_at.timestamp() for r in rows[:4]]
        assert max(first_wave) - min(first_wave) < 1.0  # all four processes took a job at once
        assert elapsed < 14  # the bound ceil(20/4)·2 s = 10 s, plus room for a loaded 2-core machine
    finally:
        if worker is not None:
            stop_processes(worker)
        _clean(app, redis_url)
