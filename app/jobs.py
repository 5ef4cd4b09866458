"""The one place background work is enqueued: queues, and per kind of job its function (by dotted
path, so the web side never imports worker code), timeout, result and failure TTLs and retry policy.

Jobs carry only ids and are serialised as JSON (never pickle).
"""
from __future__ import annotations

from dataclasses import dataclass

from flask import current_app
from redis import Redis
from rq import Queue, Retry
from rq.exceptions import DuplicateJobError
from rq.job import Job
from rq.serializers import JSONSerializer

QUEUE_NAMES = ("analysis", "exports", "maintenance")
SERIALIZER = JSONSerializer


@dataclass(frozen=True)
class JobKind:
    func: str
    queue: str
    timeout: int
    result_ttl: int
    failure_ttl: int
    retry_max: int = 0
    retry_intervals: tuple[int, ...] = ()

    def retry(self) -> Retry | None:
        return Retry(max=self.retry_max, interval=list(self.retry_intervals)) if self.retry_max else None


DAY = 86_400
JOB_KINDS: dict[str, JobKind] = {
    # Retries here cover crashes and transient errors; model capacity is handled by deferral.
    "analysis": JobKind(
        "workers.tasks.analyse_section", "analysis", timeout=900, result_ttl=3600, failure_ttl=7 * DAY,
        retry_max=2, retry_intervals=(15, 60),
    ),
    # A revision check: capacity is handled by deferral too; a crashed run resumes where it stopped.
    "revision": JobKind(
        "workers.tasks.check_revision", "analysis", timeout=900, result_ttl=3600, failure_ttl=7 * DAY,
        retry_max=2, retry_intervals=(15, 60),
    ),
    "reconcile_revisions": JobKind(
        "workers.tasks.reconcile_revisions", "maintenance", timeout=120, result_ttl=600, failure_ttl=DAY,
    ),
    "summary": JobKind(
        "workers.tasks.summarise_document", "analysis", timeout=120, result_ttl=3600, failure_ttl=7 * DAY,
        retry_max=2, retry_intervals=(10, 30),
    ),
    "reconcile_summaries": JobKind(
        "workers.tasks.reconcile_summaries", "maintenance", timeout=120, result_ttl=600, failure_ttl=DAY,
    ),
    # A failed export run raises; RQ runs it twice more before the export is marked failed.
    "export": JobKind(
        "workers.tasks.build_export", "exports", timeout=600, result_ttl=3600, failure_ttl=7 * DAY,
        retry_max=2, retry_intervals=(5, 30),
    ),
    "reconcile_exports": JobKind(
        "workers.tasks.reconcile_exports", "maintenance", timeout=120, result_ttl=600, failure_ttl=DAY,
    ),
    "reconcile_analyses": JobKind(
        "workers.tasks.reconcile_analyses", "maintenance", timeout=120, result_ttl=600, failure_ttl=DAY,
    ),
    "purge_expired_tokens": JobKind(
        "workers.tasks.purge_expired_tokens", "maintenance", timeout=300, result_ttl=3600, failure_ttl=7 * DAY,
        retry_max=2, retry_intervals=(30, 120),
    ),
}


def queue(name: str, connection: Redis | None = None) -> Queue:
    if name not in QUEUE_NAMES:
        raise ValueError(f"unknown queue {name!r}")
    return Queue(name, connection=connection or current_app.extensions["redis"], serializer=SERIALIZER)


def enqueue(kind: str, *args, job_id: str | None = None, connection: Redis | None = None) -> Job:
    """Enqueue one job of ``kind``. With a ``job_id`` a job already known under it is returned
    instead of a second one, so a double click or a second scheduler does not run work twice."""
    spec = JOB_KINDS[kind]
    q = queue(spec.queue, connection)
    try:
        return q.enqueue(
            spec.func,
            args=args,
            job_id=job_id,
            unique=job_id is not None,
            job_timeout=spec.timeout,
            result_ttl=spec.result_ttl,
            failure_ttl=spec.failure_ttl,
            retry=spec.retry(),
            description=f"{kind}{args!r}",
        )
    except DuplicateJobError:
        return Job.fetch(job_id, connection=q.connection, serializer=SERIALIZER)


def submit_fairly(kind: str, owner: int | None, jobs: list[tuple[tuple, str]], connection: Redis | None = None,
                  delay_s: float | None = None) -> list[Job]:
    """Create several jobs of one kind for one user in one pipeline and hand them to the fair queue
    (app/fair_queue.py), which feeds RQ's queue round-robin across users as job processes free up.
    ``jobs`` is [(args, job_id), ...]; an id that already exists is not queued again. With
    ``delay_s`` they take their user's turn only once that much time has passed (a deferral)."""
    import time

    from rq.job import JobStatus
    from rq.utils import now

    from app import fair_queue

    spec = JOB_KINDS[kind]
    q = queue(spec.queue, connection)
    created = []
    enqueued_at = now()
    for args, job_id in jobs:
        job = q.create_job(spec.func, args=args, job_id=job_id, timeout=spec.timeout, result_ttl=spec.result_ttl,
                           failure_ttl=spec.failure_ttl, retry=spec.retry(), description=f"{kind}{args!r}",
                           status=JobStatus.QUEUED)
        job.origin, job.enqueued_at = q.name, enqueued_at
        created.append(job)
    fair_queue.submit(q.connection, owner, created, queue_name=q.name,
                      due_at=None if delay_s is None else time.time() + max(1.0, delay_s))
    return created


def job_exists(job_id: str | None, connection: Redis) -> bool:
    return bool(job_id) and Job.exists(job_id, connection=connection)


def queue_depths(connection: Redis) -> dict[str, int]:
    """Jobs waiting per queue; for `analysis`, also those still waiting for their user's turn."""
    from app import fair_queue

    depths = {name: Queue(name, connection=connection, serializer=SERIALIZER).count for name in QUEUE_NAMES}
    depths["analysis"] += fair_queue.backlog(connection)
    return depths
