"""Analyses (one per section per run) and the feedback items they and reviewers produce."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, JSONType, Timestamped, UTCDateTime

ANALYSIS_STATUSES = ("queued", "running", "deferred", "completed", "failed", "cancelled")


class Analysis(Timestamped, Base):
    __tablename__ = "analyses"
    __table_args__ = (
        CheckConstraint(
            "status IN ('queued', 'running', 'deferred', 'completed', 'failed', 'cancelled')",
            name="status",
        ),
        # The per-user cap on analyses in flight counts by these two.
        Index("ix_analyses_requested_by_status", "requested_by", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    document_id: Mapped[int] = mapped_column(
        ForeignKey("documents.id", ondelete="CASCADE"), index=True, nullable=False
    )
    section_id: Mapped[int] = mapped_column(
        ForeignKey("sections.id", ondelete="CASCADE"), index=True, nullable=False
    )
    requested_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(20), nullable=False, default="queued", index=True)
    progress: Mapped[float] = mapped_column(Float, nullable=False, default=0.0)
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    error_code: Mapped[str | None] = mapped_column(String(100))
    error_message: Mapped[str | None] = mapped_column(Text)
    provider: Mapped[str | None] = mapped_column(String(30))
    model_id: Mapped[str | None] = mapped_column(String(200))
    # True when the offline rules reviewer stood in for the model as a last resort.
    degraded: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    # The section was renamed, merged or split after this analysis ran.
    stale: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False, server_default="0")
    summary: Mapped[str | None] = mapped_column(Text)
    risk_level: Mapped[str | None] = mapped_column(String(20))
    deferred_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    deferrals: Mapped[int] = mapped_column(Integer, nullable=False, default=0, server_default="0")
    # The RQ job currently carrying this analysis (a deferral or a re-enqueue makes a new one).
    rq_job_id: Mapped[str | None] = mapped_column(String(100))
    chunks: Mapped[int] = mapped_column(Integer, nullable=False, default=1, server_default="1")
    # How many chunks the section holds; more than ``chunks`` when MAX_CHUNKS_PER_ANALYSIS cut it short.
    chunks_total: Mapped[int | None] = mapped_column(Integer)
    items_dropped: Mapped[int] = mapped_column(Integer, nullable=False, default=0, server_default="0")
    # What the learning loop put in this analysis's prompt: {"team", "rarely_accepted", "example_item_ids"}.
    learning: Mapped[dict | None] = mapped_column(JSONType)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    feedback_items: Mapped[list[FeedbackItem]] = relationship(back_populates="analysis")

    @property
    def job_id(self) -> str:
        """The first RQ job id: deterministic, so a second click does not run the analysis twice."""
        return f"analysis-{self.id}"

    @property
    def truncated(self) -> bool:
        """The section was longer than the chunk budget: only its first ``chunks`` chunks were reviewed."""
        return self.chunks_total is not None and self.chunks_total > self.chunks

    @property
    def notice(self) -> str | None:
        if not self.truncated:
            return None
        return (f"This section is too long to review whole: only the first {self.chunks} of its {self.chunks_total} "
                f"parts were reviewed. Split the section to review the rest.")

    @property
    def finished(self) -> bool:
        return self.status in ("completed", "failed", "cancelled")

    def to_dict(self) -> dict:
        return {
            "id": self.id, "document_id": self.document_id, "section_id": self.section_id, "status": self.status,
            "progress": self.progress, "error": ({"code": self.error_code, "message": self.error_message} if self.error_code else None),
            "model": self.model_id, "provider": self.provider, "degraded": self.degraded, "stale": self.stale,
            "deferred_until": self.deferred_until.isoformat() if self.deferred_until else None,
            "attempts": self.attempts, "deferrals": self.deferrals, "items_dropped": self.items_dropped,
            "chunks": self.chunks, "chunks_total": self.chunks_total, "notice": self.notice,
            "created_at": self.created_at.isoformat() if self.created_at else None,
            "started_at": self.started_at.isoformat() if self.started_at else None,
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
        }


class FeedbackItem(Timestamped, Base):
    __tablename__ = "feedback_items"
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'accepted', 'rejected')", name="status"),
        CheckConstraint("source IN ('ai', 'rules', 'custom')", name="source"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    document_id: Mapped[int] = mapped_column(
        ForeignKey("documents.id", ondelete="CASCADE"), index=True, nullable=False
    )
    section_id: Mapped[int] = mapped_column(
        ForeignKey("sections.id", ondelete="CASCADE"), index=True, nullable=False
    )
    analysis_id: Mapped[int | None] = mapped_column(
        ForeignKey("analyses.id", ondelete="CASCADE"), index=True
    )
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    source: Mapped[str] = mapped_column(String(10), nullable=False, default="ai")
    type: Mapped[str] = mapped_column(String(30), nullable=False)
    category: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    risk_level: Mapped[str] = mapped_column(String(20), nullable=False, default="low")
    description: Mapped[str] = mapped_column(Text, nullable=False)
    suggestion: Mapped[str | None] = mapped_column(Text)
    example: Mapped[str | None] = mapped_column(Text)
    questions: Mapped[list] = mapped_column(JSONType, nullable=False, default=list)
    hawkeye_refs: Mapped[list] = mapped_column(JSONType, nullable=False, default=list)
    confidence: Mapped[float | None] = mapped_column(Float)
    quote: Mapped[str | None] = mapped_column(Text)
    quote_start: Mapped[int | None] = mapped_column(Integer)
    quote_end: Mapped[int | None] = mapped_column(Integer)
    verified: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    status: Mapped[str] = mapped_column(String(20), nullable=False, default="pending")
    model_id: Mapped[str | None] = mapped_column(String(200))
    # A reviewer changed its text (description, suggestion, risk, category): it counts as decided.
    edited: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False, server_default="0")
    # An undecided AI item a newer analysis of its section replaced: kept for the audit, never shown.
    superseded: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False, server_default="0", index=True)
    # Its quote was found once and a section edit or re-analysis left it no longer in the text.
    quote_missing: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False, server_default="0")
    # Optimistic locking: a second reviewer writing from a stale copy gets 409.
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)

    analysis: Mapped[Analysis | None] = relationship(back_populates="feedback_items")

    def to_dict(self) -> dict:
        return {
            "id": self.id, "document_id": self.document_id, "section_id": self.section_id,
            "analysis_id": self.analysis_id, "source": self.source, "type": self.type, "category": self.category,
            "risk_level": self.risk_level, "description": self.description, "suggestion": self.suggestion,
            "example": self.example, "questions": self.questions, "hawkeye_refs": self.hawkeye_refs,
            "confidence": self.confidence, "quote": self.quote, "quote_start": self.quote_start,
            "quote_end": self.quote_end, "verified": self.verified, "status": self.status, "model": self.model_id,
            "version": self.version, "edited": self.edited, "quote_missing": self.quote_missing,
            "decided": self.decided, "created_by": self.created_by,
        }

    @property
    def decided(self) -> bool:
        """A reviewer's work is in it: accepted, rejected, edited or written by a reviewer. Section
        edits and re-analyses never hide a decided item (app.review.state)."""
        return self.status != "pending" or self.edited or self.source == "custom"

    __mapper_args__ = {"version_id_col": version}
