"""The parts of a .docx package the extractor reads besides styles: the main document wherever the
package relationships put it, and its footnotes and endnotes, attached after the paragraph that
cites them."""
from __future__ import annotations

import posixpath

from .errors import IntakeError
from .wordml import W, W_P, Para, Styles, parse_xml, read_paragraph

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


_NOTE_KINDS = (("footnote", "/footnotes", "footnotes.xml"), ("endnote", "/endnotes", "endnotes.xml"))


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


def notes_of(names, read_part, related: dict[str, str], main: str, styles: Styles) -> dict[tuple[str, str], str]:
    """(kind, id) -> the text of each footnote and endnote."""
    notes: dict[tuple[str, str], str] = {}
    folder = posixpath.dirname(main)
    for kind, rel_type, default in _NOTE_KINDS:
        part = related.get(rel_type) or (posixpath.join(folder, default) if posixpath.join(folder, default) in names else None)
        if part is None:
            continue
        root = parse_xml(read_part(part), part)
        for note in root.iterchildren(W + kind):
            if note.get(W + "type") in ("separator", "continuationSeparator", "continuationNotice"):
                continue
            lines = [read_paragraph(p, styles).text.strip() for p in note.iter(W_P)]
            text = " ".join(line for line in lines if line)
            if text:
                notes[(kind, note.get(W + "id") or "")] = text
    return notes


def attach_notes(paras: list, blocks: list, notes: dict) -> None:
    """Each footnote or endnote becomes a line after the text of the paragraph that cites it (after
    the paragraph's own runs, so run offsets used to place comments stay as they were); a note cited
    in a heading goes with the next paragraph of body text."""
    counters = {"footnote": 0, "endnote": 0}
    pending: list[str] = []
    for index, item in enumerate(paras):
        if not isinstance(item, Para):
            continue
        for ref in blocks[index].iter(W + "footnoteReference", W + "endnoteReference"):
            kind = "footnote" if ref.tag == W + "footnoteReference" else "endnote"
            text = notes.get((kind, ref.get(W + "id") or ""))
            if text:
                counters[kind] += 1
                pending.append(f"[{kind.capitalize()} {counters[kind]}: {text}]")
        if pending and (item.style.outline is None or item.style.outline >= 9) and not item.style.role:
            item.text = "\n".join([item.text.rstrip("\n")] + pending) if item.text.strip() else "\n".join(pending)
            pending = []
