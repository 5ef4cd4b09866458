"""Recurring issues across documents: live feedback items (not rejected) grouped by Hawkeye point and
by category, then, inside each group, by similar descriptions (shared words, Jaccard); a group that
spans at least two documents is a pattern. Read through the review state's rule for live items."""
from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import Document, FeedbackItem

from .checklist import HAWKEYE

SCAN_LIMIT = 5000  # newest items looked at: the answer stays quick whatever the history
MAX_PATTERNS = 50
SIMILAR = 0.4
_WORD = re.compile(r"[a-z0-9]{3,}")
_STOP = frozenset("the and for with this that are was were has have not but its from into who what when which will "
                  "should would could there their them they been being also than then such any all each more most".split())
POINT_NAMES = {p.number: p.name for p in HAWKEYE}


def _words(text: str) -> frozenset[str]:
    return frozenset(w for w in _WORD.findall((text or "").lower()) if w not in _STOP)


def _similar(a: frozenset, b: frozenset) -> bool:
    return bool(a and b) and len(a & b) / len(a | b) >= SIMILAR


def recurring(db: Session, user_id: int | None) -> list[dict]:
    """Patterns in one reviewer's documents (``user_id``) or everyone's (None), most widespread first."""
    query = (select(FeedbackItem, Document.title).join(Document, Document.id == FeedbackItem.document_id)
             .where(FeedbackItem.superseded.is_(False), FeedbackItem.status != "rejected")
             .order_by(FeedbackItem.id.desc()).limit(SCAN_LIMIT))
    if user_id is not None:
        query = query.where(Document.user_id == user_id)
    groups: dict[tuple, list] = {}
    for item, title in db.execute(query).all():
        keys = [("hawkeye", int(ref)) for ref in item.hawkeye_refs or []] + [("category", (item.category or "General").strip())]
        for key in keys:
            groups.setdefault(key, []).append((item, title, _words(item.description)))
    found = []
    for (kind, key), members in groups.items():
        clusters: list[list] = []
        for member in members:
            home = next((c for c in clusters if _similar(c[0][2], member[2])), None)
            if home is None:
                clusters.append([member])
            else:
                home.append(member)
        for cluster in clusters:
            documents = {}
            for item, title, _ in cluster:
                documents.setdefault(item.document_id, title)
            if len(documents) < 2:
                continue
            found.append({
                "kind": kind, "key": key,
                "label": f"Hawkeye {key}: {POINT_NAMES.get(key, '')}".rstrip(": ") if kind == "hawkeye" else key,
                "description": cluster[0][0].description, "count": len(cluster),
                "documents": [{"id": d, "title": t} for d, t in sorted(documents.items())],
                "examples": [{"item_id": i.id, "document_id": i.document_id, "quote": i.quote[:300]}
                             for i, _, _ in cluster if i.quote and i.verified][:3],  # only quotes found in the text
            })
    found.sort(key=lambda p: (-len(p["documents"]), -p["count"], p["kind"], str(p["key"])))
    return found[:MAX_PATTERNS]
