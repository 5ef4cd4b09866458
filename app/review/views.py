"""Analyses, jobs, events and feedback over HTTP. Thin: parse, call the service, shape."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from flask import Blueprint, Response, current_app, jsonify, request
from flask_login import current_user, login_required
from sqlalchemy import select

from app import events
from app.auth.access import document_child_or_404, owned_or_404
from app.errors import APIError
from app.extensions import db
from app.idempotency import idempotent
from app.models import Analysis, Document, FeedbackItem, ReviewEvent, Section
from app.security import rate_limit

from . import activity as timeline
from . import decisions, learning, live, preferences, reanalysis, service, state, summary
from . import stats as statistics

bp = Blueprint("review", __name__, url_prefix="/api")
CONFIRM_MESSAGE = ("Some of these sections have been analysed already. Analysing them again keeps every item already "
                   "decided and every reviewer's own item, and replaces the model's undecided items. "
                   'Send "confirm": true to go ahead.')


def _redis():
    return current_app.extensions["redis"]


@bp.post("/documents/<int:document_id>/analyses")
@login_required
@idempotent
def start(document_id: int):
    document = owned_or_404(Document, document_id)
    rate_limit("analysis", "ANALYSIS_RATE_LIMIT", "analysis requests")
    body = request.get_json(silent=True) if request.data else {}
    if body is None or not isinstance(body, dict):
        raise APIError(400, "invalid_json", "Send a JSON object, e.g. {\"section_ids\": [1, 2]}, or no body for all sections.")
    section_ids = body.get("section_ids")
    if section_ids is not None and (not isinstance(section_ids, list) or not all(isinstance(i, int) and not isinstance(i, bool) for i in section_ids)):
        raise APIError(400, "invalid_section_ids", "section_ids must be a list of section ids.")
    if body.get("confirm") is not True and (plan := reanalysis.confirmation_needed(db.session, document, section_ids)):
        raise APIError(409, "confirm_required", CONFIRM_MESSAGE, extra=plan)
    try:
        analyses = service.start_analyses(db.session, _redis(), document, section_ids, current_user,
                                          max_in_flight=current_app.config["MAX_QUEUED_ANALYSES_PER_USER"])
    except service.TooManyQueued as exc:
        raise APIError(429, exc.code, exc.message, headers={"Retry-After": str(exc.retry_after)},
                       extra={"in_flight": exc.in_flight, "asked": exc.asked, "limit": exc.limit}) from exc
    except service.AnalysisError as exc:
        raise APIError(422, exc.code, exc.message) from exc
    # What each re-analysis will do, for the reviewer's confirmation: decided items stay, undecided
    # AI items are replaced when it completes.
    return jsonify({"jobs": [{"id": a.id, "section_id": a.section_id, "status": a.status,
                              **state.reanalysis_preview(db.session, a.section_id)} for a in analyses]}), 202


def _analysis(analysis_id: int) -> Analysis:
    return document_child_or_404(Analysis, analysis_id, "job")


@bp.get("/jobs/<int:analysis_id>")
@login_required
def job(analysis_id: int):
    return jsonify(_analysis(analysis_id).to_dict())


@bp.post("/jobs/<int:analysis_id>/cancel")
@login_required
def cancel(analysis_id: int):
    return jsonify(service.cancel(db.session, _redis(), _analysis(analysis_id)).to_dict())


@bp.get("/documents/<int:document_id>/events")
@login_required
def document_events(document_id: int):
    document = owned_or_404(Document, document_id)
    hub = current_app.extensions["event_hub"]
    config = current_app.config
    # Subscribed before the snapshot is read, so nothing published in between is missed.
    subscription = hub.open(current_user.id, document.id)
    try:
        snapshot = {"document": {"id": document.id, "status": document.status, "risk_score": document.risk_score,
                                 "not_scored_reason": document.not_scored_reason},
                    "analyses": [a.to_dict() for a in state.current_analyses(db.session, document.id)],
                    "section_ids": [s.id for s in document.sections]}
    except BaseException:
        hub.close(subscription)
        raise
    db.session.remove()  # hold no database connection for the life of the stream
    limits = events.StreamLimits(keepalive_s=config["EVENTS_KEEPALIVE_SECONDS"], idle_s=config["EVENTS_IDLE_TIMEOUT"],
                                 max_s=config["EVENTS_MAX_STREAM_SECONDS"])
    # No request context is kept for the stream, and no connection of the requests' Redis pool.
    response = Response(events.stream(hub, subscription, snapshot, limits), mimetype="text/event-stream")
    response.call_on_close(lambda: hub.close(subscription))  # also when the body is never iterated
    response.headers["Cache-Control"] = "no-cache"
    response.headers["X-Accel-Buffering"] = "no"
    return response


@bp.get("/documents/<int:document_id>/feedback")
@login_required
def feedback(document_id: int):
    document = owned_or_404(Document, document_id)
    # The reviewer's own threshold applies unless the request names one (scripts and tests may ask for
    # every item with min_confidence=0).
    try:
        threshold = float(request.args.get("min_confidence",
                                           preferences.threshold(current_user, current_app.config["MIN_CONFIDENCE"])))
    except ValueError as exc:
        raise APIError(400, "invalid_min_confidence", "min_confidence must be a number from 0 to 1.") from exc
    items = state.live_items(db.session, [document.id])
    shown = [i for i in items if i.source == "custom" or (i.confidence or 0) >= threshold]
    # Categories this team's reviewers rarely accept (the learning loop): the page shows their items collapsed.
    rarely = learning.rarely_accepted_for(db.session, document, learning.LearningSettings.from_config(current_app.config))
    return jsonify({"items": [i.to_dict() for i in shown], "hidden": len(items) - len(shown), "min_confidence": threshold,
                    "rarely_accepted": rarely})


# ------------------------------------------------------------------------------ decisions

def _item(item_id: int) -> FeedbackItem:
    return document_child_or_404(FeedbackItem, item_id, "feedback item")


def _body() -> dict:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise APIError(400, "invalid_json", "Send a JSON object.")
    return body


def _decision_error(exc: decisions.DecisionError) -> APIError:
    return APIError(exc.status, exc.code, exc.message, extra={"current": exc.current} if exc.current else None)


@bp.post("/feedback/<int:item_id>/decision")
@login_required
def decide(item_id: int):
    body = _body()
    try:
        item = decisions.decide(db.session, _item(item_id), current_user, body.get("decision"), body.get("version"), body.get("reason"))
    except decisions.DecisionError as exc:
        raise _decision_error(exc) from exc
    live.items_changed(_redis(), item.document_id, [item], current_user.id)
    summary.after_decisions(db.session, _redis(), item.document_id)
    return jsonify(item.to_dict())


@bp.patch("/feedback/<int:item_id>")
@login_required
def edit_item(item_id: int):
    body = _body()
    changes = {k: v for k, v in body.items() if k not in ("version", "reason")}
    try:
        item = decisions.edit(db.session, _item(item_id), current_user, changes, body.get("version"), body.get("reason"))
    except decisions.DecisionError as exc:
        raise _decision_error(exc) from exc
    live.items_changed(_redis(), item.document_id, [item], current_user.id)
    summary.after_decisions(db.session, _redis(), item.document_id)
    return jsonify(item.to_dict())


@bp.post("/documents/<int:document_id>/feedback")
@login_required
def add_custom(document_id: int):
    document = owned_or_404(Document, document_id)
    body = _body()
    section = db.session.get(Section, body.get("section_id")) if isinstance(body.get("section_id"), int) else None
    if section is None or section.document_id != document.id:
        raise APIError(404, "not_found", "No such section in this document.")
    try:
        item = decisions.add_custom(db.session, document, section, current_user, body)
    except decisions.DecisionError as exc:
        raise _decision_error(exc) from exc
    live.items_changed(_redis(), document.id, [item], current_user.id)
    summary.after_decisions(db.session, _redis(), document.id)
    return jsonify(item.to_dict()), 201


@bp.post("/documents/<int:document_id>/feedback/decisions")
@login_required
def decide_all(document_id: int):
    document = owned_or_404(Document, document_id)
    body = _body()
    item_ids = body.get("item_ids")
    if item_ids is not None and not (isinstance(item_ids, list) and all(isinstance(i, int) for i in item_ids)):
        raise APIError(400, "invalid_item_ids", "item_ids must be a list of item ids.")
    try:
        items = decisions.decide_all(db.session, document, current_user, body.get("decision"), item_ids)
    except decisions.DecisionError as exc:
        raise _decision_error(exc) from exc
    live.items_changed(_redis(), document.id, items, current_user.id)
    summary.after_decisions(db.session, _redis(), document.id)
    return jsonify({"items": [i.to_dict() for i in items]})


def _events_json(events) -> list[dict]:
    return [{"id": e.id, "document_id": e.document_id, "feedback_item_id": e.feedback_item_id, "user_id": e.user_id,
             "action": e.action, "before": e.before, "after": e.after, "reason": e.reason, "at": e.created_at.isoformat()}
            for e in events]


@bp.get("/documents/<int:document_id>/audit")
@login_required
def audit(document_id: int):
    document = owned_or_404(Document, document_id)
    events = db.session.scalars(select(ReviewEvent).where(ReviewEvent.document_id == document.id).order_by(ReviewEvent.id))
    response = jsonify({"document_id": document.id, "events": _events_json(events)})
    if request.args.get("download"):
        response.headers["Content-Disposition"] = f'attachment; filename="audit-document-{document.id}.json"'
    return response


@bp.get("/admin/audit")
@login_required
def admin_audit():
    if not current_user.is_admin:
        raise APIError(403, "forbidden", "Your role does not allow this.")
    query = select(ReviewEvent).order_by(ReviewEvent.id)
    if request.args.get("user_id"):
        try:
            query = query.where(ReviewEvent.user_id == int(request.args["user_id"]))
        except ValueError as exc:
            raise APIError(400, "invalid_user_id", "user_id must be a number.") from exc
    return jsonify({"events": _events_json(db.session.scalars(query.limit(10_000)))})


@bp.delete("/feedback/<int:item_id>")
@login_required
def delete_item(item_id: int):
    """Delete the caller's own custom item (403 for another's, 409 for a model's); audited."""
    item = _item(item_id)
    document_id, section_id = item.document_id, item.section_id
    reason = request.get_json(silent=True) if request.data else None
    try:
        deleted = state.delete_custom_item(db.session, item, current_user.id,
                                           reason.get("reason") if isinstance(reason, dict) else None)
    except state.ItemDeleteError as exc:
        raise APIError(exc.status, exc.code, exc.message) from exc
    live.item_deleted(_redis(), document_id, item_id, section_id, current_user.id)
    return jsonify({"deleted": deleted})


