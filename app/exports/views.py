"""POST /api/documents/{id}/exports, GET /api/exports/{id} and the file downloads."""
from __future__ import annotations

import os

from flask import Blueprint, Response, current_app, jsonify, request, url_for
from flask_login import current_user, login_required

from app.auth.access import document_child_or_404, owned_or_404
from app.errors import APIError
from app.extensions import db
from app.idempotency import idempotent
from app.models import Document, Export
from app.security import rate_limit
from app.storage import StorageError, storage

from . import service

bp = Blueprint("exports", __name__, url_prefix="/api")


def _shape(export: Export) -> dict:
    files = []
    for entry in export.files or []:
        name = os.path.basename(entry["key"])
        url = storage().url(entry["key"], name) or url_for("exports.download", export_id=export.id, fmt=entry["format"])
        shaped = {"format": entry["format"], "size": entry["size"], "name": name, "url": url}
        if "unplaced" in entry:  # the Word file: comments added, and the items not marked on their quote
            shaped.update(comments=entry["comments"], unplaced={"count": len(entry["unplaced"]), "items": entry["unplaced"]})
        files.append(shaped)
    return {"id": export.id, "document_id": export.document_id, "status": export.status, "formats": export.formats,
            "include_all": export.include_all, "carry_forward": export.carry_forward, "files": files, "error": export.error_message, "attempts": export.attempts,
            "created_at": export.created_at.isoformat() if export.created_at else None,
            "finished_at": export.finished_at.isoformat() if export.finished_at else None}


@bp.post("/documents/<int:document_id>/exports")
@login_required
@idempotent
def start(document_id: int):
    document = owned_or_404(Document, document_id)
    rate_limit("export", "EXPORT_RATE_LIMIT", "exports")
    body = request.get_json(silent=True) if request.data else {}
    if not isinstance(body, dict):
        raise APIError(400, "invalid_json", 'Send a JSON object, e.g. {"formats": ["docx", "json", "csv"]}.')
    try:
        export = service.start_export(db.session, current_app.extensions["redis"], document, current_user,
                                      body.get("formats"), bool(body.get("include_all", False)),
                                      bool(body.get("carry_forward", False)))
    except service.ExportError as exc:
        raise APIError(409 if exc.code == "revision_not_checked" else 400, exc.code, exc.message) from exc
    return jsonify(_shape(export)), 202


def _export(export_id: int) -> Export:
    return document_child_or_404(Export, export_id, "export")


@bp.get("/exports/<int:export_id>")
@login_required
def status(export_id: int):
    return jsonify(_shape(_export(export_id)))


@bp.get("/exports/<int:export_id>/files/<fmt>")
@login_required
def download(export_id: int, fmt: str):
    export = _export(export_id)
    entry = next((f for f in export.files or [] if f["format"] == fmt), None)
    if entry is None:
        raise APIError(404, "not_found", "This export has no such file.")
    try:
        data = storage().get(entry["key"])
    except StorageError as exc:
        raise APIError(404, "not_found", "The export file is no longer stored.") from exc
    name = os.path.basename(entry["key"]).replace('"', "")
    return Response(data, mimetype=service.CONTENT_TYPES[fmt].split(";")[0],
                    headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "private, no-store"})
