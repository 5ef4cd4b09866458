"""The export reconciler on the real database and Redis: what a crash or a Redis flush left behind
is re-enqueued once its grace has passed, live work is left alone, and an export that has had its
runs fails with a message."""
from __future__ import annotations

import io
from datetime import timedelta

from rq.job import Job

from app.extensions import db
from app.exports import lifecycle
from app.jobs import SERIALIZER, enqueue, job_exists
from app.models import Export, utcnow
from tests.conftest import login
from tests.documents.corpus import headed_sections


def test_reconcile_requeues_exports_left_behind_and_leaves_live_ones(app, make_user):
    make_user("ann@example.com")
    client = app.test_client()
    client.csrf = login(client, "ann@example.com").get_json()["csrf_token"]
    doc = client.post("/api/documents", data={"file": (io.BytesIO(headed_sections(1, lambda i: "Body.")), "a.docx")},
                      content_type="multipart/form-data", headers={"X-CSRFToken": client.csrf}).get_json()
    ids = [client.post(f"/api/documents/{doc['id']}/exports", json={}, headers={"X-CSRFToken": client.csrf}).get_json()["id"]
           for _ in range(5)]
    waiting, lost, alive, dead, worn = ids
    redis = app.extensions["redis"]
    with app.app_context():
        for export_id, attempts in ((alive, 1), (dead, 1), (worn, lifecycle.MAX_ATTEMPTS)):
            export = db.session.get(Export, export_id)
            export.status, export.attempts = "running", attempts
        db.session.commit()
        redis.flushdb()  # every job and lease gone ...
        enqueue("export", waiting, job_id=f"export-{waiting}", connection=redis)  # ... but one job enqueued again
        redis.set(lifecycle.LEASE_KEY.format(id=alive), "1", ex=lifecycle.LEASE_S)  # and one run still beating

        assert lifecycle.reconcile(db.session, redis, now=utcnow() + timedelta(seconds=10)) == []  # within the grace
        requeued = lifecycle.reconcile(db.session, redis, now=utcnow() + timedelta(seconds=lifecycle.LEASE_S + 10))
        assert sorted(requeued) == sorted([lost, dead])
        rows = {e.id: e for e in db.session.query(Export).all()}
        for export_id in (lost, dead):
            assert rows[export_id].status == "queued" and rows[export_id].rq_job_id.startswith(f"export-{export_id}-r")
            assert job_exists(rows[export_id].rq_job_id, redis)
            job = Job.fetch(rows[export_id].rq_job_id, connection=redis, serializer=SERIALIZER)
            assert job.args == [export_id] and job.retries_left == 2
        assert rows[waiting].status == "queued" and rows[waiting].rq_job_id == f"export-{waiting}"
        assert rows[alive].status == "running"
        assert rows[worn].status == "failed" and rows[worn].error_message == (
            f"The export did not finish after {lifecycle.MAX_ATTEMPTS} attempts.")
        # A second reconciler in the same minute finds nothing more to do.
        assert lifecycle.reconcile(db.session, redis, now=utcnow() + timedelta(seconds=lifecycle.LEASE_S + 10)) == []


def test_a_failed_run_waits_for_rqs_retry_and_only_the_last_one_fails_the_export(app, make_user):
    uid = make_user("ann@example.com")
    redis = app.extensions["redis"]
    with app.app_context():
        from app.models import Document

        document = Document(user_id=uid, title="t", original_filename="t.txt", file_format="txt", content_type="text/plain",
                            size_bytes=1, sha256="0" * 64, storage_key="k")
        db.session.add(document)
        db.session.flush()
        export = Export(document_id=document.id, user_id=uid, formats=["csv"], status="running", attempts=1)
        db.session.add(export)
        db.session.commit()
        failure = lifecycle.ExportFailure("Storing the export failed (ClientError); nothing was saved. Try again.")
        lifecycle.record_failure(db.session, redis, export.id, failure, final=False)
        assert db.session.get(Export, export.id).status == "queued" and export.error_message is None
        export.status, export.attempts = "running", 3
        db.session.commit()
        lifecycle.record_failure(db.session, redis, export.id, failure, final=True)
        export = db.session.get(Export, export.id)
        assert export.status == "failed" and export.finished_at is not None
        assert export.error_message == "Storing the export failed (ClientError); nothing was saved. Try again. (3 attempts)"
        lifecycle.record_failure(db.session, redis, export.id, RuntimeError("late"), final=True)  # final stays final
        assert db.session.get(Export, export.id).error_message.endswith("(3 attempts)")
