"""Checks over an exported .docx read straight from its zip: comment markers in every part, the text
each new comment covers, and what a file carries that would make Word fetch something."""
from __future__ import annotations

import io
import os
import zipfile
from collections import Counter
from pathlib import Path
from types import SimpleNamespace

from lxml import etree

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
MARKERS = ("commentRangeStart", "commentRangeEnd", "commentReference")
ROOT = Path(__file__).resolve().parents[2]


def corpus_dir() -> Path | None:
    """../shared/corpus beside the repository (CI lays it there); SHARED_CORPUS overrides."""
    for candidate in (os.environ.get("SHARED_CORPUS"), ROOT.parent / "shared" / "corpus"):
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


def range_texts(data: bytes) -> dict[str, str]:
    """Comment id -> the text between its range markers in the body (all w:t, hidden or not)."""
    body = part_with_root(data, "document")
    out: dict[str, str] = {}
    open_ranges: dict[str, list[str]] = {}
    for element in body.iter(W + "commentRangeStart", W + "commentRangeEnd", W + "t"):
        if element.tag == W + "commentRangeStart":
            open_ranges[element.get(W + "id")] = []
        elif element.tag == W + "commentRangeEnd":
            if element.get(W + "id") in open_ranges:
                out[element.get(W + "id")] = "".join(open_ranges.pop(element.get(W + "id")))
        else:
            for parts in open_ranges.values():
                parts.append(element.text or "")
    return out


def squeeze(text: str) -> str:
    """Text without whitespace and the extractor's table layout (' | ' between cells, ' / ' between
    nested rows), which are not characters of the document."""
    return "".join(text.split()).replace("|", "").replace("/", "")


def check_new_comments(original: bytes, exported: bytes, quote_of: dict[str, str | None]) -> list[str]:
    """The new comments of ``exported``: each with exactly one range start, range end and reference,
    on an id no marker of ``original`` used, whose range text contains its quote. ``quote_of`` maps
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
            assert squeeze(quote) in squeeze(texts[comment_id]), (comment_id, quote, texts[comment_id])
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
