"""Finding a model's quote in the section text: exact first, then tolerant of whitespace, typographic
quote marks, dashes and case. Offsets always refer to the original text."""
from __future__ import annotations

_FOLD = {
    "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'",
    "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u2033": '"', "\u00ab": '"', "\u00bb": '"',
    "\u2013": "-", "\u2014": "-", "\u2212": "-", "\u00a0": " ", "\u2026": "...",
}


def _normalise(text: str) -> tuple[str, list[int]]:
    """Folded text and, for each of its characters, the index in ``text`` it came from."""
    out: list[str] = []
    where: list[int] = []
    in_space = False
    for index, ch in enumerate(text):
        folded = _FOLD.get(ch, ch)
        if folded.isspace():
            if not in_space and out:
                out.append(" ")
                where.append(index)
            in_space = True
            continue
        in_space = False
        for part in folded:
            out.append(part)
            where.append(index)
    while out and out[-1] == " ":
        out.pop()
        where.pop()
    return "".join(out), where


def verify_quote(quote: str | None, text: str) -> tuple[int, int] | None:
    """(start, end) of ``quote`` in ``text``, or None when it is not there."""
    if not quote or not quote.strip():
        return None
    start = text.find(quote)
    if start >= 0:
        return start, start + len(quote)
    folded_text, where = _normalise(text)
    folded_quote, _ = _normalise(quote.strip().strip('"').strip())
    if not folded_quote:
        return None
    found = folded_text.find(folded_quote)
    if found < 0:
        found = folded_text.lower().find(folded_quote.lower())
    if found < 0:
        return None
    return where[found], where[found + len(folded_quote) - 1] + 1
