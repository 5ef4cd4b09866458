"""Analysing again a section whose current analysis completed needs the reviewer's confirmation: this
says what a new run would keep (items already decided, reviewers' own items) and what it would
replace (the model's items nobody has decided yet)."""
from __future__ import annotations

from sqlalchemy.orm import Session

from app.models import Document

from .outcome import latest_analyses, live_items


def confirmation_needed(db: Session, document: Document, section_ids: list[int] | None) -> dict | None:
    """None when no wanted section has a completed current analysis; otherwise what a rerun would do."""
    wanted = {s.id for s in document.sections} if section_ids is None else set(section_ids)
    completed = sorted(a.section_id for a in latest_analyses(db, document.id)
                       if a.status == "completed" and a.section_id in wanted)
    if not completed:
        return None
    items = [i for i in live_items(db, [document.id]) if i.section_id in set(completed)]
    decided = sum(1 for i in items if i.source != "custom" and i.status != "pending")
    custom = sum(1 for i in items if i.source == "custom")
    pending = sum(1 for i in items if i.source != "custom" and i.status == "pending")
    return {"sections": completed, "kept": {"decided": decided, "custom": custom}, "replaced": {"pending": pending}}
