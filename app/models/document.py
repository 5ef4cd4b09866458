"""Uploaded documents and the sections extracted from them."""
from __future__ import annotations

from sqlalchemy import BigInteger, CheckConstraint, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, JSONType, Timestamped

DOCUMENT_STATUSES = ("uploaded", "processing", "partially_completed", "completed", "failed")


class Document(Timestamped, Base):
    __tablename__ = "documents"
    __table_args__ = (
        CheckConstraint(
            "status IN ('uploaded', 'processing', 'partially_completed', 'completed', 'failed')",
            name="status",
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True, nullable=False)
    title: Mapped[str] = mapped_column(String(500), nullable=False)
    original_filename: Mapped[str] = mapped_column(String(500), nullable=False)
    file_format: Mapped[str] = mapped_column(String(10), nullable=False)
    content_type: Mapped[str] = mapped_column(String(200), nullable=False)
    size_bytes: Mapped[int] = mapped_column(BigInteger, nullable=False)
    sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    storage_key: Mapped[str] = mapped_column(String(1024), nullable=False)
    guidelines_storage_key: Mapped[str | None] = mapped_column(String(1024))
    guidelines_text: Mapped[str | None] = mapped_column(Text)
    guidelines_mode: Mapped[str | None] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(30), nullable=False, default="uploaded")
    risk_score: Mapped[float | None] = mapped_column(Float)
    # key_risks, recommendations, compliance_concerns, counts: written by the summary job
    summary: Mapped[dict | None] = mapped_column(JSONType)
    # Versions: a revised write-up is a document of its own that names the one it revises.
    previous_version_id: Mapped[int | None] = mapped_column(ForeignKey("documents.id", ondelete="SET NULL"), index=True)
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1, server_default="1")

    @property
    def not_scored_reason(self) -> str | None:
        """Why there is no risk score when the summary job ran and could not give one (every analysis
        failed); None while a score exists or before any summary."""
        if self.risk_score is not None or not isinstance(self.summary, dict):
            return None
        return self.summary.get("not_scored_reason")

    def to_dict(self) -> dict:
        return {
            "id": self.id,
            "title": self.title,
            "filename": self.original_filename,
            "format": self.file_format,
            "size_bytes": self.size_bytes,
            "status": self.status,
            "risk_score": self.risk_score,
            "not_scored_reason": self.not_scored_reason,
            "summary": self.summary,
            "guidelines": bool(self.guidelines_storage_key),
            "guidelines_mode": self.guidelines_mode,
            "version": self.version,
            "previous_version_id": self.previous_version_id,
            "created_at": self.created_at.isoformat() if self.created_at else None,
            "updated_at": self.updated_at.isoformat() if self.updated_at else None,
        }

    sections: Mapped[list[Section]] = relationship(
        back_populates="document",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="Section.position",
    )


class Section(Base):
    __tablename__ = "sections"
    __table_args__ = (UniqueConstraint("document_id", "position"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    document_id: Mapped[int] = mapped_column(
        ForeignKey("documents.id", ondelete="CASCADE"), index=True, nullable=False
    )
    position: Mapped[int] = mapped_column(Integer, nullable=False)
    title: Mapped[str] = mapped_column(String(1000), nullable=False)
    level: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    text: Mapped[str] = mapped_column(Text, nullable=False, default="")
    # Which signal found this section (heading style, outline level, numbering, bold line, ...).
    detection: Mapped[str] = mapped_column(String(50), nullable=False)
    # Where the section lies in the source, so exports can anchor comments on the right runs.
    first_block: Mapped[int | None] = mapped_column(Integer)
    last_block: Mapped[int | None] = mapped_column(Integer)
    # [[block index, offset in text (-1 for the heading itself), length], ...]
    anchors: Mapped[list] = mapped_column(JSONType, nullable=False, default=list, server_default="[]")
    # The analysis whose status and progress this section shows: the newest one started for it.
    # Which feedback is live is the items' own business (FeedbackItem.superseded); app.review.state
    # owns both. use_alter: sections and analyses refer to each other.
    current_analysis_id: Mapped[int | None] = mapped_column(
        ForeignKey("analyses.id", ondelete="SET NULL", use_alter=True), index=True
    )

    def to_dict(self, with_text: bool = True) -> dict:
        data = {
            "id": self.id,
            "document_id": self.document_id,
            "position": self.position,
            "title": self.title,
            "level": self.level,
            "detection": self.detection,
            "char_count": len(self.text),
            "current_analysis_id": self.current_analysis_id,
        }
        if with_text:
            data["text"] = self.text
        else:
            data["preview"] = self.text[:160]
        return data

    document: Mapped[Document] = relationship(back_populates="sections")
