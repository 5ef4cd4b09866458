"""One entry point: the sections of a vetted file, whatever its format."""
from __future__ import annotations

from .builder import ExtractedSection, cap_sections
from .errors import IntakeError
from .intake import VettedFile


def extract_sections(vetted: VettedFile, max_sections: int | None = None) -> list[ExtractedSection]:
    """The sections of the file; past ``max_sections`` the rest are merged into the last one."""
    if vetted.format == "docx":
        from .docx_extract import extract_docx

        sections = extract_docx(vetted.zip, vetted.read_part)
    elif vetted.format == "pdf":
        from .pdf_extract import extract_pdf

        sections = extract_pdf(vetted.data)
    else:
        from .text_extract import extract_text

        sections = extract_text(vetted.data, markdown=vetted.format == "md")
    if not any(section.text.strip() for section in sections):
        raise IntakeError(422, "no_text", "The document contains no text to review.")
    return cap_sections(sections, max_sections)
