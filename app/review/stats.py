"""Statistics: per document, per user, and across everything for admins."""
from __future__ import annotations

import csv
import io
from collections import Counter, defaultdict

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import Analysis, Document, FeedbackItem, ModelCall, ReviewEvent

from app.exports.records import spreadsheet_cell

from .state import current_analyses, live_items, progress_rows, revisions

# Rough list prices per million tokens (input, output) used only for the estimate shown to admins.
PRICE_PER_MTOK = {"haiku": (1.0, 5.0), "default": (3.0, 15.0)}


def _breakdown(items: list[FeedbackItem]) -> dict:
    decided = [i for i in items if i.status in ("accepted", "rejected")]
    return {
        "items": len(items),
        "by_risk": dict(Counter(i.risk_level for i in items)),
        "by_type": dict(Counter(i.type for i in items)),
        "by_category": dict(Counter(i.category for i in items)),
        "by_status": dict(Counter(i.status for i in items)),
        "accepted": sum(1 for i in items if i.status == "accepted"),
        "rejected": sum(1 for i in items if i.status == "rejected"),
        "custom": sum(1 for i in items if i.source == "custom"),
        "acceptance_rate": round(sum(1 for i in decided if i.status == "accepted") / len(decided), 3) if decided else None,
    }


def document_stats(db: Session, document: Document) -> dict:
    analyses = current_analyses(db, document.id)
    sections = len(document.sections)
    done = sum(1 for a in analyses if a.status == "completed")
    return {"document_id": document.id, "title": document.title, "status": document.status, "risk_score": document.risk_score,
            "not_scored_reason": document.not_scored_reason, "sections": sections, "sections_analysed": done, "completion": round(done / sections, 3) if sections else 0,
            **_breakdown(live_items(db, [document.id]))}


def overall_stats(db: Session, user_id: int | None) -> dict:
    """For one user's documents, or (user_id None) across everything."""
    query = select(Document.id)
    if user_id is not None:
        query = query.where(Document.user_id == user_id)
    document_ids = list(db.scalars(query))
    items = live_items(db, document_ids)
    result = {"documents": len(document_ids), **_breakdown(items),
              "revisions": revisions.addressed_rates(db, document_ids)}
    result.update(_charts(db, document_ids, items))
    if user_id is None:
        recurring = Counter((i.category, i.description.lower()[:80]) for i in items)
        documents_per_issue = defaultdict(set)
        for item in items:
            documents_per_issue[(item.category, item.description.lower()[:80])].add(item.document_id)
        result["recurring_issues"] = [{"category": c, "description": d, "documents": len(documents_per_issue[(c, d)]), "items": n}
                                      for (c, d), n in recurring.most_common(50) if len(documents_per_issue[(c, d)]) > 1][:10]
        calls = list(db.scalars(select(ModelCall)))
        models = Counter(c.model_id for c in calls if c.outcome == "success")
        tokens = {"input": sum(c.input_tokens for c in calls), "output": sum(c.output_tokens for c in calls),
                  "cache_read": sum(c.cache_read_tokens for c in calls), "cache_write": sum(c.cache_write_tokens for c in calls)}
        usage: dict[str, dict] = {}
        for c in calls:
            row = usage.setdefault(c.model_id, {"calls": 0, "successes": 0, "input_tokens": 0, "output_tokens": 0,
                                                "cache_read_tokens": 0, "estimated_cost_usd": 0.0})
            row["calls"] += 1
            row["successes"] += c.outcome == "success"
            row["input_tokens"] += c.input_tokens
            row["output_tokens"] += c.output_tokens
            row["cache_read_tokens"] += c.cache_read_tokens
            row["estimated_cost_usd"] += call_cost(c)
        for row in usage.values():
            row["estimated_cost_usd"] = round(row["estimated_cost_usd"], 4)
        result.update({"model_distribution": dict(models), "tokens": tokens,
                       "estimated_cost_usd": round(sum(call_cost(c) for c in calls), 4), "model_usage": usage,
                       "analyses": dict(Counter(a.status for a in db.scalars(select(Analysis))))})
    return result