# ------------------------------------------------------------------------------ activity

def _when(name: str, end_of_day: bool = False):
    raw = request.args.get(name)
    if not raw:
        return None
    try:
        at = datetime.fromisoformat(raw)
    except ValueError as exc:
        raise APIError(400, f"invalid_{name}", f"{name} must be a date (2026-12-02) or an ISO date-time.") from exc
    if end_of_day and len(raw) == 10:
        at += timedelta(days=1, microseconds=-1)
    return at if at.tzinfo else at.replace(tzinfo=timezone.utc)


def _activity_response(rows: list[dict], name: str):
    if not request.args.get("download"):
        return jsonify({"events": rows})
    if request.args.get("format", "csv") == "json":
        return Response(timeline.to_json(rows), mimetype="application/json",
                        headers={"Content-Disposition": f'attachment; filename="{name}.json"'})
    return Response(timeline.to_csv(rows), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{name}.csv"'})


@bp.get("/documents/<int:document_id>/activity")
@login_required
def document_activity(document_id: int):
    document = owned_or_404(Document, document_id)
    rows = timeline.activity(db.session, timeline.ActivityFilter(document_ids=[document.id]))
    return _activity_response(rows, f"activity-document-{document.id}")


@bp.get("/admin/activity")
@login_required
def admin_activity():
    if not current_user.is_admin:
        raise APIError(403, "forbidden", "Your role does not allow this.")
    user_id = request.args.get("user_id")
    if user_id and not user_id.isdigit():
        raise APIError(400, "invalid_user_id", "user_id must be a number.")
    action = request.args.get("action") or None
    if action and action not in timeline.ACTIONS:
        raise APIError(400, "invalid_action", f"action must be one of {', '.join(timeline.ACTIONS)}.")
    rows = timeline.activity(db.session, timeline.ActivityFilter(
        user_id=int(user_id) if user_id else None, actions=frozenset([action]) if action else None,
        since=_when("since"), until=_when("until", end_of_day=True)))
    return _activity_response(rows, "activity")


# ------------------------------------------------------------------------------ preferences

@bp.get("/me/preferences")
@login_required
def my_preferences():
    return jsonify(preferences.to_dict(current_user, current_app.config["MIN_CONFIDENCE"]))


@bp.put("/me/preferences")
@login_required
def set_my_preferences():
    body = _body()
    if set(body) - {"min_confidence"}:
        raise APIError(400, "invalid_fields", "The only preference is min_confidence.")
    try:
        preferences.set_min_confidence(db.session, current_user, body.get("min_confidence"), current_app.config["MIN_CONFIDENCE"])
    except preferences.PreferenceError as exc:
        raise APIError(422, exc.code, exc.message) from exc
    return jsonify(preferences.to_dict(current_user, current_app.config["MIN_CONFIDENCE"]))


# ------------------------------------------------------------------------------ summary

@bp.get("/documents/<int:document_id>/summary")
@login_required
def document_summary(document_id: int):
    document = owned_or_404(Document, document_id)
    return jsonify(summary.summary_view(db.session, document))


# ------------------------------------------------------------------------------ statistics

def _stats_response(data: dict, name: str):
    if request.args.get("format") == "csv":
        return Response(statistics.to_csv(data), mimetype="text/csv",
                         headers={"Content-Disposition": f'attachment; filename="{name}.csv"'})
    response = jsonify(data)
    if request.args.get("format") == "json":
        response.headers["Content-Disposition"] = f'attachment; filename="{name}.json"'
    return response


@bp.get("/documents/<int:document_id>/stats")
@login_required
def document_stats(document_id: int):
    document = owned_or_404(Document, document_id)
    return _stats_response(statistics.document_stats(db.session, document), f"stats-document-{document.id}")


@bp.get("/stats")
@login_required
def overall_stats():
    scope_all = current_user.is_admin and request.args.get("scope") == "all"
    data = statistics.overall_stats(db.session, None if scope_all else current_user.id)
    return _stats_response(data, "stats-all" if scope_all else f"stats-user-{current_user.id}")
