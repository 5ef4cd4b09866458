"""What a document's analyses add up to: the document's status and its summary (risk score, key
risks, recommendations, compliance concerns), from each section's current analysis and the live
feedback, both read through `app.review.state`."""
from __future__ import annotations

import logging
import math
from collections import Counter
from datetime import datetime, timezone

from sqlalchemy import select
from sqlalchemy.orm import Session

from app import events
from app.logs import CONSOLE
from app.jobs import enqueue
from app.models import Analysis, Document

from .state import current_analyses, current_statuses, live_items

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
        # Every section settled: one summary per settled batch (the id makes a second trigger a no-op).
        enqueue("summary", document_id, job_id=f"summary-{document_id}-{max(i for i, _ in latest)}", connection=redis)


RISK_WEIGHT = {"High": 10, "Medium": 4, "Low": 1}
TYPE_WEIGHT = {"critical": 1.5, "important": 1.0, "suggestion": 0.5, "positive": 0.0}


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


def summarise(db: Session, redis, document_id: int) -> dict | None:
    """Risk score 0-100, key risks, recommendations and compliance concerns from the live items. With
    no completed analysis there is nothing to score: the score is None with the reason, never 0."""
    document = locked_document(db, document_id)
    if document is None:
        db.rollback()
        return None
    analyses = current_analyses(db, document_id)
    completed = [a.id for a in analyses if a.status == "completed"]
    items = [i for i in live_items(db, [document_id]) if i.status != "rejected"]
    raw = sum(RISK_WEIGHT.get(i.risk_level, 1) * TYPE_WEIGHT.get(i.type, 1) for i in items)
    score = round(100 * (1 - math.exp(-raw / (8 * len(completed)))), 1) if completed else None
    reason = None if completed else not_scored_reason(analyses)
    ranked = sorted(items, key=lambda i: (-RISK_WEIGHT.get(i.risk_level, 1) * TYPE_WEIGHT.get(i.type, 1), i.id))
    summary = {
        "risk_score": score,
        "not_scored_reason": reason,
        "key_risks": [{"item_id": i.id, "section_id": i.section_id, "description": i.description, "risk_level": i.risk_level}
                      for i in ranked if i.type in ("critical", "important")][:5],
        "recommendations": [i.suggestion for i in ranked if i.suggestion][:5],
        "compliance_concerns": [{"item_id": i.id, "description": i.description} for i in items if 19 in (i.hawkeye_refs or [])][:5],
        "counts": {"items": len(items), "sections_analysed": len(completed), "sections": len(document.sections),
                   "failed": sum(1 for a in analyses if a.status == "failed")},
        "computed_at": datetime.now(timezone.utc).isoformat(),
    }
    document.risk_score, document.summary = score, summary
    document.status = derive_status(analyses)
    db.commit()
    counts = summary["counts"]
    log.info("analysis of \u201c%s\u201d finished: %s, %s, %s feedback items, %s of %s sections analysed", document.title,
             document.status.replace("_", " "), "not scored" if score is None else f"risk score {score:g}", counts["items"],
             counts["sections_analysed"], counts["sections"], extra={**CONSOLE, "document_id": document_id})
    events.publish(redis, document_id, "summary", {"id": document_id, "risk_score": score, "not_scored_reason": reason,
                                                    "status": document.status})
    return summary
