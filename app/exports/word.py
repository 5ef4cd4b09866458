"""Native Word comments anchored on exactly the quoted text.

Blocks and their text are read with the same functions the extractor used (``read_body``), so a
section's anchors (block index, offset, length) lead back to the runs that hold each quote: the
body's own paragraphs, table cells and the paragraphs of text boxes (the DrawingML copy Word shows,
never its VML fallback as well). Runs are split at the quote's edges by copying the run element and
dividing its text; ``.text`` is never assigned on an anchored run, so formatting, fields and existing
comments stay as they were.

A comment's range starts and ends in one story (the body, one text box). Footnotes and endnotes are
read as section text, but a comment inside a note makes LibreOffice (7.4) refuse the whole file, so
a quote there gets its comment on the run that cites the note, saying so. Whatever is not on its
whole quote is never quietly put elsewhere: the comment says where it is (the section's heading,
the note's reference, the part of the quote in the story where it starts) and the result lists the
item (``WordExport.unplaced``).

Each new comment takes an id used nowhere in the package's WordprocessingML parts: files that went
through other tools often carry comment markers with no comment behind them, and an id shared with
such a marker would stretch the new comment over that unrelated passage too.
"""
from __future__ import annotations

import copy
import io
import posixpath
import re
from dataclasses import dataclass, field

import docx
from docx.opc.part import XmlPart
from lxml import etree

from app.documents.docx_package import NOTE_KINDS, read_body
from app.documents.wordml import (W, W_RPR, W_T, Styles, iter_runs, parse_xml, read_paragraph, run_state,
                                  run_text, story_of, table_layout)

from .xmltext import xml_safe

XML_SPACE = "{http://www.w3.org/XML/1998/namespace}space"


def own_text(p, styles: Styles) -> str:
    """The text of the paragraph's own runs (not its text boxes), as the extractor reads it."""
    style = read_paragraph(p, styles).style
    state = run_state(p)
    return "".join(run_text(run, styles, style, state) for run in iter_runs(p))


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


_ONE_CHARACTER = {W + "tab", W + "br", W + "cr", W + "noBreakHyphen"}


def _length(child) -> int:
    """How many characters of the run's text (as run_text reads it) a child of a run holds."""
    if child.tag == W_T:
        return len(child.text or "")
    if child.tag in _ONE_CHARACTER:
        return 1
    if child.tag == W + "ruby":
        base = child.find(W + "rubyBase")
        return sum(len(t.text or "") for t in base.iter(W_T)) if base is not None else 0
    return 0


def _split(run, at: int):
    """Split a run at character ``at`` of its text; returns the second half (or None if it cannot:
    inside a phonetic guide). Text, tabs and breaks before the point stay in ``run``, the rest go
    to a copy placed after it, with the same properties."""
    content = [c for c in run if c.tag != W_RPR]
    position, index, cut = 0, None, 0
    for i, child in enumerate(content):
        length = _length(child)
        if position + length > at:
            if position < at and child.tag != W_T:
                return None
            index, cut = i, at - position
            break
        position += length
    if index is None or at <= 0:
        return None
    tail = copy.deepcopy(run)
    tail_content = [c for c in tail if c.tag != W_RPR]
    for child in content[index + 1 if cut else index:]:
        run.remove(child)
    for child in tail_content[:index]:
        tail.remove(child)
    if cut:
        head_t, tail_t = content[index], tail_content[index]
        original = head_t.text or ""
        head_t.text, tail_t.text = original[:cut], original[cut:]
        head_t.set(XML_SPACE, "preserve")
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


