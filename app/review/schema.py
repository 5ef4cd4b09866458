"""The model's answer, checked strictly: JSON with ``feedback_items``, each item's fields typed and
bounded, markup stripped so nothing from a model is ever stored or served as HTML. The limits below are
the one source of truth: the validator applies them and `feedback_json_schema` states them to the
model as the input schema of the forced tool."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from app.text_hygiene import strip_markup, xml_safe

TYPES = ("critical", "important", "suggestion", "positive")
RISKS = ("High", "Medium", "Low")
TEXT_LIMITS = {"category": 200, "description": 2000, "suggestion": 2000, "example": 2000}
QUESTION_CHARS, MAX_QUESTIONS = 500, 10
QUOTE_CHARS = 1000
REFS = (1, 20)  # checklist point numbers
MAX_ITEMS = 100
REQUIRED = ("type", "description")
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
    description = clean_text(raw.get("description"), TEXT_LIMITS["description"])
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
    clean_refs = sorted({int(r) for r in refs if str(r).strip().isdigit() and REFS[0] <= int(r) <= REFS[1]})
    questions = raw.get("questions") or []
    if not isinstance(questions, list):
        questions = [questions]
    quote = raw.get("quote")
    return Item(
        type=kind, category=clean_text(raw.get("category"), TEXT_LIMITS["category"]) or "General", description=description,
        risk_level=risk, confidence=min(1.0, max(0.0, confidence)),
        suggestion=clean_text(raw.get("suggestion"), TEXT_LIMITS["suggestion"]),
        example=clean_text(raw.get("example"), TEXT_LIMITS["example"]),
        questions=[q for q in (clean_text(q, QUESTION_CHARS) for q in questions[:MAX_QUESTIONS] if isinstance(q, (str, int, float))) if q],
        hawkeye_refs=clean_refs,
        # The quote is kept verbatim (it must match the section), only bounded; it is escaped on output.
        quote=str(quote)[:QUOTE_CHARS] if isinstance(quote, (str, int, float)) and str(quote).strip() else None,
    )


def feedback_json_schema() -> dict:
    """The answer's JSON Schema, built from the limits the validator applies (the forced tool's input)."""
    text = {name: {"type": "string", "maxLength": limit} for name, limit in TEXT_LIMITS.items()}
    text["description"].update(minLength=1, pattern=r"\S")  # required and not blank, as `_item` demands
    item = {
        "type": "object",
        "properties": {
            "type": {"type": "string", "enum": list(TYPES)},
            **text,
            "questions": {"type": "array", "maxItems": MAX_QUESTIONS,
                          "items": {"type": "string", "maxLength": QUESTION_CHARS}},
            "hawkeye_refs": {"type": "array", "items": {"type": "integer", "minimum": REFS[0], "maximum": REFS[1]}},
            "risk_level": {"type": "string", "enum": list(RISKS)},
            "confidence": {"type": "number", "minimum": 0, "maximum": 1},
            "quote": {"type": "string", "maxLength": QUOTE_CHARS,
                      "description": "The exact words of the section the item is about, copied character for character."},
        },
        "required": list(REQUIRED),
    }
    return {
        "type": "object",
        "properties": {"feedback_items": {"type": "array", "maxItems": MAX_ITEMS, "items": item}},
        "required": ["feedback_items"],
    }


def items_from(data) -> tuple[list[Item], list[str]]:
    """Items from an already parsed answer (a tool's input, or the JSON found in a text answer), and the
    reasons any items were dropped. Raises OutputInvalid when the answer as a whole is unusable."""
    if not isinstance(data, dict):
        raise OutputInvalid("The answer must be a JSON object.")
    items = data.get("feedback_items")
    if not isinstance(items, list):
        raise OutputInvalid('The object must have a "feedback_items" list.')
    parsed, dropped = [], []
    for index, entry in enumerate(items[:MAX_ITEMS]):
        if not isinstance(entry, dict):
            dropped.append(f"item {index}: not an object")
            continue
        try:
            parsed.append(_item(entry))
        except (ValueError, TypeError) as exc:
            dropped.append(f"item {index}: {exc}")
    return parsed, dropped


def parse_items(raw: str) -> tuple[list[Item], list[str]]:
    """Items from a text answer (then the caller asks once for a repaired answer on OutputInvalid)."""
    return items_from(_json_object(raw))


def parse_tool_input(value) -> tuple[list[Item], list[str]]:
    """Items from the forced tool's input, checked exactly as a text answer is. Input that did not
    parse as JSON arrives as the raw string."""
    if isinstance(value, str):
        raise OutputInvalid("The tool input is not valid JSON.")
    return items_from(value)
