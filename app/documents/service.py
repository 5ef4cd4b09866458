"""Documents as a service: create from an upload, list, delete, and the reviewer's section edits.
Knows nothing of requests; views, jobs and CLI commands share it."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from app.models import Analysis, Document, Export, FeedbackItem, Section, User
from app.offload import off_loop
from app.review.checklist import GUIDELINES_MODES
from app.storage import upload_key
from app.text_hygiene import xml_safe

from .builder import ExtractedSection
from .errors import IntakeError
from .extract import extract_sections
from .intake import Limits, vet

log = logging.getLogger(__name__)


@dataclass
class Upload:
    filename: str
    data: bytes


def _title_from(filename: str) -> str:
    stem = filename.rsplit(".", 1)[0] if "." in filename else filename
    return " ".join(stem.replace("_", " ").split())[:500] or "Untitled document"


def _vet_and_extract(filename: str, data: bytes, limits: Limits):
    vetted = vet(filename, data, limits)
    return vetted, extract_sections(vetted, limits.max_sections)


def create_document(
    db: Session, store, user: User, upload: Upload, *, guidelines: Upload | None = None,
    guidelines_mode: str = "both", limits: Limits = Limits(),
) -> Document:
    """Vet, extract, store the original and write the rows; nothing is stored when any step fails."""
    if guidelines_mode not in GUIDELINES_MODES:
        raise IntakeError(400, "invalid_guidelines_mode", f"guidelines_mode must be one of: {', '.join(GUIDELINES_MODES)}.")
    vetted, extracted = off_loop(_vet_and_extract, upload.filename, upload.data, limits)
    guidelines_text = guidelines_vetted = None
    if guidelines is not None:
        guidelines_vetted = vet(guidelines.filename, guidelines.data, limits)
        if guidelines_vetted.format != "docx":
            raise IntakeError(415, "unsupported_type", "Guidelines must be a .docx file.")
        from .docx_extract import docx_plain_text

        guidelines_text = docx_plain_text(guidelines_vetted.zip, guidelines_vetted.read_part)

    now = datetime.now(timezone.utc)
    metadata = {"user-id": user.id, "uploaded-at": now.isoformat()}
    stored: list[str] = []
    try:
        key = upload_key(user.id, vetted.safe_name, now)
        store.put(key, vetted.data, vetted.content_type, metadata)
        stored.append(key)
        guidelines_key = None
        if guidelines_vetted is not None:
            guidelines_key = upload_key(user.id, guidelines_vetted.safe_name, now)
            store.put(guidelines_key, guidelines_vetted.data, guidelines_vetted.content_type, metadata)
            stored.append(guidelines_key)
        document = Document(
            user_id=user.id, title=_title_from(vetted.original_name), original_filename=vetted.original_name,
            file_format=vetted.format, content_type=vetted.content_type, size_bytes=len(vetted.data),
            sha256=vetted.sha256, storage_key=key, guidelines_storage_key=guidelines_key,
            guidelines_text=guidelines_text, guidelines_mode=guidelines_mode if guidelines else None,
        )
        document.sections = [_section_row(position, s) for position, s in enumerate(extracted)]
        db.add(document)
        db.commit()
    except BaseException:
        db.rollback()
        for key in stored:
            try:
                store.delete(key)
            except Exception:
                log.exception("could not remove %s after a failed upload", key)
        raise
    return document


def _section_row(position: int, section: ExtractedSection) -> Section:
    return Section(
        position=position, title=section.title, level=section.level, text=section.text,
        detection=section.signal, first_block=section.first_block, last_block=section.last_block,
        anchors=section.anchors,
    )


def delete_document(db: Session, store, document: Document) -> None:
    """Remove the rows (sections, analyses, feedback, chat, exports cascade) and the stored files."""
    keys = [document.storage_key, document.guidelines_storage_key]
    for export in db.scalars(select(Export).where(Export.document_id == document.id)):
        keys.extend(f.get("key") for f in export.files or [])
    db.delete(document)
    db.commit()
    for key in filter(None, keys):
        try:
            store.delete(key)
        except Exception:  # the rows are gone; an orphaned object is logged for cleanup, not fatal
            log.exception("could not delete stored object %s", key)


class SectionEditError(ValueError):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code, self.message = code, message


def _mark_stale(db: Session, *section_ids: int) -> None:
    db.execute(update(Analysis).where(Analysis.section_id.in_(section_ids)).values(stale=True))


def _shift_positions(db: Session, document_id: int, after: int, delta: int) -> None:
    """Move every section after ``after`` by ``delta`` without tripping the unique position."""
    rows = db.scalars(
        select(Section).where(Section.document_id == document_id, Section.position > after).order_by(Section.position)
    ).all()
    for row in rows:
        row.position = -row.position - 1  # out of the way first
    db.flush()
    for row in rows:
        row.position = -row.position - 1 + delta
    db.flush()


def rename_section(db: Session, section: Section, title: str) -> Section:
    title = xml_safe(title or "").strip() if isinstance(title, str) else ""
    if not title or len(title) > 1000:
        raise SectionEditError("invalid_title", "A section title needs 1 to 1000 characters.")
    section.title = title
    _mark_stale(db, section.id)
    db.commit()
    return section


def merge_with_next(db: Session, section: Section) -> Section:
    """Append the next section to this one; its analyses and feedback move here, quotes re-based."""
    nxt = db.scalar(select(Section).where(Section.document_id == section.document_id, Section.position == section.position + 1))
    if nxt is None:
        raise SectionEditError("no_next_section", "This is the last section; there is nothing to merge with.")
    offset = len(section.text) + 1 if section.text else 0
    section.text = (section.text + "\n" + nxt.text) if section.text else nxt.text
    section.anchors = list(section.anchors or []) + [
        [block, start + offset if start >= 0 else -1, length] for block, start, length in (nxt.anchors or [])
    ]
    section.last_block = nxt.last_block if nxt.last_block is not None else section.last_block
    for item in db.scalars(select(FeedbackItem).where(FeedbackItem.section_id == nxt.id)):
        item.section_id = section.id
        if item.quote_start is not None:
            item.quote_start += offset
            item.quote_end += offset
    db.execute(update(Analysis).where(Analysis.section_id == nxt.id).values(section_id=section.id))
    _mark_stale(db, section.id)
    db.flush()
    position = nxt.position
    db.delete(nxt)
    db.flush()
    _shift_positions(db, section.document_id, position, -1)
    db.commit()
    return section


def split_section(db: Session, section: Section, at: int, title: str | None = None,
                  max_sections: int | None = None) -> tuple[Section, Section]:
    """Split before text paragraph ``at`` (0-based among the section's paragraphs); refused when the
    document already has ``max_sections`` sections."""
    if max_sections is not None:
        count = db.scalar(select(func.count()).select_from(Section).where(Section.document_id == section.document_id))
        if count >= max_sections:
            raise SectionEditError("too_many_sections", f"This document already has {count} sections, the most one "
                                   f"document may have; merge two sections before splitting another.")
    paragraphs = [a for a in (section.anchors or []) if a[1] >= 0]
    if not isinstance(at, int) or isinstance(at, bool) or not 1 <= at < len(paragraphs):
        raise SectionEditError("invalid_split", f"Split at a paragraph from 1 to {max(len(paragraphs) - 1, 0)}.")
    cut = paragraphs[at][1]
    head_text, tail_text = section.text[:cut].rstrip("\n"), section.text[cut:]
    first_para_title = tail_text.split("\n", 1)[0].strip()[:120]
    new = Section(
        document_id=section.document_id, position=section.position + 1,
        title=xml_safe(title if isinstance(title, str) else "").strip()[:1000] or first_para_title or "Untitled", level=section.level,
        text=tail_text, detection="reviewer_split",
        anchors=[[b, s - cut, n] for b, s, n in paragraphs[at:]],
        first_block=paragraphs[at][0], last_block=section.last_block,
    )
    heading_anchors = [a for a in (section.anchors or []) if a[1] < 0]
    section.anchors = heading_anchors + paragraphs[:at]
    section.text = head_text
    section.last_block = paragraphs[at - 1][0]
    _shift_positions(db, section.document_id, section.position, +1)
    db.add(new)
    db.flush()
    for item in db.scalars(select(FeedbackItem).where(FeedbackItem.section_id == section.id, FeedbackItem.quote_start >= cut)):
        item.section_id = new.id
        item.quote_start -= cut
        item.quote_end -= cut
    _mark_stale(db, section.id)
    db.commit()
    return section, new


def set_section_level(db: Session, section: Section, level) -> Section:
    """The section's heading level (1 is the top); the text and the feedback are unchanged."""
    if not isinstance(level, int) or isinstance(level, bool) or not 1 <= level <= 9:
        raise SectionEditError("invalid_level", "A section level is a whole number from 1 to 9.")
    section.level = level
    db.commit()
    return section
