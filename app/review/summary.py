"""A document's summary, written by the model chain once its analyses settle and again when
reviewers' decisions change the picture.

Scheduling (`request_summary`): a Redis key per document, ``…:pending:{id}``, set NX by whoever asks
(a settle, a decision), means one summary job is on its way; a second ask while it is set does
nothing, since the job reads the state as it is when it runs. The job clears it, then takes the
document's turn, ``…:turn:{id}``, SET NX for SUMMARY_REFRESH_INTERVAL_S: a job that finds the turn
taken asks again for when it frees. So every process together runs at most one summary per document
per interval, and the last decision is always summarised. When every model is busy the summary is
deferred (the turn is given back and the job comes back later through the fair queue); an answer
that fails the schema even after one repair turn is a failure the reviewer sees."""
from __future__ import annotations

import logging

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from app import events
from app.jobs import submit_fairly
from app.llm.errors import CapacityExhausted, ModelsUnusable, RequestInvalid
from app.llm.types import Sampling
from app.logs import CONSOLE
from app.models import Document, DocumentSummary, utcnow

from . import summary_prompt
from .schema import OutputInvalid
from .state import current_analyses, live_items
from .summary_schema import parse_summary

log = logging.getLogger(__name__)
PENDING_KEY = "ai-prism:summary:pending:{id}"
TURN_KEY = "ai-prism:summary:turn:{id}"
PENDING_GRACE_S = 900  # a lost job (worker killed, Redis flushed) stops blocking new asks after this
SETTLED = ("completed", "partially_completed", "failed")
# A summary row left ``running`` or ``deferred`` this long with no job on its way was lost (a job process
# killed with -9 mid-call, a Redis flush): longer than the summary job's RQ timeout (120 s) and a retry.
STALE_S = 300


def _interval(interval_s: int | None) -> int:
    return interval_s if interval_s is not None else int(current_app.config.get("SUMMARY_REFRESH_INTERVAL_S", 60))


def request_summary(redis, document_id: int, owner_id: int | None, *, interval_s: int | None = None,
                    force_delay_s: float | None = None) -> bool:
    """Ask for a summary of the document. Returns False when one is already on its way."""
    interval = _interval(interval_s)
    if force_delay_s is None:
        if not redis.set(PENDING_KEY.format(id=document_id), "1", nx=True, px=(interval + PENDING_GRACE_S) * 1000):
            return False
        wait_ms = redis.pttl(TURN_KEY.format(id=document_id))
        delay = wait_ms / 1000 if wait_ms and wait_ms > 0 else None
    else:
        redis.set(PENDING_KEY.format(id=document_id), "1", px=int((force_delay_s + interval + PENDING_GRACE_S) * 1000))
        delay = force_delay_s
    job_id = f"summary-{document_id}-{utcnow().strftime('%Y%m%d%H%M%S%f')}"
    submit_fairly("summary", owner_id, [((document_id,), job_id)], connection=redis, delay_s=delay)
    return True


def after_decisions(db: Session, redis, document_id: int) -> bool:
    """Decisions changed the picture: a new summary once the document's analyses have settled."""
    document = db.get(Document, document_id)
    if document is None or document.status not in ("completed", "partially_completed"):
        return False
    return request_summary(redis, document_id, document.user_id)


def summary_of(db: Session, document_id: int) -> DocumentSummary | None:
    return db.scalars(select(DocumentSummary).where(DocumentSummary.document_id == document_id)).one_or_none()


def _row(db: Session, document_id: int) -> DocumentSummary:
    row = summary_of(db, document_id)
    if row is None:
        row = DocumentSummary(document_id=document_id, state="pending", reasons=[], key_risks=[], recommendations=[],
                              compliance_concerns=[], runs=0)
        db.add(row)
        db.flush()
    return row


def _publish(redis, document: Document, row: DocumentSummary) -> None:
    events.publish(redis, document.id, "summary", {"id": document.id, "state": row.state, "risk_score": document.risk_score,
                                                    "not_scored_reason": document.not_scored_reason, "status": document.status,
                                                    "verdict": row.verdict})


def _log_outcome(document: Document, score: str, items: int, analysed: int) -> None:
    log.info("analysis of \u201c%s\u201d finished: %s, %s, %s feedback items, %s of %s sections analysed", document.title,
             document.status.replace("_", " "), score, items, analysed, len(document.sections),
             extra={**CONSOLE, "document_id": document.id})


def _settle_row(db, redis, document, row, state: str, *, reason: str | None = None, code: str | None = None) -> str:
    """Write a summary that holds no model answer: not scored (nothing analysed) or failed."""
    row.state, row.error_code, row.error_message = state, code, (reason or "")[:2000] or None
    row.risk_score, row.verdict, row.reasons, row.key_risks, row.recommendations, row.compliance_concerns = None, None, [], [], [], []
    row.generated_at = utcnow()
    document.risk_score = None
    document.summary = {"state": state, "not_scored_reason": reason}
    db.commit()
    if state == "not_scored":
        _log_outcome(document, "not scored", 0, 0)
    else:
        log.warning("summary of \u201c%s\u201d failed: %s", document.title, reason, extra={**CONSOLE, "document_id": document.id})
    _publish(redis, document, row)
    return state


