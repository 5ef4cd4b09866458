"""Reading the review state (current analyses, live items) and recording an analysis's results.
The rules are stated in the package docstring."""
from __future__ import annotations

from sqlalchemy import and_, delete, exists, select, update
from sqlalchemy.orm import Session

from app.models import Analysis, FeedbackItem, ReviewEvent, Section

from ..quotes import verify_quote

# An item no reviewer has touched: a newer analysis of its section may replace it. The same rule as
# FeedbackItem.decided (negated), in SQL.
UNDECIDED = and_(FeedbackItem.source != "custom", FeedbackItem.status == "pending", FeedbackItem.edited.is_(False))


def is_decided(item: FeedbackItem) -> bool:
    return item.decided


# ------------------------------------------------------------------------------ analyses
def make_current(section: Section, analysis: Analysis) -> None:
    """The section now shows this analysis's status and progress (called when one is started)."""
    section.current_analysis_id = analysis.id


def current_analyses(db: Session, document_id: int) -> list[Analysis]:
    """The current analysis of each section that has one, in section order."""
    return list(db.scalars(select(Analysis).join(Section, Section.current_analysis_id == Analysis.id)
                           .where(Section.document_id == document_id).order_by(Section.position)))


def current_statuses(db: Session, document_id: int) -> list[tuple[int, str]]:
    """(id, status) of each section's current analysis: what a status decision needs, without loading
    analysis rows as objects (it runs after every job)."""
    return [(row.id, row.status) for row in db.execute(
        select(Analysis.id, Analysis.status).join(Section, Section.current_analysis_id == Analysis.id)
        .where(Section.document_id == document_id))]


def progress_rows(db: Session, document_ids: list[int]) -> list[tuple[int, str, object]]:
    """(document id, status, updated_at) of every section's current analysis in these documents."""
    if not document_ids:
        return []
    return [tuple(row) for row in db.execute(
        select(Section.document_id, Analysis.status, Analysis.updated_at)
        .join(Analysis, Section.current_analysis_id == Analysis.id).where(Section.document_id.in_(document_ids)))]


# ------------------------------------------------------------------------------ items
def _live():
    return (select(FeedbackItem).join(Section, Section.id == FeedbackItem.section_id)
            .where(FeedbackItem.superseded.is_(False)))


def live_items(db: Session, document_ids: list[int]) -> list[FeedbackItem]:
    """The feedback that counts now: every item no re-analysis superseded, in document order."""
    if not document_ids:
        return []
    return list(db.scalars(_live().where(FeedbackItem.document_id.in_(document_ids))
                           .order_by(FeedbackItem.document_id, Section.position, FeedbackItem.quote_start, FeedbackItem.id)))


def section_items(db: Session, section_id: int) -> list[FeedbackItem]:
    """The live items of one section, in text order."""
    return list(db.scalars(_live().where(FeedbackItem.section_id == section_id)
                           .order_by(FeedbackItem.quote_start, FeedbackItem.id)))


def last_actions(db: Session, document_id: int) -> dict[int, str]:
    """The latest review action (accept, reject, revert, edit, create) on each item of the document."""
    return {item_id: action for item_id, action in db.execute(
        select(ReviewEvent.feedback_item_id, ReviewEvent.action).where(ReviewEvent.document_id == document_id)
        .order_by(ReviewEvent.id))}


def export_items(db: Session, document_id: int, include_all: bool) -> list[FeedbackItem]:
    """What an export carries: accepted and (not rejected) custom items; with include_all every live
    item that is not rejected."""
    items = [i for i in live_items(db, [document_id]) if i.status != "rejected"]
    return items if include_all else [i for i in items if i.status == "accepted" or i.source == "custom"]


def reanalysis_preview(db: Session, section_id: int) -> dict:
    """What a re-analysis of the section would do: decided items kept, undecided AI items replaced."""
    items = section_items(db, section_id)
    decided = [i for i in items if i.decided]
    return {"decided_kept": len(decided), "undecided_replaced": len(items) - len(decided),
            "quote_missing": sum(1 for i in decided if i.quote_missing)}


