"""The offline rules reviewer: deterministic checks with exact quotes, same item schema as the model.
It is the embedded default provider and never pretends to be a model: its items say source "rules".

Checks: missing standard sections, timeline entries without dates, actions without an owner or a due
date, vague quantities, customer impact not quantified, a root cause that restates the symptom,
passive voice hiding ownership, and placeholders left in the text.
"""
from __future__ import annotations

import json
import re

STANDARD_SECTIONS = {
    "Executive summary": re.compile(r"summary|overview", re.I),
    "Background": re.compile(r"background|introduction|context", re.I),
    "Timeline": re.compile(r"timeline|chronology", re.I),
    "Customer impact": re.compile(r"impact", re.I),
    "Root cause": re.compile(r"root cause", re.I),
    "Preventative actions": re.compile(r"prevent|corrective|action|recommendation", re.I),
}
_DATE = re.compile(
    r"\b(\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4}|\d{4}-\d{2}-\d{2}|\d{1,2}(st|nd|rd|th)?\s+(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*"
    r"|(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?\s+\d{1,2}|(mon|tues|wednes|thurs|fri|satur|sun)day|day \d+|\bq[1-4]\b|\d{1,2}:\d{2})",
    re.I,
)
_VAGUE = re.compile(r"\b(some|several|many|a few|numerous|various|a number of|a lot of|lots of|most)\b\s+\w+|~\s?\d[\d,.]*|\bapprox(imately|\.)?\s+\d[\d,.]*", re.I)
_PASSIVE = re.compile(r"\b(will|shall|is to|are to|should|must)\s+be\s+(\w+ed|done|made|set up|taken|given|put in place|rolled out)\b(?![^.]*\bby\b)", re.I)
_PLACEHOLDER = re.compile(r"\b(XX+[-/ ]?X*[-/ ]?X*|TBD|TBC|TODO|FIXME)\b|\[(NAME|DATE|OWNER|INSERT[^\]]*|TBD|X+)\]|<\s*insert[^>]*>|\?\?\?+", re.I)
_OWNER = re.compile(r"\b(owner|owned by|assigned to|responsible|by (the )?[A-Z][\w-]+|team|@\w+|[A-Z][a-z]+ [A-Z][a-z]+)\b")
_SYMPTOM_ONLY = re.compile(r"\b(because|due to|as a result of|caused by|owing to|since|the reason)\b", re.I)


def _sentences(text: str):
    """(sentence, start) pairs: exact substrings of ``text``."""
    for match in re.finditer(r"[^.!?\n]+[.!?]?", text):
        sentence = match.group(0).strip()
        if sentence:
            yield sentence, match.start() + match.group(0).index(sentence)


def _lines(text: str):
    return [line.strip() for line in text.split("\n") if line.strip()]


def _item(kind, category, description, suggestion, risk, refs, quote, confidence=0.7, questions=None):
    return {"type": kind, "category": category, "description": description, "suggestion": suggestion,
            "example": None, "questions": questions or [], "hawkeye_refs": refs, "risk_level": risk,
            "confidence": confidence, "quote": quote}


def review_section(title: str, text: str, all_titles: list[str] | None = None, first: bool = False) -> list[dict]:
    items: list[dict] = []
    lowered = title.lower()
    for match in _PLACEHOLDER.finditer(text):
        items.append(_item("critical", "Documentation", f"Placeholder left in the text: \u201c{match.group(0)}\u201d.",
                           "Replace the placeholder with the real value before the write-up is shared.", "High", [13], match.group(0), 0.95))
    for sentence, _ in _sentences(text):
        for vague in _VAGUE.finditer(sentence):
            items.append(_item("important", "Communication", f"Vague quantity: \u201c{vague.group(0)}\u201d.",
                               "State the exact number, or the range and how it was measured.", "Medium", [17, 18], vague.group(0), 0.75))
        passive = _PASSIVE.search(sentence)
        if passive:
            items.append(_item("important", "Ownership", "Passive voice hides who will do this.",
                               "Name the owner and the due date (\u201cThe payments team will … by 30 June\u201d).", "Medium", [12, 17], passive.group(0), 0.7))
    if "timeline" in lowered or "chronology" in lowered:
        for line in _lines(text):
            if not _DATE.search(line) and len(line) > 15:
                items.append(_item("important", "Timeline", "Timeline entry without a date or time.",
                                   "Give each entry its date (and time where it matters).", "Medium", [13], line, 0.8))
    if any(word in lowered for word in ("action", "prevent", "recommend", "next step", "resolving")):
        for line in _lines(text):
            if len(line) > 15 and (not _OWNER.search(line) or not _DATE.search(line)):
                missing = " and ".join(w for w, ok in (("an owner", _OWNER.search(line)), ("a due date", _DATE.search(line))) if not ok)
                items.append(_item("important", "Preventative actions", f"Action without {missing}.",
                                   "Give every action an owner and a due date.", "High", [12], line, 0.7))
    if "impact" in lowered and text.strip() and not re.search(r"\d", text):
        first_sentence = next(_sentences(text), (None, 0))[0]
        items.append(_item("important", "Customer impact", "Customer impact is not quantified.",
                           "Give the number of customers, orders or the amount affected.", "High", [1, 8], first_sentence, 0.8))
    if "root cause" in lowered and text.strip() and not _SYMPTOM_ONLY.search(text):
        first_sentence = next(_sentences(text), (None, 0))[0]
        items.append(_item("critical", "Root cause", "The root cause restates the symptom; it does not say why it happened.",
                           "Ask why until you reach the process gap, and state it.", "High", [11], first_sentence, 0.65,
                           ["Why did this happen?", "Which control should have caught it?"]))
    if first and all_titles is not None:
        joined = " | ".join(all_titles)
        for name, pattern in STANDARD_SECTIONS.items():
            if not pattern.search(joined):
                items.append(_item("important", "Structure", f"The write-up has no {name} section.",
                                   f"Add a {name} section.", "Medium", [13], None, 0.9))
    return items


def offline_analysis(task: dict) -> str:
    """The offline provider's answer to an analysis task, in the model's JSON format."""
    items = review_section(task.get("section_title", ""), task.get("section_text", ""),
                           task.get("all_titles"), bool(task.get("first_section")))
    return json.dumps({"feedback_items": items})
