"""Exports as first-class jobs, like analyses: the row says where each export is, a lease in Redis
says its run is alive, the reconciler re-enqueues what a crash or a Redis flush left behind, and an
export ends failed only when RQ has no retry left.

- queued: an RQ job (``rq_job_id``) is waiting for it, or RQ will run it again after a failed try;
- running: a job process holds its lease (renewed every LEASE_S / 3 s) while it builds and stores;
- completed / failed: final. ``attempts`` counts the runs started.
"""
from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from app import events
from app.jobs import SERIALIZER, enqueue, job_exists
from app.leases import Lease
from app.models import Export, utcnow

log = logging.getLogger(__name__)
LEASE_KEY = "ai-prism:lease:export:{id}"
LEASE_S = 30
QUEUED_GRACE_S = 30  # a queued export's job may be that young and not yet visible to a reader
MAX_ATTEMPTS = 4  # runs started, across RQ's retries and the reconciler's re-enqueues


class ExportFailure(Exception):
    """One run of an export failed; ``message`` is what the reviewer reads if no retry succeeds."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def lease(redis, export_id: int, seconds: int = LEASE_S) -> Lease:
    """The running export's heartbeat; when it lapses, the reconciler takes over."""
    return Lease(redis, LEASE_KEY.format(id=export_id), seconds)


def publish(redis, export: Export, **extra) -> None:
    events.publish(redis, export.document_id, "export", {"id": export.id, "status": export.status, **extra})


def record_failure(db: Session, redis, export_id: int, error: BaseException, *, final: bool) -> None:
    """After a failed run: back to queued while RQ has a retry left, else failed with the message."""
    db.rollback()
    export = db.get(Export, export_id)
    if export is None or export.finished:
        return
    message = error.message if isinstance(error, ExportFailure) else f"The export failed ({type(error).__name__})."
    if final:
        tries = f" ({export.attempts} attempts)" if export.attempts > 1 else ""
        export.status, export.error_message, export.finished_at = "failed", f"{message}{tries}"[:2000], utcnow()
    else:
        export.status = "queued"
        log.warning("export %s failed (attempt %s); RQ will retry: %s", export.id, export.attempts, message)
    db.commit()
    publish(redis, export, error=export.error_message)


def _taken_but_never_started(job_id: str | None, redis) -> bool:
    """RQ says a worker took the job, yet the export never became running: the job process died
    before its first step."""
    from rq.job import Job, JobStatus

    try:
        return Job.fetch(job_id, connection=redis, serializer=SERIALIZER).get_status() == JobStatus.STARTED
    except Exception:  # gone meanwhile, or unreadable: the other checks decide
        return False


def reconcile(db: Session, redis, now: datetime | None = None) -> list[int]:
    """Re-enqueue exports a crash or a Redis flush left behind (queued with no job, running with no
    lease); fail those that have had MAX_ATTEMPTS runs. Returns the re-enqueued ids."""
    now = now or utcnow()
    requeued = []
    for export in db.scalars(select(Export).where(Export.status.in_(("queued", "running")))).all():
        age = (now - export.updated_at).total_seconds()
        if export.status == "running":
            stuck = age > LEASE_S + 5 and not redis.exists(LEASE_KEY.format(id=export.id))
        else:
            stuck = age > QUEUED_GRACE_S and (not job_exists(export.rq_job_id, redis)
                                              or (age > LEASE_S + 5 and _taken_but_never_started(export.rq_job_id, redis)))
        if not stuck:
            continue
        if export.attempts >= MAX_ATTEMPTS:
            export.status, export.finished_at = "failed", utcnow()
            export.error_message = f"The export did not finish after {export.attempts} attempts."
            db.commit()
            publish(redis, export, error=export.error_message)
            continue
        was = export.status
        export.status = "queued"
        export.rq_job_id = f"export-{export.id}-r{int(now.timestamp() // 60)}"
        db.commit()
        enqueue("export", export.id, job_id=export.rq_job_id, connection=redis)
        requeued.append(export.id)
        log.warning("re-enqueued export %s left %s", export.id, was)
    return requeued