def place_quote(item: FeedbackItem, text: str, hint: tuple[int, int] | None = None) -> bool:
    """Point the item's offsets at its quote in ``text`` (at ``hint`` when the quote is still there,
    else its first occurrence). A quote that was found once and is no longer there is marked
    ``quote_missing``; the item itself is never dropped. Returns whether the quote was found."""
    if not item.quote:
        return False
    span = None
    if hint is not None and 0 <= hint[0] < hint[1] <= len(text) and verify_quote(item.quote, text[hint[0]:hint[1]]):
        span = hint
    span = span or verify_quote(item.quote, text)
    if span is not None:
        item.quote_start, item.quote_end, item.verified, item.quote_missing = span[0], span[1], True, False
        return True
    if item.verified or item.quote_missing:
        item.quote_missing = True
    item.quote_start = item.quote_end = None
    item.verified = False
    return False


# ------------------------------------------------------------------------------ an analysis's results
def _twin(kept: list[FeedbackItem], new) -> bool:
    """The new item raises again what a kept item already says: same type and quote, and the same
    category (a quoted finding; the reviewer may have reworded it) or the same text (no quote)."""
    return any(k.type == new.type and (k.quote or "") == (new.quote or "")
               and (k.category == new.category if new.quote else k.description == new.description) for k in kept)


def record_analysis(db: Session, analysis: Analysis, section: Section, found: list, source: str, model: str) -> int:
    """Store a completed analysis's items for its section, in the caller's transaction.

    The section's undecided AI items are replaced: deleted when nothing refers to them, else marked
    superseded (the audit keeps its subject). Decided items stay, their quotes checked against the
    section's text; a new item identical to a kept one is not added twice. Returns the items added.
    """
    referenced = exists().where(ReviewEvent.feedback_item_id == FeedbackItem.id)
    replaceable = and_(FeedbackItem.section_id == section.id, FeedbackItem.superseded.is_(False), UNDECIDED)
    db.execute(delete(FeedbackItem).where(replaceable, ~referenced).execution_options(synchronize_session=False))
    # The version moves too, so a reviewer deciding from a copy made before this gets a 409, never a
    # decision on an item nobody sees.
    db.execute(update(FeedbackItem).where(replaceable).values(superseded=True, version=FeedbackItem.version + 1)
               .execution_options(synchronize_session=False))
    kept = list(db.scalars(select(FeedbackItem).where(FeedbackItem.section_id == section.id, FeedbackItem.superseded.is_(False))
                           .execution_options(populate_existing=True)))
    for item in kept:
        if item.quote:
            place_quote(item, section.text, (item.quote_start, item.quote_end) if item.quote_start is not None else None)
    added = 0
    for new in found:
        if _twin(kept, new):
            continue
        item = FeedbackItem(
            document_id=analysis.document_id, section_id=section.id, analysis_id=analysis.id, source=source,
            type=new.type, category=new.category, risk_level=new.risk_level, description=new.description,
            suggestion=new.suggestion, example=new.example, questions=new.questions, hawkeye_refs=new.hawkeye_refs,
            confidence=new.confidence, quote=new.quote, model_id=model,
        )
        place_quote(item, section.text)
        db.add(item)
        added += 1
    return added



# ------------------------------------------------------------------------------ deleting a custom item
class ItemDeleteError(ValueError):
    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def delete_custom_item(db: Session, item: FeedbackItem, user_id: int, reason: str | None = None) -> dict:
    """Delete a reviewer's own custom item, in one transaction with its ``delete`` event (whose
    ``before`` holds the whole item, so the audit still says what was removed). Only custom items can
    go (an AI item is decided, never deleted: 409), and only by the reviewer who wrote it (403, even
    for an admin: the words are theirs). Returns the deleted item as it was."""
    if item.source != "custom":
        raise ItemDeleteError(409, "not_custom", "Only reviewers' own items can be deleted; reject a model's item instead.")
    if item.created_by != user_id:
        raise ItemDeleteError(403, "not_yours", "Only the reviewer who wrote this item can delete it.")
    before = item.to_dict()
    db.add(ReviewEvent(document_id=item.document_id, feedback_item_id=item.id, user_id=user_id, action="delete",
                       before=before, after={"outcome": "applied", "deleted": True}, reason=(reason or "")[:2000] or None))
    db.flush()
    db.delete(item)  # review_events.feedback_item_id is SET NULL: the events stay
    db.commit()
    return before
