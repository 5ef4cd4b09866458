"""/api/documents: upload, list, detail, delete, sections and section edits. Thin: parse, call the
service, shape the response."""
from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify, request
from flask_login import current_user, login_required
from sqlalchemy import func, select

from app.auth.access import owned_or_404
from app.errors import APIError
from app.extensions import db
from app.models import Document, Section
from app.review.estimate import analysis_estimate
from app.review import live
from app.review import state
from app.review.stats import progress_by_document
from app.security import rate_limit
from app.storage import StorageError, storage

from . import service
from .service import GUIDELINES_TYPE, guidelines_name
from .builder import MERGED_TAIL_SIGNAL
from .errors import IntakeError
from .intake import Limits

bp = Blueprint("documents", __name__, url_prefix="/api/documents")


def _limits() -> Limits:
    config = current_app.config
    return Limits(
        max_bytes=config["MAX_UPLOAD_BYTES"], max_unzipped=config["MAX_UNZIPPED_BYTES"],
        max_entries=config["MAX_ZIP_ENTRIES"], max_sections=config["MAX_SECTIONS"],
    )


def _read(field: str) -> service.Upload | None:
    file = request.files.get(field)
    if file is None:
        return None
    limit = current_app.config["MAX_UPLOAD_BYTES"]
    data = file.stream.read(limit + 1)
    return service.Upload(file.filename or "", data)


def _check_quota(incoming: int) -> None:
    """Each user's stored originals stay within USER_STORAGE_QUOTA_MB."""
    quota = current_app.config["USER_STORAGE_QUOTA_BYTES"]
    used = db.session.scalar(select(func.coalesce(func.sum(Document.size_bytes), 0)).where(Document.user_id == current_user.id))
    if used + incoming > quota:
        mb = 1024 * 1024
        raise APIError(413, "storage_quota_exceeded",
                       f"Your documents use {used / mb:.1f} MB of your {quota / mb:.0f} MB; delete some to upload this one.")


def _notices(document: Document) -> list[dict]:
    """What the reviewer should know about how the document was taken in."""
    merged = [s for s in document.sections if s.detection == MERGED_TAIL_SIGNAL]
    return [{"code": "sections_merged", "section_id": s.id, "message": (
        f"This document has more sections than the {current_app.config['MAX_SECTIONS']} kept apart; "
        f"everything from section {len(document.sections)} on is kept, in order with its titles, "
        f"in the last section, \"{s.title}\". No text was left out.")} for s in merged]


def _detail(document: Document) -> dict:
    return {**document.to_dict(), "sections": [s.to_dict(with_text=False) for s in document.sections],
            "versions": state.revisions.versions(db.session, document),
            "notices": _notices(document),
            "analysis_estimate": analysis_estimate(document.sections, current_app.config["MAX_CHUNKS_PER_ANALYSIS"])}


@bp.post("")
@login_required
def upload():
    rate_limit("upload", "UPLOAD_RATE_LIMIT", "uploads")
    main = _read("file")
    if main is None:
        raise APIError(400, "missing_file", "Attach the document as the multipart field 'file'.")
    _check_quota(len(main.data))
    try:
        document = service.create_document(
            db.session, storage(), current_user, main, guidelines=_read("guidelines"),
            guidelines_mode=request.form.get("guidelines_mode", "both"), limits=_limits(),
        )
    except IntakeError as exc:
        raise APIError(exc.status, exc.code, exc.message) from exc
    return jsonify(_detail(document)), 201


@bp.post("/<int:document_id>/versions")
@login_required
def upload_version(document_id: int):
    """The next version of a document: the same checks as an upload; a revision check starts."""
    from app.review import revision

    previous = owned_or_404(Document, document_id)
    rate_limit("upload", "UPLOAD_RATE_LIMIT", "uploads")
    if state.revisions.has_next_version(db.session, previous):
        raise APIError(409, "not_latest_version", "This document already has a next version; upload to the latest one.")
    main = _read("file")
    if main is None:
        raise APIError(400, "missing_file", "Attach the document as the multipart field 'file'.")
    _check_quota(len(main.data))
    try:
        document = service.create_document(db.session, storage(), current_user, main, limits=_limits(), previous=previous)
    except IntakeError as exc:
        raise APIError(exc.status, exc.code, exc.message) from exc
    check = revision.start_check(db.session, current_app.extensions["redis"], document, current_user)
    return jsonify({**_detail(document), "revision": {"id": check.id, "state": check.status}}), 201


