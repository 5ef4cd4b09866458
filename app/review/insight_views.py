"""What reviewers' work adds up to across documents: recurring issues (patterns) and, for admins,
what the learning loop learned and put in prompts, with its switch. Thin: parse, call, shape."""
from __future__ import annotations

from flask import Blueprint, current_app, jsonify, request
from flask_login import current_user, login_required
from sqlalchemy import select

from app.auth.access import require_role, session_only
from app.errors import APIError
from app.extensions import db
from app.models import Analysis, User

from . import learning, patterns

bp = Blueprint("insight", __name__, url_prefix="/api")


@bp.get("/patterns")
@login_required
def list_patterns():
    scope_all = request.args.get("scope") == "all"
    if scope_all and not current_user.is_admin:
        raise APIError(403, "forbidden", "Only admins see everyone's patterns.")
    found = patterns.recurring(db.session, None if scope_all else current_user.id)
    return jsonify({"scope": "all" if scope_all else "mine", "patterns": found})


@bp.get("/admin/learning")
@require_role("admin")
def learning_state():
    settings = learning.LearningSettings.from_config(current_app.config)
    groups = sorted({u.review_group for u in db.session.scalars(select(User))}, key=lambda g: (g is not None, g or ""))
    recent = db.session.scalars(select(Analysis).where(Analysis.learning.is_not(None)).order_by(Analysis.id.desc()).limit(50))
    return jsonify({
        "enabled": learning.is_enabled(db.session, settings.enabled), "default": settings.enabled,
        "thresholds": {"min_decisions": settings.min_decisions, "low_acceptance": settings.low_acceptance,
                       "example_tokens": settings.example_tokens},
        "teams": [learning.acceptance(db.session, group, settings) for group in groups],
        "recent": [{"analysis_id": a.id, "document_id": a.document_id, "section_id": a.section_id, "learning": a.learning,
                    "at": a.created_at.isoformat()} for a in recent],
    })


@bp.post("/admin/learning")
@session_only
@require_role("admin")
def switch_learning():
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or not isinstance(body.get("enabled"), bool):
        raise APIError(400, "invalid_json", 'Send {"enabled": true} or {"enabled": false}.')
    learning.set_enabled(db.session, current_user, body["enabled"])
    return jsonify({"enabled": body["enabled"]})
