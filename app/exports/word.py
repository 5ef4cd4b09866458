"""Native Word comments anchored on exactly the quoted text.

Blocks and paragraph text are found with the same functions the extractor used, so a section's
anchors (block index, offset, length) lead back to the runs that hold each quote. Runs are split at
the quote's edges by copying the run element and dividing its text; ``.text`` is never assigned on
an anchored run, so formatting, fields and existing comments stay as they were.

Each new comment takes an id used nowhere in the package's WordprocessingML parts: files that went
through other tools often carry comment markers with no comment behind them, and an id shared with
such a marker would stretch the new comment over that unrelated passage too.
"""
from __future__ import annotations

import copy
import io
import re

import docx
from docx.text.paragraph import Paragraph
from docx.text.run import Run

from app.documents.wordml import (W, W_P, W_RPR, W_T, Styles, body_blocks, iter_runs, read_paragraph,
                                  run_state, run_text, table_layout)

from .xmltext import xml_safe

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


def run_from(p, start: int, styles: Styles):
    """The run that starts the text at ``start`` (split off when ``start`` falls inside a run; the
    next run when it falls between runs), or None."""
    placed = _visible_runs(p, styles)
    hit = next(((r, s, e) for r, s, e in placed if e > start), None)
    if hit is None:
        return None
    run, run_start, _ = hit
    if start > run_start:
        tail = _split(run, start - run_start)
        run = run if tail is None else tail
    return run


def run_to(p, end: int, styles: Styles):
    """The run that ends the text at ``end`` (split when ``end`` falls inside a run; the previous
    run when it falls between runs), or None."""
    placed = _visible_runs(p, styles)
    hit = next(((r, s, e) for r, s, e in reversed(placed) if s < end), None)
    if hit is None:
        return None
    run, run_start, run_end = hit
    if end < run_end:
        _split(run, end - run_start)
    return run


def table_places(tbl, styles: Styles) -> list[tuple[object, int]]:
    """Where each cell paragraph's stripped text starts in the table's section text."""
    return table_layout(tbl, styles)[1]


def _locate(block, styles: Styles, offset: int, *, start: bool):
    """(paragraph, offset in its text) for a character offset in a block's section text. In a table
    it is the cell paragraph where that character lies; a character of the layout between cells
    (' | ', a line break) belongs to the next cell for the start of a quote, to the cell before for
    its end."""
    if block.tag == W_P:
        text = read_paragraph(block, styles).text
        return block, offset + len(text) - len(text.lstrip("\n"))
    places = table_places(block, styles)
    if not places:
        return None
    index = max((i for i, (_, at) in enumerate(places) if at <= offset), default=0)
    paragraph, at = places[index]
    text = read_paragraph(paragraph, styles).text
    lead = len(text) - len(text.lstrip())
    if start and offset - at >= len(text.strip()) and index + 1 < len(places):
        paragraph, at = places[index + 1]  # between cells: the quote starts in the next one
        text = read_paragraph(paragraph, styles).text
        return paragraph, len(text) - len(text.lstrip())
    return paragraph, offset - at + lead


_ID_ATTRIBUTE = re.compile(rb"""[\s:]id\s*=\s*["'](\d+)["']""")
MAX_COMMENT_ID = 2**31 - 1


def used_ids(document) -> set[int]:
    """Every number an ``id`` attribute (w:id and the like) holds in any XML part under /word/: the
    body, comments, footnotes, endnotes, headers, footers, commentsExtended, commentsIds…"""
    used: set[int] = set()
    for part in document.part.package.iter_parts():
        if part.partname.startswith("/word/") and part.partname.endswith(".xml"):
            used.update(int(v) for v in _ID_ATTRIBUTE.findall(part.blob))
    return used


class CommentIds:
    """Fresh comment ids: above every id in use, or the lowest free one once that would overflow."""

    def __init__(self, used: set[int]):
        self.used = set(used)

    def take(self) -> int:
        candidate = max(self.used, default=-1) + 1
        if candidate > MAX_COMMENT_ID:
            candidate = next(i for i in range(len(self.used) + 1) if i not in self.used)
        self.used.add(candidate)
        return candidate


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
    ids = CommentIds(used_ids(document))
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
        author, initials = (xml_safe(part) for part in author_for(item))
        # Not document.add_comment: it numbers from comments.xml alone and so can reuse a dangling marker's id.
        comment = document.comments.add_comment(text=xml_safe(comment_text(item)), author=author, initials=initials)
        comment_id = ids.take()
        comment._comment_elm.id = comment_id
        runs[0].mark_comment_range(runs[1], comment_id)
        added += 1
    out = io.BytesIO()
    document.save(out)
    return out.getvalue(), added


def _anchor_quote(blocks, anchors, start: int, end: int, styles):
    """(paragraph, first run), (paragraph, last run) covering the quote [start, end) of the section
    text, which may run over several paragraphs, table cells or blocks; None when it cannot be placed."""
    spans = [(b, o, n) for b, o, n in anchors if o >= 0 and o < end and start < o + n and b < len(blocks)]
    if not spans:
        return None
    b0, o0, _ = spans[0]
    b1, o1, n1 = spans[-1]
    first = _locate(blocks[b0], styles, max(0, start - o0), start=True)
    last = _locate(blocks[b1], styles, max(0, min(end - o1, n1) - 1), start=False)  # where the quote's last character lies
    if first is None or last is None:
        return None
    first_run = run_from(first[0], first[1], styles)
    last_run = run_to(last[0], last[1] + 1, styles)
    if first_run is None or last_run is None:
        return None
    if first[0] is last[0]:
        runs = list(iter_runs(first[0]))
        if first_run in runs and last_run in runs and runs.index(first_run) > runs.index(last_run):
            return None  # the quote lies between runs (a cell separator): no run to hold it
    return (first[0], first_run), (last[0], last_run)


def _anchor_heading(blocks, anchors, styles):
    """The section's heading paragraph (or, for a preamble, its first paragraph or table cell)."""
    for block, offset, _ in anchors:
        element = blocks[block] if block < len(blocks) else None
        if element is None:
            continue
        paragraphs = [element] if element.tag == W_P else [p for p, _ in table_places(element, styles)]
        for paragraph in paragraphs:
            placed = _visible_runs(paragraph, styles)
            if placed:
                return (paragraph, placed[0][0]), (paragraph, placed[-1][0])
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
