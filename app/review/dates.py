"""Dates as investigation and risk write-ups spell them, found in text and read into `date` values.

Formats: 25-Sep-2025, 25 Sep 2025, 25th September 2025, 2025-09-25, 25/09/2025 and 25.09.2025
(day first, as in the UK), September 25, 2025 and Sep 25 2025; a bare "25-Sep" or "Sep 25" takes the
year of the previous date when reading a timeline.
"""
from __future__ import annotations

import re
from datetime import date

MONTHS = {m: i for i, names in enumerate((
    ("jan", "january"), ("feb", "february"), ("mar", "march"), ("apr", "april"), ("may",), ("jun", "june"),
    ("jul", "july"), ("aug", "august"), ("sep", "sept", "september"), ("oct", "october"), ("nov", "november"),
    ("dec", "december")), start=1) for m in names}
_MONTH = r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"
_ORD = r"(?:st|nd|rd|th)?"

DATE = re.compile(
    rf"(?P<iso>\b(?P<iy>\d{{4}})-(?P<im>\d{{1,2}})-(?P<id>\d{{1,2}})\b)"
    rf"|(?P<num>\b(?P<nd>\d{{1,2}})[/.](?P<nm>\d{{1,2}})[/.](?P<ny>\d{{4}}|\d{{2}})\b)"
    rf"|(?P<dmy>\b(?P<dd>\d{{1,2}}){_ORD}[\s-]+(?:of\s+)?(?P<dm>{_MONTH})\.?(?:[\s,-]+(?P<dy>\d{{4}}|\d{{2}}(?!\d|:)))?\b)"
    rf"|(?P<mdy>\b(?P<mm>{_MONTH})\.?\s+(?P<md>\d{{1,2}}){_ORD}(?:,?\s+(?P<my>\d{{4}}))?\b(?!:\d))",
    re.I,
)
# Not a calendar date but still a due date: "Q3 2025", "end of March", "week 42", "within 30 days".
DUE_PHRASE = re.compile(
    rf"\b(?:Q[1-4]\s*(?:20)?\d{{2}}|(?:end|mid|start|beginning) of\s+(?:{_MONTH}|Q[1-4]|the (?:month|quarter|year))"
    rf"|w(?:ee)?k\s*\d{{1,2}}|within \d+ (?:working |business )?(?:days|weeks|months)|{_MONTH}\s+\d{{4}})\b",
    re.I,
)


def _year(text: str | None, default: int | None) -> int | None:
    if not text:
        return default
    value = int(text)
    return value + 2000 if value < 100 else value


def read_date(match: re.Match, default_year: int | None = None) -> date | None:
    """The `date` a DATE match names, or None when it is not a real day (31/02) or has no year."""
    g = match.groupdict()
    try:
        if g["iso"]:
            return date(int(g["iy"]), int(g["im"]), int(g["id"]))
        if g["num"]:
            return date(_year(g["ny"], default_year), int(g["nm"]), int(g["nd"]))
        if g["dmy"]:
            year = _year(g["dy"], default_year)
            return date(year, MONTHS[g["dm"].lower()], int(g["dd"])) if year else None
        year = _year(g["my"], default_year)
        return date(year, MONTHS[g["mm"].lower()], int(g["md"])) if year else None
    except (ValueError, TypeError, KeyError):
        return None


def has_date(text: str) -> bool:
    """A calendar date or a due-date phrase anywhere in ``text``."""
    return bool(DATE.search(text) or DUE_PHRASE.search(text))
