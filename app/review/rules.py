"""The offline rules reviewer: a checklist linter with exact quotes, in the model's item schema.

It is the embedded default provider and never pretends to be a model: its items say source "rules",
and each names the rule that fired (``rule`` and the item's category) and its Hawkeye point
(app/review/checklist.py). The rules are chosen to be precise rather than exhaustive; their precision
and recall on the labelled passages in tests/review/rules_cases.py are measured by ``python -m bench.rules``.

Rules (Hawkeye point):
- placeholder (13): XX-XXX-XXXX, XXXX, TBD, TBC, [NAME ...], ???, <team name> left in the text.
- action_owner_date (12): a line of an actions section without an owner or without a date
  (Owner:, Lead:, "the X team", a person's name; Due:, ECD:, Completed:, "by <date>", Q3 2025 ...).
- undefined_acronym (17): an acronym used in a section that does not define it, first use only.
- vague_quantity (17, 18): "several customers", "a number of orders": a count where a number is expected.
- timeline_order (13): a timeline entry dated before the entry above it.
- finding_without_evidence (13): a conclusion in a findings section that cites nothing.
- customer_impact (1, 8): an impact section with no figure at all.
- structure (13): an investigation write-up (incident/investigation shape) missing standard sections;
  at most one item per document, on its first section, and never for other kinds of document.
- passive_voice (12): a commitment ("X will be implemented") with nobody named; at most one per section,
  only in a section with another finding (so never the majority of items), never in an actions section
  (the owner rule covers those).
"""
from __future__ import annotations

import json
import re

from .dates import DATE, has_date, read_date

RULES = {
    "placeholder": ("Placeholder", 13), "action_owner_date": ("Action owner and date", 12),
    "undefined_acronym": ("Undefined acronym", 17), "vague_quantity": ("Vague quantity", 17),
    "timeline_order": ("Timeline order", 13), "finding_without_evidence": ("Evidence", 13),
    "customer_impact": ("Customer impact", 1), "structure": ("Structure", 13), "passive_voice": ("Passive voice", 12),
}

_PLACEHOLDER = re.compile(
    r"\bX{2,}(?:[-/]X+)*\b|\b(?:TBD|TBC|TODO|FIXME)\b|\?{3,}"
    r"|\[[^\[\]\n]{0,80}\b(?:NAME|DATE|OWNER|INSERT|TBD|TBC|AMOUNT|NUMBER|PLACEHOLDER|ENTER|X{2,})\b[^\[\]\n]{0,80}\]"
    r"|<\s*[A-Za-z][A-Za-z _/-]{1,60}>",
    re.I,
)
_PLACEHOLDER_CASED = re.compile(r"\b(?:TBD|TBC|TODO|FIXME)\b|\bX{2,}")  # words that are only placeholders in capitals

_ACTION_TITLE = re.compile(r"action|prevent|recommend|next step|corrective|mitigation|remediation|follow[- ]up", re.I)
_TIMELINE_TITLE = re.compile(r"timeline|chronology|sequence of events", re.I)
_FINDINGS_TITLE = re.compile(r"finding|conclusion|assessment of|analysis", re.I)
_IMPACT_TITLE = re.compile(r"\bimpact\b", re.I)
_OWNER = re.compile(
    r"(?i:\b(?:owners?\b|owned by|lead:|responsible(?: party)?:|accountable:|assigned to|action(?:ed)? by|raised by))"
    r"|\b(?:the\s+)?[A-Z][\w&-]*(?:\s+[A-Z][\w&-]*)*\s+(?:team|function|department|squad|group|lead|manager|director|officer)\b"
    r"|\b(?:the\s+)?(?:[a-z]+\s+)?(?:team|department|squad|function)\s+(?:will|to|is to|owns)\b"
    r"|@\w+|\b[A-Z][a-z]+\s[A-Z][a-z]+\s+(?:will|to|is to)\b"
    r"|\b[A-Z][a-z]+ [A-Z][a-z]+ \((?:[A-Z][\w ]*)\)"
)
# A statement ("The go-live date is TBD.") is not an action; a line that starts with a verb or commits
# someone ("will", "to", "should") is.
_ACTION_LINE = re.compile(r"^(?![-*•\d.)\s]*(?:the|a|an|this|these|that|it|there|we|our)\b)|\b(?:will|to|should|must|needs? to|shall)\s+\w",
                          re.I)
