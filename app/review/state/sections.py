"""A reviewer's section edits: rename, merge with the next section, split at a paragraph, change
level. Every item is kept: it goes to the section whose text now holds its quote (offsets recomputed),
and a quote no text holds any more leaves it unverified and ``quote_missing`` where it was."""
from __future__ import annotations

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from app.models import Analysis, FeedbackItem, ReviewEvent, Section
from app.text_hygiene import xml_safe

from ..quotes import verify_quote
from .items import place_quote

MAX_LEVEL = 9


class SectionEditError(ValueError):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code, self.message = code, message


def _locked(db: Session, *section_ids: int) -> list[Section]:
    """The sections, locked until commit, so an edit and an analysis completing on them serialise."""
    rows = db.scalars(select(Section).where(Section.id.in_(section_ids)).order_by(Section.id).with_for_update()
                      .execution_options(populate_existing=True)).all()
    return sorted(rows, key=lambda s: section_ids.index(s.id))


def _items_of(db: Session, section_id: int) -> list[FeedbackItem]:
    """Every item of the section, superseded ones too (they must follow their section's rows)."""
    return list(db.scalars(select(FeedbackItem).where(FeedbackItem.section_id == section_id)
                           .execution_options(populate_existing=True)))


def _mark_stale(db: Session, *section_ids: int) -> None:
    db.execute(update(Analysis).where(Analysis.section_id.in_(section_ids)).values(stale=True)
               .execution_options(synchronize_session=False))


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


def _hint(item: FeedbackItem, shift: int = 0) -> tuple[int, int] | None:
    return (item.quote_start + shift, item.quote_end + shift) if item.quote_start is not None else None


def _audit(db: Session, by: int | None, action: str, sections: list[Section], before: dict | None = None) -> None:
    """The audit of a section edit, in the edit's own transaction: one review event naming the sections
    as they are after it (``by`` None, a script's edit, records nothing). The activity timeline reads it."""
    if by is None:
        return
    db.add(ReviewEvent(document_id=sections[0].document_id, feedback_item_id=None, user_id=by, action=f"section_{action}",
                       before=before, after={"outcome": "applied", "sections": [
                           {"id": s.id, "title": s.title, "level": s.level, "position": s.position} for s in sections]}))


def rename_section(db: Session, section: Section, title: str, *, by: int | None = None) -> Section:
    title = xml_safe(title or "").strip() if isinstance(title, str) else ""
    if not title or len(title) > 1000:
        raise SectionEditError("invalid_title", "A section title needs 1 to 1000 characters.")
    (section,) = _locked(db, section.id)
    before = {"title": section.title}
    section.title = title
    _mark_stale(db, section.id)  # the prompt names the section
    _audit(db, by, "rename", [section], before)
    db.commit()
    return section


def change_level(db: Session, section: Section, level, *, by: int | None = None) -> Section:
    """Set the heading level (1 to 9); text, items and analyses are untouched."""
    if not isinstance(level, int) or isinstance(level, bool) or not 1 <= level <= MAX_LEVEL:
        raise SectionEditError("invalid_level", f"level must be a whole number from 1 to {MAX_LEVEL}.")
    (section,) = _locked(db, section.id)
    before = {"level": section.level}
    section.level = level
    _audit(db, by, "change_level", [section], before)
    db.commit()
    return section


def merge_with_next(db: Session, section: Section, *, by: int | None = None) -> Section:
    """Append the next section to this one; its analyses and items come along, quotes re-based."""
    nxt_id = db.scalar(select(Section.id).where(Section.document_id == section.document_id,
                                                Section.position == section.position + 1))
    if nxt_id is None:
        raise SectionEditError("no_next_section", "This is the last section; there is nothing to merge with.")
    section, nxt = _locked(db, section.id, nxt_id)
    offset = len(section.text) + 1 if section.text else 0
    text = (section.text + "\n" + nxt.text) if section.text else nxt.text
    section.anchors = list(section.anchors or []) + [
        [block, start + offset if start >= 0 else -1, length] for block, start, length in (nxt.anchors or [])
    ]
    section.last_block = nxt.last_block if nxt.last_block is not None else section.last_block
    moved = [(item, _hint(item)) for item in _items_of(db, section.id)]
    moved += [(item, _hint(item, offset)) for item in _items_of(db, nxt.id)]
    section.text = text
    for item, hint in moved:
        item.section_id = section.id
        place_quote(item, text, hint)
    db.execute(update(Analysis).where(Analysis.section_id == nxt.id).values(section_id=section.id)
               .execution_options(synchronize_session=False))
    if section.current_analysis_id is None:
        section.current_analysis_id = nxt.current_analysis_id
    _mark_stale(db, section.id)
    db.flush()
    position = nxt.position
    db.delete(nxt)
    db.flush()
    _shift_positions(db, section.document_id, position, -1)
    _audit(db, by, "merge_next", [section], {"merged": {"id": nxt_id}})
    db.commit()
    return section


def split_section(db: Session, section: Section, at, title: str | None = None,
                  max_sections: int | None = None, *, by: int | None = None) -> tuple[Section, Section]:
    """Split before text paragraph ``at`` (0-based among the section's paragraphs). The new second
    section has no analysis of its own yet; the items whose quotes it holds move into it. Refused when
    the document already has ``max_sections`` sections."""
    if max_sections is not None:
        count = db.scalar(select(func.count()).select_from(Section).where(Section.document_id == section.document_id))
        if count >= max_sections:
            raise SectionEditError("too_many_sections", f"This document already has {count} sections, the most one "
                                   f"document may have; merge two sections before splitting another.")
    (section,) = _locked(db, section.id)
    paragraphs = [a for a in (section.anchors or []) if a[1] >= 0]
    if not isinstance(at, int) or isinstance(at, bool) or not 1 <= at < len(paragraphs):
        raise SectionEditError("invalid_split", f"Split at a paragraph from 1 to {max(len(paragraphs) - 1, 0)}.")
    if title is not None and not isinstance(title, str):
        raise SectionEditError("invalid_title", "title must be text.")
    cut = paragraphs[at][1]
    head_text, tail_text = section.text[:cut].rstrip("\n"), section.text[cut:]
    first_para_title = tail_text.split("\n", 1)[0].strip()[:120]
    new = Section(
        document_id=section.document_id, position=section.position + 1,
        title=xml_safe(title or "").strip()[:1000] or first_para_title or "Untitled", level=section.level,
        text=tail_text, detection="reviewer_split",
        anchors=[[b, s - cut, n] for b, s, n in paragraphs[at:]],
        first_block=paragraphs[at][0], last_block=section.last_block,
    )
    heading_anchors = [a for a in (section.anchors or []) if a[1] < 0]
    items = _items_of(db, section.id)
    section.anchors = heading_anchors + paragraphs[:at]
    section.text = head_text
    section.last_block = paragraphs[at - 1][0]
    _shift_positions(db, section.document_id, section.position, +1)
    db.add(new)
    db.flush()
    for item in items:
        if item.quote_start is not None and item.quote_end <= len(head_text):
            place_quote(item, head_text, _hint(item))
        elif item.quote_start is not None and item.quote_start >= cut:
            item.section_id = new.id
            place_quote(item, tail_text, _hint(item, -cut))
        elif item.quote and not place_quote(item, head_text) and verify_quote(item.quote, tail_text) is not None:
            item.section_id = new.id
            place_quote(item, tail_text)
    _mark_stale(db, section.id)
    _audit(db, by, "split", [section, new])
    db.commit()
    return section, new
