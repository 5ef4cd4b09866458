"""Revision checks in the review state: which v1 items a check follows (the live accepted and custom
ones, as an export carries them), where each quote is in v2, the statuses the rules, the model and
reviewers give them, and what a v2 export carries forward. Rules:

- A check's alignment and its items' locations are computed once, by its first run, and stored.
- An item whose quoted words are unchanged (exact or moved) is ``open`` by rule, with no model call.
- Changed and gone items are judged per aligned section group; a group's results are written in one
  transaction, so a run killed half-way resumes with the groups still unjudged.
- A reviewer's override keeps the checked status beside it and is a review_event (``revision_override``).
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.models import Document, FeedbackItem, REVISION_STATUSES, ReviewEvent, RevisionCheck, RevisionItem, Section, User
from app.text_hygiene import xml_safe

from .. import alignment as aligner
from .items import export_items

UNCHANGED = ("exact", "moved")


class RevisionError(ValueError):
    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def versions(db: Session, document: Document) -> list[dict]:
    """Every version of the document's line, oldest first."""
    first = document
    seen = {first.id}
    while first.previous_version_id is not None:
        earlier = db.get(Document, first.previous_version_id)
        if earlier is None or earlier.id in seen:
            break
        seen.add(earlier.id)
        first = earlier
    line, current = [], first
    while current is not None:
        line.append({"id": current.id, "version": current.version, "title": current.title,
                     "filename": current.original_filename, "created_at": current.created_at.isoformat() if current.created_at else None})
        current = db.scalars(select(Document).where(Document.previous_version_id == current.id).order_by(Document.id)).first()
        if current is not None and current.id in {v["id"] for v in line}:
            break
    return line


def has_next_version(db: Session, document: Document) -> bool:
    return db.scalar(select(Document.id).where(Document.previous_version_id == document.id).limit(1)) is not None


def check_of(db: Session, document_id: int) -> RevisionCheck | None:
    return db.scalars(select(RevisionCheck).where(RevisionCheck.document_id == document_id)).first()


def _pairs(sections: list[Section]) -> list[tuple[str, str]]:
    return [(s.title, s.text) for s in sections]


def prepare(db: Session, check: RevisionCheck) -> bool:
    """Align the two versions and place every followed v1 item, once; returns whether this call did it.
    The check row is locked meanwhile, so two runs never both prepare."""
    locked = db.scalars(select(RevisionCheck).where(RevisionCheck.id == check.id).with_for_update()
                        .execution_options(populate_existing=True)).one()
    if locked.alignment is not None:
        db.commit()
        return False
    old = list(db.get(Document, locked.previous_id).sections)
    new = list(db.get(Document, locked.document_id).sections)
    v1, v2 = _pairs(old), _pairs(new)
    result = aligner.align(v1, v2)
    index_of = {s.id: k for k, s in enumerate(old)}
    for item in export_items(db, locked.previous_id, include_all=False):
        k = index_of.get(item.section_id)
        if k is None:
            continue
        where = aligner.locate(result, v1, v2, k, item.quote_start if item.verified else None,
                               item.quote_end if item.verified else None, item.quote)
        row = RevisionItem(check_id=locked.id, item_id=item.id, group_index=where["group"], location=where["location"],
                           v2_section_id=new[where["v2_section"]].id if where["v2_section"] is not None else None,
                           located_start=where["start"], located_end=where["end"], new_text=where["new_text"])
        if where["location"] in UNCHANGED:
            row.status, row.judged_by, row.verified = "open", "rules", True
            row.reason = ("The quoted text is unchanged in version 2." if where["location"] == "exact"
                          else "The quoted text is unchanged; it moved in version 2.")
        elif where["location"] == "unquoted":
            row.status, row.judged_by = "open", "rules"
            row.reason = "The item quotes no text of version 1, so there is no change to follow."
        db.add(row)
    groups = aligner.public(result)["groups"]
    for g in groups:
        g["v1"] = [old[i].id for i in g["v1"]]
        g["v2"] = [new[j].id for j in g["v2"]]
    locked.alignment = {"groups": groups}
    db.commit()
    return True


def unjudged(db: Session, check: RevisionCheck) -> dict[int, list[tuple[RevisionItem, FeedbackItem]]]:
    """Group index → the items (with their v1 items) the model has still to judge."""
    rows = db.execute(select(RevisionItem, FeedbackItem).join(FeedbackItem, FeedbackItem.id == RevisionItem.item_id)
                      .where(RevisionItem.check_id == check.id, RevisionItem.status.is_(None))
                      .order_by(RevisionItem.group_index, RevisionItem.id)).all()
    out: dict[int, list] = {}
    for row, item in rows:
        out.setdefault(row.group_index, []).append((row, item))
    return out


def record_results(db: Session, check: RevisionCheck, group: int, results: list, model: str) -> None:
    """Write one group's judged results (app.review.revision_prompt.Result) in one transaction."""
    rows = {r.item_id: r for r in db.scalars(select(RevisionItem).where(
        RevisionItem.check_id == check.id, RevisionItem.group_index == group).with_for_update())}
    for result in results:
        row = rows.get(result.item_id)
        if row is None or row.status is not None:
            continue  # another run wrote it first
        row.status, row.reason, row.removal_addresses, row.judged_by = result.status, result.reason, result.removal_addresses, model[:200]
        row.new_quote = result.new_quote
        if result.found is not None:
            row.new_quote_section_id, row.new_quote_start, row.new_quote_end = result.found
            row.verified = True
    db.commit()


