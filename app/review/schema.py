"""The model's answer, checked strictly: JSON with ``feedback_items``, each item's fields typed and
bounded, markup stripped so nothing from a model is ever stored or served as HTML."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from app.text_hygiene import strip_markup, xml_safe

TYPES = ("critical", "important", "suggestion", "positive")
RISKS = ("High", "Medium", "Low")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_FENCE = re.compile(r"^```(?:json)?\s*|\s*```$", re.I)


class OutputInvalid(ValueError):
    """The answer is not the JSON we asked for; the message says what is wrong, for the repair turn."""


@dataclass
class Item:
    type: str
    category: str
    description: str
    risk_level: str
    confidence: float
    suggestion: str | None = None
    example: str | None = None
    questions: list[str] = field(default_factory=list)
    hawkeye_refs: list[int] = field(default_factory=list)
    quote: str | None = None


def clean_text(value, limit: int) -> str | None:
    """Plain text only: tags and control characters removed, length bounded."""
    if value is None:
        return None
    if not isinstance(value, (str, int, float)):
        raise TypeError("not text")
    # A real HTML parser (nh3) decides what a tag is: "a < b > c" in prose stays.
    text = _CONTROL.sub("", xml_safe(strip_markup(str(value)))).strip()
    return text[:limit] or None


def _json_object(raw: str) -> dict:
    text = _FENCE.sub("", raw.strip())
    start, end = text.find("{"), text.rfind("}")
    if start < 0 or end <= start:
        raise OutputInvalid("The answer contains no JSON object.")
    try:
        data = json.loads(text[start:end + 1])
    except json.JSONDecodeError as exc:
        raise OutputInvalid(f"The JSON does not parse: {exc.msg} at line {exc.lineno} column {exc.colno}.") from exc
    if not isinstance(data, dict):
        raise OutputInvalid("The top level must be a JSON object.")
    return data


def _item(raw: dict) -> Item:
    kind = str(raw.get("type", "")).strip().lower()
    if kind not in TYPES:
        raise ValueError(f"type must be one of {', '.join(TYPES)}")
    description = clean_text(raw.get("description"), 2000)
    if not description:
        raise ValueError("description is required")
    risk = str(raw.get("risk_level", "Low")).strip().capitalize()
    if risk not in RISKS:
        raise ValueError("risk_level must be High, Medium or Low")
    try:
        confidence = float(raw.get("confidence", 0.5))
    except (TypeError, ValueError) as exc:
        raise ValueError("confidence must be a number") from exc
    refs = raw.get("hawkeye_refs") or []
    if not isinstance(refs, list):
        refs = [refs]
    clean_refs = sorted({int(r) for r in refs if str(r).strip().isdigit() and 1 <= int(r) <= 20})
    questions = raw.get("questions") or []
    if not isinstance(questions, list):
        questions = [questions]
    quote = raw.get("quote")
    return Item(
        type=kind, category=clean_text(raw.get("category"), 200) or "General", description=description,
        risk_level=risk, confidence=min(1.0, max(0.0, confidence)),
        suggestion=clean_text(raw.get("suggestion"), 2000), example=clean_text(raw.get("example"), 2000),
        questions=[q for q in (clean_text(q, 500) for q in questions[:10] if isinstance(q, (str, int, float))) if q],
        hawkeye_refs=clean_refs,
        # The quote is kept verbatim (it must match the section), only bounded; it is escaped on output.
        quote=str(quote)[:1000] if isinstance(quote, (str, int, float)) and str(quote).strip() else None,
    )


def parse_items(raw: str) -> tuple[list[Item], list[str]]:
    """Items from a model answer, and the reasons any items were dropped. Raises OutputInvalid
    when the answer as a whole is unusable (then the caller asks once for a repaired answer)."""
    data = _json_object(raw)
    items = data.get("feedback_items")
    if not isinstance(items, list):
        raise OutputInvalid('The object must have a "feedback_items" list.')
    parsed, dropped = [], []
    for index, entry in enumerate(items[:100]):
        if not isinstance(entry, dict):
            dropped.append(f"item {index}: not an object")
            continue
        try:
            parsed.append(_item(entry))
        except (ValueError, TypeError) as exc:
            dropped.append(f"item {index}: {exc}")
    return parsed, dropped
