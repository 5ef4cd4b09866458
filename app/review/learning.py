"""The learning loop: what reviewers of a team decided teaches the next analysis prompt.

A team is the users sharing a ``review_group`` (an admin sets it; None is the deployment's team).
From the review state's decisions on model-written items (accepted, edited or rejected; live ones)
it keeps acceptance per category and per Hawkeye point. A category with at least
LEARNING_MIN_DECISIONS decisions and acceptance under LEARNING_LOW_ACCEPTANCE is named in the prompt
as one "reviewers here rarely accept", and its items are shown collapsed. Accepted items, in the
wording the reviewer left them, become few-shot examples for sections of the same kind (the
checklist's section kinds: background, timeline, root cause, actions, findings, impact), at most one
per category, newest first, within LEARNING_EXAMPLE_TOKENS. All of it goes in the user message
after the cached system prompt, inside boundary data blocks: reviewer text is data, never
instructions. An admin can switch it off (AppSetting ``learning``); each analysis records what the
loop put in its prompt (``analyses.learning``)."""
from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.models import AppSetting, Document, FeedbackItem, Section, User

from .boundary import one_line

SETTING_KEY = "learning"
SCAN_LIMIT = 5000  # newest decided items read per team: bounded work per analysis and per feedback load
SECTION_KINDS = {
    "Background": re.compile(r"background|introduction|context|overview|summary", re.I),
    "Timeline": re.compile(r"timeline|chronology|sequence of events", re.I),
    "Root cause": re.compile(r"root cause|cause analysis|why it happened|five whys", re.I),
    "Actions": re.compile(r"action|prevent|recommend|next step|corrective|mitigation|remediation|follow[- ]up", re.I),
    "Findings": re.compile(r"finding|conclusion|assessment of|analysis", re.I),
    "Impact": re.compile(r"\bimpact\b", re.I),
}


@dataclass(frozen=True)
class LearningSettings:
    enabled: bool = True
    min_decisions: int = 10
    low_acceptance: float = 0.3
    example_tokens: int = 600

    @classmethod
    def from_config(cls, config) -> "LearningSettings":
        return cls(enabled=config["LEARNING_ENABLED"], min_decisions=config["LEARNING_MIN_DECISIONS"],
                   low_acceptance=config["LEARNING_LOW_ACCEPTANCE"], example_tokens=config["LEARNING_EXAMPLE_TOKENS"])


@dataclass
class Lesson:
    """What the loop adds to one analysis prompt."""

    team: str
    rarely_accepted: list[str] = field(default_factory=list)
    examples: list[dict] = field(default_factory=list)  # {"id", "category", "type", "description", "suggestion", "quote"}

    def __bool__(self) -> bool:
        return bool(self.rarely_accepted or self.examples)

    def record(self) -> dict:
        return {"team": self.team, "rarely_accepted": self.rarely_accepted, "example_item_ids": [e["id"] for e in self.examples]}


def section_kind(title: str | None) -> str:
    return next((kind for kind, pattern in SECTION_KINDS.items() if pattern.search(title or "")), "Other")


def team_name(group: str | None) -> str:
    return (group or "").strip() or "(deployment)"


# ------------------------------------------------------------------------------ the switch
def is_enabled(db: Session, default: bool) -> bool:
    row = db.get(AppSetting, SETTING_KEY)
    return bool(row.value.get("enabled", default)) if row is not None and isinstance(row.value, dict) else default


def set_enabled(db: Session, user: User, enabled: bool) -> None:
    row = db.get(AppSetting, SETTING_KEY)
    if row is None:
        db.add(AppSetting(key=SETTING_KEY, value={"enabled": enabled}, updated_by=user.id))
    else:
        row.value, row.updated_by = {"enabled": enabled}, user.id
    db.commit()


# ------------------------------------------------------------------------------ the team's decisions
def _team_filter(group: str | None):
    clean = (group or "").strip()
    return func.coalesce(User.review_group, "") == clean


def _decided(db: Session, group: str | None):
    """(item, section title) of the team's decided model items, newest first, bounded."""
    return db.execute(
        select(FeedbackItem, Section.title)
        .join(Document, Document.id == FeedbackItem.document_id).join(User, User.id == Document.user_id)
        .join(Section, Section.id == FeedbackItem.section_id)
        .where(_team_filter(group), FeedbackItem.source.in_(("ai", "rules")), FeedbackItem.superseded.is_(False),
               FeedbackItem.status.in_(("accepted", "rejected")))
        .order_by(FeedbackItem.updated_at.desc(), FeedbackItem.id.desc()).limit(SCAN_LIMIT)
    ).all()


def acceptance(db: Session, group: str | None, settings: LearningSettings) -> dict:
    """Acceptance per category and per Hawkeye point for a team, and the categories it rarely accepts."""
    categories: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    points: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for item, _ in _decided(db, group):
        slot = 0 if item.status == "accepted" else 1
        categories[item.category or "General"][slot] += 1
        for ref in item.hawkeye_refs or []:
            points[int(ref)][slot] += 1

    def rows(table):
        return {key: {"accepted": a, "rejected": r, "decisions": a + r, "acceptance": round(a / (a + r), 3)}
                for key, (a, r) in sorted(table.items(), key=lambda kv: str(kv[0]))}

    by_category = rows(categories)
    rarely = sorted(c for c, row in by_category.items()
                    if row["decisions"] >= settings.min_decisions and row["acceptance"] < settings.low_acceptance)
    return {"team": team_name(group), "categories": by_category, "hawkeye": rows(points), "rarely_accepted": rarely}


def _examples(rows, kind: str, exclude_section: int, budget_tokens: int) -> list[dict]:
    chosen, seen, used = [], set(), 0
    for item, title in rows:
        if item.status != "accepted" or item.section_id == exclude_section or section_kind(title) != kind:
            continue
        category = item.category or "General"
        if category in seen:
            continue
        example = {"id": item.id, "category": one_line(category, 100), "type": item.type,
                   "description": (item.description or "")[:500], "suggestion": (item.suggestion or "")[:300],
                   "quote": (item.quote or "")[:200]}
        cost = sum(len(str(v)) for v in example.values()) // 4 + 8
        if used + cost > budget_tokens:
            continue
        chosen.append(example)
        seen.add(category)
        used += cost
    return chosen


def lesson_for(db: Session, document: Document, section: Section, settings: LearningSettings | None) -> Lesson | None:
    """What the loop adds to this section's analysis prompt; None when it is off or has nothing."""
    if settings is None or not is_enabled(db, settings.enabled):
        return None
    owner = db.get(User, document.user_id)
    group = owner.review_group if owner is not None else None
    rows = _decided(db, group)
    lesson = Lesson(team=team_name(group), rarely_accepted=acceptance_from(rows, settings))
    if settings.example_tokens:
        lesson.examples = _examples(rows, section_kind(section.title), section.id, settings.example_tokens)
    return lesson or None


def acceptance_from(rows, settings: LearningSettings) -> list[str]:
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for item, _ in rows:
        counts[item.category or "General"][0 if item.status == "accepted" else 1] += 1
    return sorted(c for c, (a, r) in counts.items() if a + r >= settings.min_decisions and a / (a + r) < settings.low_acceptance)


def rarely_accepted_for(db: Session, document: Document, settings: LearningSettings) -> list[str]:
    """The categories whose items the review page shows collapsed for this document's team."""
    if not is_enabled(db, settings.enabled):
        return []
    owner = db.get(User, document.user_id)
    return acceptance_from(_decided(db, owner.review_group if owner else None), settings)
