"""Property: whatever happens to an export (runs that succeed, runs that fail while RQ has retries
left and after, a job process killed mid-run, Redis flushed, the reconciler), on the real database,
Redis and store, its row stays truthful and it is never stranded: a completed export has its files
stored, a failed one says why, a finished one stays finished, and after a reconcile an unfinished
export always has a job that will run it."""
from __future__ import annotations

import io
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rq.job import Job, JobStatus

from app.extensions import db
from app.exports import lifecycle, service
from app.jobs import SERIALIZER, enqueue, job_exists
from app.models import Export, utcnow
from app.storage import LocalStorage
from tests.conftest import login
from tests.documents.corpus import headed_sections


class Killed(BaseException):
    """The job process dying mid-run: nothing in the run gets to handle it."""


class Store(LocalStorage):
    """The app's local store with a switch: ``fault`` is raised from every write while it is set."""

    fault: BaseException | None = None

    def put(self, key, data, *args, **kwargs):
        if self.fault is not None:
            raise self.fault
        return super().put(key, data, *args, **kwargs)


STEPS = st.lists(st.sampled_from(["run_ok", "run_fail", "crash", "flush", "reconcile"]), min_size=1, max_size=12)


def _run(redis, store, export_id: int, fault: BaseException | None) -> None:
    """What RQ does with the export's job, if it has one: take it, run it, retry or fail it."""
    export = db.session.get(Export, export_id)
    if not job_exists(export.rq_job_id, redis):
        return
    job = Job.fetch(export.rq_job_id, connection=redis, serializer=SERIALIZER)
    if job.get_status() in (JobStatus.FAILED, JobStatus.FINISHED):
        return
    job.set_status(JobStatus.STARTED)
    store.fault = fault
    try:
        service.run_export(db.session, redis, store, export_id, "Logs and data/")
        job.set_status(JobStatus.FINISHED)
    except Killed:
        db.session.rollback()  # the job stays STARTED in RQ, the row running; the lease lapses
    except Exception as exc:
        final = not job.retries_left
        lifecycle.record_failure(db.session, redis, export_id, exc, final=final)
        if final:
            job.set_status(JobStatus.FAILED)
        else:
            job.retries_left -= 1
            job.save()
            job.set_status(JobStatus.SCHEDULED)
    finally:
        store.fault = None


def _check(export: Export, store: Store, before: str | None) -> None:
    assert export.status in ("queued", "running", "completed", "failed")
    if before in ("completed", "failed"):
        assert export.status == before, "a finished export changed"
    if export.status == "completed":
        assert export.error_message is None and {f["format"] for f in export.files} == {"docx", "json", "csv"}
        assert all(store.get(f["key"]) for f in export.files)
    if export.status == "failed":
        assert export.error_message and export.files == []


@pytest.fixture
def document(app, make_user) -> tuple[int, int]:
    """One reviewed .docx, shared by every example (each makes an export of its own)."""
    user_id = make_user("ann@example.com")
    client = app.test_client()
    client.csrf = login(client, "ann@example.com").get_json()["csrf_token"]
    doc = client.post("/api/documents", data={"file": (io.BytesIO(headed_sections(2, lambda i: f"Body {i}.")), "a.docx")},
                      content_type="multipart/form-data", headers={"X-CSRFToken": client.csrf}).get_json()
    return doc["id"], user_id


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=STEPS)
def test_an_export_is_never_stranded_and_its_row_stays_truthful(app, document, steps):
    redis = app.extensions["redis"]
    store = Store(app.config["LOCAL_STORAGE_DIR"])
    document_id, user_id = document
    with app.app_context():
        export = Export(document_id=document_id, user_id=user_id, formats=["csv", "docx", "json"])
        db.session.add(export)
        db.session.commit()
        redis.flushdb()
        export.rq_job_id = export.job_id
        db.session.commit()
        enqueue("export", export.id, job_id=export.rq_job_id, connection=redis)
        export_id, later = export.id, utcnow()
        for step in steps:
            before = db.session.get(Export, export_id).status
            if step in ("run_ok", "run_fail", "crash"):
                fault = {"run_ok": None, "run_fail": OSError("disk full"), "crash": Killed()}[step]
                _run(redis, store, export_id, fault)
            elif step == "flush":
                redis.flushdb()
            else:
                later += timedelta(minutes=2)  # past every grace and lease
                lifecycle.reconcile(db.session, redis, now=later)
            db.session.expire_all()
            export = db.session.get(Export, export_id)
            _check(export, store, before)
            if step == "reconcile" and not export.finished:
                assert job_exists(export.rq_job_id, redis), "reconciled, yet nothing will run it"
        # Left alone with a healthy store, the export always finishes.
        for _ in range(3):
            later += timedelta(minutes=2)
            lifecycle.reconcile(db.session, redis, now=later)
            _run(redis, store, export_id, None)
        db.session.expire_all()
        assert db.session.get(Export, export_id).finished
