"""The .docx a PDF, text or Markdown original is exported as: a heading per section, then one
paragraph per line of its text, with anchors like the extractor's so comments land on their quotes.
Characters XML cannot hold are removed from the text and the quote offsets moved with it."""
from __future__ import annotations

import io
from types import SimpleNamespace

import docx

from .xmltext import xml_safe, xml_safe_with_offsets


def _lines_with_offsets(text: str):
    offset = 0
    for line in text.split("\n"):
        yield offset, line
        offset += len(line) + 1


def prepare(sections) -> tuple[list[SimpleNamespace], dict[int, list[int]]]:
    """Section copies with XML-safe text whose anchors index the paragraphs ``build`` writes, and per
    section id the map from offsets in the stored text to offsets in the copy's text."""
    prepared, moves, block = [], {}, 0
    for section in sections:
        text, where = xml_safe_with_offsets(section.text)
        anchors = [[block, -1, 0]]
        block += 1
        for offset, line in _lines_with_offsets(text):
            anchors.append([block, offset, len(line)])
            block += 1
        prepared.append(SimpleNamespace(id=section.id, title=xml_safe(section.title), level=section.level,
                                        text=text, anchors=anchors))
        moves[section.id] = where
    return prepared, moves


def placed(items, moves: dict[int, list[int]]) -> list[SimpleNamespace]:
    """Read-only copies of the items with their quote offsets in the prepared text."""
    out = []
    for item in items:
        view = SimpleNamespace(**item.to_dict())  # to_dict carries created_by
        where = moves.get(item.section_id)
        if where is not None and item.quote_start is not None and item.quote_end is not None:
            last = len(where) - 1
            view.quote_start = where[min(max(item.quote_start, 0), last)]
            view.quote_end = where[min(max(item.quote_end, 0), last)]
        out.append(view)
    return out


def build(prepared) -> bytes:
    document = docx.Document()
    for section in prepared:
        document.add_heading(section.title, min(max(section.level, 1), 9))
        for _, line in _lines_with_offsets(section.text):
            document.add_paragraph(line)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()
