"""Analyses as a service: start them, run one (the job body), defer, fail, complete, and reconcile
work that a crash or a Redis flush left behind. What a document's analyses add up to (its status
and summary) is in `outcome`. PostgreSQL holds the truth throughout; RQ jobs carry only ids."""
from __future__ import annotations

import difflib
import logging
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session, configure_mappers

from app import events
from app.jobs import job_exists, submit_fairly
from app.leases import Lease
from app.logs import CONSOLE
from app.llm.errors import CapacityExhausted, ModelsUnusable, RequestInvalid
from app.llm.types import Sampling
from app.models import Analysis, Document, Section, User, utcnow

from . import learning, prompts
from . import state
from .outcome import ACTIVE, locked_document, settle_document
from .schema import Item, OutputInvalid, parse_items, parse_tool_input

log = logging.getLogger(__name__)
LEASE_KEY = "ai-prism:lease:analysis:{id}"
LEASE_S = 30
MAX_ATTEMPTS = 4


class AnalysisError(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code, self.message = code, message


class TooManyQueued(AnalysisError):
    """The user already has as many analyses in flight as MAX_QUEUED_ANALYSES_PER_USER allows."""

    retry_after = 60

    def __init__(self, in_flight: int, asked: int, limit: int):
        super().__init__("too_many_queued_analyses", (
            f"You have {in_flight} analyses queued or running and asked for {asked} more; at most {limit} may be "
            f"in flight at once. Nothing was started: wait for some to finish, or analyse fewer sections."))
        self.in_flight, self.asked, self.limit = in_flight, asked, limit


# ------------------------------------------------------------------------------ starting work
def start_analyses(db: Session, redis, document: Document, section_ids: list[int] | None, user: User,
                   *, max_in_flight: int | None = None) -> list[Analysis]:
    """One analysis per section (an active one is reused, so a second click runs nothing twice),
    all handed to the fair queue in one pipeline: they reach the workers in turn with other users'
    analyses. Returns the analyses in section order.

    With ``max_in_flight``, a request that would leave the user with more analyses queued, deferred or
    running than that is refused whole (TooManyQueued) and nothing is created."""
    sections = {s.id: s for s in document.sections}
    wanted = list(sections) if section_ids is None else section_ids
    unknown = [sid for sid in wanted if sid not in sections]
    if unknown:
        raise AnalysisError("unknown_sections", f"These sections are not in the document: {unknown}.")
    active = {a.section_id: a for a in db.scalars(
        select(Analysis).where(Analysis.document_id == document.id, Analysis.status.in_(ACTIVE)))}
    ordered = sorted(set(wanted), key=lambda s: sections[s].position)
    to_create = [sid for sid in ordered if sid not in active]
    if max_in_flight is not None and to_create:
        _check_in_flight(db, user, len(to_create), max_in_flight)
    analyses, new = [], []
    for sid in ordered:
        if sid in active:
            analyses.append(active[sid])
            continue
        analysis = Analysis(document_id=document.id, section_id=sid, requested_by=user.id, status="queued")
        db.add(analysis)
        analyses.append(analysis)
        new.append(analysis)
    db.flush()
    for analysis in new:
        analysis.rq_job_id = analysis.job_id
        state.make_current(sections[analysis.section_id], analysis)
    document.status = "processing"
    db.commit()
    if new:
        log.info("analysis of \u201c%s\u201d started: %s section%s", document.title, len(new), "" if len(new) == 1 else "s",
                 extra={**CONSOLE, "document_id": document.id})
        submit_fairly("analysis", user.id, [((a.id,), a.job_id) for a in new], connection=redis)
        with redis.pipeline(transaction=False) as pipe:  # one round trip for the events too
            for analysis in new:
                events.publish(pipe, document.id, "analysis", analysis.to_dict())
            try:
                pipe.execute()
            except Exception:  # events are a convenience; the rows and jobs are in place
                log.warning("could not publish the events of %s new analyses", len(new), exc_info=True)
    return analyses


def _check_in_flight(db: Session, user: User, asked: int, limit: int) -> None:
    """Count the user's analyses in flight with the user's row locked, so two requests at once cannot
    both pass the check (PostgreSQL; SQLite writes one at a time anyway)."""
    db.scalars(select(User.id).where(User.id == user.id).with_for_update()).first()
    in_flight = db.scalar(select(func.count()).select_from(Analysis).where(
        Analysis.requested_by == user.id, Analysis.status.in_(ACTIVE)))
    if in_flight + asked > limit:
        db.rollback()
        raise TooManyQueued(in_flight, asked, limit)


def cancel(db: Session, redis, analysis: Analysis) -> Analysis:
    if analysis.finished:
        return analysis
    analysis.status = "cancelled"
    analysis.finished_at = utcnow()
    db.commit()
    if analysis.rq_job_id and job_exists(analysis.rq_job_id, redis):
        from rq.job import Job

        from app.jobs import SERIALIZER

        try:
            Job.fetch(analysis.rq_job_id, connection=redis, serializer=SERIALIZER).cancel()
        except Exception:  # a running job notices the cancelled row and discards its result
            log.info("job %s could not be cancelled in RQ", analysis.rq_job_id)
    events.publish(redis, analysis.document_id, "analysis", analysis.to_dict())
    settle_document(db, redis, analysis.document_id)
    return analysis


# ------------------------------------------------------------------------------ running one
def lease(redis, analysis_id: int) -> Lease:
    """A heartbeat in Redis while an analysis runs; when it lapses, the reconciler takes over."""
    return Lease(redis, LEASE_KEY.format(id=analysis_id), LEASE_S)


def _items(response) -> tuple[list[Item], list[str]]:
    """The answer's items, from the forced tool's input or from the text: checked the same way."""
    return parse_tool_input(response.tool_input) if response.tool_used else parse_items(response.text)


def _ask(chain, request, context) -> tuple[list[Item], int, object]:
    """Call the chain, parse; one repair turn with the error fed back when the answer is unusable."""
    response = chain.complete(request, context=context, max_wait_s=context.get("max_wait_s", 20))
    try:
        items, dropped = _items(response)
        return items, len(dropped), response
    except OutputInvalid as first:
        repaired = chain.complete(prompts.repair_request(request, response.text, str(first)), context=context,
                                  max_wait_s=context.get("max_wait_s", 20))
        try:
            items, dropped = _items(repaired)
        except OutputInvalid as second:
            raise AnalysisError("invalid_model_output", f"The model's answer could not be read, even after a repair request ({second}).") from second
        return items, len(dropped), repaired


def _merge_duplicates(items: list[Item]) -> list[Item]:
    kept: list[Item] = []
    for item in items:
        twin = next((k for k in kept if (k.quote or "") == (item.quote or "") and k.type == item.type and
                     difflib.SequenceMatcher(None, k.description.lower(), item.description.lower()).ratio() > 0.85), None)
        if twin is None:
            kept.append(item)
        else:
            twin.hawkeye_refs = sorted(set(twin.hawkeye_refs) | set(item.hawkeye_refs))
            twin.confidence = max(twin.confidence, item.confidence)
    return kept


def run_analysis(db: Session, redis, chain, analysis_id: int, *, max_deferral_s: float = 300,
                 max_chunks: int | None = None, sampling: Sampling = Sampling(), learning_settings=None) -> str:
    """The job body. Returns the analysis status it leaves behind. While a usable model exists the
    analysis never fails for capacity: it defers, again and again, each time until the chain's retry
    time but never longer than ``max_deferral_s`` (ANALYSIS_MAX_WAIT_S), so a long cooldown is
    re-checked; the user sees ``deferred_until`` and may cancel. A section longer than
    ``max_chunks`` chunks is reviewed on its first ``max_chunks`` only, and the analysis says so
    (``chunks`` < ``chunks_total``): one section never becomes hundreds of model calls. ``sampling``:
    BEDROCK_MAX_TOKENS and BEDROCK_TEMPERATURE (the job passes the app's; the defaults are the
    settings' defaults). ``learning_settings``: the learning loop's (app/review/learning.py); None leaves it out."""
    analysis = db.get(Analysis, analysis_id)
    if analysis is None or analysis.finished:
        return analysis.status if analysis else "missing"
    section = db.get(Section, analysis.section_id)
    document = db.get(Document, analysis.document_id)
    all_chunks = prompts.split_chunks(section.text)
    chunks = all_chunks[:max_chunks] if max_chunks else all_chunks
    analysis.status, analysis.started_at, analysis.progress = "running", utcnow(), 0.05
    analysis.attempts += 1
    analysis.error_code = analysis.error_message = None
    analysis.chunks, analysis.chunks_total = len(chunks), len(all_chunks)
    lesson = learning.lesson_for(db, document, section, learning_settings)
    analysis.learning = lesson.record() if lesson else None
    db.commit()
    events.publish(redis, document.id, "analysis", analysis.to_dict())
    titles = [s.title for s in document.sections]
    index = titles.index(section.title) if section.title in titles else section.position
    context = {"purpose": "analysis", "document_id": document.id, "analysis_id": analysis.id,
               "user_id": analysis.requested_by, "max_wait_s": 5}  # longer waits defer and free the worker
    items: list[Item] = []
    dropped = 0
    model_ids: set[str] = set()
    providers: set[str] = set()
    with lease(redis, analysis.id):
        for chunk_index, (_, chunk) in enumerate(chunks):
            request = prompts.analysis_request(
                document_title=document.title, section_title=section.title, chunk=chunk, chunk_index=chunk_index,
                chunks=len(chunks), previous_title=titles[index - 1] if index > 0 else None,
                next_title=titles[index + 1] if index + 1 < len(titles) else None,
                guidelines=document.guidelines_text, guidelines_mode=document.guidelines_mode,
                sampling=sampling, all_titles=titles, first_section=section.position == 0, lesson=lesson,
            )
            try:
                found, lost, response = _ask(chain, request, context)
            except CapacityExhausted as exc:
                return _defer(db, redis, analysis, exc.retry_after, max_deferral_s)
            except ModelsUnusable as exc:
                return _fail(db, redis, analysis, "models_unusable", exc.message)
            except RequestInvalid as exc:
                return _fail(db, redis, analysis, "request_rejected", f"The model rejected the request: {exc.message}")
            except AnalysisError as exc:
                return _fail(db, redis, analysis, exc.code, exc.message)
            items += found
            dropped += lost
            model_ids.add(response.model_id)
            providers.add(response.provider)
            if chunk_index + 1 == len(chunks):
                break  # the last chunk: _complete checks for a cancel under the row lock and writes the rest
            db.refresh(analysis)
            if analysis.status == "cancelled":
                return "cancelled"
            analysis.progress = round(0.1 + 0.85 * (chunk_index + 1) / len(chunks), 3)
            db.commit()
            events.publish(redis, document.id, "analysis", analysis.to_dict())
        return _complete(db, redis, analysis, section, _merge_duplicates(items), dropped, model_ids, providers, len(chunks))


def _lock_for_results(db, analysis_id: int) -> tuple[Analysis, Section]:
    """The analysis and its section as they are now, both locked: sections first, as section edits
    lock them, so the two never deadlock. A second run of the same analysis waits here; a cancel or
    a section edit made meanwhile is seen (a merge may have moved the analysis to another section)."""
    while True:
        section_id = db.scalar(select(Analysis.section_id).where(Analysis.id == analysis_id))
        section = db.scalars(select(Section).where(Section.id == section_id).with_for_update()
                             .execution_options(populate_existing=True)).one_or_none()
        locked = db.scalars(select(Analysis).where(Analysis.id == analysis_id).with_for_update()
                            .execution_options(populate_existing=True)).one()
        if section is not None and locked.section_id == section.id:
            return locked, section
        db.rollback()


def _complete(db, redis, analysis, section, items, dropped, model_ids, providers, chunks) -> str:
    analysed = (section.text, section.title)
    locked, section = _lock_for_results(db, analysis.id)
    if locked.status == "cancelled":
        db.rollback()
        return "cancelled"
    if locked.status == "completed":  # a second run of a finished analysis changes nothing
        db.rollback()
        return "completed"
    source = "rules" if providers == {"offline"} else "ai"
    model = ", ".join(sorted(model_ids))
    state.record_analysis(db, locked, section, items, source, model)
    locked.status, locked.progress, locked.finished_at = "completed", 1.0, utcnow()
    locked.model_id, locked.provider = model[:200], ",".join(sorted(providers))[:30]
    # A reviewer who edited the section while the model answered sees the analysis marked stale.
    locked.items_dropped, locked.chunks, locked.stale = dropped, chunks, (section.text, section.title) != analysed
    locked.deferred_until = None
    db.commit()
    events.publish(redis, analysis.document_id, "analysis", locked.to_dict())
    settle_document(db, redis, analysis.document_id)
    return "completed"


def _fail(db, redis, analysis, code: str, message: str) -> str:
    analysis.status, analysis.error_code, analysis.error_message = "failed", code, message[:2000]
    analysis.finished_at = utcnow()
    db.commit()
    events.publish(redis, analysis.document_id, "analysis", analysis.to_dict())
    settle_document(db, redis, analysis.document_id)
    return "failed"


def _defer(db, redis, analysis, retry_after: float, max_deferral_s: float) -> str:
    """Put the analysis back until ``retry_after`` (at most ``max_deferral_s``) from now. Never a
    failure: the chain raises CapacityExhausted only while some model is usable."""
    retry_after = min(retry_after, max_deferral_s)
    # A run that ended in a deferral did not crash: it does not count toward MAX_ATTEMPTS, which the
    # reconciler uses to give up on analyses that keep crashing.
    analysis.attempts = max(0, analysis.attempts - 1)
    analysis.deferrals += 1
    analysis.status = "deferred"
    analysis.deferred_until = utcnow() + timedelta(seconds=retry_after)
    analysis.rq_job_id = f"analysis-{analysis.id}-d{analysis.deferrals}"
    db.commit()
    # Back through the fair queue once due, in its user's turn: during an outage every analysis defers,
    # and straight into RQ's queue one user's thousands would come back ahead of everyone else's.
    submit_fairly("analysis", analysis.requested_by, [((analysis.id,), analysis.rq_job_id)], connection=redis,
                  delay_s=retry_after)
    events.publish(redis, analysis.document_id, "analysis", analysis.to_dict())
    return "deferred"


def fail_after_crashes(db: Session, redis, analysis_id: int, error: Exception) -> None:
    """Called when RQ has no retries left for a job that crashed: say so instead of hanging."""
    analysis = db.get(Analysis, analysis_id)
    if analysis is not None and not analysis.finished:
        _fail(db, redis, analysis, "internal_error", f"The analysis failed repeatedly ({type(error).__name__}).")


def warm_up(db: Session) -> None:
    """Compile, once in the worker's parent process, the statements every analysis job runs.

    Each job runs in a freshly forked work horse: what the parent has prepared (mapper configuration,
    SQLAlchemy's compiled-statement cache) the horse inherits, and what it has not, every horse redoes
    on its first query. Only reads are run, for ids that do not exist, and rolled back.
    """
    configure_mappers()
    try:
        db.get(Analysis, 0), db.get(Section, 0), db.get(Document, 0), locked_document(db, 0)
        db.scalars(select(Analysis).where(Analysis.id == 0).with_for_update()).first()
        state.current_analyses(db, 0), state.current_statuses(db, 0)
        state.live_items(db, [0])
        db.scalars(select(Section).where(Section.document_id == 0).order_by(Section.position)).all()
    finally:
        db.rollback()


# ------------------------------------------------------------------------------ crash safety
def _taken_but_never_started(job_id: str | None, redis) -> bool:
    """RQ says a worker took the job, yet the analysis never became running: the work horse died
    before its first step (found by `make chaos` killing a worker just as it took a job); RQ itself
    would notice only after the job timeout."""
    from rq.job import Job, JobStatus

    from app.jobs import SERIALIZER

    try:
        return Job.fetch(job_id, connection=redis, serializer=SERIALIZER).get_status() == JobStatus.STARTED
    except Exception:  # gone meanwhile, or unreadable: the other checks decide
        return False


def reconcile(db: Session, redis, now: datetime | None = None) -> list[int]:
    """Re-enqueue analyses a crash or a Redis flush left behind; returns their ids."""
    now = now or utcnow()
    requeued = []
    by_user: dict[int | None, list] = {}
    for analysis in db.scalars(select(Analysis).where(Analysis.status.in_(ACTIVE))):
        age = (now - analysis.updated_at).total_seconds()
        if analysis.status == "running":
            stuck = age > LEASE_S + 5 and not redis.exists(LEASE_KEY.format(id=analysis.id))
        elif analysis.status == "deferred":
            due = analysis.deferred_until or analysis.updated_at
            stuck = (now - due).total_seconds() > 30 and not job_exists(analysis.rq_job_id, redis)
        else:
            stuck = age > 30 and (not job_exists(analysis.rq_job_id, redis)
                                  or (age > LEASE_S + 5 and _taken_but_never_started(analysis.rq_job_id, redis)))
        if not stuck:
            continue
        if analysis.attempts >= MAX_ATTEMPTS:
            _fail(db, redis, analysis, "gave_up", f"The analysis did not finish after {analysis.attempts} attempts.")
            continue
        analysis.status = "queued"
        analysis.rq_job_id = f"analysis-{analysis.id}-r{int(now.timestamp() // 60)}"
        db.commit()
        by_user.setdefault(analysis.requested_by, []).append(((analysis.id,), analysis.rq_job_id))
        requeued.append(analysis.id)
        log.warning("re-enqueued analysis %s left %s", analysis.id, "running" if age else "queued")
    # Back through the fair queue, in their users' turns: after a Redis flush one user's thousands
    # must not come back ahead of everyone else's.
    for user_id, jobs in by_user.items():
        submit_fairly("analysis", user_id, jobs, connection=redis)
    return requeued