def call_cost(call: ModelCall) -> float:
    """The estimated list price of one model call in US dollars (cache writes at 1.25x, reads at 0.1x)."""
    price_in, price_out = PRICE_PER_MTOK["haiku" if "haiku" in call.model_id else "default"]
    return ((call.input_tokens + 1.25 * call.cache_write_tokens + 0.1 * call.cache_read_tokens) * price_in / 1e6
            + call.output_tokens * price_out / 1e6)


RISK_BANDS = ((0, 20), (20, 40), (40, 60), (60, 80), (80, 101))


def _rate(counts: Counter) -> dict:
    decided = counts["accepted"] + counts["rejected"]
    return {"accepted": counts["accepted"], "rejected": counts["rejected"],
            "rate": round(counts["accepted"] / decided, 3) if decided else None}


def _charts(db: Session, document_ids: list[int], items: list[FeedbackItem]) -> dict:
    """The figures the statistics page draws: documents by risk band, acceptance by category and by
    Hawkeye point (accepted and rejected counts and the rate), and applied decisions per day."""
    scores = [s for s in db.scalars(select(Document.risk_score).where(Document.id.in_(document_ids))) if s is not None] \
        if document_ids else []
    bands = {f"{low}\u2013{min(high, 100)}": sum(1 for s in scores if low <= s < high) for low, high in RISK_BANDS}
    by_category, by_point = defaultdict(Counter), defaultdict(Counter)
    for item in items:
        if item.status in ("accepted", "rejected"):
            by_category[item.category or "(none)"][item.status] += 1
            for ref in item.hawkeye_refs or []:
                by_point[ref][item.status] += 1
    per_day: dict[str, Counter] = defaultdict(Counter)
    if document_ids:
        for at, action, after in db.execute(select(ReviewEvent.created_at, ReviewEvent.action, ReviewEvent.after)
                                            .where(ReviewEvent.document_id.in_(document_ids),
                                                   ReviewEvent.action.in_(("accept", "reject", "create", "edit")))):
            if (after or {}).get("outcome") == "applied":
                per_day[at.date().isoformat()][action] += 1
    return {
        "risk_distribution": {"bands": bands, "not_scored": len(document_ids) - len(scores)},
        "acceptance_by_category": {k: _rate(v) for k, v in sorted(by_category.items())},
        "acceptance_by_hawkeye_point": {str(k): _rate(v) for k, v in sorted(by_point.items())},
        "decisions_over_time": [{"day": day, **{a: per_day[day][a] for a in ("accept", "reject", "create", "edit")}}
                                for day in sorted(per_day)],
    }


def to_csv(stats: dict) -> str:
    """A flat metric,value CSV of a statistics object."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["metric", "value"])

    def walk(prefix, value):
        if isinstance(value, dict):
            for key, inner in value.items():
                walk(f"{prefix}.{key}" if prefix else str(key), inner)
        elif isinstance(value, list):
            for index, inner in enumerate(value):
                walk(f"{prefix}[{index}]", inner)
        else:
            writer.writerow([prefix, spreadsheet_cell(value)])

    walk("", stats)
    return out.getvalue()


def progress_by_document(db: Session, document_ids: list[int]) -> dict[int, dict]:
    """For the dashboard, per document: sections, how many of them are analysed, in progress or
    failed (each section's current analysis), and the time of the last change anyone made."""
    from sqlalchemy import func

    from app.models import Section

    if not document_ids:
        return {}
    result = {i: {"sections": 0, "analysed": 0, "active": 0, "failed": 0, "last_activity": None} for i in document_ids}
    for document_id, count in db.execute(select(Section.document_id, func.count()).where(
            Section.document_id.in_(document_ids)).group_by(Section.document_id)):
        result[document_id]["sections"] = count
    latest = {}
    for document_id, status, updated in progress_rows(db, document_ids):
        row = result[document_id]
        if status == "completed":
            row["analysed"] += 1
        elif status in ("queued", "running", "deferred"):
            row["active"] += 1
        elif status == "failed":
            row["failed"] += 1
        latest[document_id] = max(filter(None, (latest.get(document_id), updated)))
    for document_id, at in db.execute(select(ReviewEvent.document_id, func.max(ReviewEvent.created_at))
                                      .where(ReviewEvent.document_id.in_(document_ids)).group_by(ReviewEvent.document_id)):
        latest[document_id] = max(filter(None, (latest.get(document_id), at)))
    for document_id, at in latest.items():
        result[document_id]["last_activity"] = at
    return result
