"""Checks over an exported .docx read straight from its zip: comment markers in every part, the text
each new comment covers, and what a file carries that would make Word fetch something."""
from __future__ import annotations

import io
import os
import re
import zipfile
from collections import Counter
from pathlib import Path
from types import SimpleNamespace

from lxml import etree

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
MARKERS = ("commentRangeStart", "commentRangeEnd", "commentReference")
ROOT = Path(__file__).resolve().parents[2]


def corpus_dir() -> Path | None:
    """../shared/corpus beside the repository (CI lays it there; a worktree one level deeper finds it
    further up); SHARED_CORPUS overrides."""
    candidates = [os.environ.get("SHARED_CORPUS")] + [p / "shared" / "corpus" for p in ROOT.parents]
    for candidate in candidates:
        if candidate and Path(candidate).is_dir():
            return Path(candidate)
    return None


def xml_parts(data: bytes) -> dict[str, etree._Element]:
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True)
    out = {}
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        for name in zf.namelist():
            if name.endswith((".xml", ".rels")):
                try:
                    out[name] = etree.fromstring(zf.read(name), parser)
                except etree.XMLSyntaxError:
                    continue
    return out


def markers(data: bytes) -> dict[str, Counter]:
    """Comment id -> how many of each marker kind, over every part of the package."""
    found: dict[str, Counter] = {}
    for root in xml_parts(data).values():
        for kind in MARKERS:
            for element in root.iter(W + kind):
                found.setdefault(element.get(W + "id"), Counter())[kind] += 1
    return found


def part_with_root(data: bytes, tag: str):
    """The part whose root element is w:``tag`` (packages may name their parts as they like)."""
    return next((root for root in xml_parts(data).values() if root.tag == W + tag), None)


def comment_ids(data: bytes) -> set[str]:
    comments = part_with_root(data, "comments")
    return set() if comments is None else {c.get(W + "id") for c in comments.iter(W + "comment")}


STORIES = {W + t for t in ("body", "txbxContent", "footnote", "endnote", "hdr", "ftr", "comment")}


def _story(element):
    parent = element.getparent()
    while parent is not None and parent.tag not in STORIES:
        parent = parent.getparent()
    return parent


def range_texts(data: bytes) -> dict[str, str]:
    """Comment id -> the text between its range markers (all w:t, hidden or not, but a phonetic
    guide's) in the body, the footnotes or the endnotes. A range must start and end in one story
    (the body, one text box, one note), as Word requires: one that does not is reported as such.
    A range that holds a phonetic guide (w:ruby, which cannot be split) is marked with a leading
    RUBY."""
    out: dict[str, str] = {}
    for tag in ("document", "footnotes", "endnotes"):
        root = part_with_root(data, tag)
        if root is None:
            continue
        open_ranges: dict[str, tuple[object, list[str]]] = {}
        for element in root.iter(W + "commentRangeStart", W + "commentRangeEnd", W + "t", W + "ruby"):
            if element.tag == W + "commentRangeStart":
                open_ranges[element.get(W + "id")] = (_story(element), [])
            elif element.tag == W + "commentRangeEnd":
                if element.get(W + "id") in open_ranges:
                    story, parts = open_ranges.pop(element.get(W + "id"))
                    same = story is _story(element)
                    out[element.get(W + "id")] = "".join(parts) if same else "<range over two stories>"
            elif element.tag == W + "ruby":
                for _, parts in open_ranges.values():
                    if not parts or parts[0] != RUBY:
                        parts.insert(0, RUBY)
            elif element.getparent().getparent().tag != W + "rt":
                for _, parts in open_ranges.values():
                    parts.append(element.text or "")
    return out


RUBY = "\x00RUBY\x00"


def note_reference_ranges(data: bytes) -> set[str]:
    """Ids of the body's comment ranges that hold a footnote or endnote reference (and no text)."""
    body = part_with_root(data, "document")
    found: set[str] = set()
    open_ranges: dict[str, list] = {}
    for element in body.iter(W + "commentRangeStart", W + "commentRangeEnd", W + "t", W + "footnoteReference",
                             W + "endnoteReference"):
        if element.tag == W + "commentRangeStart":
            open_ranges[element.get(W + "id")] = []
        elif element.tag == W + "commentRangeEnd":
            seen = open_ranges.pop(element.get(W + "id"), [])
            if seen and all(tag != W + "t" for tag in seen):
                found.add(element.get(W + "id"))
        else:
            for seen in open_ranges.values():
                seen.append(element.tag)
    return found


NOTE_LINE = re.compile(r"(?m)^(\[(?:Footnote|Endnote) \d+: )[^\n]*?(\])$")


def document_text(section_text: str, start: int, end: int) -> str:
    """The quote [start, end) of a section's text without what the extractor wrote around a note
    ("[Footnote N: " and the closing "]"), which are not characters of the document."""
    synthetic = set()
    for match in NOTE_LINE.finditer(section_text):
        for group in (1, 2):
            synthetic.update(range(match.start(group), match.end(group)))
    return "".join(ch for i, ch in enumerate(section_text[start:end], start) if i not in synthetic)


def squeeze(text: str) -> str:
    """Text without whitespace and the extractor's table layout (' | ' between cells, ' / ' between
    nested rows), which are not characters of the document."""
    return "".join(text.split()).replace("|", "").replace("/", "")


def check_new_comments(original: bytes, exported: bytes, quote_of: dict[str, str | None]) -> list[str]:
    """The new comments of ``exported``: each with exactly one range start, range end and reference,
    on an id no marker of ``original`` used, whose range covers exactly its quote (whitespace aside;
a run holding a phonetic guide is covered whole). ``quote_of`` maps
    comment text (the item's description) to its quote. Returns the new ids."""
    before = markers(original)
    after = markers(exported)
    old_comments = comment_ids(original)
    new = sorted(comment_ids(exported) - old_comments, key=int)
    texts = range_texts(exported)
    comments = part_with_root(exported, "comments")
    bodies = {c.get(W + "id"): "".join(t.text or "" for t in c.iter(W + "t")) for c in comments.iter(W + "comment")}
    for comment_id in new:
        assert comment_id not in before, f"comment {comment_id} reuses an existing marker's id"
        assert after[comment_id] == Counter({k: 1 for k in MARKERS}), (comment_id, after.get(comment_id))
        description = next(d for d in quote_of if d in bodies[comment_id])
        quote = quote_of[description]
        if quote:
            text = texts[comment_id]
            if text.startswith(RUBY):  # a phonetic guide's run is marked whole
                assert squeeze(quote) in squeeze(text), (comment_id, quote, text)
            else:
                assert squeeze(quote) == squeeze(text), (comment_id, quote, text)
    for comment_id, counts in before.items():  # the old markers are still there, untouched
        assert after.get(comment_id) == counts, (comment_id, counts, after.get(comment_id))
    return new


def item(item_id: int, section_id: int, quote: str | None, start: int | None, **extra) -> SimpleNamespace:
    """A feedback item as the exporter reads it."""
    fields = dict(id=item_id, section_id=section_id, type="important", risk_level="High", source="ai",
                  created_by=None, description=f"Finding [{item_id}].", suggestion="Say more.", questions=[],
                  hawkeye_refs=[3], quote=quote, quote_start=start, quote_end=None if start is None else start + len(quote or ""),
                  verified=quote is not None)
    fields.update(extra)
    return SimpleNamespace(**fields)
