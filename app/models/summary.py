"""A document's summary as the model (or the offline reviewer) wrote it, one row per document, and
the deployment's switches an admin can change at run time."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, JSONType, Timestamped, UTCDateTime

SUMMARY_STATES = ("pending", "running", "deferred", "completed", "failed", "not_scored")
VERDICTS = ("ready", "needs_work", "not_ready")


class DocumentSummary(Timestamped, Base):
    """The newest summary of a document. ``state`` says whether the fields hold the model's answer
    (``completed``) or nothing yet (``pending``/``running``/``deferred``), a failure (``failed``, with
    the error) or why there is nothing to summarise (``not_scored``). Never a made-up answer."""

    __tablename__ = "document_summaries"
    __table_args__ = (
        CheckConstraint("state IN ('pending', 'running', 'deferred', 'completed', 'failed', 'not_scored')", name="state"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"), unique=True, nullable=False)
    state: Mapped[str] = mapped_column(String(20), nullable=False, default="pending")
    risk_score: Mapped[float | None] = mapped_column(Float)
    reasons: Mapped[list] = mapped_column(JSONType, nullable=False, default=list)
    key_risks: Mapped[list] = mapped_column(JSONType, nullable=False, default=list)
    recommendations: Mapped[list] = mapped_column(JSONType, nullable=False, default=list)
    compliance_concerns: Mapped[list] = mapped_column(JSONType, nullable=False, default=list)
    verdict: Mapped[str | None] = mapped_column(String(20))
    model_id: Mapped[str | None] = mapped_column(String(200))
    provider: Mapped[str | None] = mapped_column(String(30))
    error_code: Mapped[str | None] = mapped_column(String(100))
    error_message: Mapped[str | None] = mapped_column(Text)
    runs: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    generated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    def to_dict(self) -> dict:
        return {
            "document_id": self.document_id, "state": self.state, "risk_score": self.risk_score,
            "reasons": self.reasons or [], "key_risks": self.key_risks or [], "recommendations": self.recommendations or [],
            "compliance_concerns": self.compliance_concerns or [], "verdict": self.verdict, "model": self.model_id,
            "provider": self.provider,
            "error": {"code": self.error_code, "message": self.error_message} if self.error_code else None,
            "runs": self.runs, "generated_at": self.generated_at.isoformat() if self.generated_at else None,
        }


class AppSetting(Timestamped, Base):
    """A deployment-wide switch an admin set at run time (it overrides the environment's default)."""

    __tablename__ = "app_settings"

    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[dict] = mapped_column(JSONType, nullable=False)
    updated_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
