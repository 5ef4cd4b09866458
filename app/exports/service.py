"""Exports as a service: create the row and job, build the files, store them, record the outcome.
A failed run raises (RQ retries it); the export fails, saying why, only when no retry is left
(lifecycle.py). Nothing reports success that did not happen."""
from __future__ import annotations

import logging
import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.jobs import enqueue
from app.models import Document, Export, ModelCall, ReviewEvent, User, utcnow
from app.review.state import export_items, revisions

from . import generated
from .lifecycle import ExportFailure, lease, publish
from .links import strip_external
from .package import build_package
from .records import export_json, items_csv
from .word import WordExport, annotate_docx

log = logging.getLogger(__name__)
FORMATS = ("docx", "json", "csv", "package")
DEFAULT_FORMATS = ("docx", "json", "csv")  # what an export without "formats" builds
CONTENT_TYPES = {
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "json": "application/json",
    "csv": "text/csv; charset=utf-8",
    "package": "application/zip",
}
# What each format's stored file is called after the export's stem.
SUFFIXES = {"docx": "_reviewed.docx", "json": ".json", "csv": ".csv", "package": "_package.zip"}


class ExportError(ValueError):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code, self.message = code, message


def start_export(db: Session, redis, document: Document, user: User, formats: list[str] | None, include_all: bool,
                 carry_forward: bool = False) -> Export:
    """``carry_forward``: a later version's export also carries its revision check's open and partly
    addressed v1 items, as comments on the v2 text (refused until the check has completed)."""
    formats = formats or list(DEFAULT_FORMATS)
    if not isinstance(formats, list) or not formats or any(f not in FORMATS for f in formats):
        raise ExportError("invalid_formats", f"formats must be a list drawn from {', '.join(FORMATS)}.")
    if carry_forward:
        check = revisions.check_of(db, document.id)
        if check is None or check.status != "completed":
            raise ExportError("revision_not_checked", "Carrying items forward needs this version's completed revision check.")
    export = Export(document_id=document.id, user_id=user.id, formats=sorted(set(formats)), include_all=bool(include_all),
                    carry_forward=bool(carry_forward))
    db.add(export)
    db.flush()
    export.rq_job_id = export.job_id
    db.commit()
    enqueue("export", export.id, job_id=export.rq_job_id, connection=redis)
    return export


def _items(db: Session, document: Document, include_all: bool, carry_forward: bool = False) -> list:
    items = export_items(db, document.id, include_all)
    return items + revisions.carried_items(db, document.id) if carry_forward else items


def _author_for(db: Session):
    names: dict[int, str] = {}

    def author(item):
        if item.source == "custom" and item.created_by:
            if item.created_by not in names:
                user = db.get(User, item.created_by)
                names[item.created_by] = user.display_name if user else "Reviewer"
            name = names[item.created_by]
            return name, "".join(w[0] for w in name.split()[:2]).upper() or "R"
        return "AI-Prism", "AIP"

    return author