@bp.get("")
@login_required
def list_documents():
    query = select(Document).order_by(Document.created_at.desc(), Document.id.desc())
    if not (current_user.is_admin and request.args.get("scope") == "all"):
        query = query.where(Document.user_id == current_user.id)
    documents = list(db.session.scalars(query.limit(500)))
    progress = progress_by_document(db.session, [d.id for d in documents])
    return jsonify({"documents": [_with_progress(d, progress[d.id]) for d in documents]})


def _with_progress(document: Document, progress: dict) -> dict:
    data = document.to_dict()
    times = [t for t in (progress.pop("last_activity"), document.updated_at) if t is not None]
    return {**data, "progress": progress, "last_activity": max(times).isoformat() if times else None}


@bp.get("/<int:document_id>")
@login_required
def detail(document_id: int):
    return jsonify(_detail(owned_or_404(Document, document_id)))


@bp.delete("/<int:document_id>")
@login_required
def delete(document_id: int):
    service.delete_document(db.session, storage(), owned_or_404(Document, document_id))
    return jsonify({"deleted": document_id})


@bp.get("/<int:document_id>/guidelines")
@login_required
def guidelines(document_id: int):
    """The guidelines .docx uploaded with the document, as an attachment (404 when there is none)."""
    document = owned_or_404(Document, document_id)
    if not document.guidelines_storage_key:
        raise APIError(404, "not_found", "This document was uploaded without guidelines.")
    try:
        data = storage().get(document.guidelines_storage_key)
    except StorageError as exc:
        raise APIError(404, "not_found", "The guidelines file is no longer stored.") from exc
    return Response(data, mimetype=GUIDELINES_TYPE, headers={
        "Content-Disposition": f'attachment; filename="{guidelines_name(document)}"', "Cache-Control": "private, no-store"})


@bp.get("/<int:document_id>/sections")
@login_required
def sections(document_id: int):
    document = owned_or_404(Document, document_id)
    return jsonify({"sections": [{**s.to_dict(), "paragraphs": _paragraph_starts(s)} for s in document.sections]})


def _paragraph_starts(section: Section) -> list[int]:
    """Where each paragraph of the text begins: the places a reviewer may split the section."""
    return [start for _, start, _ in section.anchors or [] if start >= 0]


def _section(document_id: int, section_id: int) -> Section:
    owned_or_404(Document, document_id)
    section = db.session.get(Section, section_id)
    if section is None or section.document_id != document_id:
        raise APIError(404, "not_found", f"No section with id {section_id} in this document.")
    return section


@bp.get("/<int:document_id>/sections/<int:section_id>")
@login_required
def section(document_id: int, section_id: int):
    """The section, and what a re-analysis of it would keep and replace (for the reviewer's warning)."""
    target = _section(document_id, section_id)
    return jsonify({**target.to_dict(), "reanalysis": state.reanalysis_preview(db.session, target.id)})


@bp.patch("/<int:document_id>/sections/<int:section_id>")
@login_required
def edit_section(document_id: int, section_id: int):
    """{"title": …} renames; {"action": "merge_next"} merges; {"action": "split", "at": n, "title": …}
    splits; {"level": n} or {"action": "change_level", "level": n} changes the heading level. Every
    feedback item is kept (app.review.state)."""
    target = _section(document_id, section_id)
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise APIError(400, "invalid_json", "Send a JSON object with Content-Type: application/json.")
    action = body.get("action", "rename" if "title" in body else "change_level" if "level" in body else None)
    action = "change_level" if action == "level" else action
    try:
        if action == "rename":
            changed = [state.rename_section(db.session, target, body.get("title"), by=current_user.id)]
        elif action == "change_level":
            changed = [state.change_level(db.session, target, body.get("level"), by=current_user.id)]
        elif action == "merge_next":
            changed = [state.merge_with_next(db.session, target, by=current_user.id)]
        elif action == "split":
            changed = list(state.split_section(db.session, target, body.get("at"), body.get("title"),
                                               max_sections=current_app.config["MAX_SECTIONS"], by=current_user.id))
        else:
            raise APIError(400, "invalid_action", "Send a title to rename, a level, or action merge_next, split or change_level.")
    except state.SectionEditError as exc:
        raise APIError(422, exc.code, exc.message) from exc
    live.sections_changed(current_app.extensions["redis"], document_id, action, [s.id for s in changed], current_user.id)
    return jsonify({"sections": [s.to_dict() for s in changed]})
