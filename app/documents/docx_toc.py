"""Tables of contents in a .docx: TOC fields (complex or simple), TOC styles, content controls
Word made for a table of contents, links to _Toc bookmarks, and runs of lines ending in a page
number after a tab or leaders. They are never sections and their text is not sent for review."""
from __future__ import annotations

import re

from .wordml import W, W_BODY

# Lines ending in a page number after a tab or dot leaders; this many in a row are a table of contents.
TOC_RUN = 3
_PAGE_NUMBER_END = re.compile(r"(?:\t|\.{3,}|…{2,}|_{3,}|-{3,}| {3,})\s*(?:\d{1,4}|[ivxlcdm]{1,7}|[A-Z]?\d{1,3}[-–.]\d{1,4})\s*$", re.I)
_DOC_PART_GALLERY = W + "docPartGallery"


def _in_toc_control(element) -> bool:
    """Inside a content control Word made for a table of contents."""
    parent = element.getparent()
    while parent is not None and parent.tag != W_BODY:
        if parent.tag == W + "sdt":
            gallery = parent.find(f"{W}sdtPr/{W}docPartObj/{_DOC_PART_GALLERY}")
            if gallery is not None and "contents" in (gallery.get(W + "val") or "").lower():
                return True
        parent = parent.getparent()
    return False


class _TocField:
    """Tracks complex fields across paragraphs: a paragraph that opens, sits in or closes a TOC
    field is a table-of-contents line."""

    def __init__(self) -> None:
        self.stack: list[bool] = []  # one entry per open field: is it a TOC?

    def touches(self, p) -> bool:
        inside = any(self.stack)
        for el in p.iter(W + "fldChar", W + "instrText", W + "fldSimple"):
            if el.tag == W + "fldSimple":
                inside = inside or (el.get(W + "instr") or "").split()[:1] == ["TOC"]
                continue
            if el.tag == W + "instrText":
                if self.stack and (el.text or "").split()[:1] == ["TOC"]:
                    self.stack[-1] = True
                    inside = True
                continue
            kind = el.get(W + "fldCharType")
            if kind == "begin":
                self.stack.append(False)
            elif kind == "end" and self.stack:
                closed = self.stack.pop()  # popped first: `or` would skip it once inside is set
                inside = inside or closed
        return inside or any(self.stack)


def toc_lines(paras: list, blocks: list) -> set[int]:
    """Indexes of the paragraphs that belong to a table of contents."""
    found: set[int] = set()
    field = _TocField()
    run: list[int] = []
    for index, item in enumerate(paras):
        if isinstance(item, str):
            run = _flush_run(run, found)
            continue
        in_field = field.touches(blocks[index])
        text = item.text.strip()
        if item.style.role == "toc" or in_field or item.toc_link or _in_toc_control(blocks[index]):
            if text:
                found.add(index)
            continue
        if not text:
            continue
        if len(text) <= 200 and text[-1:].isalnum() and _PAGE_NUMBER_END.search(text[-24:]):
            run.append(index)
        else:
            run = _flush_run(run, found)
    _flush_run(run, found)
    return found


def _flush_run(run: list[int], found: set[int]) -> list[int]:
    if len(run) >= TOC_RUN:
        found.update(run)
    return []