_DONE = re.compile(r"\b(?:completed|closed|done|implemented on)\b[:\s]", re.I)
_ACRONYM = re.compile(r"\b[A-Z][A-Z0-9&]{1,5}s?\b")
_COMMON_ACRONYMS = frozenset(
    "UK US USA EU UN ID OK PDF CEO CFO COO CTO IT HR AM PM UTC GMT BST CET FAQ URL API NA N/A TBD TBC TODO FIXME "
    "CSV PDF HTML SQL AWS USD GBP EUR VAT PO PR QA Q1 Q2 Q3 Q4 AI ML MD ISO GDPR IBAN NB PS OR AND THE A I II III IV "
    "VI VII VIII IX X XI XII NO YES FY H1 H2 MR MRS MS DR SMS PIN XS XL XXL XXXL XML JSON USB CPU RAM GPS DNA "
    "TV PC IP UI UX OS CCTV".split())
MAX_ACRONYMS_PER_SECTION = 2  # a suggestion, not a wall: the first two undefined ones in a section
_VAGUE = re.compile(
    r"\b(?:several|some(?: of the)?|a number of|a few|many(?: of the)?|numerous|multiple|a handful of|a couple of|a lot of|lots of|"
    r"a large number of|a small number of|a significant number of|a majority of|most(?: of the)?)\s+(?:[a-z-]+\s+)?"
    r"(?:customers?|sellers?|buyers?|orders?|accounts?|cases?|complaints?|users?|items?|units?|days|weeks|hours|months|incidents?|"
    r"tickets?|appeals?|listings?|products?|transactions?|refunds?|escalations?|batches|lots|sites?|deviations?|staff|employees|"
    r"people|patients|times|occasions|instances|records|errors|defects|reports|samples|shipments|packages|calls|emails|"
    r"contacts|claims|payments|invoices|reviews|audits|findings|members|agents|investigators|stores|suppliers|vendors)\b",
    re.I,
)
_PASSIVE = re.compile(
    r"\b(?:will|shall|is to|are to|is going to|are going to)\s+be\s+(?:\w+ly\s+)?"
    r"(?:implemented|introduced|added|reviewed|updated|fixed|rolled out|put in place|completed|created|trained|"
    r"communicated|investigated|monitored|escalated|developed|deployed|improved|revised|amended|set up|established|"
    r"carried out|conducted|addressed|resolved|raised|issued|refreshed|enhanced|strengthened|assessed|launched|"
    r"considered|explored|looked into|followed up)\b(?![^.\n]*\bby\s+(?:the\s+)?[A-Z])",
    re.I,
)
_CONCLUSION = re.compile(
    r"\b(?:we|the team|the investigation|the review|investigators?|it was)\s+(?:found|concluded|determined|established|"
    r"confirmed|believes?|identified|decided)\b|\b(?:was|were|is|are)\s+(?:a bad actor|bad actors|at fault|responsible for|"
    r"negligent|fraudulent|non-compliant|the cause)\b",
    re.I,
)
_EVIDENCE = re.compile(
    r"\d|\b(?:see|evidence|according to|per the|shown in|shows|showed|logs?|records?|audit|screenshots?|annex|appendix|"
    r"ref(?:erence)?|attached|data|emails?|statements?|interview(?:s|ed)?|photos?|report|ticket|documented|recorded in|"
    r"CCTV|footage|trace|sample)\b",
    re.I,
)
_INVESTIGATION_TITLE = re.compile(r"timeline|chronology|root cause|incident|investigation|what happened|five whys|"
                                  r"customer impact|lessons learned|correction of error|post[- ]?mortem", re.I)
_INVESTIGATION_TEXT = re.compile(r"\b(?:this|the)\s+(?:incident|investigation|post[- ]?mortem|correction of errors?)\b"
                                 r"|\bincident (?:report|review)\b|\broot cause analysis\b", re.I)
STANDARD_SECTIONS = {
    "Background": re.compile(r"background|introduction|context|overview|summary", re.I),
    "Timeline": _TIMELINE_TITLE,
    "Root cause": re.compile(r"root cause|cause analysis|why it happened|five whys", re.I),
    "Actions": _ACTION_TITLE,
}


def _item(rule, kind, description, suggestion, risk, quote, confidence, refs=None, questions=None):
    category, point = RULES[rule]
    return {"rule": rule, "type": kind, "category": category, "description": description, "suggestion": suggestion,
            "example": None, "questions": questions or [], "hawkeye_refs": refs or [point], "risk_level": risk,
            "confidence": confidence, "quote": quote}


def _lines(text: str):
    """(line, start) of each non-blank line, stripped: exact substrings of ``text``."""
    offset = 0
    for raw in text.split("\n"):
        line = raw.strip()
        if line:
            yield line, offset + raw.index(line)
        offset += len(raw) + 1