def run_summary(db: Session, redis, chain, document_id: int, *, interval_s: int | None = None,
                sampling: Sampling = Sampling()) -> str:
    """The job body. Returns what it did: completed, failed, not_scored, deferred, postponed, processing, missing."""
    interval = _interval(interval_s)
    redis.delete(PENDING_KEY.format(id=document_id))
    document = db.get(Document, document_id)
    if document is None:
        return "missing"
    if not redis.set(TURN_KEY.format(id=document_id), "1", nx=True, px=interval * 1000):
        request_summary(redis, document_id, document.user_id, interval_s=interval)
        return "postponed"
    analyses = current_analyses(db, document_id)
    if any(a.status in ("queued", "running", "deferred") for a in analyses):
        redis.delete(TURN_KEY.format(id=document_id))  # the settle that follows asks again
        return "processing"
    row = _row(db, document_id)
    completed = [a for a in analyses if a.status == "completed"]
    if not completed:
        from .outcome import not_scored_reason

        return _settle_row(db, redis, document, row, "not_scored", reason=not_scored_reason(analyses))
    items = [i for i in live_items(db, [document_id]) if i.status != "rejected"]
    titles = {s.id: s.title for s in document.sections}
    row.state, row.runs = "running", row.runs + 1
    db.commit()
    _publish(redis, document, row)
    request = summary_prompt.summary_request(document_title=document.title, items=items, section_titles=titles,
                                             sections=len(document.sections), sections_analysed=len(completed), sampling=sampling)
    known = {i.id: i for i in items}
    context = {"purpose": "summary", "document_id": document_id, "user_id": document.user_id}
    try:
        answer, response = _ask(chain, request, context, known)
    except CapacityExhausted as exc:
        row.state = "deferred"
        db.commit()
        _publish(redis, document, row)
        redis.delete(TURN_KEY.format(id=document_id))
        request_summary(redis, document_id, document.user_id, interval_s=interval, force_delay_s=max(1.0, exc.retry_after))
        return "deferred"
    except ModelsUnusable as exc:
        return _settle_row(db, redis, document, row, "failed", code="models_unusable",
                           reason=f"The summary could not be written: {exc.message}")
    except RequestInvalid as exc:
        return _settle_row(db, redis, document, row, "failed", code="request_rejected",
                           reason=f"The summary could not be written: the model rejected the request ({exc.message}).")
    except OutputInvalid as exc:
        return _settle_row(db, redis, document, row, "failed", code="invalid_model_output",
                           reason=f"The summary could not be written: the model's answer was unusable, even after a repair request ({exc}).")
    row.state, row.error_code, row.error_message = "completed", None, None
    row.risk_score, row.reasons, row.key_risks = answer.risk_score, answer.reasons, answer.key_risks
    row.recommendations, row.compliance_concerns, row.verdict = answer.recommendations, answer.compliance_concerns, answer.verdict
    row.model_id, row.provider, row.generated_at = response.model_id[:200], response.provider[:30], utcnow()
    document.risk_score = answer.risk_score
    document.summary = {k: v for k, v in row.to_dict().items() if k != "document_id"}
    db.commit()
    _log_outcome(document, f"risk score {answer.risk_score:g} ({answer.verdict.replace('_', ' ')}, summary by {response.model_id})",
                 len(items), len(completed))
    _publish(redis, document, row)
    return "completed"


def _ask(chain, request, context, known):
    """Call the chain and check the answer; one repair turn with the error fed back when it is unusable."""
    response = chain.complete(request, context=context, max_wait_s=5)
    try:
        return parse_summary(response, known), response
    except OutputInvalid as first:
        repaired = chain.complete(summary_prompt.repair_request(request, response.text, str(first)), context=context, max_wait_s=5)
        return parse_summary(repaired, known), repaired


def fail_after_crashes(db: Session, redis, document_id: int, error: Exception) -> None:
    """RQ has no retries left for a summary job that crashed: say so rather than show 'running' for ever."""
    document = db.get(Document, document_id)
    row = summary_of(db, document_id)
    if document is not None and row is not None and row.state == "running":
        _settle_row(db, redis, document, row, "failed", code="internal_error",
                    reason=f"The summary failed repeatedly ({type(error).__name__}).")


def reconcile(db: Session, redis, now=None) -> list[int]:
    """Ask again for the summaries a crash or a Redis flush lost: a settled document whose summary row
    is ``running`` or ``deferred`` with nothing pending for it, older than STALE_S.
    Returns the document ids asked for. ``request_summary`` keeps it to one job per document."""
    now = now or utcnow()
    asked = []
    stale = [row for row in db.scalars(select(DocumentSummary).where(DocumentSummary.state.in_(("running", "deferred"))))
             if (now - row.updated_at).total_seconds() > STALE_S]
    for row in stale:
        document = db.get(Document, row.document_id)
        if document is None or redis.exists(PENDING_KEY.format(id=document.id)):
            continue
        if request_summary(redis, document.id, document.user_id):
            asked.append(document.id)
            log.warning("asked again for the summary of document %s (left %s)", document.id, row.state)
    return asked


def summary_view(db: Session, document: Document) -> dict:
    """What GET …/summary answers: the stored summary, or ``pending`` while none has been written."""
    row = summary_of(db, document.id)
    if row is None:
        state = "not_scored" if document.status in SETTLED and document.not_scored_reason else "pending"
        return {"document_id": document.id, "state": state, "risk_score": None, "reasons": [], "key_risks": [],
                "recommendations": [], "compliance_concerns": [], "verdict": None, "model": None, "provider": None,
                "error": None, "runs": 0, "generated_at": None, "not_scored_reason": document.not_scored_reason}
    data = row.to_dict()
    data["not_scored_reason"] = row.error_message if row.state in ("failed", "not_scored") else None
    return data
