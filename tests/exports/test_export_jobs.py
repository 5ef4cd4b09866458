"""Exports as first-class jobs in real worker processes: a job process killed with -9 mid-export and
a Redis flush each end with the export completed (the reconciler re-enqueues it), and a store that
keeps failing ends in failed, with the message, only after RQ's retries."""
from __future__ import annotations

import contextlib
import io
import os
import signal
import subprocess
import time
from pathlib import Path

import docx
import psutil
import psycopg
import pytest
import redis as redis_lib
from sqlalchemy import select

from app.extensions import db
from app.models import Export
from tests.conftest import login
from tests.documents.corpus import headed_sections
from tests.support.processes import BIN, ROOT, process_env

pytestmark = pytest.mark.slow


@pytest.fixture
def reviewer(app, make_user):
    make_user("ann@example.com")
    client = app.test_client()
    client.csrf = login(client, "ann@example.com").get_json()["csrf_token"]
    return client


@pytest.fixture
def worker_env(app, database_url, redis_url):
    return process_env(database_url, redis_url, app.config["LOCAL_STORAGE_DIR"], SCHEDULER_INTERVAL_SECONDS="2")


def reviewed_document(client) -> dict:
    data = headed_sections(3, lambda i: f"The seller in case {i + 1} shipped late and nobody called back.")
    doc = client.post("/api/documents", data={"file": (io.BytesIO(data), "case.docx")},
                      content_type="multipart/form-data", headers={"X-CSRFToken": client.csrf}).get_json()
    for section in doc["sections"]:
        made = client.post(f"/api/documents/{doc['id']}/feedback", headers={"X-CSRFToken": client.csrf},
                           json={"section_id": section["id"], "description": "Who called?", "quote": "nobody called back"})
        assert made.status_code == 201, made.get_json()
    return doc


def start_export(client, document_id: int) -> int:
    response = client.post(f"/api/documents/{document_id}/exports", json={}, headers={"X-CSRFToken": client.csrf})
    assert response.status_code == 202
    return response.get_json()["id"]


def start(env, *command, **kwargs):
    return subprocess.Popen([str(BIN / "flask"), "--app", "application", *command], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True, **kwargs)


def stop(*procs):
    for proc in procs:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
    for proc in procs:
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def wait_for_workers(redis_url, count: int = 1, timeout: float = 60) -> None:
    """Until ``count`` job processes are registered: the supervisor's warm-up reads the tables the
    test is about to lock."""
    from rq import Worker

    connection = redis_lib.Redis.from_url(redis_url)
    deadline = time.monotonic() + timeout
    while len(Worker.all(connection=connection)) < count:
        assert time.monotonic() < deadline, "the worker never started"
        time.sleep(0.2)


def statuses(app) -> dict[int, Export]:
    with app.app_context():
        rows = db.session.scalars(select(Export)).all()
        db.session.expunge_all()
        return {row.id: row for row in rows}


def wait_until(app, check, timeout: float, what: str) -> dict[int, Export]:
    deadline = time.monotonic() + timeout
    while True:
        rows = statuses(app)
        if check(rows):
            return rows
        assert time.monotonic() < deadline, (what, {i: (r.status, r.attempts, r.error_message) for i, r in rows.items()})
        time.sleep(0.2)


@contextlib.contextmanager
def feedback_locked(database_url):
    """Hold an exclusive lock on feedback_items: an export that has just become running waits on its
    first read of the items, so the test can strike mid-export. Released on leaving the block."""
    with psycopg.connect(database_url) as conn:
        conn.execute("LOCK TABLE feedback_items IN ACCESS EXCLUSIVE MODE")
        yield
        conn.rollback()


def assert_complete(client, export_id: int, comments: int) -> None:
    body = client.get(f"/api/exports/{export_id}").get_json()
    assert body["status"] == "completed" and body["error"] is None, body
    files = {f["format"]: f for f in body["files"]}
    assert set(files) == {"docx", "json", "csv"}
    word = client.get(files["docx"]["url"])
    assert word.status_code == 200
    assert len(docx.Document(io.BytesIO(word.get_data())).comments) == comments