def _sentences(text: str):
    for line, _ in _lines(text):
        for match in re.finditer(r"[^.!?]+(?:[.!?](?=\s|$)|$)", line):
            sentence = match.group(0).strip()
            if sentence:
                yield sentence


def placeholders(text: str) -> list[dict]:
    found, seen = [], set()
    for match in _PLACEHOLDER.finditer(text):
        quote = match.group(0)
        if re.fullmatch(r"\w+", quote) and not _PLACEHOLDER_CASED.fullmatch(quote):
            continue  # "tbd" or "xx" in lower case is a word, not a placeholder
        if quote in seen:
            continue
        seen.add(quote)
        found.append(_item("placeholder", "critical", f"Placeholder left in the text: \u201c{quote}\u201d.",
                           "Replace the placeholder with the real value before the document is shared.", "High", quote, 0.95))
    return found


def actions(title: str, text: str) -> list[dict]:
    if not _ACTION_TITLE.search(title):
        return []
    found = []
    for line, _ in _lines(text):
        if len(line) < 20 or line.endswith(":") or not re.search(r"[a-z]{3}", line) or not _ACTION_LINE.search(line):
            continue
        owner = bool(_OWNER.search(line))
        dated = has_date(line) or bool(_DONE.search(line) and DATE.search(line))
        if owner and dated:
            continue
        missing = " and ".join(w for w, ok in (("an owner", owner), ("a due date", dated)) if not ok)
        found.append(_item("action_owner_date", "important", f"Action without {missing}.",
                           "Give every action a named owner and a due date (\u201cOwner: Payments team; Due: 30-Jun-2026\u201d).",
                           "High", line, 0.8))
    return found


def _initials_fit(acronym: str, words: str) -> bool:
    """Whether ``words`` could spell out ``acronym``: it starts with the acronym's first letter and has
    about as many words as the acronym has letters."""
    parts = re.findall(r"[A-Za-z][\w'-]*", words)
    return bool(parts) and parts[0][0].lower() == acronym[0].lower() and len(parts) >= max(2, len(acronym) - 2) \
        and ":" not in words


def _defined(acronym: str, text: str) -> bool:
    """"Full name (ABC)", "ABC (full name)", "ABC: full name", "ABC means/stands for …"."""
    stem = re.escape(acronym)
    if re.search(rf"\({stem}s?\)|\b{stem}s?\s+(?:means|stands for|is short for)\b", text):
        return True
    spelled = re.finditer(rf"\b{stem}s?\s*(?:\(([^()\n]{{3,80}})\)|[:=]\s*([A-Za-z][^.;()\n]{{3,80}}))", text)
    return any(_initials_fit(acronym, m.group(1) or m.group(2)) for m in spelled)


def _shouted(line: str, match: re.Match) -> bool:
    """Part of a run of words in capitals ("ALFA BRAVO", "DO NOT SHIP"), or a long capitalised word."""
    # Only neighbours with nothing but a space between: "SIM, KYC and AML" is a list of acronyms.
    before = re.search(r"([A-Za-z]+) $", line[:match.start()])
    after = re.match(r" ([A-Za-z]+)", line[match.end():])
    neighbours = [m.group(1) for m in (before, after) if m]
    return any(len(w) >= 2 and w.isupper() for w in neighbours) or len(match.group(0)) >= 6


def acronyms(title: str, text: str) -> list[dict]:
    if re.search(r"acronym|abbreviation|glossary|definitions|terms used", title, re.I):
        return []  # the section that defines them
    found, seen = [], set()
    text = _PLACEHOLDER.sub(lambda m: " " * len(m.group(0)), text)  # "[NAME of …]" is a placeholder, not an acronym
    for line, _ in _lines(text):
        letters = [c for c in line if c.isalpha()]
        if letters and sum(c.isupper() for c in letters) > 0.6 * len(letters):
            continue  # a heading or a line in capitals
        for match in _ACRONYM.finditer(line):
            word = match.group(0)
            if line[match.end():match.end() + 1] == "-" or line[max(0, match.start() - 1):match.start()] == "-":
                continue  # part of a name such as "REs-Q" or "COVID-19"
            base = word[:-1] if word.endswith("s") and len(word) > 2 else word
            if base in _COMMON_ACRONYMS or word in _COMMON_ACRONYMS or base in seen or re.fullmatch(r"X+|[A-Z]\d+|\d.*", base):
                continue
            if not re.search(r"[A-Z].*[A-Z]", base) or _defined(base, text) or _defined(base, title):
                continue
            if _shouted(line, match) or re.search(rf"\b{re.escape(base.lower())}\b", text):
                continue  # a word in capitals ("ANYONE", "TITLE"), not an acronym
            seen.add(base)
            if len(found) >= MAX_ACRONYMS_PER_SECTION:
                return found
            found.append(_item("undefined_acronym", "suggestion", f"Acronym \u201c{word}\u201d is used without being defined.",
                               f"Spell it out at first use: \u201cfull name ({base})\u201d.", "Low", word, 0.75))
    return found