def override(db: Session, check: RevisionCheck, item_id: int, status, reason, user: User) -> RevisionItem:
    """A reviewer sets an item's status; the checked one is kept and the change audited."""
    if status not in REVISION_STATUSES:
        raise RevisionError(400, "invalid_status", f"status must be one of {', '.join(REVISION_STATUSES)}.")
    if reason is not None and not isinstance(reason, str):
        raise RevisionError(400, "invalid_reason", "reason must be text.")
    row = db.scalars(select(RevisionItem).where(RevisionItem.check_id == check.id, RevisionItem.item_id == item_id)
                     .with_for_update()).first()
    if row is None:
        raise RevisionError(404, "not_found", f"Item {item_id} is not followed by this revision check.")
    if row.status is None:
        raise RevisionError(409, "not_checked_yet", "The check has not judged this item yet.")
    before = {"status": row.status, "reason": row.reason, "judged_by": row.judged_by}
    if row.checked_status is None:
        row.checked_status = row.status
    text = xml_safe(reason or "").strip()[:2000]
    row.status, row.overridden_by, row.judged_by = status, user.id, "reviewer"
    row.reason = text or f"Set to {status} by a reviewer."
    db.add(ReviewEvent(document_id=check.document_id, feedback_item_id=item_id, user_id=user.id, action="revision_override",
                       before=before, after={"status": status, "reason": row.reason}, reason=text or None))
    db.commit()
    return row


def summary(rows: list[RevisionItem]) -> dict:
    counts = {status: 0 for status in REVISION_STATUSES}
    counts["unjudged"] = 0
    for row in rows:
        counts[row.status or "unjudged"] += 1
    return counts


def items_of(db: Session, check: RevisionCheck) -> list[tuple[RevisionItem, FeedbackItem]]:
    return [tuple(r) for r in db.execute(select(RevisionItem, FeedbackItem).join(FeedbackItem, FeedbackItem.id == RevisionItem.item_id)
                           .where(RevisionItem.check_id == check.id).order_by(RevisionItem.group_index, RevisionItem.id)).all()]


@dataclass
class CarriedItem:
    """A v1 item carried onto the v2 text in an export (duck-types FeedbackItem for the Word and JSON writers)."""

    id: int
    section_id: int | None
    type: str
    category: str
    risk_level: str
    description: str
    suggestion: str | None
    questions: list
    hawkeye_refs: list
    quote: str | None
    quote_start: int | None
    quote_end: int | None
    verified: bool
    source: str
    status: str
    created_by: int | None
    revision_status: str
    confidence: float | None = None
    model_id: str | None = None

    def to_dict(self) -> dict:
        return {**{k: v for k, v in self.__dict__.items()}, "carried_from_version": 1}


def carried_items(db: Session, document_id: int) -> list[CarriedItem]:
    """The open and partly addressed items of the document's revision check, anchored on the v2 text
    that holds their quote now (its rewrite for a changed one); an item with no v2 text to hold it is
    carried unanchored."""
    check = check_of(db, document_id)
    if check is None or check.status != "completed":
        return []
    carried = []
    for row, item in items_of(db, check):
        if row.status not in ("open", "partly"):
            continue
        section = db.get(Section, row.v2_section_id) if row.v2_section_id else None
        anchored = section is not None and row.located_start is not None
        quote = section.text[row.located_start:row.located_end] if anchored else item.quote
        carried.append(CarriedItem(
            id=item.id, section_id=section.id if section else None, type=item.type, category=item.category,
            risk_level=item.risk_level, suggestion=item.suggestion, questions=item.questions or [],
            hawkeye_refs=item.hawkeye_refs or [], quote=quote, quote_start=row.located_start if anchored else None,
            quote_end=row.located_end if anchored else None, verified=anchored, source=item.source, status=item.status,
            created_by=item.created_by, revision_status=row.status, confidence=item.confidence, model_id=item.model_id,
            description=f"(Carried from version 1, {row.status.replace('_', ' ')}) {item.description}"))
    return carried


def record(db: Session, document_id: int) -> dict | None:
    """The revision statuses for a version's JSON export record; None for a first version."""
    check = check_of(db, document_id)
    if check is None:
        return None
    pairs = items_of(db, check)
    return {"previous_id": check.previous_id, "state": check.status, "summary": summary([row for row, _ in pairs]),
            "items": [row.to_dict() for row, _ in pairs]}


def addressed_rates(db: Session, document_ids: list[int]) -> dict:
    """Over the completed checks of these documents' later versions: per category and per Hawkeye
    point, how many followed items there were and the share addressed (partly counted apart)."""
    if not document_ids:
        return {"checks": 0, "by_category": {}, "by_hawkeye_point": {}}
    rows = db.execute(select(RevisionItem.status, FeedbackItem.category, FeedbackItem.hawkeye_refs)
                      .join(FeedbackItem, FeedbackItem.id == RevisionItem.item_id)
                      .join(RevisionCheck, RevisionCheck.id == RevisionItem.check_id)
                      .where(RevisionCheck.document_id.in_(document_ids), RevisionCheck.status == "completed")).all()
    checks = db.scalar(select(func.count()).select_from(RevisionCheck).where(
        RevisionCheck.document_id.in_(document_ids), RevisionCheck.status == "completed"))
    by_category: dict[str, dict] = {}
    by_point: dict[str, dict] = {}

    def count(table, key, status):
        entry = table.setdefault(key, {"followed": 0, "addressed": 0, "partly": 0})
        entry["followed"] += 1
        if status in ("addressed", "partly"):
            entry[status] += 1

    for status, category, refs in rows:
        count(by_category, category or "General", status)
        for ref in refs or []:
            count(by_point, str(ref), status)
    for table in (by_category, by_point):
        for entry in table.values():
            entry["addressed_rate"] = round(entry["addressed"] / entry["followed"], 3)
    return {"checks": checks, "by_category": by_category,
            "by_hawkeye_point": dict(sorted(by_point.items(), key=lambda kv: int(kv[0])))}
