"""Analysing again a section whose current analysis completed needs the reviewer's confirmation: this
says what a new run would keep (items already decided, reviewers' own items) and what it would
replace (the model's items nobody has decided yet), by the review state's own rules."""
from __future__ import annotations

from sqlalchemy.orm import Session

from app.models import Document

from . import state


def confirmation_needed(db: Session, document: Document, section_ids: list[int] | None) -> dict | None:
    """None when no wanted section has a completed current analysis; otherwise what a rerun would do."""
    wanted = {s.id for s in document.sections} if section_ids is None else set(section_ids)
    completed = sorted(a.section_id for a in state.current_analyses(db, document.id)
                       if a.status == "completed" and a.section_id in wanted)
    if not completed:
        return None
    items = [i for i in state.live_items(db, [document.id]) if i.section_id in set(completed)]
    custom = sum(1 for i in items if i.source == "custom")
    decided = sum(1 for i in items if i.source != "custom" and state.is_decided(i))
    pending = sum(1 for i in items if not state.is_decided(i))
    return {"sections": completed, "kept": {"decided": decided, "custom": custom}, "replaced": {"pending": pending}}
