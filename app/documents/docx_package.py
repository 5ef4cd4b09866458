"""The parts of a .docx package the extractor reads besides styles: the main document wherever the
package relationships put it, and its footnotes and endnotes, attached after the paragraph that
cites them."""
from __future__ import annotations

import posixpath
from dataclasses import dataclass

from .errors import IntakeError
from .wordml import (W, W_P, W_TXBX, Para, Styles, body_blocks, in_fallback, parse_xml, read_paragraph,
                     table_text)

_OFFICE_DOCUMENT = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument"
_STRICT_OFFICE_DOCUMENT = "http://purl.oclc.org/ooxml/officeDocument/relationships/officeDocument"
_REL = "{http://schemas.openxmlformats.org/package/2006/relationships}Relationship"
STYLES_REL = "/styles"


def main_part(names, read_part) -> str | None:
    """Where the package's relationships put the main document (word/document.xml unless they say
    otherwise); None when there is none."""
    if "_rels/.rels" in names:
        try:
            rels = parse_xml(read_part("_rels/.rels"), "_rels/.rels")
        except IntakeError:
            rels = None
        for rel in rels.iter(_REL) if rels is not None else ():
            if rel.get("Type") in (_OFFICE_DOCUMENT, _STRICT_OFFICE_DOCUMENT) and rel.get("TargetMode") != "External":
                target = posixpath.normpath((rel.get("Target") or "").lstrip("/"))
                if target in names:
                    return target
    return "word/document.xml" if "word/document.xml" in names else None


def styles_part(names, read_part, main: str) -> str | None:
    folder, name = posixpath.split(main)
    rels_name = posixpath.join(folder, "_rels", name + ".rels")
    if rels_name in names:
        for rel in parse_xml(read_part(rels_name), rels_name).iter(_REL):
            if (rel.get("Type") or "").endswith(STYLES_REL) and rel.get("TargetMode") != "External":
                target = posixpath.normpath(posixpath.join(folder, rel.get("Target") or ""))
                if target in names:
                    return target
    candidate = posixpath.join(folder, "styles.xml")
    return candidate if candidate in names else None


# (kind, relationship type suffix, the conventional part name beside the main part)
NOTE_KINDS = (("footnote", "/footnotes", "footnotes.xml"), ("endnote", "/endnotes", "endnotes.xml"))


def related_parts(names, read_part, main: str) -> dict[str, str]:
    """Relationship type suffix -> part name, for the main part's relationships."""
    folder, name = posixpath.split(main)
    rels_name = posixpath.join(folder, "_rels", name + ".rels")
    found: dict[str, str] = {}
    if rels_name in names:
        for rel in parse_xml(read_part(rels_name), rels_name).iter(_REL):
            if rel.get("TargetMode") == "External":
                continue
            target = posixpath.normpath(posixpath.join(folder, rel.get("Target") or ""))
            if target in names:
                found.setdefault("/" + (rel.get("Type") or "").rsplit("/", 1)[-1], target)
    return found


def note_parts(names, related: dict[str, str], main: str) -> dict[str, str]:
    """kind ("footnote", "endnote") -> the name of the part that holds those notes."""
    found: dict[str, str] = {}
    folder = posixpath.dirname(main)
    for kind, rel_type, default in NOTE_KINDS:
        part = related.get(rel_type) or (posixpath.join(folder, default) if posixpath.join(folder, default) in names else None)
        if part is not None:
            found[kind] = part
    return found


@dataclass
class Note:
    text: str
    places: list  # as Para.places: where each of the note's paragraphs' own runs sit in ``text``


def notes_in(roots: dict, styles: Styles) -> dict[tuple[str, str], Note]:
    """(kind, id) -> each footnote and endnote of the parsed notes parts (kind -> root element),
    its paragraphs joined by spaces."""
    notes: dict[tuple[str, str], Note] = {}
    for kind, root in roots.items():
        for note in root.iterchildren(W + kind):
            if note.get(W + "type") in ("separator", "continuationSeparator", "continuationNotice"):
                continue
            lines: list[str] = []
            places: list = []
            position = 0
            for p in note.iter(W_P):
                if in_text_box(p, note):
                    continue  # read with the paragraph its text box is anchored in
                para = read_paragraph(p, styles)
                line = para.text.strip()
                if not line:
                    continue
                if lines:
                    position += 1
                lead = len(para.text) - len(para.text.lstrip())
                places += [(e, position + start - lead, n) for e, start, n in para.places]
                lines.append(line)
                position += len(line)
            if lines:
                notes[(kind, note.get(W + "id") or "")] = Note(" ".join(lines), places)
    return notes


def in_text_box(element, stop) -> bool:
    parent = element.getparent()
    while parent is not None and parent is not stop:
        if parent.tag == W_TXBX:
            return True
        parent = parent.getparent()
    return False


def attach_notes(paras: list, blocks: list, notes: dict) -> None:
    """Each footnote or endnote becomes a line "[Footnote N: text]" after the text of the paragraph
    that cites it (after the paragraph's own runs and text boxes, so their offsets stay as they
    were; ``places`` says where the note's own runs sit, ``cited`` which run cites it); a note cited
    in a heading goes with the next paragraph of body text. A reference in the VML fallback copy of a text box is the same
    reference as in the copy Word shows, and is read once."""
    counters = {"footnote": 0, "endnote": 0}
    pending: list[tuple[str, list, dict]] = []
    for index, item in enumerate(paras):
        if not isinstance(item, Para):
            continue
        for ref in blocks[index].iter(W + "footnoteReference", W + "endnoteReference"):
            kind = "footnote" if ref.tag == W + "footnoteReference" else "endnote"
            note = notes.get((kind, ref.get(W + "id") or ""))
            if note and not in_fallback(ref, blocks[index]):
                counters[kind] += 1
                prefix = f"[{kind.capitalize()} {counters[kind]}: "
                pending.append((f"{prefix}{note.text}]", [(e, start + len(prefix), n) for e, start, n in note.places],
                                {e: (ref.getparent(), f"{kind} {counters[kind]}") for e, _, _ in note.places}))
        if pending and (item.style.outline is None or item.style.outline >= 9) and not item.style.role:
            if item.text.strip():
                lines, position = [item.text.rstrip("\n")], len(item.text.rstrip("\n")) + 1
            else:
                lines, position, item.places = [], 0, []
            for line, places, cited in pending:
                item.places = item.places + [(e, start + position, n) for e, start, n in places]
                item.cited.update(cited)
                lines.append(line)
                position += len(line) + 1
            item.text = "\n".join(lines)
            pending = []


def read_body(body, styles: Styles, note_roots: dict) -> tuple[list, list]:
    """The body's blocks and, for each, its text as the extractor reads it: a Para (footnotes and
    endnotes attached) or, for a table, its lines. The Word export reads the same way, so that a
    section's anchors lead back to the same elements."""
    blocks = body_blocks(body)
    paras: list = [read_paragraph(el, styles) if el.tag == W_P else table_text(el, styles) for el in blocks]
    notes = notes_in(note_roots, styles)
    if notes:
        attach_notes(paras, blocks, notes)
    return blocks, paras