class _Layout:
    """The document as the extractor read it: for each body block, where the own runs of each
    paragraph that makes its text (the block's, its text boxes', its notes', its cells') sit."""

    def __init__(self, document):
        self.styles = Styles(document.styles.element)
        self.blocks, self.paras = read_body(document.element.body, self.styles, note_roots(document))
        self.cited = {e: ref for para in self.paras if not isinstance(para, str) for e, ref in para.cited.items()}
        self._places: dict[int, list] = {}

    def places(self, index: int) -> list:
        """(w:p, offset of its own text, start, end of its visible characters) in the block's text
        as a section stores it: what the extractor stripped around a line is no character of it."""
        if index not in self._places:
            item = self.paras[index]
            text, places = (item.text, item.places) if not isinstance(item, str) else table_layout(self.blocks[index], self.styles)
            lead = len(text) - len(text.lstrip("\n"))  # the section text has the block's leading newlines stripped
            regions = []
            for element, start, length in places:
                own = own_text(element, self.styles)
                first, last = len(own) - len(own.lstrip()), len(own.rstrip())
                if last > first:
                    regions.append((element, start - lead, start - lead + first, start - lead + last))
            self._places[index] = regions
        return self._places[index]


def note_roots(document) -> dict:
    """kind -> the root element of the main part's footnotes and endnotes, found as the extractor
    finds them (relationship, else the conventional name beside the main part)."""
    main = document.part
    by_name = {str(part.partname): part for part in main.package.iter_parts()}
    found = {}
    for kind, rel_suffix, default in NOTE_KINDS:
        part = next((rel.target_part for rel in main.rels.values()
                     if not rel.is_external and rel.reltype.endswith(rel_suffix)), None)
        if part is None:
            part = by_name.get(posixpath.join(posixpath.dirname(str(main.partname)), default))
        if part is not None:
            found[kind] = part.element if isinstance(part, XmlPart) else parse_xml(part.blob, str(part.partname))
    return found


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


NOT_ON_QUOTE_NOTE = "(The quoted text could not be marked in this file; this comment sits on the section heading.)"
NOTE_REFERENCE_NOTE = "(The quoted text is in {label}; this comment marks the note's reference.)"
PART_OF_QUOTE_NOTE = "(Only the start of the quoted text is marked: the rest is in a text box or note of its own.)"


@dataclass
class WordExport:
    data: bytes
    comments: int  # comments added
    # Items whose comment is not on their whole quote: {"item_id", "comment": "on_heading" (the quote
    # could not be marked: the comment is on the heading and says so), "on_note_reference" (the quote
    # is in a footnote or endnote: the comment marks the note's reference and says so),
    # "on_part_of_quote" (the quote runs over two stories: the comment covers the part where it
    # starts) or "none" (no comment)}.
    unplaced: list[dict] = field(default_factory=list)


def annotate_docx(original: bytes, sections: list, items: list, author_for) -> WordExport:
    """The original document with one native comment per item, and what could not be placed."""
    document = docx.Document(io.BytesIO(original))
    layout = _Layout(document)
    by_id = {s.id: s for s in sections}
    ids = CommentIds(used_ids(document))
    added, unplaced = 0, []
    for item in items:
        section = by_id.get(item.section_id)
        anchors = (section.anchors or []) if section is not None else []
        anchor, note, where = None, None, None
        if item.verified and item.quote_start is not None and item.quote_end is not None:
            anchor, where, note = _anchor_quote(layout, anchors, item.quote_start, item.quote_end)
        if anchor is None:
            anchor = _anchor_heading(layout, anchors)
        if anchor is None:
            unplaced.append({"item_id": item.id, "comment": "none"})
            continue
        if where:
            unplaced.append({"item_id": item.id, "comment": where})
        first, last = anchor
        author, initials = (xml_safe(part) for part in author_for(item))
        text = comment_text(item) + ("\n" + note if note else "")
        # Not document.add_comment: it numbers from comments.xml alone and so can reuse a dangling marker's id.
        comment = document.comments.add_comment(text=xml_safe(text), author=author, initials=initials)
        comment_id = ids.take()
        comment._comment_elm.id = comment_id
        mark_range(first, last, comment_id)
        added += 1
    out = io.BytesIO()
    document.save(out)
    return WordExport(out.getvalue(), added, unplaced)


def mark_range(first, last, comment_id: int) -> None:
    """A comment's range from run ``first`` to run ``last`` (inclusive) and its reference after it,
    as python-docx's Run.mark_comment_range writes them."""
    first.addprevious(first.makeelement(W + "commentRangeStart", {W + "id": str(comment_id)}))
    reference = last.makeelement(W + "r", {})
    rpr = etree.SubElement(reference, W_RPR)
    etree.SubElement(rpr, W + "rStyle", {W + "val": "CommentReference"})
    etree.SubElement(reference, W + "commentReference", {W + "id": str(comment_id)})
    last.addnext(reference)
    last.addnext(last.makeelement(W + "commentRangeEnd", {W + "id": str(comment_id)}))


