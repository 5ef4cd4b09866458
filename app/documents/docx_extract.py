"""Sections of a .docx, read straight from its XML with lxml (python-docx's object layer is ~10x
slower on long documents). The main part is found through the package relationships; only the body
is read (with the text boxes anchored in it, and the footnotes and endnotes it cites): headers,
footers and comments never become section text, and hidden (w:vanish) or deleted runs are left out.

Structure comes from the strongest evidence the document has. Where it marks headings with heading
styles or outline levels, those alone make the sections, and typed numbering, bullets, bold lines
and labels inside them stay body text. The weaker signals (typed numbering, short bold or larger
lines, known investigation titles, labels such as RC1:) decide only in a document with no styled
headings, or in a long stretch of one that has none. The Title and Subtitle are the document's
title; tables of contents (TOC fields and styles, links to _Toc bookmarks, runs of lines ending in
page numbers) are left out. A pasted e-mail thread becomes its own section.
"""
from __future__ import annotations

import re
import zipfile

from . import signals
from .builder import ExtractedSection, SectionBuilder
from .errors import IntakeError
from .docx_package import STYLES_REL, main_part, note_parts, read_body, related_parts, styles_part
from .docx_toc import toc_lines
from .wordml import W, W_BODY, Para, Styles, parse_xml

# In a document with styled headings, this many body paragraphs in a row without one count as a
# stretch with no styled structure, where the weaker signals decide.
UNSTRUCTURED_STRETCH = 40
_FIELD_LABEL = re.compile(r"^[^\s:]{1,20}(?:\s+[^\s:]{1,20})?:\s+\S")  # "Goal: …", "Owner: Jane"


def _strong_heading(para: Para) -> tuple[str, int, str, str] | None:
    """(title, level, signal, reason) from a heading style or an outline level, else None."""
    text = signals.normalise(para.text)
    if not text or para.style.role:
        return None
    style_outline = para.style.outline
    if style_outline is not None and style_outline < 9 and len(text) <= 300 and not signals.reads_as_sentence(text, 25):
        return text, style_outline + 1, "heading_style", f"style '{para.style.name}' is heading level {style_outline + 1}"
    if (para.outline is not None and para.outline < 9 and signals.is_short(text)
            and not signals.looks_like_sentence(text) and not _FIELD_LABEL.match(text)):
        return text, para.outline + 1, "outline_level", f"the paragraph's outline level is {para.outline + 1}"
    return None


def _weak_heading(para: Para, styles: Styles, last_level: int, base: int) -> tuple[str, int, str, str] | None:
    """(title, level, signal, reason) from the weaker signals, for text with no styled structure."""
    raw = para.text
    if len(raw) > 2 * signals.MAX_HEADING_CHARS:
        # Long body text: only a label at its start (RC1: …) can make it a heading.
        label = signals.leading_label(raw)
        return (label, min(last_level + 1, 9), "label", "an investigation label opens the paragraph") if label else None
    text = signals.normalise(raw)
    if not text or para.style.role:
        return None
    if not para.numbered:
        numbered = signals.numbered_heading(text)
        if numbered:
            return numbered[1], base + numbered[0], "numbering", "a short line with typed numbering"
    short = signals.is_short(text) and not signals.looks_like_sentence(text) and not _FIELD_LABEL.match(text)
    # Bold or size set by a named non-heading style (Definition Term, Caption…) is that style's role.
    from_style = para.style_id not in (None, styles.default_paragraph) and (para.style.bold or para.style.size)
    larger = para.max_size >= styles.body_size + 4
    if short and not para.numbered and not from_style and (para.all_bold or larger):
        reason = "a short line standing alone, " + ("larger than the body text" if larger else "all bold")
        return text.rstrip(":").strip() or text, base + (1 if larger else 2), "emphasis", reason
    known = signals.known_title(text)
    if known:
        return known, base + 1, "known_title", "a known investigation section title"
    label = signals.label_heading(text)
    if label:
        return label, min(last_level + 1, 9), "label", "an investigation label (RC1:, PA1a:)"
    return None


