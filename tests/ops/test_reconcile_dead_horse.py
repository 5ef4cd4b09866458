"""A worker killed just as it took an analysis job (before the analysis became running) leaves the
row queued and the RQ job started forever; the reconciler re-enqueues it after the lease time
(found by `make chaos`). A job merely waiting in the queue is left alone."""
from __future__ import annotations

from datetime import timedelta

from rq.job import Job, JobStatus

from app.extensions import db
from app.jobs import SERIALIZER
from app.models import Analysis, utcnow
from app.review import service
from tests.documents.corpus import headed_sections


def test_reconciler_requeues_a_job_taken_by_a_worker_that_died(app, signed_in):
    client = signed_in
    response = client.post("/api/documents", data={"file": (__import__("io").BytesIO(headed_sections(2, lambda i: f"Body {i}.")), "a.docx")},
                           headers={"X-CSRFToken": client.csrf}, content_type="multipart/form-data")
    assert response.status_code == 201, response.get_json()
    document_id = response.get_json()["id"]
    jobs = client.post(f"/api/documents/{document_id}/analyses", json={}, headers={"X-CSRFToken": client.csrf}).get_json()["jobs"]
    taken, waiting = jobs[0]["id"], jobs[1]["id"]
    redis = app.extensions["redis"]
    with app.app_context():
        taken_job = db.session.get(Analysis, taken).rq_job_id
        # What RQ records when a worker takes the job; the horse then dies before marking it running.
        Job.fetch(taken_job, connection=redis, serializer=SERIALIZER).set_status(JobStatus.STARTED)
        assert service.reconcile(db.session, redis, now=utcnow() + timedelta(seconds=20)) == []  # too early
        requeued = service.reconcile(db.session, redis, now=utcnow() + timedelta(seconds=service.LEASE_S + 10))
        assert requeued == [taken]
        analysis = db.session.get(Analysis, taken)
        assert analysis.status == "queued" and analysis.rq_job_id != taken_job
        assert Job.fetch(analysis.rq_job_id, connection=redis, serializer=SERIALIZER).get_status() == JobStatus.QUEUED
        assert db.session.get(Analysis, waiting).rq_job_id == f"analysis-{waiting}"
