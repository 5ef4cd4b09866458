"""Sections of a .docx, read straight from its XML with lxml (python-docx's object layer is ~10x
slower on long documents). Only the body is read: headers, footers and comments never become
section text, and hidden (w:vanish) or deleted runs are left out.

Heading signals, in order: heading styles (outline level through the basedOn chain, so custom and
localized styles work), the paragraph's own outline level, typed numbering that is not a list item,
short bold or larger lines standing alone, known investigation titles, and labels such as RC1:.
A pasted e-mail thread becomes its own section.
"""
from __future__ import annotations

import zipfile

from . import signals
from .builder import ExtractedSection, SectionBuilder
from .errors import IntakeError
from .wordml import W_BODY, W_P, Para, Styles, body_blocks, parse_xml, read_paragraph, table_text


def _heading_for(para: Para, styles: Styles, in_email: bool, last_level: int) -> tuple[str, int, str] | None:
    """(title, level, signal) when the paragraph is a heading, else None."""
    raw = para.text
    if len(raw) > 2 * signals.MAX_HEADING_CHARS and (para.style.outline is None or para.style.outline >= 9):
        # Long body text: only a label at its start (RC1: …) can make it a heading.
        label = None if in_email else signals.leading_label(raw)
        return (label, min(last_level + 1, 9), "label") if label else None
    text = signals.normalise(raw)
    if not text:
        return None
    style_outline = para.style.outline
    if style_outline is not None and style_outline < 9 and len(text) <= 300:
        return text, style_outline + 1, "heading_style"
    short = signals.is_short(text) and not signals.looks_like_sentence(text)
    if para.outline is not None and para.outline < 9 and short:
        return text, para.outline + 1, "outline_level"
    if in_email:
        return None
    if not para.numbered:
        numbered = signals.numbered_heading(text)
        if numbered:
            return numbered[1], numbered[0], "numbering"
    larger = para.max_size >= styles.body_size + 4
    if short and not para.numbered and (para.all_bold or larger):
        return text.rstrip(":").strip() or text, 1 if larger else 2, "emphasis"
    known = signals.known_title(text)
    if known:
        return known, 1, "known_title"
    label = signals.label_heading(text)
    if label:
        return label, min(last_level + 1, 9), "label"
    return None


def extract_docx(zf: zipfile.ZipFile, read_part) -> list[ExtractedSection]:
    """Sections of an opened, already-vetted .docx. ``read_part(name)`` returns a part's bytes."""
    styles_root = parse_xml(read_part("word/styles.xml"), "word/styles.xml") if "word/styles.xml" in zf.namelist() else None
    styles = Styles(styles_root)
    root = parse_xml(read_part("word/document.xml"), "word/document.xml")
    body = root.find(W_BODY)
    if body is None:
        raise IntakeError(422, "corrupt_file", "The document has no body; it may be damaged.")
    blocks = body_blocks(body)
    paras: list[Para | str] = [
        read_paragraph(el, styles) if el.tag == W_P else table_text(el, styles) for el in blocks
    ]
    builder = SectionBuilder()
    in_email, last_level = False, 1
    for index, item in enumerate(paras):
        if isinstance(item, str):  # a table: text of the section it sits in
            builder.text(item, index)
            continue
        text = item.text
        if text.lstrip().lower().startswith("from:") and not in_email:
            lines = [
                line for other in paras[index:index + 8] if isinstance(other, Para) for line in other.text.split("\n")
            ]
            subject = signals.email_header_at(lines, 0)
            if subject:
                in_email = True
                builder.heading(subject, 1, "email_thread", None)
                builder.text(text, index)
                continue
        heading = _heading_for(item, styles, in_email, last_level)
        if heading:
            title, level, signal = heading
            if signal in ("heading_style", "outline_level"):
                in_email = False
            if signal == "label":
                full = signals.normalise(text)
                builder.heading(title, level, signal, index)
                if len(full) > len(title):  # a label that opens a paragraph keeps the paragraph
                    builder.text(text, index)
                continue
            last_level = level
            builder.heading(title, level, signal, index)
        else:
            builder.text(text, index)
    return builder.finish()


def docx_plain_text(zf: zipfile.ZipFile, read_part) -> str:
    """All visible body text of a .docx (used for guidelines documents)."""
    return "\n\n".join(s.title + "\n" + s.text if s.signal != "preamble" else s.text for s in extract_docx(zf, read_part))
