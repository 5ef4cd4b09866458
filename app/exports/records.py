"""The JSON record (document, sections, items, decisions, summary, model calls) and the CSV (one
row per item) of an export."""
from __future__ import annotations

import csv
import io
import json

CSV_FIELDS = ("id", "section", "type", "category", "risk_level", "status", "source", "description", "suggestion",
              "quote", "verified", "quote_start", "quote_end", "hawkeye_refs", "confidence", "model")


def spreadsheet_cell(value) -> str:
    text = "" if value is None else str(value)
    # A spreadsheet must never run a cell as a formula.
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def items_csv(items, titles: dict[int, str]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_FIELDS)
    for item in items:
        writer.writerow([spreadsheet_cell(v) for v in (
            item.id, titles.get(item.section_id, ""), item.type, item.category, item.risk_level, item.status, item.source,
            item.description, item.suggestion, item.quote, item.verified, item.quote_start, item.quote_end,
            " ".join(str(r) for r in item.hawkeye_refs or []), item.confidence, item.model_id)])
    return out.getvalue().encode("utf-8-sig")  # the BOM makes Excel read UTF-8


def export_json(document, sections, items, events, calls, revision=None) -> bytes:
    data = {
        "revision": revision,
        "document": document.to_dict(),
        "sections": [{"id": s.id, "position": s.position, "title": s.title, "level": s.level, "detection": s.detection,
                      "text": s.text} for s in sections],
        "items": [i.to_dict() for i in items],
        "decisions": [{"id": e.id, "item_id": e.feedback_item_id, "user_id": e.user_id, "action": e.action,
                       "before": e.before, "after": e.after, "reason": e.reason, "at": e.created_at.isoformat()} for e in events],
        "summary": document.summary,
        "model_calls": [{"model": c.model_id, "purpose": c.purpose, "outcome": c.outcome, "input_tokens": c.input_tokens,
                         "output_tokens": c.output_tokens, "cache_read_tokens": c.cache_read_tokens,
                         "cache_write_tokens": c.cache_write_tokens, "latency_ms": c.latency_ms,
                         "at": c.created_at.isoformat()} for c in calls],
    }
    return json.dumps(data, ensure_ascii=False, indent=2, default=str).encode("utf-8")