def _quote_places(layout: _Layout, anchors, start: int, end: int) -> list:
    """(w:p, offset of its own text, start, end of its visible characters), in section offsets, of
    each paragraph the quote [start, end) touches."""
    touched = []
    for block, offset, length in anchors:
        if offset < 0 or block >= len(layout.blocks) or offset >= end or start >= offset + length:
            continue
        for element, origin, s, e in layout.places(block):
            s, e = max(s, 0) + offset, min(e, length) + offset
            if s < end and start < e:
                touched.append((element, origin + offset, s, e))
    return touched


def _anchor_quote(layout: _Layout, anchors, start: int, end: int):
    """(first run, last run) for a comment on the quote [start, end) of the section text, which may
    run over several paragraphs, table cells or blocks; then how that falls short of the quote
    (None: it covers it all) and what the comment says of it:
    - in a footnote or endnote, the run that cites the note ("on_note_reference": Word allows
      comments inside notes, but LibreOffice then refuses to open the whole file);
    - over two stories, the part in the story where it starts ("on_part_of_quote");
    - nothing where no run holds it ("on_heading": the caller puts it on the heading)."""
    touched = _quote_places(layout, anchors, start, end)
    if not touched:
        return None, "on_heading", NOT_ON_QUOTE_NOTE
    p_first, origin_first, s_first, _ = touched[0]
    if p_first in layout.cited:
        reference, label = layout.cited[p_first]
        return (reference, reference), "on_note_reference", NOTE_REFERENCE_NOTE.format(label=label)
    story = story_of(p_first)
    same = [t for t in touched if story_of(t[0]) is story]
    p_last, origin_last, _, e_last = same[-1]
    first_run = run_from(p_first, max(start, s_first) - origin_first, layout.styles)
    last_run = run_to(p_last, min(end, e_last) - origin_last, layout.styles)
    if first_run is None or last_run is None:
        return None, "on_heading", NOT_ON_QUOTE_NOTE
    if p_first is p_last:
        runs = list(iter_runs(p_first))
        if first_run in runs and last_run in runs and runs.index(first_run) > runs.index(last_run):
            return None, "on_heading", NOT_ON_QUOTE_NOTE  # the quote lies between runs (a cell separator)
    if story_of(touched[-1][0]) is not story:
        return (first_run, last_run), "on_part_of_quote", PART_OF_QUOTE_NOTE
    return (first_run, last_run), None, None


def _anchor_heading(layout: _Layout, anchors):
    """The section's heading paragraph (or, for a preamble, its first paragraph, cell or text box
    with text, or the reference of its first note)."""
    for block, _, _ in anchors:
        if block >= len(layout.blocks):
            continue
        for paragraph, _, _, _ in layout.places(block):
            if paragraph in layout.cited:
                reference = layout.cited[paragraph][0]
                return reference, reference
            placed = _visible_runs(paragraph, layout.styles)
            if placed:
                return placed[0][0], placed[-1][0]
    return None


def anchored_texts(data: bytes) -> dict[str, str]:
    """Comment id → the text between its range markers, read back from a saved .docx's body,
    footnotes and endnotes (for checks)."""
    document = docx.Document(io.BytesIO(data))
    roots = [document.element.body, *note_roots(document).values()]
    out: dict[str, str] = {}
    for root in roots:
        open_ids: dict[str, list[str]] = {}
        for element in root.iter(W + "commentRangeStart", W + "commentRangeEnd", W_T):
            if element.tag == W + "commentRangeStart":
                open_ids[element.get(W + "id")] = []
            elif element.tag == W + "commentRangeEnd":
                out[element.get(W + "id")] = "".join(open_ids.pop(element.get(W + "id"), []))
            else:
                for parts in open_ids.values():
                    parts.append(element.text or "")
    return out
