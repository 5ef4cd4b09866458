"""Documents as a service: create from an upload, list, delete. The reviewer's section edits change
the review state and live in `app.review.state`. Knows nothing of requests; views, jobs and CLI
commands share it."""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import Document, Export, Section, User
from app.offload import off_loop
from app.review.checklist import GUIDELINES_MODES
from app.storage import upload_key

from .builder import ExtractedSection
from .errors import IntakeError
from .extract import extract_sections
from .intake import Limits, vet

log = logging.getLogger(__name__)


@dataclass
class Upload:
    filename: str
    data: bytes


def _title_from(filename: str) -> str:
    stem = filename.rsplit(".", 1)[0] if "." in filename else filename
    return " ".join(stem.replace("_", " ").split())[:500] or "Untitled document"


def _vet_and_extract(filename: str, data: bytes, limits: Limits):
    vetted = vet(filename, data, limits)
    return vetted, extract_sections(vetted, limits.max_sections)


def create_document(
    db: Session, store, user: User, upload: Upload, *, guidelines: Upload | None = None,
    guidelines_mode: str = "both", limits: Limits = Limits(), previous: Document | None = None,
) -> Document:
    """Vet, extract, store the original and write the rows; nothing is stored when any step fails.
    With ``previous``, the document is that one's next version: same owner, same guidelines."""
    if guidelines_mode not in GUIDELINES_MODES:
        raise IntakeError(400, "invalid_guidelines_mode", f"guidelines_mode must be one of: {', '.join(GUIDELINES_MODES)}.")
    vetted, extracted = off_loop(_vet_and_extract, upload.filename, upload.data, limits)
    guidelines_text = guidelines_vetted = None
    if guidelines is not None:
        guidelines_vetted = vet(guidelines.filename, guidelines.data, limits)
        if guidelines_vetted.format != "docx":
            raise IntakeError(415, "unsupported_type", "Guidelines must be a .docx file.")
        from .docx_extract import docx_plain_text

        guidelines_text = docx_plain_text(guidelines_vetted.zip, guidelines_vetted.read_part)

    now = datetime.now(timezone.utc)
    metadata = {"user-id": user.id, "uploaded-at": now.isoformat()}
    stored: list[str] = []
    try:
        key = upload_key(user.id, vetted.safe_name, now)
        store.put(key, vetted.data, vetted.content_type, metadata)
        stored.append(key)
        guidelines_key = None
        if guidelines_vetted is not None:
            guidelines_key = upload_key(user.id, guidelines_vetted.safe_name, now)
            store.put(guidelines_key, guidelines_vetted.data, guidelines_vetted.content_type, metadata)
            stored.append(guidelines_key)
        document = Document(
            user_id=user.id, title=_title_from(vetted.original_name), original_filename=vetted.original_name,
            file_format=vetted.format, content_type=vetted.content_type, size_bytes=len(vetted.data),
            sha256=vetted.sha256, storage_key=key, guidelines_storage_key=guidelines_key,
            guidelines_text=guidelines_text, guidelines_mode=guidelines_mode if guidelines else None,
        )
        if previous is not None:
            document.user_id, document.previous_version_id, document.version = previous.user_id, previous.id, previous.version + 1
            document.guidelines_text, document.guidelines_mode = previous.guidelines_text, previous.guidelines_mode
        document.sections = [_section_row(position, s) for position, s in enumerate(extracted)]
        db.add(document)
        db.commit()
    except BaseException:
        db.rollback()
        for key in stored:
            try:
                store.delete(key)
            except Exception:
                log.exception("could not remove %s after a failed upload", key)
        raise
    return document


def _section_row(position: int, section: ExtractedSection) -> Section:
    return Section(
        position=position, title=section.title, level=section.level, text=section.text,
        detection=section.signal, first_block=section.first_block, last_block=section.last_block,
        anchors=section.anchors,
    )


def delete_document(db: Session, store, document: Document) -> None:
    """Remove the rows (sections, analyses, feedback, chat, exports cascade) and the stored files."""
    keys = [document.storage_key, document.guidelines_storage_key]
    for export in db.scalars(select(Export).where(Export.document_id == document.id)):
        keys.extend(f.get("key") for f in export.files or [])
    db.delete(document)
    db.commit()
    for key in filter(None, keys):
        try:
            store.delete(key)
        except Exception:  # the rows are gone; an orphaned object is logged for cleanup, not fatal
            log.exception("could not delete stored object %s", key)


GUIDELINES_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def guidelines_name(document: Document) -> str:
    """The file name a downloaded guidelines file gets: the document's safe name with `-guidelines`."""
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", document.title).strip("._")[:80] or "document"
    return f"{stem}-guidelines.docx"
