"""Sentences of a text as exact slices of it, and what each contains (dates, owners, placeholders,
numbers, actions...), which is all the simulator "reads"."""
from __future__ import annotations

import re
from dataclasses import dataclass

QUOTE_CHARS = 300  # the analysis prompt asks for quotes of at most 300 characters

_MONTH = r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)[a-z]*\.?"
FEATURES = {
    "placeholder": re.compile(r"\bX{2,}(?:-X+)*\b|\bTB[DCA]\b|\[[A-Z][A-Za-z]*(?: [^\]\n]{0,60})?\]|\?{3,}|<[^<>\n]{1,40}>"),
    "date": re.compile(rf"\b\d{{1,2}}[-/ ]{_MONTH}[-/ ,]+\d{{2,4}}\b|\b\d{{4}}-\d{{2}}-\d{{2}}\b|\b\d{{1,2}}/\d{{1,2}}/\d{{2,4}}\b"
                       rf"|\b{_MONTH} \d{{1,2}}(?:st|nd|rd|th)?,? \d{{4}}\b|\bQ[1-4] \d{{4}}\b", re.I),
    "owner": re.compile(r"\bowner\s*:|\bowned by\b|\bresponsible\b|\bassigned to\b|\baccountable\b|\blead\s*:", re.I),
    "due": re.compile(r"\b(?:ECD|due|deadline|completed|target date|by end of)\b", re.I),
    "action": re.compile(r"\b(?:will|shall|must|should|action|actions|implement|fix|update|introduce|ensure|remediate|roll out|"
                         r"retrain|add|assign|create|deploy|renew|train|automate)\b", re.I),
    "money": re.compile(r"[$£€]\s?\d[\d,.]*\s?(?:[kmb]n?|million|billion)?\b|\b\d[\d,.]*\s?(?:USD|GBP|EUR)\b", re.I),
    "number": re.compile(r"\b\d+(?:[.,]\d+)*\s?(?:%|percent\b)?"),
    "vague": re.compile(r"\b(?:several|some|a number of|many|various|a few|numerous|a lot of)\b", re.I),
    "customer": re.compile(r"\b(?:customers?|sellers?|complain\w*|buyers?|users?)\b", re.I),
    "cause": re.compile(r"\b(?:root cause|because|due to|caused|causes|failure|gap)\b", re.I),
    "legal": re.compile(r"\b(?:regulat\w*|complian\w*|legal|GDPR|law|policy|audit\w*)\b", re.I),
    "metric": re.compile(r"\b(?:metric|KPI|rate|tracked|measure\w*|target)\b", re.I),
}
_ENDS = re.compile(r"(?<=[.!?])\s+")
_WORD = re.compile(r"\w")


@dataclass(frozen=True)
class Sentence:
    text: str  # an exact slice of the source, at most QUOTE_CHARS characters
    start: int
    found: dict  # feature → the first match's text
    nearby: dict = None  # the same for its whole line (an action's owner is often in the next sentence)

    def has(self, *names: str) -> bool:
        return all(name in self.found for name in names)

    def near(self, name: str) -> str | None:
        """The ``name`` feature in the sentence, else in the rest of its line."""
        return self.found.get(name) or (self.nearby or {}).get(name)


def _clip(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    cut = text[:limit]
    space = max(cut.rfind(" "), cut.rfind("\t"))
    return (cut[:space] if space > limit // 2 else cut).rstrip()


def _features(text: str) -> dict:
    found = {}
    for name, pattern in FEATURES.items():
        match = pattern.search(text)
        if match:
            found[name] = match.group(0)
    if "number" in found and ("date" in found or "money" in found):
        # a number that is only part of a date or an amount is not a figure of its own
        rest = FEATURES["date"].sub(" ", FEATURES["money"].sub(" ", text))
        match = FEATURES["number"].search(rest)
        if match:
            found["number"] = match.group(0)
        else:
            del found["number"]
    return found


def sentences(text: str) -> list[Sentence]:
    """The text's sentences (split at line ends and after . ! ?), each stripped and clipped to a
    quotable length, so ``text.find(s.text) >= 0`` always; pieces without a letter or digit are left out."""
    found = []
    offset = 0
    for line in text.split("\n"):
        position = 0
        nearby = _features(line)
        for piece in _ENDS.split(line):
            at = line.index(piece, position)
            position = at + len(piece)
            stripped = piece.strip()
            if not _WORD.search(stripped):
                continue
            clipped = _clip(stripped, QUOTE_CHARS)
            if not clipped.strip():
                continue
            start = offset + at + (len(piece) - len(piece.lstrip()))
            found.append(Sentence(clipped, start, _features(clipped), nearby))
        offset += len(line) + 1
    return found
