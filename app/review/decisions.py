"""Reviewer decisions on feedback: accept, reject, revert, edit, and custom items. Every change is an
immutable review_event (who, when, which item, before, after, reason); a change made from a stale
copy loses with 409, and that attempt is in the audit trail too."""
from __future__ import annotations

from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from app.models import Document, FeedbackItem, ReviewEvent, Section, User
from app.text_hygiene import xml_safe

from . import state
from .checklist import HAWKEYE
from .quotes import verify_quote
from .schema import RISKS, TYPES, clean_text

DECISIONS = {"accept": "accepted", "reject": "rejected", "revert": "pending"}
EDITABLE = ("description", "suggestion", "risk_level", "category")


class DecisionError(ValueError):
    def __init__(self, status: int, code: str, message: str, current: dict | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.current = status, code, message, current


def snapshot(item: FeedbackItem) -> dict:
    return {"status": item.status, "version": item.version, **{f: getattr(item, f) for f in EDITABLE}}


def _event(db: Session, item: FeedbackItem, user: User, action: str, before: dict | None, after: dict, reason: str | None) -> ReviewEvent:
    event = ReviewEvent(document_id=item.document_id, feedback_item_id=item.id, user_id=user.id, action=action,
                        before=before, after=after, reason=(reason or "")[:2000] or None)
    db.add(event)
    return event


def _apply(db: Session, item: FeedbackItem, user: User, action: str, expected_version, reason, change) -> FeedbackItem:
    if not isinstance(expected_version, int) or isinstance(expected_version, bool):
        raise DecisionError(400, "missing_version", "Send the item's version you are changing (optimistic locking).")
    before = snapshot(item)
    if item.superseded:
        raise DecisionError(409, "item_superseded", "A newer analysis of this section replaced this item; reload the feedback.",
                            item.to_dict())
    if item.version != expected_version:
        current = item.to_dict()
        _event(db, item, user, action, before, {"outcome": "conflict", "your_version": expected_version, "current_version": item.version}, reason)
        db.commit()
        raise DecisionError(409, "version_conflict", "Someone changed this item first; here is the current version.", current)
    change(item)
    try:
        db.flush()  # UPDATE … WHERE version = expected: a concurrent winner makes this match no row
    except StaleDataError:
        db.rollback()
        fresh = db.get(FeedbackItem, item.id, populate_existing=True)
        if fresh is None or fresh.superseded:  # a re-analysis replaced the undecided item meanwhile
            raise DecisionError(409, "item_superseded", "A newer analysis of this section replaced this item; reload the feedback.",
                                fresh.to_dict() if fresh else None)
        _event(db, fresh, user, action, before, {"outcome": "conflict", "your_version": expected_version, "current_version": fresh.version}, reason)
        db.commit()
        raise DecisionError(409, "version_conflict", "Someone changed this item first; here is the current version.", fresh.to_dict())
    _event(db, item, user, action, before, {"outcome": "applied", **snapshot(item)}, reason)
    db.commit()
    return item


def decide(db: Session, item: FeedbackItem, user: User, decision: str, expected_version, reason: str | None = None) -> FeedbackItem:
    if decision not in DECISIONS:
        raise DecisionError(400, "invalid_decision", "decision must be accept, reject or revert.")

    def change(target):
        target.status = DECISIONS[decision]

    return _apply(db, item, user, decision, expected_version, reason, change)


def edit(db: Session, item: FeedbackItem, user: User, changes: dict, expected_version, reason: str | None = None) -> FeedbackItem:
    unknown = set(changes) - set(EDITABLE)
    if unknown or not changes:
        raise DecisionError(400, "invalid_fields", f"Editable fields: {', '.join(EDITABLE)}.")
    cleaned = {}
    for field, value in changes.items():
        if field == "risk_level":
            value = str(value or "").capitalize()
            if value not in RISKS:
                raise DecisionError(422, "invalid_risk_level", "risk_level must be High, Medium or Low.")
        else:
            try:
                value = clean_text(value, 2000 if field != "category" else 200)
            except TypeError as exc:
                raise DecisionError(422, "invalid_value", f"{field} must be text.") from exc
            if field == "description" and not value:
                raise DecisionError(422, "invalid_value", "description cannot be empty.")
        cleaned[field] = value

    def change(target):
        for field, value in cleaned.items():
            setattr(target, field, value)
        target.edited = True  # the reviewer's text: a re-analysis keeps it

    return _apply(db, item, user, "edit", expected_version, reason, change)


def decide_all(db: Session, document: Document, user: User, decision: str, item_ids: list[int] | None) -> list[FeedbackItem]:
    """One decision on every live item of a document (or the listed ones), each with its event."""
    if decision not in DECISIONS:
        raise DecisionError(400, "invalid_decision", "decision must be accept, reject or revert.")
    items = [i for i in state.live_items(db, [document.id]) if item_ids is None or i.id in item_ids]
    for item in items:
        before = snapshot(item)
        item.status = DECISIONS[decision]
        db.flush()
        _event(db, item, user, decision, before, {"outcome": "applied", "bulk": True, **snapshot(item)}, None)
    db.commit()
    return items


def add_custom(db: Session, document: Document, section: Section, user: User, data: dict) -> FeedbackItem:
    kind = str(data.get("type", "suggestion")).lower()
    if kind not in TYPES:
        raise DecisionError(422, "invalid_type", f"type must be one of {', '.join(TYPES)}.")
    try:
        description = clean_text(data.get("description") or data.get("text"), 2000)
        category = clean_text(data.get("category"), 200) or "Reviewer"
        suggestion = clean_text(data.get("suggestion"), 2000)
    except TypeError as exc:
        raise DecisionError(422, "invalid_value", "Fields must be text.") from exc
    if not description:
        raise DecisionError(422, "invalid_value", "Write the feedback text.")
    refs = data.get("hawkeye_refs") or []
    if not isinstance(refs, list) or len(refs) > len(HAWKEYE) or not all(
            isinstance(r, int) and not isinstance(r, bool) and 1 <= r <= len(HAWKEYE) for r in refs):
        raise DecisionError(422, "invalid_hawkeye_refs", f"hawkeye_refs must be a list of checklist points 1 to {len(HAWKEYE)}.")
    risk = str(data.get("risk_level", "Medium")).capitalize()
    if risk not in RISKS:
        raise DecisionError(422, "invalid_risk_level", "risk_level must be High, Medium or Low.")
    quote = data.get("quote")
    if quote is not None and (not isinstance(quote, str) or len(quote) > 1000):
        raise DecisionError(422, "invalid_quote", "quote must be text of at most 1000 characters from the section.")
    if quote:
        quote = xml_safe(quote)  # the section's text was cleaned the same way at intake
    span = verify_quote(quote, section.text) if quote else None
    if quote and span is None:
        raise DecisionError(422, "quote_not_found", "The selected text is not in this section.")
    item = FeedbackItem(document_id=document.id, section_id=section.id, source="custom", created_by=user.id, type=kind,
                        category=category, risk_level=risk, description=description, suggestion=suggestion, confidence=1.0,
                        hawkeye_refs=sorted(set(refs)),
                        quote=section.text[span[0]:span[1]] if span else None, quote_start=span[0] if span else None,
                        quote_end=span[1] if span else None, verified=span is not None, status="accepted")
    db.add(item)
    db.flush()
    _event(db, item, user, "create", None, {"outcome": "applied", **snapshot(item)}, data.get("reason"))
    db.commit()
    return item
