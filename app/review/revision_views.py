"""/api/documents/{id}/revision: a later version's revision check, and reviewers' overrides. Thin."""
from __future__ import annotations

from flask import Blueprint, current_app, jsonify, request
from flask_login import current_user, login_required

from app.auth.access import owned_or_404
from app.errors import APIError
from app.extensions import db
from app.models import Document, Section

from . import revision
from .state import revisions

bp = Blueprint("revision", __name__, url_prefix="/api/documents")


def _check(document_id: int):
    document = owned_or_404(Document, document_id)
    check = revisions.check_of(db.session, document.id)
    if check is None:
        raise APIError(404, "no_revision_check", "This document is not a later version of another, so it has no revision check.")
    return document, check


def _titles(section_ids) -> dict[int, str]:
    return {s.id: s.title for s in db.session.query(Section).filter(Section.id.in_(list(section_ids)))} if section_ids else {}


@bp.get("/<int:document_id>/revision")
@login_required
def show(document_id: int):
    _, check = _check(document_id)
    pairs = revisions.items_of(db.session, check)
    groups = (check.alignment or {}).get("groups", [])
    titles = _titles({sid for g in groups for sid in g["v1"] + g["v2"]})
    return jsonify({
        "id": check.id, "document_id": check.document_id, "previous_id": check.previous_id, "state": check.status,
        "error": {"code": check.error_code, "message": check.error_message} if check.error_code else None,
        "attempts": check.attempts, "deferrals": check.deferrals, "model_calls": check.model_calls,
        "deferred_until": check.deferred_until.isoformat() if check.deferred_until else None,
        "summary": revisions.summary([row for row, _ in pairs]),
        "items": [{**row.to_dict(), "item": item.to_dict()} for row, item in pairs],
        "groups": [{**g, "v1_titles": [titles.get(i, "") for i in g["v1"]], "v2_titles": [titles.get(i, "") for i in g["v2"]]}
                   for g in groups],
    })


@bp.post("/<int:document_id>/revision")
@login_required
def restart(document_id: int):
    """Run a failed check again (a running or completed one is answered as it is)."""
    document, _ = _check(document_id)
    check = revision.start_check(db.session, current_app.extensions["redis"], document, current_user)
    return jsonify({"id": check.id, "state": check.status}), 202


@bp.post("/<int:document_id>/revision/items/<int:item_id>")
@login_required
def override(document_id: int, item_id: int):
    """{"status": open|addressed|partly|quote_gone, "reason": "…"}: a reviewer's status, audited."""
    _, check = _check(document_id)
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise APIError(400, "invalid_json", "Send a JSON object with Content-Type: application/json.")
    try:
        row = revisions.override(db.session, check, item_id, body.get("status"), body.get("reason"), current_user)
    except revisions.RevisionError as exc:
        raise APIError(exc.status, exc.code, exc.message) from exc
    return jsonify(row.to_dict())
