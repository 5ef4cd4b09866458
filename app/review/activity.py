"""What happened around documents, as one timeline read from the rows that already record it: the
upload (the document row), analyses (requested and finished), the review audit (decisions, edits,
custom items created and deleted, section edits), chat turns and exports. Nothing new is written for
it; each event is {at, user, action, target, detail} plus the document it belongs to."""
from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.exports.records import spreadsheet_cell
from app.models import Analysis, ChatMessage, Document, Export, ReviewEvent, Section, User

FIELDS = ("at", "document_id", "document", "user", "action", "target", "detail")
MAX_EVENTS = 10_000


@dataclass(frozen=True)
class ActivityFilter:
    """Which events: some documents (None: all), one user, some actions, a time range (inclusive)."""

    document_ids: list[int] | None = None
    user_id: int | None = None
    actions: frozenset[str] | None = None
    since: datetime | None = None
    until: datetime | None = None


def _in_range(at: datetime | None, f: ActivityFilter) -> bool:
    return at is not None and (f.since is None or at >= f.since) and (f.until is None or at <= f.until)


def _where(query, column_document, column_user, column_at, f: ActivityFilter):
    if f.document_ids is not None:
        query = query.where(column_document.in_(f.document_ids))
    if f.user_id is not None and column_user is not None:
        query = query.where(column_user == f.user_id)
    if f.since is not None:
        query = query.where(column_at >= f.since)
    if f.until is not None:
        query = query.where(column_at <= f.until)
    return query


def _review_detail(event: ReviewEvent) -> str:
    after = event.after or {}
    if after.get("outcome") == "conflict":
        return f"not applied: someone changed the item first (version {after.get('current_version')})"
    if event.action == "delete":
        before = event.before or {}
        return f"deleted custom item: {before.get('description', '')}"[:500]
    if event.action.startswith("section_"):
        now = "; ".join(f"\u201c{s.get('title')}\u201d (level {s.get('level')})" for s in after.get("sections", []))
        was = (event.before or {}).get("title") or ((event.before or {}).get("level") and f"level {event.before['level']}")
        return (f"was {was}, now {now}" if was else now)[:500]
    if event.action == "edit":
        before = event.before or {}
        changed = [k for k in ("description", "suggestion", "risk_level", "category") if before.get(k) != after.get(k)]
        return "changed " + ", ".join(changed) if changed else "edited"
    detail = f"status {after.get('status')}" if after.get("status") else ""
    if after.get("bulk"):
        detail += " (all at once)"
    if event.reason:
        detail += f"; reason: {event.reason}"
    return detail.strip("; ")


def activity(db: Session, f: ActivityFilter) -> list[dict]:
    """The events the filter selects, oldest first (at most MAX_EVENTS, the newest kept)."""
    want = (lambda action: f.actions is None or action in f.actions)
    users: dict[int, str] = {}

    def who(user_id: int | None) -> str | None:
        if user_id is None:
            return None
        if user_id not in users:
            user = db.get(User, user_id)
            users[user_id] = (user.display_name or user.email) if user else f"user {user_id}"
        return users[user_id]

    titles: dict[int, str] = {}
    section_titles: dict[int, str] = {}
    events: list[tuple[datetime, int, dict]] = []

    def add(at, document_id, user_id, action, target, detail, order=0):
        events.append((at, order, {"at": at.isoformat(), "document_id": document_id, "user_id": user_id,
                                   "user": who(user_id), "action": action, "target": target, "detail": detail}))

    documents = _where(select(Document), Document.id, None, Document.created_at, ActivityFilter(f.document_ids))
    for document in db.scalars(documents):
        titles[document.id] = document.title
        if want("upload") and (f.user_id in (None, document.user_id)) and _in_range(document.created_at, f):
            detail = f"{document.original_filename} ({document.size_bytes} bytes)"
            if document.guidelines_storage_key:
                detail += ", with guidelines"
            add(document.created_at, document.id, document.user_id, "upload", document.title, detail)
    if f.document_ids is not None:
        for section_id, title in db.execute(select(Section.id, Section.title).where(Section.document_id.in_(f.document_ids))):
            section_titles[section_id] = title
    else:
        section_titles.update(dict(db.execute(select(Section.id, Section.title)).all()))

    def section_name(section_id):
        return f"section \u201c{section_titles[section_id]}\u201d" if section_id in section_titles else "a section"

    if want("analysis_requested") or any(want(f"analysis_{s}") for s in ("completed", "failed", "cancelled")):
        query = _where(select(Analysis), Analysis.document_id, Analysis.requested_by, Analysis.created_at,
                       ActivityFilter(f.document_ids, f.user_id))
        for a in db.scalars(query.order_by(Analysis.id)):
            if want("analysis_requested") and _in_range(a.created_at, f):
                add(a.created_at, a.document_id, a.requested_by, "analysis_requested", section_name(a.section_id), f"analysis {a.id}")
            ended = a.finished_at or a.updated_at  # rows finished before finished_at was written
            if a.finished and want(f"analysis_{a.status}") and _in_range(ended, f):
                detail = f"analysis {a.id}" + (f" by {a.model_id}" if a.model_id else "")
                if a.error_message:
                    detail += f": {a.error_message}"
                add(ended, a.document_id, a.requested_by, f"analysis_{a.status}", section_name(a.section_id), detail, 1)

    query = _where(select(ReviewEvent), ReviewEvent.document_id, ReviewEvent.user_id, ReviewEvent.created_at, f)
    for event in db.scalars(query.order_by(ReviewEvent.id)):
        if want(event.action):
            target = f"item {event.feedback_item_id}" if event.feedback_item_id else (
                f"item {(event.before or {}).get('id')}" if event.action == "delete" else "sections")
            add(event.created_at, event.document_id, event.user_id, event.action, target, _review_detail(event))

    if want("chat") or want("chat_reply"):
        query = _where(select(ChatMessage), ChatMessage.document_id, ChatMessage.user_id, ChatMessage.created_at, f)
        for message in db.scalars(query.order_by(ChatMessage.id)):
            action = "chat" if message.role == "user" else "chat_reply"
            if not want(action):
                continue
            target = section_name(message.section_id) if message.section_id else "the document"
            detail = message.content[:200] if message.role == "user" else \
                f"{message.status} reply" + (f" from {message.model_id}" if message.model_id else "")
            add(message.created_at, message.document_id, message.user_id, action, target, detail)

    if want("export"):
        query = _where(select(Export), Export.document_id, Export.user_id, Export.created_at, f)
        for export in db.scalars(query.order_by(Export.id)):
            detail = f"{', '.join(export.formats)}: {export.status}" + (f" ({export.error_message})" if export.error_message else "")
            add(export.created_at, export.document_id, export.user_id, "export", f"export {export.id}", detail)

    events.sort(key=lambda e: (e[0], e[1]))
    rows = [e[2] for e in events[-MAX_EVENTS:]]
    for row in rows:
        row["document"] = titles.get(row["document_id"])
    return rows


ACTIONS = ("upload", "analysis_requested", "analysis_completed", "analysis_failed", "analysis_cancelled", "accept",
           "reject", "revert", "edit", "create", "delete", "section_rename", "section_merge_next", "section_split",
           "section_change_level", "chat", "chat_reply", "export")


def to_csv(rows: list[dict]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(FIELDS)
    for row in rows:
        writer.writerow([spreadsheet_cell(row.get(field)) for field in FIELDS])
    return out.getvalue().encode("utf-8-sig")


def to_json(rows: list[dict]) -> bytes:
    return json.dumps({"events": rows}, ensure_ascii=False, indent=2).encode("utf-8")