def _read(zf: zipfile.ZipFile, read_part):
    names = set(zf.namelist())
    main = main_part(names, read_part)
    if main is None:
        raise IntakeError(415, "not_a_word_document", "The package has no main Word document part.")
    related = related_parts(names, read_part, main)
    styles_name = related.get(STYLES_REL) or styles_part(names, read_part, main)
    styles = Styles(parse_xml(read_part(styles_name), styles_name) if styles_name else None)
    root = parse_xml(read_part(main), main)
    body = root.find(W_BODY)
    if body is None and root.tag.startswith("{http://purl.oclc.org/ooxml/"):
        raise IntakeError(415, "unsupported_type", "The document is saved as Strict Open XML, which is not read yet. "
                          "Save it as a Word Document (.docx) and upload that.")
    if body is None:
        raise IntakeError(422, "corrupt_file", "The document has no body; it may be damaged.")
    parts = note_parts(names, related, main)
    blocks, paras = read_body(body, styles, {kind: parse_xml(read_part(name), name) for kind, name in parts.items()})
    return styles, blocks, paras, root


def _unstructured(paras: list, strong: dict[int, tuple], skip: set[int]) -> set[int]:
    """Indexes of paragraphs in stretches with no styled heading: everything when the document has
    none, else runs of at least UNSTRUCTURED_STRETCH text paragraphs between styled headings."""
    if not strong:
        return set(range(len(paras)))
    free: set[int] = set()
    stretch: list[int] = []
    for index, item in enumerate(paras + [None]):
        if item is None or index in strong:
            if sum(1 for i in stretch if isinstance(paras[i], Para)) >= UNSTRUCTURED_STRETCH:
                free.update(stretch)
            stretch = []
        elif index not in skip and (isinstance(item, str) or item.text.strip()):
            stretch.append(index)
    return free


def build_docx(zf: zipfile.ZipFile, read_part) -> SectionBuilder:
    """The section builder fed with the whole document (``finish()`` gives the sections)."""
    styles, blocks, paras, root = _read(zf, read_part)
    toc = toc_lines(paras, blocks)
    strong = {i: h for i, item in enumerate(paras) if i not in toc and isinstance(item, Para)
              for h in [_strong_heading(item)] if h}
    free = _unstructured(paras, strong, toc)
    builder = SectionBuilder()
    builder.toc_lines = len(toc)
    builder.images = len(root.findall(".//" + W + "drawing")) + len(root.findall(".//" + W + "pict"))
    in_email, strong_level, last_level = False, 0, 1
    glue = "\n"
    for index, item in enumerate(paras):
        if isinstance(item, str):  # a table: text of the section it sits in
            builder.text(item, index)
            continue
        if index in toc:
            continue
        text = item.text
        if item.style.role == "title":
            builder.document_title(text, index)
            continue
        if item.drop_cap and text.strip():
            builder.text(text, index)
            glue = ""  # the capital and the rest of its word are one word
            continue
        if text.lstrip().lower().startswith("from:") and not in_email:
            lines = [
                line for other in paras[index:index + 8] if isinstance(other, Para) for line in other.text.split("\n")
            ]
            subject = signals.email_header_at(lines, 0)
            if subject:
                in_email = True
                builder.heading(subject, 1, "email_thread", None, "a pasted e-mail header (From:, Sent:, Subject:)")
                builder.text(text, index)
                continue
        heading = strong.get(index)
        if heading:
            in_email = False
            strong_level = last_level = heading[1]
        elif index in free and not in_email:
            heading = _weak_heading(item, styles, last_level, strong_level)
        if heading:
            title, level, signal, reason = heading
            builder.heading(title, level, signal, index, reason, raw=text)
            if signal == "label" and len(signals.normalise(text)) > len(title):
                builder.text(text, index)  # a label that opens a paragraph keeps the paragraph
            elif signal != "label":
                last_level = level
        else:
            builder.text(text, index, glue)
        glue = "\n"
    return builder


def extract_docx(zf: zipfile.ZipFile, read_part) -> list[ExtractedSection]:
    """Sections of an opened, already-vetted .docx. ``read_part(name)`` returns a part's bytes."""
    builder = build_docx(zf, read_part)
    sections = builder.finish()
    if not any(s.text.strip() for s in sections):
        if builder.toc_lines:
            raise IntakeError(422, "no_text", "The document holds only a table of contents; there is no text to review.")
        if builder.images:
            raise IntakeError(422, "no_text", "The document holds only images; there is no text to review.")
    return sections


def docx_plain_text(zf: zipfile.ZipFile, read_part) -> str:
    """All visible body text of a .docx (used for guidelines documents)."""
    return "\n\n".join(s.title + "\n" + s.text if s.signal != "preamble" else s.text for s in extract_docx(zf, read_part))


def docx_headings(zf: zipfile.ZipFile, read_part) -> list[ExtractedSection]:
    """Every heading the extractor finds, before empty ones become parents or lines of text (for
    measuring heading detection against other readers)."""
    return build_docx(zf, read_part).headings
