"""The document summary the model writes, checked strictly like the analysis answer: the forced
`record_summary` tool's input schema and the validator share the limits below. Key risks and
compliance concerns must point at feedback items of the document (unknown ids are dropped, and an
entry left pointing at nothing is dropped); their quotes are the items' own, never the model's."""
from __future__ import annotations

from dataclasses import dataclass, field

from app.models import VERDICTS

from .schema import OutputInvalid, _json_object, clean_text

TEXT_CHARS = 1000
MAX_ENTRIES = 10
MAX_REASONS = 8


@dataclass
class SummaryAnswer:
    risk_score: float
    reasons: list[str]
    key_risks: list[dict]
    recommendations: list[str]
    compliance_concerns: list[dict]
    verdict: str
    dropped: list[str] = field(default_factory=list)


def summary_json_schema() -> dict:
    pointed = {"type": "object", "properties": {
        "text": {"type": "string", "minLength": 1, "maxLength": TEXT_CHARS},
        "item_ids": {"type": "array", "minItems": 1, "items": {"type": "integer"},
                     "description": "ids of the feedback items (from the data block) this is about"}},
        "required": ["text", "item_ids"]}
    text_list = {"type": "array", "maxItems": MAX_ENTRIES, "items": {"type": "string", "maxLength": TEXT_CHARS}}
    return {
        "type": "object",
        "properties": {
            "risk_score": {"type": "integer", "minimum": 0, "maximum": 100,
                           "description": "0 = no residual risk, 100 = the write-up cannot be relied on"},
            "reasons": {**text_list, "maxItems": MAX_REASONS, "minItems": 1},
            "key_risks": {"type": "array", "maxItems": MAX_ENTRIES, "items": pointed},
            "recommendations": text_list,
            "compliance_concerns": {"type": "array", "maxItems": MAX_ENTRIES, "items": pointed},
            "verdict": {"type": "string", "enum": list(VERDICTS)},
        },
        "required": ["risk_score", "reasons", "key_risks", "recommendations", "compliance_concerns", "verdict"],
    }


def _texts(value, name: str, limit: int) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise OutputInvalid(f'"{name}" must be a list of strings.')
    out = []
    for entry in value[:limit]:
        try:
            text = clean_text(entry, TEXT_CHARS)
        except TypeError:
            continue
        if text:
            out.append(text)
    return out


def _pointed(value, name: str, items: dict[int, object], dropped: list[str]) -> list[dict]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise OutputInvalid(f'"{name}" must be a list of objects with "text" and "item_ids".')
    out = []
    for index, entry in enumerate(value[:MAX_ENTRIES]):
        if not isinstance(entry, dict):
            dropped.append(f"{name} {index}: not an object")
            continue
        try:
            text = clean_text(entry.get("text"), TEXT_CHARS)
        except TypeError:
            text = None
        raw_ids = entry.get("item_ids") if isinstance(entry.get("item_ids"), list) else []
        ids = []
        for raw in raw_ids:
            if isinstance(raw, bool):
                continue
            try:
                number = int(raw)
            except (TypeError, ValueError):
                continue
            if number in items and number not in ids:
                ids.append(number)
        if not text or not ids:
            dropped.append(f"{name} {index}: " + ("no text" if not text else "points at no item of this document"))
            continue
        quotes = [items[i].quote[:300] for i in ids if getattr(items[i], "quote", None)]
        out.append({"text": text, "item_ids": ids, "quotes": quotes})
    return out


def summary_from(data, items: dict[int, object]) -> SummaryAnswer:
    """A checked summary from a parsed answer; ``items`` maps the document's item ids to their items.
    Raises OutputInvalid when the answer as a whole is unusable (then the caller asks once for a repair)."""
    if not isinstance(data, dict):
        raise OutputInvalid("The answer must be a JSON object.")
    score = data.get("risk_score")
    if isinstance(score, bool) or not isinstance(score, (int, float)) or not 0 <= score <= 100:
        raise OutputInvalid('"risk_score" must be a number from 0 to 100.')
    verdict = str(data.get("verdict", "")).strip().lower().replace(" ", "_")
    if verdict not in VERDICTS:
        raise OutputInvalid(f'"verdict" must be one of {", ".join(VERDICTS)}.')
    reasons = _texts(data.get("reasons"), "reasons", MAX_REASONS)
    if not reasons:
        raise OutputInvalid('"reasons" must give at least one reason for the risk score.')
    dropped: list[str] = []
    return SummaryAnswer(
        risk_score=round(float(score), 1), reasons=reasons,
        key_risks=_pointed(data.get("key_risks"), "key_risks", items, dropped),
        recommendations=_texts(data.get("recommendations"), "recommendations", MAX_ENTRIES),
        compliance_concerns=_pointed(data.get("compliance_concerns"), "compliance_concerns", items, dropped),
        verdict=verdict, dropped=dropped,
    )


def parse_summary(response, items: dict[int, object]) -> SummaryAnswer:
    """From the forced tool's input, or from the text where the model took no tool: checked the same way."""
    if response.tool_used:
        if isinstance(response.tool_input, str):
            raise OutputInvalid("The tool input is not valid JSON.")
        return summary_from(response.tool_input, items)
    return summary_from(_json_object(response.text), items)
