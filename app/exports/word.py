"""Native Word comments anchored on exactly the quoted text.

Blocks and paragraph text are found with the same functions the extractor used, so a section's
anchors (block index, offset, length) lead back to the runs that hold each quote. Runs are split at
the quote's edges by copying the run element and dividing its text; ``.text`` is never assigned on
an anchored run, so formatting, fields and existing comments stay as they were.
"""
from __future__ import annotations

import copy
import io

import docx
from docx.text.paragraph import Paragraph
from docx.text.run import Run

from app.documents.wordml import W, W_P, W_RPR, W_T, Styles, body_blocks, iter_runs, read_paragraph, run_state, run_text, table_layout

XML_SPACE = "{http://www.w3.org/XML/1998/namespace}space"


def _visible_runs(p, styles: Styles) -> list[tuple[object, int, int]]:
    """(run element, start, end) for each run of the paragraph, offsets in its extracted text."""
    style = read_paragraph(p, styles).style
    placed, position, state = [], 0, run_state(p)
    for run in iter_runs(p):
        text = run_text(run, styles, style, state)
        if text:
            placed.append((run, position, position + len(text)))
            position += len(text)
    return placed


def _split(run, at: int):
    """Split a plain-text run at character ``at``; returns the second half (or None if it cannot)."""
    texts = [c for c in run if c.tag != W_RPR]
    if len(texts) != 1 or texts[0].tag != W_T or not 0 < at < len(texts[0].text or ""):
        return None
    original = texts[0].text
    tail = copy.deepcopy(run)
    texts[0].text = original[:at]
    texts[0].set(XML_SPACE, "preserve")
    tail_t = [c for c in tail if c.tag == W_T][0]
    tail_t.text = original[at:]
    tail_t.set(XML_SPACE, "preserve")
    run.addnext(tail)
    return tail


def runs_for_range(p, start: int, end: int, styles: Styles):
    """First and last run elements covering [start, end) of the paragraph text, splitting runs."""
    placed = _visible_runs(p, styles)
    first = next(((r, s, e) for r, s, e in placed if s <= start < e), None)
    last = next(((r, s, e) for r, s, e in placed if s < end <= e), None)
    if first is None or last is None:
        return None
    first_run, first_start, _ = first
    same = last[0] is first_run
    if start > first_start:
        tail = _split(first_run, start - first_start)
        if tail is not None:
            first_run, first_start = tail, start
            if same:
                last = (tail, start, last[2])
    last_run, last_start, last_end = last
    if end < last_end:
        _split(last_run, end - last_start)
    return first_run, last_run


def _paragraph_range(block, styles: Styles, start: int, end: int):
    """Resolve [start, end) within a block's section text to (paragraph, start, end) in that paragraph."""
    if block.tag == W_P:
        text = read_paragraph(block, styles).text
        lead = len(text) - len(text.lstrip("\n"))
        return block, start + lead, end + lead
    text, places = table_layout(block, styles)
    for paragraph, at in reversed(places):
        if at <= start:
            return paragraph, start - at, end - at
    return None


def comment_text(item) -> str:
    parts = [f"[{item.type.capitalize()} · {item.risk_level} risk] {item.description}"]
    if item.suggestion:
        parts.append(f"Suggestion: {item.suggestion}")
    if item.questions:
        parts.append("Questions: " + " ".join(item.questions))
    if item.hawkeye_refs:
        parts.append("Hawkeye: " + ", ".join(str(r) for r in item.hawkeye_refs))
    if item.quote and not item.verified:
        parts.append(f"(Quote not found in the text: \u201c{item.quote[:200]}\u201d)")
    return "\n".join(parts)


def annotate_docx(original: bytes, sections: list, items: list, author_for) -> tuple[bytes, int]:
    """The original document with one native comment per item; returns (bytes, comments added)."""
    document = docx.Document(io.BytesIO(original))
    styles = Styles(document.styles.element)
    blocks = body_blocks(document.element.body)
    by_id = {s.id: s for s in sections}
    added = 0
    for item in items:
        section = by_id.get(item.section_id)
        if section is None:
            continue
        anchor = None
        if item.verified and item.quote_start is not None:
            anchor = _anchor_quote(blocks, section.anchors or [], item.quote_start, item.quote_end, styles)
        if anchor is None:
            anchor = _anchor_heading(blocks, section.anchors or [], styles)
        if anchor is None:
            continue
        (p_first, first), (p_last, last) = anchor
        runs = [Run(first, Paragraph(p_first, document._body)), Run(last, Paragraph(p_last, document._body))]
        author, initials = author_for(item)
        document.add_comment(runs, text=comment_text(item), author=author, initials=initials)
        added += 1
    out = io.BytesIO()
    document.save(out)
    return out.getvalue(), added


def _anchor_quote(blocks, anchors, start: int, end: int, styles):
    spans = [(b, o, n) for b, o, n in anchors if o >= 0 and o < end and start < o + n]
    if not spans:
        return None
    b0, o0, _ = spans[0]
    b1, o1, n1 = spans[-1]
    first = _paragraph_range(blocks[b0], styles, max(0, start - o0), min(end, o0 + spans[0][2]) - o0)
    last = _paragraph_range(blocks[b1], styles, max(0, start - o1), min(end - o1, n1))
    if first is None or last is None:
        return None
    first_runs = runs_for_range(first[0], first[1], first[2], styles)
    if b1 == b0 and last[0] is first[0]:
        return ((first[0], first_runs[0]), (first[0], first_runs[1])) if first_runs else None
    last_runs = runs_for_range(last[0], last[1], last[2], styles)
    if not first_runs or not last_runs:
        return None
    return (first[0], first_runs[0]), (last[0], last_runs[1])


def _anchor_heading(blocks, anchors, styles):
    """The section's heading paragraph (or its first paragraph, for a preamble)."""
    for block, offset, _ in anchors:
        element = blocks[block] if block < len(blocks) else None
        if element is not None and element.tag == W_P:
            placed = _visible_runs(element, styles)
            if placed:
                return (element, placed[0][0]), (element, placed[-1][0])
    return None


def anchored_texts(data: bytes) -> dict[str, str]:
    """Comment id → the text between its range markers, read back from a saved .docx (for checks)."""
    document = docx.Document(io.BytesIO(data))
    out: dict[str, str] = {}
    open_ids: dict[str, list[str]] = {}
    for element in document.element.body.iter():
        tag = element.tag
        if tag == W + "commentRangeStart":
            open_ids[element.get(W + "id")] = []
        elif tag == W + "commentRangeEnd":
            out[element.get(W + "id")] = "".join(open_ids.pop(element.get(W + "id"), []))
        elif tag == W_T:
            for parts in open_ids.values():
                parts.append(element.text or "")
    return out