def vague_quantities(text: str) -> list[dict]:
    return [_item("vague_quantity", "important", f"Vague quantity: \u201c{m.group(0)}\u201d where a number is expected.",
                  "State the exact number, or the range and how it was counted.", "Medium", m.group(0), 0.8, [17, 18])
            for m in _VAGUE.finditer(text)]


def timeline_order(title: str, text: str) -> list[dict]:
    if not _TIMELINE_TITLE.search(title):
        return []
    found, previous, year = [], None, None
    for line, _ in _lines(text):
        match = DATE.search(line[:40])
        if not match:
            continue
        when = read_date(match, year)
        if when is None:
            continue
        year = when.year
        if previous is not None and when < previous:
            found.append(_item("timeline_order", "important",
                               f"Timeline entry dated {match.group(0)} comes after a later date.",
                               "Put the entries in date order, or correct the date.", "Medium", line, 0.85))
        previous = max(previous or when, when)
    return found


def findings_without_evidence(title: str, text: str) -> list[dict]:
    if not _FINDINGS_TITLE.search(title):
        return []
    return [_item("finding_without_evidence", "important", "A conclusion is stated without the evidence for it.",
                  "Cite what shows it: the record, log, ticket, statement or data, with its reference.", "Medium",
                  s, 0.7, [13, 2]) for s in _sentences(text) if _CONCLUSION.search(s) and not _EVIDENCE.search(s)]


def customer_impact(title: str, text: str) -> list[dict]:
    if not _IMPACT_TITLE.search(title) or not text.strip() or re.search(r"\d", text):
        return []
    first = next(_sentences(text), None)
    return [_item("customer_impact", "important", "The impact is not quantified.",
                  "Give the number of customers, orders or the amount affected.", "High", first, 0.8, [1, 8])]


def passive_voice(title: str, text: str) -> list[dict]:
    if _ACTION_TITLE.search(title):
        return []
    for sentence in _sentences(text):
        match = _PASSIVE.search(sentence)
        if match and not _OWNER.search(sentence):
            return [_item("passive_voice", "suggestion", "Passive voice hides who will do this.",
                          "Name the owner and the due date (\u201cThe payments team will \u2026 by 30 June\u201d).", "Low",
                          match.group(0), 0.7)]
    return []


def is_investigation(titles: list[str], text: str) -> bool:
    """An incident or investigation write-up: two investigation headings, or one and the text says so."""
    shaped = sum(1 for t in titles if _INVESTIGATION_TITLE.search(t))
    return shaped >= 2 or (shaped >= 1 and bool(_INVESTIGATION_TEXT.search(text)))


def structure(titles: list[str], text: str) -> list[dict]:
    if not is_investigation(titles, text):
        return []
    joined = " | ".join(titles)
    missing = [name for name, pattern in STANDARD_SECTIONS.items() if not pattern.search(joined)]
    if not missing:
        return []
    listed = ", ".join(missing[:-1]) + (" and " if len(missing) > 1 else "") + missing[-1]
    return [_item("structure", "important", f"This investigation write-up has no {listed} section"
                  f"{'s' if len(missing) > 1 else ''}.", f"Add {listed}.", "Medium", None, 0.85)]


def review_section(title: str, text: str, all_titles: list[str] | None = None, first: bool = False) -> list[dict]:
    """Every rule over one section. ``all_titles`` and ``first`` let the first section carry the one
    document-level structure item."""
    items = placeholders(text) + actions(title, text) + timeline_order(title, text) + vague_quantities(text)
    items += findings_without_evidence(title, text) + customer_impact(title, text) + acronyms(title, text)
    if items:
        # Style is secondary: at most one passive-voice item, and only beside a finding of substance, so
        # style items are never more than half of a section's items, nor so of a document's.
        items += passive_voice(title, text)
    if first and all_titles:
        items += structure(all_titles, text)
    return items


def offline_analysis(task: dict) -> str:
    """The offline provider's answer to an analysis task, in the model's JSON format."""
    items = review_section(task.get("section_title", ""), task.get("section_text", ""),
                           task.get("all_titles"), bool(task.get("first_section")))
    return json.dumps({"feedback_items": items})
