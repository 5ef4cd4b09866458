"""The readable report of a review, as a .docx: the summary, the key risks, every item by section with
its decision, and the decisions in order. Every text comes from documents, reviewers or the model, so
each goes through xml_safe before python-docx sees it."""
from __future__ import annotations

import io
from datetime import datetime, timezone

import docx

from app.review.checklist import HAWKEYE
from app.text_hygiene import xml_safe

POINTS = {p.number: p.name for p in HAWKEYE}
DECISION = {"accepted": "Accepted", "rejected": "Rejected", "pending": "Not decided"}


def _text(value) -> str:
    return xml_safe("" if value is None else str(value))


def _table(document, header: tuple[str, ...], rows: list[tuple]) -> None:
    table = document.add_table(rows=1, cols=len(header))
    table.style = "Table Grid"
    for cell, title in zip(table.rows[0].cells, header):
        cell.text = title
    for row in rows:
        cells = table.add_row().cells
        for cell, value in zip(cells, row):
            cell.text = _text(value)


def build_report(document, sections, items, summary: dict | None, activity: list[dict]) -> bytes:
    """The report for ``document``: ``items`` are every live item (rejected ones included)."""
    out = docx.Document()
    out.add_heading(_text(f"Review report: {document.title}"), 0)
    out.add_paragraph(_text(f"File: {document.original_filename} · status: {document.status.replace('_', ' ')} · "
                            f"written {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC"))

    out.add_heading("Summary", 1)
    score = (summary or {}).get("risk_score", document.risk_score)
    if score is not None:
        out.add_paragraph(f"Risk score: {score:g} of 100")
    else:
        reason = (summary or {}).get("not_scored_reason") or "No summary has been computed yet."
        out.add_paragraph(_text(f"Not scored: {reason}"))
    verdict = (summary or {}).get("verdict")
    if verdict:
        out.add_paragraph(_text(f"Verdict: {str(verdict).replace('_', ' ')}"))
    for reason in (summary or {}).get("reasons") or []:
        out.add_paragraph(_text(reason if isinstance(reason, str) else str(reason)), style="List Bullet")
    counts = {status: sum(1 for i in items if i.status == status) for status in DECISION}
    custom = sum(1 for i in items if i.source == "custom")
    out.add_paragraph(f"{len(items)} items: {counts['accepted']} accepted, {counts['rejected']} rejected, "
                      f"{counts['pending']} not decided; {custom} written by reviewers.")
    for label, key in (("Recommendations", "recommendations"), ("Compliance concerns", "compliance_concerns")):
        entries = (summary or {}).get(key) or []
        if entries:
            out.add_heading(label, 2)
            for entry in entries:
                out.add_paragraph(_text(entry.get("description") if isinstance(entry, dict) else entry), style="List Bullet")

    out.add_heading("Key risks", 1)
    risks = (summary or {}).get("key_risks") or []
    if not risks:
        out.add_paragraph("No key risks are recorded.")
    for risk in risks:
        line = risk.get("description") or risk.get("text") or ""
        level = risk.get("risk_level")
        out.add_paragraph(_text(f"{line} ({level} risk)" if level else line), style="List Bullet")
        for quote in risk.get("quotes") or []:
            out.add_paragraph(_text(f"\u201c{quote}\u201d"), style="List Bullet 2")

    out.add_heading("Items by section", 1)
    by_section: dict[int, list] = {}
    for item in items:
        by_section.setdefault(item.section_id, []).append(item)
    for section in sections:
        found = by_section.get(section.id, [])
        out.add_heading(_text(section.title or "(untitled)"), 2)
        if not found:
            out.add_paragraph("No items.")
            continue
        for item in found:
            head = out.add_paragraph()
            head.add_run(_text(f"{DECISION.get(item.status, item.status)} · {item.type} · {item.risk_level} risk"
                               f"{' · by a reviewer' if item.source == 'custom' else ''}")).bold = True
            out.add_paragraph(_text(item.description))
            if item.suggestion:
                out.add_paragraph(_text(f"Suggestion: {item.suggestion}"))
            if item.quote:
                out.add_paragraph(_text(f"Quote: \u201c{item.quote}\u201d"))
            if item.hawkeye_refs:
                out.add_paragraph(_text("Hawkeye: " + "; ".join(f"#{n} {POINTS.get(n, '')}".strip() for n in item.hawkeye_refs)))

    out.add_heading("Decisions", 1)
    decisions = [e for e in activity if e["action"] in ("accept", "reject", "revert", "edit", "create", "delete")]
    if decisions:
        _table(out, ("When (UTC)", "Who", "Action", "Item", "Detail"),
               [(e["at"][:19].replace("T", " "), e["user"] or "", e["action"], e["target"], e["detail"]) for e in decisions])
    else:
        out.add_paragraph("No decisions were made.")
    buffer = io.BytesIO()
    out.save(buffer)
    return buffer.getvalue()
