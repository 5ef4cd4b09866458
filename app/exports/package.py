"""The complete export package of one document, as one zip: the original file, the reviewed .docx
(the same comments as the Word export), the guidelines if any, every live item with its decision
(rejected and custom ones included) as JSON and CSV, the chat transcripts, the activity log, the
summary and a readable report. ``manifest.json`` lists every file; a test opens each one."""
from __future__ import annotations

import io
import json
import zipfile
from collections import defaultdict

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.documents.service import guidelines_name
from app.models import ChatMessage, Document, User
from app.review import activity as timeline
from app.review.state import last_actions, live_items
from app.storage import safe_name

from .records import items_csv
from .report import build_report


def package_summary(session: Session, document: Document) -> dict | None:
    """The document's summary as GET …/summary gives it: the model's (or the offline reviewer's)
    risk score with reasons, key risks with their items, recommendations, compliance concerns and
    verdict, or its state (pending, deferred, failed, not scored) while there is none."""
    from app.review.summary import summary_view

    return summary_view(session, document)


def _json(data) -> bytes:
    return json.dumps(data, ensure_ascii=False, indent=2, default=str).encode("utf-8")


def _transcripts(db: Session, document: Document) -> tuple[bytes, bytes]:
    """Every conversation about the document, by anyone, in order: as text and as JSON."""
    messages = db.scalars(select(ChatMessage).where(ChatMessage.document_id == document.id).order_by(ChatMessage.id)).all()
    names = {u.id: (u.display_name or u.email) for u in db.scalars(select(User).where(
        User.id.in_({m.user_id for m in messages})))} if messages else {}
    conversations: dict[str, list[ChatMessage]] = defaultdict(list)
    for message in messages:
        conversations[message.conversation_id].append(message)
    text, records = [], []
    for conversation_id, turns in conversations.items():
        text.append(f"=== Conversation {conversation_id} ({names.get(turns[0].user_id, 'unknown')}) ===")
        for t in turns:
            status = f" ({t.status})" if t.status != "complete" else ""
            speaker = names.get(t.user_id, "reviewer") if t.role == "user" else f"assistant{' · ' + t.model_id if t.model_id else ''}"
            text.append(f"[{t.created_at.isoformat()}] {speaker}{status}:\n{t.content}\n")
        records.append({"conversation_id": conversation_id, "user": names.get(turns[0].user_id), "messages": [
            {"role": t.role, "content": t.content, "status": t.status, "model": t.model_id, "at": t.created_at.isoformat()}
            for t in turns]})
    body = "\n".join(text) if text else "No chat about this document."
    return (body + "\n").encode("utf-8"), _json({"document": document.title, "conversations": records})


def build_package(db: Session, store, document: Document, reviewed_docx: bytes) -> bytes:
    """The zip's bytes. ``reviewed_docx`` is the Word export as the docx format builds it."""
    sections = list(document.sections)
    items = live_items(db, [document.id])  # every live item: accepted, rejected, pending, custom
    actions = last_actions(db, document.id)
    events = timeline.activity(db, timeline.ActivityFilter(document_ids=[document.id]))
    summary = package_summary(db, document)
    stem = safe_name(document.title, 60) or "document"
    files: dict[str, bytes] = {
        f"original/{safe_name(document.original_filename)}": store.get(document.storage_key),
        f"{stem}_reviewed.docx": reviewed_docx,
    }
    if document.guidelines_storage_key:
        files[f"guidelines/{guidelines_name(document)}"] = store.get(document.guidelines_storage_key)
    titles = {s.id: s.title for s in sections}
    files["items/items.json"] = _json({"document": document.to_dict(), "items": [
        {**i.to_dict(), "section": titles.get(i.section_id), "decision": i.status, "last_action": actions.get(i.id)}
        for i in items]})
    files["items/items.csv"] = items_csv(items, titles)
    files["chat/transcripts.txt"], files["chat/transcripts.json"] = _transcripts(db, document)
    files["activity/activity.csv"], files["activity/activity.json"] = timeline.to_csv(events), timeline.to_json(events)
    files["summary.json"] = _json({"document_id": document.id, "summary": summary})
    files["report.docx"] = build_report(document, sections, items, summary, events)
    manifest = {"document": {"id": document.id, "title": document.title}, "files": [
        {"name": name, "size": len(data)} for name, data in files.items()]}
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("manifest.json", _json(manifest))
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()
