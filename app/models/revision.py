"""Revision checks: for a document that is the next version of another, which of the earlier
version's accepted and custom items were addressed. One check per version; one row per v1 item."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, JSONType, Timestamped, UTCDateTime

CHECK_STATES = ("queued", "running", "deferred", "completed", "failed")
REVISION_STATUSES = ("open", "addressed", "partly", "quote_gone")
LOCATIONS = ("exact", "moved", "changed", "gone", "unquoted")


class RevisionCheck(Timestamped, Base):
    __tablename__ = "revision_checks"
    __table_args__ = (
        CheckConstraint("status IN ('queued', 'running', 'deferred', 'completed', 'failed')", name="status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # The newer version (one check each) and the version it revises.
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"), unique=True, nullable=False)
    previous_id: Mapped[int] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"), index=True, nullable=False)
    requested_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(20), nullable=False, default="queued", index=True)
    # {"groups": [...]} from app.review.alignment, with section ids: computed once, by the first run.
    alignment: Mapped[dict | None] = mapped_column(JSONType)
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    deferrals: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    deferred_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    rq_job_id: Mapped[str | None] = mapped_column(String(100))
    model_calls: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    error_code: Mapped[str | None] = mapped_column(String(100))
    error_message: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    @property
    def job_id(self) -> str:
        return f"revision-{self.id}"

    @property
    def finished(self) -> bool:
        return self.status in ("completed", "failed")


class RevisionItem(Timestamped, Base):
    __tablename__ = "revision_items"
    __table_args__ = (
        UniqueConstraint("check_id", "item_id"),
        CheckConstraint("status IS NULL OR status IN ('open', 'addressed', 'partly', 'quote_gone')", name="status"),
        CheckConstraint("location IN ('exact', 'moved', 'changed', 'gone', 'unquoted')", name="location"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    check_id: Mapped[int] = mapped_column(ForeignKey("revision_checks.id", ondelete="CASCADE"), index=True, nullable=False)
    # The v1 feedback item.
    item_id: Mapped[int] = mapped_column(ForeignKey("feedback_items.id", ondelete="CASCADE"), index=True, nullable=False)
    group_index: Mapped[int] = mapped_column(Integer, nullable=False)  # index into the check's alignment groups
    location: Mapped[str] = mapped_column(String(20), nullable=False)
    # Where the old quote is in v2 (exact/moved), or its rewrite (changed): a v2 section and offsets.
    v2_section_id: Mapped[int | None] = mapped_column(ForeignKey("sections.id", ondelete="SET NULL"))
    located_start: Mapped[int | None] = mapped_column(Integer)
    located_end: Mapped[int | None] = mapped_column(Integer)
    new_text: Mapped[str | None] = mapped_column(Text)
    # None until judged (rules for unchanged quotes, the model for the rest).
    status: Mapped[str | None] = mapped_column(String(20))
    reason: Mapped[str | None] = mapped_column(Text)
    removal_addresses: Mapped[bool | None] = mapped_column(Boolean)
    # The v2 text the model quotes as addressing the item, checked against the v2 section.
    new_quote: Mapped[str | None] = mapped_column(Text)
    new_quote_section_id: Mapped[int | None] = mapped_column(ForeignKey("sections.id", ondelete="SET NULL"))
    new_quote_start: Mapped[int | None] = mapped_column(Integer)
    new_quote_end: Mapped[int | None] = mapped_column(Integer)
    verified: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    judged_by: Mapped[str | None] = mapped_column(String(200))  # "rules", a model id, or "reviewer"
    # The status as the check left it, when a reviewer overrode it (the audit is a review_event).
    checked_status: Mapped[str | None] = mapped_column(String(20))
    overridden_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    def to_dict(self) -> dict:
        return {
            "item_id": self.item_id, "status": self.status, "reason": self.reason, "location": self.location,
            "group": self.group_index, "v2_section_id": self.v2_section_id, "located_start": self.located_start,
            "located_end": self.located_end, "new_text": self.new_text, "removal_addresses": self.removal_addresses,
            "new_quote": self.new_quote, "new_quote_section_id": self.new_quote_section_id,
            "new_quote_start": self.new_quote_start, "new_quote_end": self.new_quote_end, "verified": self.verified,
            "judged_by": self.judged_by, "overridden": self.overridden_by is not None, "checked_status": self.checked_status,
        }
