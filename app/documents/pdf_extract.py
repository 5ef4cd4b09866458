"""Sections of a PDF: its outline (bookmarks) when it has one, else font size and weight per line
against the body text's size. Running headers and footers (a line in the top or bottom band that
recurs on most pages, digits aside) and page numbers are removed first. Files encrypted with an empty
user password (an owner password only) open like any other."""
from __future__ import annotations

import io
import logging
import re
from collections import Counter
from dataclasses import dataclass

from . import signals
from .builder import ExtractedSection, SectionBuilder
from .errors import IntakeError

MAX_PAGES = 2000
EDGE_BAND = 0.1  # the top and bottom tenth of a page, where running headers and footers sit
RUNNING_SHARE = 0.5  # a line recurring (digits aside) on at least this share of pages is running text
_PAGE_NUMBER = re.compile(r"^(?:page\s*)?(?:\d{1,4}|[ivxlc]{1,6})(?:\s*(?:of|/)\s*\d{1,4})?$|^[-–]\s*\d{1,4}\s*[-–]$", re.I)
log = logging.getLogger(__name__)


@dataclass
class Line:
    page: int
    text: str
    size: float
    bold: bool
    edge: bool = False  # in the top or bottom band of its page


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
                height = float(page.height or 0) or 1.0
                edge = raw["top"] < EDGE_BAND * height or raw["bottom"] > (1 - EDGE_BAND) * height
                lines.append(Line(number, raw["text"], size, bold, edge))
            page.flush_cache()
    return lines


def _without_running_text(lines: list[Line]) -> list[Line]:
    """Drop page numbers and running headers/footers: edge lines whose text, digits aside, recurs on
    at least RUNNING_SHARE of the pages (and on three pages or more)."""
    pages = len({line.page for line in lines}) or 1
    shape = lambda line: re.sub(r"\d+", "#", signals.normalise(line.text).lower())  # noqa: E731
    seen: dict[str, set[int]] = {}
    for line in lines:
        if line.edge:
            seen.setdefault(shape(line), set()).add(line.page)
    running = {key for key, on in seen.items() if len(on) >= 3 and len(on) >= RUNNING_SHARE * pages}
    return [line for line in lines if not line.edge or (
        shape(line) not in running and not _PAGE_NUMBER.match(signals.normalise(line.text)))]


def extract_pdf(data: bytes) -> list[ExtractedSection]:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        # An empty user password (an owner password only) opens for anyone: read it like any PDF.
        if reader.is_encrypted and not reader.decrypt(""):
            raise IntakeError(422, "password_protected", "The PDF is password-protected. Upload a copy without a password.")
        pages = len(reader.pages)
    except IntakeError:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, OSError) as exc:
        raise IntakeError(422, "corrupt_file", "The PDF is damaged and cannot be read.") from exc
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
    lines = _without_running_text(lines)
    if not lines:
        raise IntakeError(422, "no_text", "The PDF holds only page numbers and running headers; there is no text to review.")

    builder = SectionBuilder()
    if outline:
        pending = list(outline)
        for index, line in enumerate(lines):
            text = signals.normalise(line.text)
            if pending and line.page >= pending[0][2] and text.lower() == pending[0][0].lower():
                title, level, _ = pending.pop(0)
                builder.heading(title, level, "pdf_outline", index, f"a bookmark at level {level} of the PDF's outline", raw=line.text)
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
        short = signals.is_short(text) and not signals.looks_like_sentence(text) and not signals.reads_as_sentence(text)
        if text.lower().startswith("from:") and not in_email:
            subject = signals.email_header_at([l.text for l in lines[index:index + 8]], 0)
            if subject:
                in_email = True
                builder.heading(subject, 1, "email_thread", None, "a pasted e-mail header (From:, Sent:, Subject:)")
                builder.text(line.text, index)
                continue
        if short and line.size in rank:
            in_email = False
            builder.heading(text, rank[line.size], "font_size", index,
                            f"{line.size:g} pt against body text of {body:g} pt", raw=line.text)
        elif short and line.bold and not in_email:
            builder.heading(text, len(rank) + 1, "bold_line", index, "a short bold line at body size", raw=line.text)
        elif not in_email and short and signals.known_title(text):
            builder.heading(signals.known_title(text), 1, "known_title", index, "a known investigation section title", raw=line.text)
        else:
            builder.text(line.text, index)
    return builder.finish()
