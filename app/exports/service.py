"""Exports as a service: create the row and job, build the files, store them, record the outcome.
A storage failure fails the export and says so; nothing reports success that did not happen."""
from __future__ import annotations

import io
import logging
import re
from types import SimpleNamespace

import docx
from sqlalchemy import select
from sqlalchemy.orm import Session

from app import events
from app.jobs import enqueue
from app.models import Document, Export, FeedbackItem, ModelCall, ReviewEvent, User, utcnow
from app.review.state import export_items

from .records import export_json, items_csv
from .word import annotate_docx

log = logging.getLogger(__name__)
FORMATS = ("docx", "json", "csv")
CONTENT_TYPES = {
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "json": "application/json",
    "csv": "text/csv; charset=utf-8",
}


class ExportError(ValueError):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code, self.message = code, message


def start_export(db: Session, redis, document: Document, user: User, formats: list[str] | None, include_all: bool) -> Export:
    formats = formats or list(FORMATS)
    if not isinstance(formats, list) or not formats or any(f not in FORMATS for f in formats):
        raise ExportError("invalid_formats", f"formats must be a list drawn from {', '.join(FORMATS)}.")
    export = Export(document_id=document.id, user_id=user.id, formats=sorted(set(formats)), include_all=bool(include_all))
    db.add(export)
    db.commit()
    enqueue("export", export.id, job_id=f"export-{export.id}", connection=redis)
    return export


def _items(db: Session, document: Document, include_all: bool) -> list[FeedbackItem]:
    return export_items(db, document.id, include_all)


def _lines_with_offsets(text: str):
    offset = 0
    for line in text.split("\n"):
        yield offset, line
        offset += len(line) + 1


def _prepare_generated(sections):
    """For a PDF, text or Markdown original: section copies whose anchors index the paragraphs of
    the .docx ``_word_from_sections_plain`` builds (a heading, then one paragraph per line)."""
    prepared, block = [], 0
    for section in sections:
        anchors = [[block, -1, 0]]
        block += 1
        for offset, line in _lines_with_offsets(section.text):
            anchors.append([block, offset, len(line)])
            block += 1
        prepared.append(SimpleNamespace(id=section.id, title=section.title, level=section.level,
                                        text=section.text, anchors=anchors))
    return prepared


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
    export = db.get(Export, export_id)
    if export is None or export.status in ("completed", "failed"):
        return export.status if export else "missing"
    document = db.get(Document, export.document_id)
    export.status = "running"
    db.commit()
    try:
        sections = list(document.sections)
        items = _items(db, document, export.include_all)
        files: dict[str, bytes] = {}
        comments = 0
        if "docx" in export.formats:
            if document.file_format == "docx":
                original = store.get(document.storage_key)
                files["docx"], comments = annotate_docx(original, sections, items, _author_for(db))
            else:
                generated = _prepare_generated(sections)
                files["docx"], comments = annotate_docx(_word_from_sections_plain(generated), generated, items, _author_for(db))
        if "json" in export.formats:
            decisions = db.scalars(select(ReviewEvent).where(ReviewEvent.document_id == document.id).order_by(ReviewEvent.id)).all()
            calls = db.scalars(select(ModelCall).where(ModelCall.document_id == document.id).order_by(ModelCall.id)).all()
            files["json"] = export_json(document, sections, items, decisions, calls)
        if "csv" in export.formats:
            files["csv"] = items_csv(items, {s.id: s.title for s in sections})
    except Exception as exc:
        log.exception("export %s could not be built", export_id)
        return _failed(db, redis, export, f"The export could not be built ({type(exc).__name__}).")
    prefix = f"{export_prefix}{utcnow():%Y%m%d_%H%M%S}_{_safe(document.title)}/"
    stored = []
    try:
        for fmt, data in files.items():
            # The export id in the name keeps two exports of one document in the same second apart.
            stem = f"{prefix}{_safe(document.title)}_export{export.id}"
            key = f"{stem}_reviewed.docx" if fmt == "docx" else f"{stem}.{fmt}"
            store.put(key, data, CONTENT_TYPES[fmt], {"document-id": document.id, "export-id": export.id})
            stored.append({"format": fmt, "key": key, "size": len(data)})
    except Exception as exc:
        log.warning("export %s could not be stored: %s", export_id, type(exc).__name__)
        for entry in stored:
            try:
                store.delete(entry["key"])
            except Exception:
                pass
        return _failed(db, redis, export, f"Storing the export failed ({type(exc).__name__}); nothing was saved. Try again.")
    export.files, export.storage_prefix = stored, prefix
    export.status, export.finished_at = "completed", utcnow()
    export.error_message = None
    db.commit()
    events.publish(redis, document.id, "export", {"id": export.id, "status": "completed", "comments": comments})
    return "completed"


def _word_from_sections_plain(prepared) -> bytes:
    document = docx.Document()
    for section in prepared:
        document.add_heading(section.title, min(max(section.level, 1), 9))
        for _, line in _lines_with_offsets(section.text):
            document.add_paragraph(line)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def _failed(db, redis, export, message: str) -> str:
    export.status, export.error_message, export.finished_at = "failed", message, utcnow()
    db.commit()
    events.publish(redis, export.document_id, "export", {"id": export.id, "status": "failed", "error": message})
    return "failed"