def _safe(title: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", title).strip("._")[:80] or "document"


def run_export(db: Session, redis, store, export_id: int, export_prefix: str) -> str:
    """The job body: build the files, store them, mark the export completed; returns its status.
    A failed run raises ExportFailure, with nothing half-stored: the job's caller records it and RQ
    runs the job again (lifecycle.record_failure). Running an export twice stores the same keys."""
    export = db.get(Export, export_id)
    if export is None or export.finished:
        return export.status if export else "missing"
    document = db.get(Document, export.document_id)
    with lease(redis, export.id):
        export.status, export.started_at, export.error_message = "running", utcnow(), None
        export.attempts += 1
        db.commit()
        publish(redis, export)
        files, word = _build(db, store, document, export)
        stored, prefix = _store(db, store, document, export, files, export_prefix, word)
        return _complete(db, redis, export, stored, prefix, word.comments if word else 0)


def _build(db: Session, store, document: Document, export: Export) -> tuple[dict[str, bytes], WordExport | None]:
    try:
        sections = list(document.sections)
        items = _items(db, document, export.include_all, export.carry_forward)
        files: dict[str, bytes] = {}
        word = None
        if "docx" in export.formats or "package" in export.formats:
            word = _reviewed_docx(db, store, document, sections, items)
            files["docx"] = strip_external(word.data)
        if "package" in export.formats:
            files["package"] = build_package(db, store, document, files["docx"])
            if "docx" not in export.formats:
                del files["docx"]
        if "json" in export.formats:
            decisions = db.scalars(select(ReviewEvent).where(ReviewEvent.document_id == document.id).order_by(ReviewEvent.id)).all()
            calls = db.scalars(select(ModelCall).where(ModelCall.document_id == document.id).order_by(ModelCall.id)).all()
            files["json"] = export_json(document, sections, items, decisions, calls, revisions.record(db, document.id))
        if "csv" in export.formats:
            files["csv"] = items_csv(items, {s.id: s.title for s in sections})
        return files, word
    except Exception as exc:
        log.exception("export %s could not be built", export.id)
        raise ExportFailure(f"The export could not be built ({type(exc).__name__}).") from exc


def _reviewed_docx(db: Session, store, document: Document, sections, items) -> WordExport:
    """The reviewed Word file: native comments on the original (or on a .docx generated from the
    sections of a PDF or text original). Outside links are dropped by the caller (strip_external)."""
    if document.file_format == "docx":
        return annotate_docx(store.get(document.storage_key), sections, items, _author_for(db))
    prepared, moves = generated.prepare(sections)
    return annotate_docx(generated.build(prepared), prepared, generated.placed(items, moves), _author_for(db))


def _store(db: Session, store, document: Document, export: Export, files: dict[str, bytes], export_prefix: str,
           word: WordExport | None):
    """Store every file under keys fixed by the export (its creation time and id), so a second run
    of the same export overwrites rather than adds. The Word file's entry says how many comments it
    has and which items' comments are not on their quote (``WordExport.unplaced``). On a failure the keys written are removed,
    unless another run completed the export meanwhile (its files have the same keys)."""
    prefix = f"{export_prefix}{export.created_at:%Y%m%d_%H%M%S}_{_safe(document.title)}/"
    stored = []
    try:
        for fmt, data in files.items():
            # The export id in the name keeps two exports of one document in the same second apart.
            stem = f"{prefix}{_safe(document.title)}_export{export.id}"
            key = f"{stem}{SUFFIXES[fmt]}"
            store.put(key, data, CONTENT_TYPES[fmt], {"document-id": document.id, "export-id": export.id})
            entry = {"format": fmt, "key": key, "size": len(data)}
            if fmt == "docx" and word is not None:
                entry.update(comments=word.comments, unplaced=word.unplaced)
            stored.append(entry)
    except Exception as exc:
        log.warning("export %s could not be stored: %s", export.id, type(exc).__name__)
        db.rollback()
        if db.get(Export, export.id, populate_existing=True).status != "completed":
            for entry in stored:
                try:
                    store.delete(entry["key"])
                except Exception:
                    log.warning("could not remove %s after a failed export", entry["key"])
        raise ExportFailure(f"Storing the export failed ({type(exc).__name__}); nothing was saved. Try again.") from exc
    return stored, prefix


def _complete(db: Session, redis, export: Export, stored: list[dict], prefix: str, comments: int) -> str:
    # Lock the row: a second run of the same export (after a re-enqueue) waits here, then sees it done.
    locked = db.scalars(select(Export).where(Export.id == export.id).with_for_update()
                        .execution_options(populate_existing=True)).one()
    if locked.status == "completed":
        db.rollback()
        return "completed"
    locked.files, locked.storage_prefix = stored, prefix
    locked.status, locked.finished_at, locked.error_message = "completed", utcnow(), None
    db.commit()
    publish(redis, locked, comments=comments)
    return "completed"
