"""Job functions. Thin: load ids, call a service, let exceptions propagate (RQ records failures and
retries crashes; model capacity is handled inside as a deferral, never a failure)."""
from __future__ import annotations

import logging

from flask import current_app
from rq import get_current_job

from app.auth.service import purge_expired_tokens as purge_tokens
from app.extensions import db
from app.llm.types import Sampling
from app.review import summary
from app.review import service as review
from app.review.learning import LearningSettings

log = logging.getLogger(__name__)


def _redis():
    return current_app.extensions["redis"]


def purge_expired_tokens() -> int:
    removed = purge_tokens(db.session)
    log.info("purged expired api tokens", extra={"removed": removed})
    return removed


def analyse_section(analysis_id: int) -> str:
    try:
        return review.run_analysis(
            db.session, _redis(), current_app.extensions["model_chain"], analysis_id,
            max_deferral_s=current_app.config["ANALYSIS_MAX_WAIT_S"],
            max_chunks=current_app.config["MAX_CHUNKS_PER_ANALYSIS"], sampling=Sampling.from_config(current_app.config),
            learning_settings=LearningSettings.from_config(current_app.config),
        )
    except Exception as exc:
        db.session.rollback()
        job = get_current_job()
        if job is None or not job.retries_left:
            review.fail_after_crashes(db.session, _redis(), analysis_id, exc)
        raise


def check_revision(check_id: int) -> str:
    from app.review import revision

    try:
        return revision.run_check(db.session, _redis(), current_app.extensions["model_chain"], check_id,
                                  max_deferral_s=current_app.config["ANALYSIS_MAX_WAIT_S"],
                                  sampling=Sampling.from_config(current_app.config))
    except Exception as exc:
        db.session.rollback()
        job = get_current_job()
        if job is None or not job.retries_left:
            revision.fail_after_crashes(db.session, _redis(), check_id, exc)
        raise


def reconcile_revisions() -> list[int]:
    from app.review import revision

    return revision.reconcile(db.session, _redis())


def summarise_document(document_id: int) -> str:
    try:
        return summary.run_summary(db.session, _redis(), current_app.extensions["model_chain"], document_id,
                                   interval_s=current_app.config["SUMMARY_REFRESH_INTERVAL_S"],
                                   sampling=Sampling.from_config(current_app.config))
    except Exception as exc:
        db.session.rollback()
        job = get_current_job()
        if job is None or not job.retries_left:
            summary.fail_after_crashes(db.session, _redis(), document_id, exc)
        raise


def reconcile_summaries() -> list[int]:
    return summary.reconcile(db.session, _redis())


def reconcile_analyses() -> list[int]:
    return review.reconcile(db.session, _redis())


def build_export(export_id: int) -> str:
    from app.exports import lifecycle
    from app.exports.service import run_export
    from app.storage import storage

    try:
        return run_export(db.session, _redis(), storage(), export_id, current_app.config["EXPORT_PREFIX"])
    except Exception as exc:
        job = get_current_job()
        lifecycle.record_failure(db.session, _redis(), export_id, exc, final=job is None or not job.retries_left)
        raise


def reconcile_exports() -> list[int]:
    from app.exports import lifecycle

    return lifecycle.reconcile(db.session, _redis())
