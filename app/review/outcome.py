"""What a document's analyses add up to: the document's status, from each section's current
analysis read through `app.review.state`, and, once they settle, a request for the summary the model
writes (`app.review.summary`)."""
from __future__ import annotations

import logging
from collections import Counter

from sqlalchemy import select
from sqlalchemy.orm import Session

from app import events
from app.models import Analysis, Document

from .state import current_statuses

ACTIVE = ("queued", "running", "deferred")
log = logging.getLogger(__name__)


def derive_status(analyses: list[Analysis]) -> str:
    return status_of({a.status for a in analyses})


def status_of(statuses: set[str]) -> str:
    """A document's status from the statuses of its sections' current analyses."""
    if not statuses:
        return "uploaded"
    if statuses & set(ACTIVE):
        return "processing"
    done = {s for s in statuses if s != "cancelled"}
    if done == {"completed"}:
        return "completed"
    if "completed" in done:
        return "partially_completed"
    return "failed" if done else "uploaded"


def locked_document(db: Session, document_id: int) -> Document | None:
    """The document row, locked until commit. Jobs finishing together each derive the document's status
    from its analyses; taking the row lock *before* reading them makes the last writer one that saw
    every analysis committed before it, so a stale "processing" can never overwrite "completed"."""
    return db.scalars(select(Document).where(Document.id == document_id).with_for_update(key_share=True)
                      .execution_options(populate_existing=True)).one_or_none()


def settle_document(db: Session, redis, document_id: int) -> None:
    document = locked_document(db, document_id)
    if document is None:
        db.rollback()
        return
    latest = current_statuses(db, document_id)
    document.status = status_of({status for _, status in latest})
    db.commit()
    events.publish(redis, document_id, "document", {"id": document_id, "status": document.status})
    if document.status != "processing" and latest:
        # Every section settled: the model writes the summary (app/review/summary.py).
        from .summary import request_summary

        request_summary(redis, document_id, document.user_id)


def not_scored_reason(analyses: list[Analysis]) -> str:
    """Why a document whose sections have no completed analysis gets no score: how many failed and
    the commonest error, in words a reviewer can act on."""
    failed = [a for a in analyses if a.status == "failed"]
    if not failed:
        return "No section has been analysed yet."
    errors = Counter((a.error_code or "unknown", a.error_message or "") for a in failed)
    (code, message), _ = errors.most_common(1)[0]
    detail = f"{message.rstrip('.')} ({code})" if message else code
    every = "the only section" if len(analyses) == 1 else f"all {len(failed)} sections" if len(failed) == len(analyses) \
        else f"{len(failed)} sections"
    return f"The analysis of {every} failed: {detail}. Run the analysis again once the cause is fixed."