def test_a_worker_killed_mid_export_ends_with_the_export_completed(app, reviewer, worker_env, database_url, redis_url):
    doc = reviewed_document(reviewer)
    worker = start(worker_env, "worker", "--queues", "exports,maintenance", "--processes", "1")
    restarted = scheduler = None
    try:
        wait_for_workers(redis_url)
        with feedback_locked(database_url):
            export_id = start_export(reviewer, doc["id"])
            wait_until(app, lambda rows: rows[export_id].status == "running", 60, "the export never started")
            for process in [psutil.Process(worker.pid), *psutil.Process(worker.pid).children(recursive=True)]:
                process.kill()  # the supervisor and its job process, mid-export
            worker.wait(timeout=10)
        assert statuses(app)[export_id].status == "running"
        restarted = start(worker_env, "worker", "--queues", "exports,maintenance", "--processes", "1")
        scheduler = start(worker_env, "scheduler")
        began = time.monotonic()
        rows = wait_until(app, lambda rows: rows[export_id].finished, 150, "the export was not recovered")
        print(f"recovered {time.monotonic() - began:.1f} s after the restart")
        assert rows[export_id].status == "completed" and rows[export_id].attempts == 2
        assert_complete(reviewer, export_id, comments=3)
    finally:
        stop(*(p for p in (worker, restarted, scheduler) if p is not None))


def test_a_redis_flush_during_exports_loses_none(app, reviewer, worker_env, database_url, redis_url):
    doc = reviewed_document(reviewer)
    worker = start(worker_env, "worker", "--queues", "exports,maintenance", "--processes", "1")
    scheduler = start(worker_env, "scheduler")
    try:
        wait_for_workers(redis_url)
        with feedback_locked(database_url):
            first, second = start_export(reviewer, doc["id"]), start_export(reviewer, doc["id"])
            rows = wait_until(app, lambda rows: "running" in {r.status for r in rows.values()}, 60, "no export started")
            assert sorted(r.status for r in rows.values()) == ["queued", "running"]  # one job process: one at a time
            redis_lib.Redis.from_url(redis_url).flushdb()  # the queue, the jobs and the lease are gone
        rows = wait_until(app, lambda rows: all(r.finished for r in rows.values()), 150, "an export was lost")
        assert {r.status for r in rows.values()} == {"completed"}
        assert [rows[first].attempts, rows[second].attempts] == [1, 1]  # the running one went on; none ran twice
        login(reviewer, "ann@example.com")  # the flush took the session too
        for export_id in (first, second):
            assert_complete(reviewer, export_id, comments=3)
    finally:
        stop(worker, scheduler)


def test_a_store_that_keeps_failing_ends_failed_after_the_retries_with_the_message(app, reviewer, worker_env):
    doc = reviewed_document(reviewer)
    # The local store cannot write under the export prefix: a file sits where its folder goes.
    blocker = Path(app.config["LOCAL_STORAGE_DIR"]) / app.config["EXPORT_PREFIX"].rstrip("/")
    blocker.write_bytes(b"not a folder")
    export_id = start_export(reviewer, doc["id"])
    worker = start(worker_env, "worker", "--queues", "exports", "--processes", "1")
    try:
        seen = set()

        def settled(rows):
            seen.add((rows[export_id].status, rows[export_id].attempts))
            return rows[export_id].finished

        rows = wait_until(app, settled, 120, "the export never settled")
    finally:
        stop(worker)
    export = rows[export_id]
    assert export.status == "failed" and export.attempts == 3, (export.status, export.attempts)
    assert export.error_message.startswith("Storing the export failed (") and "(3 attempts)" in export.error_message
    assert ("queued", 1) in seen and ("queued", 2) in seen  # between tries it waited for RQ's retry, not failed
    body = reviewer.get(f"/api/exports/{export_id}").get_json()
    assert body["status"] == "failed" and body["files"] == [] and body["error"] == export.error_message
    assert not any(p.is_file() for p in Path(app.config["LOCAL_STORAGE_DIR"]).rglob("*_export*"))
