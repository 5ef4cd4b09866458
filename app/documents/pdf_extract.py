"""Sections of a PDF: its outline (bookmarks) when it has one, else font size and weight per line."""
from __future__ import annotations

import io
import logging
from collections import Counter
from dataclasses import dataclass

from . import signals
from .builder import ExtractedSection, SectionBuilder
from .errors import IntakeError

MAX_PAGES = 2000
log = logging.getLogger(__name__)


@dataclass
class Line:
    page: int
    text: str
    size: float
    bold: bool


def _outline(reader) -> list[tuple[str, int, int]]:
    """(title, level, page index) for every bookmark, in document order."""
    found: list[tuple[str, int, int]] = []

    def walk(items, level):
        for item in items:
            if isinstance(item, list):
                walk(item, level + 1)
                continue
            try:
                page = reader.get_destination_page_number(item)
            except Exception:  # a bookmark pointing nowhere is skipped, not fatal
                continue
            title = signals.normalise(getattr(item, "title", "") or "")
            if title and page is not None and page >= 0:
                found.append((title, level, page))

    try:
        walk(reader.outline, 1)
    except Exception:
        return []
    return found


def _lines(data: bytes, pages: int) -> list[Line]:
    import pdfplumber

    lines: list[Line] = []
    with pdfplumber.open(io.BytesIO(data)) as pdf:
        for number, page in enumerate(pdf.pages[:pages]):
            for raw in page.extract_text_lines(layout=False, strip=True, return_chars=True):
                chars = [c for c in raw["chars"] if c["text"].strip()]
                if not chars:
                    continue
                size = round(max(c["size"] for c in chars), 1)
                bold = all(any(w in c["fontname"].lower() for w in ("bold", "black", "heavy", "semibold")) for c in chars)
                lines.append(Line(number, raw["text"], size, bold))
            page.flush_cache()
    return lines


def extract_pdf(data: bytes) -> list[ExtractedSection]:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted and not reader.decrypt(""):
            raise IntakeError(422, "password_protected", "The PDF is password-protected. Upload a copy without a password.")
        pages = len(reader.pages)
    except IntakeError:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, OSError) as exc:
        raise IntakeError(422, "corrupt_file", "The PDF is damaged and cannot be read.") from exc
    if reader.is_encrypted:
        raise IntakeError(422, "password_protected", "The PDF is encrypted. Upload a copy without a password.")
    if pages > MAX_PAGES:
        raise IntakeError(413, "too_many_pages", f"The PDF has {pages} pages; at most {MAX_PAGES} are accepted.")
    outline = _outline(reader)
    try:
        lines = _lines(data, pages)
    except Exception as exc:  # pdfminer raises many types on damaged files
        log.info("pdf text extraction failed: %s", type(exc).__name__)
        raise IntakeError(422, "corrupt_file", "The PDF's text cannot be read; it may be damaged.") from exc
    if not lines:
        raise IntakeError(422, "no_text", "The PDF has no text layer (it may be a scan). Upload a PDF with selectable text.")

    builder = SectionBuilder()
    if outline:
        pending = list(outline)
        for index, line in enumerate(lines):
            text = signals.normalise(line.text)
            if pending and line.page >= pending[0][2] and text.lower() == pending[0][0].lower():
                title, level, _ = pending.pop(0)
                builder.heading(title, level, "pdf_outline", index)
            else:
                builder.text(line.text, index)
        return builder.finish()

    weights = Counter()
    for line in lines:
        weights[line.size] += len(line.text)
    body = weights.most_common(1)[0][0]
    heading_sizes = sorted({l.size for l in lines if l.size >= body + 1.5}, reverse=True)
    rank = {size: min(i + 1, 3) for i, size in enumerate(heading_sizes)}
    in_email = False
    for index, line in enumerate(lines):
        text = signals.normalise(line.text)
        short = signals.is_short(text) and not signals.looks_like_sentence(text)
        if text.lower().startswith("from:") and not in_email:
            subject = signals.email_header_at([l.text for l in lines[index:index + 8]], 0)
            if subject:
                in_email = True
                builder.heading(subject, 1, "email_thread", None)
                builder.text(line.text, index)
                continue
        if short and line.size in rank:
            in_email = False
            builder.heading(text, rank[line.size], "font_size", index)
        elif short and line.bold and not in_email:
            builder.heading(text, len(rank) + 1, "bold_line", index)
        elif not in_email and short and signals.known_title(text):
            builder.heading(signals.known_title(text), 1, "known_title", index)
        else:
            builder.text(line.text, index)
    return builder.finish()
