"""The ``record_feedback`` responder: review one section as the analysis prompt asks, with items
that quote the section's own sentences. Each rule below looks at what a sentence contains and
chooses the item's type, Hawkeye points and risk level from it; the seeded random generator only
varies which sentences are picked, how many items there are and the confidence."""
from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Callable

from .prompt import Prompt
from .sentences import Sentence, sentences

TOOL_NAME = "record_feedback"
MAX_ITEMS = 4


@dataclass(frozen=True)
class Rule:
    applies: Callable[[Sentence], bool]
    type: str
    risk: str
    refs: tuple[int, ...]
    category: str
    description: str  # may name the matched words with {date}, {number}, {money}, {vague}
    suggestion: str
    example: str
    question: str


def _action(s: Sentence) -> bool:
    return s.has("action") or s.has("due") or s.has("owner")


def _owner(s: Sentence) -> bool:
    return s.near("owner") is not None


def _dated(s: Sentence) -> bool:
    return s.near("date") is not None


# First matching rule wins for a sentence; the order is the priority a reviewer would give them.
RULES = (
    Rule(lambda s: s.has("placeholder"), "critical", "High", (13, 17), "Documentation and reporting",
         "An unfilled placeholder stands where a name, date or figure belongs; the write-up is not finished.",
         "Replace the placeholder with the real value, or say why it is not known yet.",
         "Owner: Payments Risk Operations (named director: A. Patel).", "Who or what should this placeholder name?"),
    Rule(lambda s: _action(s) and not _owner(s) and not _dated(s), "important", "High", (12,), "Preventative actions",
         "This action has neither an owner nor a due date, so nobody is accountable for finishing it.",
         "Name the owning team or person and a due date for the action.",
         "Owner: Seller Risk Ops; due 30-Jun-2026.", "Who owns this action, and by when will it be done?"),
    Rule(lambda s: _action(s) and _owner(s) and not _dated(s), "important", "Medium", (12, 14), "Preventative actions",
         "The action names an owner but no date, so its progress cannot be tracked.",
         "Add a due date (or the date it was completed).", "ECD: 30-Jun-2026.", "When is this action due?"),
    Rule(lambda s: _action(s) and _dated(s) and not _owner(s), "important", "Medium", (12, 14), "Preventative actions",
         "The action has a date ({date}) but no named owner.",
         "Name the team or person who owns the action.", "Owner: Trust and Safety Operations.", "Who owns this action?"),
    Rule(lambda s: _action(s) and _owner(s) and _dated(s), "positive", "Low", (12,), "Preventative actions",
         "The action has both an owner and a date ({date}), so it can be tracked to completion.",
         "Keep this form for the other actions.", "", "Is the date still on track?"),
    Rule(lambda s: s.has("vague"), "suggestion", "Medium", (17, 18), "Communication standards",
         "\u201c{vague}\u201d stands where a number is expected, so the scale of the issue is unclear.",
         "Give the count or the range, with its source.", "14 customers (orders 3 to 9 March).", "How many exactly?"),
    Rule(lambda s: s.has("money"), "important", "Medium", (8, 18), "Funds management",
         "A financial figure ({money}) is given without how it was measured or what it covers.",
         "Say what the amount covers, its period and its source.", "", "Is this the gross or the net impact?"),
    Rule(lambda s: s.has("legal"), "important", "High", (19,), "Legal and compliance",
         "The sentence touches a regulatory or policy obligation without saying whether it was met.",
         "State the obligation, whether it was met, and who confirmed it.", "", "Was legal or compliance consulted?"),
    Rule(lambda s: s.has("cause"), "important", "Medium", (11,), "Root cause analysis",
         "The cause is stated as a symptom; the process gap behind it is not named.",
         "Name the process or control that failed and why it failed.", "", "Why did the control not catch this?"),
    Rule(lambda s: s.has("number"), "suggestion", "Low", (18,), "Performance metrics",
         "The figure {number} is given without its source or baseline.",
         "Give the source and the baseline the figure compares with.", "", "Where does this figure come from?"),
    Rule(lambda s: s.has("customer"), "suggestion", "Medium", (1, 10), "Initial assessment",
         "The impact on customers is mentioned but not sized or described.",
         "Say how many customers were affected and how.", "", "How were customers affected?"),
    Rule(lambda s: s.has("date"), "suggestion", "Low", (13,), "Documentation and reporting",
         "The date {date} is given without who acted on it or what followed.",
         "Add who acted and what happened next.", "", "What happened after this date?"),
    Rule(lambda s: s.has("metric"), "suggestion", "Low", (18,), "Performance metrics",
         "A measure is mentioned without a target or a result.", "Give the target and the measured result.", "",
         "What was the result?"),
    Rule(lambda s: True, "suggestion", "Low", (17,), "Communication standards",
         "This sentence could be more specific about who did what and when.",
         "Rewrite it with the actor, the action and the date.", "", "Who did this, and when?"),
)


def rule_for(sentence: Sentence) -> tuple[int, Rule]:
    return next((index, rule) for index, rule in enumerate(RULES) if rule.applies(sentence))


def _item(sentence: Sentence, rule: Rule, rng: random.Random) -> dict:
    words = {k: v.strip()[:60] for k, v in {**(sentence.nearby or {}), **sentence.found}.items()}
    item = {
        "type": rule.type, "category": rule.category, "description": rule.description.format_map(_Missing(words)),
        "suggestion": rule.suggestion, "questions": [rule.question], "hawkeye_refs": list(rule.refs),
        "risk_level": rule.risk, "confidence": round(rng.uniform(0.55, 0.95), 2), "quote": sentence.text,
    }
    if rule.example:
        item["example"] = rule.example
    return item


class _Missing(dict):
    def __missing__(self, key):
        return "this"


def review(section_text: str, rng: random.Random, max_items: int = MAX_ITEMS) -> dict:
    """The tool input for one section: between one and ``max_items`` items (none for a section with no
    words), the most serious findings first, each quoting one sentence verbatim."""
    found = sentences(section_text)
    if not found or max_items < 1:
        return {"feedback_items": []}
    ranked = sorted(((rule_for(s), rng.random(), s) for s in found), key=lambda entry: (entry[0][0], entry[1]))
    count = rng.randint(1, min(max_items, len(ranked)))
    chosen, seen = [], set()
    for (_, rule), _, sentence in ranked:
        if sentence.text in seen:
            continue
        seen.add(sentence.text)
        chosen.append(_item(sentence, rule, rng))
        if len(chosen) == count:
            break
    return {"feedback_items": chosen}


def respond(prompt: Prompt, rng: random.Random, settings) -> dict:
    section = prompt.block("Section text")
    return review(section or "", rng, settings.max_items)
