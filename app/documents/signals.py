"""Text-level heading signals shared by every format: numbering, known investigation titles,
investigation labels (RC1:, PA1a:) and pasted e-mail headers."""
from __future__ import annotations

import re

MAX_HEADING_CHARS = 120
MAX_HEADING_WORDS = 14
LABEL_TITLE_WORDS = 8  # "RC1: Missing verification" is a title; a longer line after a label is a sentence

# 1 / 1.2 / 1.2.3 (optionally with a trailing dot), A. / B) and roman numerals I. II. IV.
_NUMBERED = re.compile(
    r"^(?:(?P<arabic>\d{1,3}(?:\.\d{1,3}){0,4})\.?|(?P<letter>[A-Z])[.)]|(?P<roman>(?:X{0,3})(?:IX|IV|V?I{0,3}))[.)])\s+(?P<title>\S.*)$"
)
_LABEL = re.compile(r"^(?P<label>[A-Z]{1,4}\d{1,3}[a-z]?)\s*[:\-–]\s*(?P<rest>.*)$", re.S)
_EMAIL_FIELD = re.compile(r"^(From|Sent|Date|To|Cc|Subject)\s*:\s*(.*)$", re.I)

KNOWN_TITLES = [
    r"executive summary", r"summary", r"background", r"overview", r"introduction", r"scope",
    r"timeline(?: of events)?", r"chronology", r"customer impact", r"impact(?: assessment)?",
    r"investigation(?: details| findings| summary)?", r"findings", r"analysis", r"evidence",
    r"resolving actions?", r"resolution", r"root causes?", r"root cause\(s\)", r"root cause analysis",
    r"root cause(?:\(s\)|s)? (?:and|&) (?:preventative|preventive) actions?",
    r"(?:preventative|preventive) actions?", r"corrective actions?", r"lessons learn(?:ed|t)",
    r"recommendations?", r"next steps", r"conclusions?", r"appendix(?: [a-z0-9]+)?", r"appendices",
    r"references", r"risk assessment", r"action items", r"stakeholders", r"escalation",
]
_KNOWN = re.compile(r"^(?:" + "|".join(KNOWN_TITLES) + r")$")


def normalise(text: str) -> str:
    """Whitespace runs (tabs, breaks) as single spaces, ends trimmed."""
    return " ".join(text.split())


def is_short(text: str) -> bool:
    return 0 < len(text) <= MAX_HEADING_CHARS and len(text.split()) <= MAX_HEADING_WORDS


def looks_like_sentence(text: str) -> bool:
    """Body text ends like a sentence; headings rarely do (a trailing colon is fine)."""
    return text.endswith((".", "!", "?", ";", ",")) and not text.endswith("..")


def reads_as_sentence(text: str, many_words: int = MAX_HEADING_WORDS) -> bool:
    """A line that reads as a sentence is body text whatever its first word: many words, or a
    full stop after several words."""
    words = len(text.split())
    return words > many_words or (text.endswith(".") and not text.endswith("..") and words >= 8)


def numbered_heading(text: str) -> tuple[int, str] | None:
    """(level, text) for '1.2 Timeline', 'A. Background', 'II. Findings'; None otherwise."""
    text = normalise(text)
    if not is_short(text) or looks_like_sentence(text):
        return None
    match = _NUMBERED.match(text)
    if not match or not match.group("title")[0].isalpha():
        return None
    if match.group("arabic"):
        return match.group("arabic").count(".") + 1, text
    if match.group("roman") is not None and match.group("roman") == "":
        return None
    return 1, text


def known_title(text: str) -> str | None:
    """The title when the whole line is a known investigation heading (any case, optional colon)."""
    text = normalise(text)
    if not text or len(text) > 60:
        return None
    candidate = text.rstrip(":").strip().lower()
    return text.rstrip(":").strip() if _KNOWN.match(candidate) else None


def label_heading(text: str) -> str | None:
    """'RC1', 'PA1a: Verify sellers' → the heading line for an investigation label, else None."""
    text = normalise(text)
    match = _LABEL.match(text)
    if not match:
        return None
    rest = match.group("rest").strip()
    if rest and len(rest.split()) > LABEL_TITLE_WORDS:
        return match.group("label")  # "PA1b: We will allow … for TMR" is a sentence: the label titles it
    if rest and is_short(rest) and not looks_like_sentence(rest):
        return f"{match.group('label')}: {rest}"
    return match.group("label")


def leading_label(text: str) -> str | None:
    """Just the label ('RC2') opening a long paragraph, else None."""
    match = _LABEL.match(text[:40].lstrip())
    return match.group("label") if match else None


def email_header_at(lines: list[str], start: int, window: int = 8) -> str | None:
    """When lines[start] opens a pasted e-mail header (From: then Sent/Date and Subject within a few
    lines), the subject (or sender) to title its section with; else None."""
    first = _EMAIL_FIELD.match(lines[start].strip()) if start < len(lines) else None
    if not first or first.group(1).lower() != "from":
        return None
    fields = {}
    for line in lines[start:start + window]:
        match = _EMAIL_FIELD.match(line.strip())
        if match:
            fields.setdefault(match.group(1).lower(), match.group(2).strip())
    if ("sent" in fields or "date" in fields) and ("subject" in fields or "to" in fields):
        subject = fields.get("subject") or fields.get("from") or ""
        return f"E-mail: {subject}"[:200] if subject else "E-mail thread"
    return None
