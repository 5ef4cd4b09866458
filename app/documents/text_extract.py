"""Sections of .txt and .md files: Markdown headings (# and underlined), typed numbering, ALL-CAPS
lines standing alone, known investigation titles, labels and pasted e-mail threads."""
from __future__ import annotations

import re

from . import signals
from .builder import ExtractedSection, SectionBuilder
from .errors import IntakeError

_ATX = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
_SETEXT = re.compile(r"^(=+|-+)\s*$")
_FENCE = re.compile(r"^\s*(```|~~~)")
_LIST_ITEM = re.compile(r"^\s*([-*+]|\d+[.)])\s+")


_REASONS = {
    "email_thread": "a pasted e-mail header (From:, Sent:, Subject:)",
    "markdown_heading": "a Markdown # heading", "underlined": "a line underlined with = or -",
    "numbering": "a short line with typed numbering", "all_caps": "a short line in capitals standing alone",
    "known_title": "a known investigation section title", "label": "an investigation label (RC1:, PA1a:)",
}

def decode_text(data: bytes) -> str:
    """UTF-8 (with or without BOM), UTF-16 with a BOM, else Windows-1252, as Word users' files are."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", "replace")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16", "replace")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252", "replace")


def _all_caps(line: str) -> bool:
    letters = [ch for ch in line if ch.isalpha()]
    return len(letters) >= 3 and all(ch.isupper() for ch in letters)


def extract_text(data: bytes, markdown: bool) -> list[ExtractedSection]:
    text = decode_text(data).replace("\r\n", "\n").replace("\r", "\n")
    lines = text.split("\n")
    builder = SectionBuilder()
    in_fence = in_email = False
    last_level = 1
    paragraph: list[str] = []
    paragraph_start = 0

    def flush():
        nonlocal paragraph
        if paragraph:
            builder.text("\n".join(paragraph), paragraph_start)
            paragraph = []

    def add_line(i, line):
        nonlocal paragraph_start
        if not paragraph:
            paragraph_start = i
        paragraph.append(line)

    i = 0
    while i < len(lines):
        line = lines[i].rstrip()
        stripped = line.strip()
        if _FENCE.match(line):
            in_fence = not in_fence
            add_line(i, line)
            i += 1
            continue
        if in_fence:
            add_line(i, line)
            i += 1
            continue
        if not stripped:
            flush()
            i += 1
            continue
        heading = None
        if stripped.lower().startswith("from:") and not in_email:
            subject = signals.email_header_at([l.strip() for l in lines[i:i + 8]], 0)
            if subject:
                flush()
                in_email = True
                builder.heading(subject, 1, "email_thread", None, _REASONS["email_thread"])
                add_line(i, line)
                i += 1
                continue
        atx = _ATX.match(stripped) if markdown or stripped.startswith("#") else None
        next_line = lines[i + 1].strip() if i + 1 < len(lines) else ""
        alone = (i == 0 or not lines[i - 1].strip()) and (not next_line or _SETEXT.match(next_line) is not None)
        if atx:
            heading = (atx.group(2).strip(), len(atx.group(1)), "markdown_heading")
        elif next_line and _SETEXT.match(next_line) and not _LIST_ITEM.match(stripped) and signals.is_short(stripped):
            heading = (stripped, 1 if next_line.startswith("=") else 2, "underlined")
            i += 1  # the underline is part of the heading
        elif not in_email:
            numbered = signals.numbered_heading(stripped) if not _LIST_ITEM.match(stripped) or re.match(r"^\d+\.\d", stripped) else None
            if numbered and (alone or stripped.count(".") >= 1 and numbered[0] > 1):
                heading = (numbered[1], numbered[0], "numbering")
            elif alone and _all_caps(stripped) and signals.is_short(stripped) and not signals.looks_like_sentence(stripped):
                heading = (stripped.rstrip(":"), 1, "all_caps")
            elif signals.known_title(stripped) and (alone or stripped.endswith(":")):
                heading = (signals.known_title(stripped), 1, "known_title")
            else:
                label = signals.label_heading(stripped)
                if label:
                    flush()
                    builder.heading(label, min(last_level + 1, 9), "label", i, _REASONS["label"], raw=stripped)
                    if len(signals.normalise(stripped)) > len(label):
                        add_line(i, line)
                    i += 1
                    continue
        if heading:
            flush()
            title, level, signal = heading
            if signal in ("markdown_heading", "underlined"):
                in_email = False
            last_level = level
            builder.heading(title, level, signal, i, _REASONS[signal], raw=stripped)
        else:
            add_line(i, line)
        i += 1
    flush()
    sections = builder.finish()
    if not any(s.text.strip() or s.signal != "preamble" for s in sections):
        raise IntakeError(422, "no_text", "The file contains no text to review.")
    return sections
