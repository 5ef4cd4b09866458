"""Users and their personal API tokens."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, Float, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, JSONType, Timestamped, UTCDateTime, utcnow

# Reviewers work on their own documents; admins also see everyone's and run the admin page. (An
# "analyst" role once existed without any meaning; migration 0004_auth made analysts reviewers.)
ROLES = ("reviewer", "admin")
ACCOUNT_ACTIONS = ("create", "disable", "enable", "reset_password")


class User(Timestamped, Base):
    __tablename__ = "users"
    __table_args__ = (CheckConstraint("role IN ('reviewer', 'admin')", name="role"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True, nullable=False)
    display_name: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    password_hash: Mapped[str] = mapped_column(String(255), nullable=False)
    role: Mapped[str] = mapped_column(String(20), nullable=False, default="reviewer")
    is_active_account: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    # Bumped when the password changes: sessions and cookies carrying an older value stop working.
    auth_version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The confidence threshold this reviewer chose (None: the deployment's MIN_CONFIDENCE). Readers
    # never apply it below MIN_CONFIDENCE (app.review.preferences).
    min_confidence: Mapped[float | None] = mapped_column(Float)


    # The team whose decisions teach the analysis prompt (app/review/learning.py); None: the deployment's.
    review_group: Mapped[str | None] = mapped_column(String(100))

    tokens: Mapped[list[ApiToken]] = relationship(
        back_populates="user", cascade="all, delete-orphan", passive_deletes=True
    )

    # Flask-Login's protocol. The id it stores carries auth_version so a password change ends
    # every other session at once.
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_active(self) -> bool:
        return self.is_active_account

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        return f"{self.id}:{self.auth_version}"

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    def to_dict(self) -> dict:
        return {
            "id": self.id,
            "email": self.email,
            "display_name": self.display_name,
            "role": self.role,
            "disabled": not self.is_active_account,
            "review_group": self.review_group,
            "created_at": self.created_at.isoformat() if self.created_at else None,
            "last_login_at": self.last_login_at.isoformat() if self.last_login_at else None,
        }


TOKEN_SCOPES = ("full", "read")


class ApiToken(Base):
    """A personal token for scripts. Only its SHA-256 digest is stored. A token acts as its owner
    on the API but can never create tokens, change a password or open a browser session; a
    ``read`` token may only read (GET, HEAD, OPTIONS)."""

    __tablename__ = "api_tokens"
    __table_args__ = (CheckConstraint("scope IN ('full', 'read')", name="scope"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True, nullable=False
    )
    name: Mapped[str] = mapped_column(String(100), nullable=False)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    # The first characters, shown in lists so a person can tell tokens apart.
    prefix: Mapped[str] = mapped_column(String(16), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Set on every token made since 0004_auth (at most TOKEN_MAX_DAYS ahead); older tokens got one then.
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    scope: Mapped[str] = mapped_column(String(10), nullable=False, default="full", server_default="full")

    user: Mapped[User] = relationship(back_populates="tokens")

    @property
    def read_only(self) -> bool:
        return self.scope == "read"

    def to_dict(self) -> dict:
        return {
            "id": self.id,
            "name": self.name,
            "prefix": self.prefix,
            "created_at": self.created_at.isoformat(),
            "last_used_at": self.last_used_at.isoformat() if self.last_used_at else None,
            "expires_at": self.expires_at.isoformat() if self.expires_at else None,
            "scope": self.scope,
            "revoked": self.revoked_at is not None,
            "revoked_at": self.revoked_at.isoformat() if self.revoked_at else None,
        }


class AccountEvent(Base):
    """One immutable record of an administrator's action on an account: who, on whom, what, when.
    Emails are copied so the record reads the same whatever later happens to either account."""

    __tablename__ = "account_events"
    __table_args__ = (
        CheckConstraint("action IN ('create', 'disable', 'enable', 'reset_password')", name="action"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    actor_email: Mapped[str] = mapped_column(String(320), nullable=False)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    user_email: Mapped[str] = mapped_column(String(320), nullable=False)
    action: Mapped[str] = mapped_column(String(30), nullable=False)
    detail: Mapped[dict | None] = mapped_column(JSONType)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)

    def to_dict(self) -> dict:
        return {
            "id": self.id,
            "at": self.created_at.isoformat(),
            "actor": {"id": self.actor_id, "email": self.actor_email},
            "user": {"id": self.user_id, "email": self.user_email},
            "action": self.action,
            "detail": self.detail or {},
        }
