"""Revision checks as a service: start one for a new version, run it (the job body) through the
model chain, defer when every model is busy, fail saying why, reconcile what a crash left. The rules
on items and statuses are app.review.state.revisions'; PostgreSQL holds the truth, RQ carries ids."""
from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from app import events
from app.jobs import job_exists, submit_fairly
from app.leases import Lease
from app.llm.errors import CapacityExhausted, ModelsUnusable, RequestInvalid
from app.llm.types import Sampling
from app.models import Document, RevisionCheck, Section, User, utcnow

from . import revision_prompt as prompt
from .schema import OutputInvalid
from .state import revisions

log = logging.getLogger(__name__)
LEASE_KEY = "ai-prism:lease:revision:{id}"
LEASE_S = 30
MAX_ATTEMPTS = 4
ACTIVE = ("queued", "running", "deferred")


class CheckFailed(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code, self.message = code, message


def start_check(db: Session, redis, document: Document, user: User) -> RevisionCheck:
    """Create (or restart, when it failed) the revision check of a later version and queue it."""
    if document.previous_version_id is None:
        raise revisions.RevisionError(409, "not_a_version", "This document is not a later version of another.")
    check = revisions.check_of(db, document.id)
    if check is not None and check.status != "failed":
        return check
    if check is None:
        check = RevisionCheck(document_id=document.id, previous_id=document.previous_version_id, requested_by=user.id)
        db.add(check)
        db.flush()
    check.status, check.error_code, check.error_message, check.finished_at = "queued", None, None, None
    check.attempts = 0 if check.attempts >= MAX_ATTEMPTS else check.attempts
    check.rq_job_id = f"{check.job_id}-a{check.attempts}-{int(utcnow().timestamp())}"
    db.commit()
    submit_fairly("revision", user.id, [((check.id,), check.rq_job_id)], connection=redis)
    return check


def lease(redis, check_id: int) -> Lease:
    return Lease(redis, LEASE_KEY.format(id=check_id), LEASE_S)


def _publish(redis, check: RevisionCheck) -> None:
    try:
        events.publish(redis, check.document_id, "revision", {"id": check.id, "state": check.status})
    except Exception:  # events are a convenience; the row is the truth
        log.warning("could not publish the revision event of check %s", check.id)


def _ask(chain, request, asked, new_texts, context):
    """One call; one repair turn when the answer is unusable; CheckFailed when still unusable."""
    response = chain.complete(request, context=context, max_wait_s=5)
    answer = response.tool_input if response.tool_used else response.text
    try:
        return prompt.parse_results(answer, asked, new_texts), response, 1
    except OutputInvalid as first:
        repaired = chain.complete(prompt.repair_request(request, response.text, str(first)), context=context, max_wait_s=5)
        answer = repaired.tool_input if repaired.tool_used else repaired.text
        try:
            return prompt.parse_results(answer, asked, new_texts), repaired, 2
        except OutputInvalid as second:
            raise CheckFailed("invalid_model_output",
                              f"The model's answer could not be read, even after a repair request ({second}).") from second


def _group_texts(db: Session, check: RevisionCheck, group: int):
    g = check.alignment["groups"][group]
    old = [db.get(Section, sid) for sid in g["v1"]]
    new = [db.get(Section, sid) for sid in g["v2"]]
    old_text = "\n\n".join(f"[{s.title}]\n{s.text}" for s in old if s is not None)
    new_texts = [(s.id, s.title, s.text) for s in new if s is not None]
    title = " / ".join(s.title for s in (new or old) if s is not None)
    return title, old_text, new_texts


def run_check(db: Session, redis, chain, check_id: int, *, max_deferral_s: float = 300,
              sampling: Sampling = Sampling()) -> str:
    """The job body; returns the state it leaves. Safe to run twice or after a crash: the alignment
    is made once, and each group's results are written once."""
    check = db.get(RevisionCheck, check_id)
    if check is None or check.finished:
        return check.status if check else "missing"
    check.status, check.started_at = "running", utcnow()
    check.attempts += 1
    check.error_code = check.error_message = None
    db.commit()
    _publish(redis, check)
    with lease(redis, check.id):
        revisions.prepare(db, check)
        db.refresh(check)
        context = {"purpose": "revision", "document_id": check.document_id, "user_id": check.requested_by}
        for group, pairs in revisions.unjudged(db, check).items():
            title, old_text, new_texts = _group_texts(db, check, group)
            asked = [prompt.Asked(row.item_id, row.location, item.category, item.description, item.suggestion,
                                  item.quote, row.new_text) for row, item in pairs]
            request = prompt.check_request(section_title=title, old_text=old_text, new_texts=new_texts, asked=asked,
                                           sampling=sampling)
            try:
                results, response, calls = _ask(chain, request, asked, new_texts, context)
            except CapacityExhausted as exc:
                return _defer(db, redis, check, exc.retry_after, max_deferral_s)
            except ModelsUnusable as exc:
                return _fail(db, redis, check, "models_unusable", exc.message)
            except RequestInvalid as exc:
                return _fail(db, redis, check, "request_rejected", f"The model rejected the request: {exc.message}")
            except CheckFailed as exc:
                return _fail(db, redis, check, exc.code, exc.message)
            check.model_calls += calls
            revisions.record_results(db, check, group, results, response.model_id)
        check = db.scalars(select(RevisionCheck).where(RevisionCheck.id == check_id).with_for_update()
                           .execution_options(populate_existing=True)).one()
        if check.status != "completed":
            check.status, check.finished_at, check.deferred_until = "completed", utcnow(), None
        db.commit()
    _publish(redis, check)
    return "completed"


def _fail(db, redis, check: RevisionCheck, code: str, message: str) -> str:
    check.status, check.error_code, check.error_message = "failed", code, message[:2000]
    check.finished_at = utcnow()
    db.commit()
    _publish(redis, check)
    return "failed"


def _defer(db, redis, check: RevisionCheck, retry_after: float, max_deferral_s: float) -> str:
    """Back until ``retry_after`` (at most ``max_deferral_s``, ANALYSIS_MAX_WAIT_S) from now, as an
    analysis defers: never a failure, since the chain raises CapacityExhausted only while some model
    is usable. A deferred run did not crash, so it does not count toward MAX_ATTEMPTS."""
    retry_after = min(retry_after, max_deferral_s)
    check.attempts = max(0, check.attempts - 1)
    check.deferrals += 1
    check.status = "deferred"
    check.deferred_until = utcnow() + timedelta(seconds=retry_after)
    check.rq_job_id = f"{check.job_id}-d{check.deferrals}"
    db.commit()
    submit_fairly("revision", check.requested_by, [((check.id,), check.rq_job_id)], connection=redis, delay_s=retry_after)
    _publish(redis, check)
    return "deferred"


def fail_after_crashes(db: Session, redis, check_id: int, error: Exception) -> None:
    check = db.get(RevisionCheck, check_id)
    if check is not None and not check.finished:
        _fail(db, redis, check, "internal_error", f"The revision check failed repeatedly ({type(error).__name__}).")


def reconcile(db: Session, redis, now: datetime | None = None) -> list[int]:
    """Re-enqueue checks a crash or a Redis flush left behind (a running one whose lease lapsed, a
    queued or deferred one whose job is gone); returns their ids."""
    now = now or utcnow()
    requeued = []
    for check in db.scalars(select(RevisionCheck).where(RevisionCheck.status.in_(ACTIVE))):
        age = (now - check.updated_at).total_seconds()
        if check.status == "running":
            stuck = age > LEASE_S + 5 and not redis.exists(LEASE_KEY.format(id=check.id))
        elif check.status == "deferred":
            due = check.deferred_until or check.updated_at
            stuck = (now - due).total_seconds() > 30 and not job_exists(check.rq_job_id, redis)
        else:
            stuck = age > 30 and not job_exists(check.rq_job_id, redis)
        if not stuck:
            continue
        if check.attempts >= MAX_ATTEMPTS:
            _fail(db, redis, check, "gave_up", f"The revision check did not finish after {check.attempts} attempts.")
            continue
        check.status = "queued"
        check.rq_job_id = f"{check.job_id}-r{int(now.timestamp() // 60)}"
        db.commit()
        submit_fairly("revision", check.requested_by, [((check.id,), check.rq_job_id)], connection=redis)
        requeued.append(check.id)
        log.warning("re-enqueued revision check %s", check.id)
    return requeued
