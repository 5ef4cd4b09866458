"""How a request finds its user: the session cookie, or a Bearer token for scripts."""
from __future__ import annotations

from flask import Flask, g, request
from flask_login import current_user
from flask_wtf.csrf import CSRFError

from app.errors import APIError, error_response
from app.extensions import csrf, db, login_manager
from app.models import User

from . import service

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})


def bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        return header[len("Bearer "):].strip()
    return None


@login_manager.user_loader
def _load_user(user_id: str) -> User | None:
    # A request that names a token is judged by the token alone, never by an ambient cookie.
    if bearer_token() is not None:
        return None
    # Stored as "<id>:<auth_version>"; an old version means the password changed since sign-in.
    try:
        raw_id, raw_version = user_id.split(":", 1)
        uid, version = int(raw_id), int(raw_version)
    except ValueError:
        return None
    user = db.session.get(User, uid)
    if user is None or user.auth_version != version or not user.is_active_account:
        return None
    return user


@login_manager.request_loader
def _load_user_from_token(req) -> User | None:
    raw = bearer_token()
    if not raw:
        return None
    token = service.live_token(db.session, raw)
    if token is None:
        return None
    g.api_token = token
    return token.user


def _refuse_read_only_token_writes() -> None:
    """A read-only token may read; any other method answers 403 before a view runs."""
    current_user._get_current_object()  # resolves the token (and g.api_token) now
    token = g.get("api_token")
    if token is not None and token.read_only:
        raise APIError(403, "read_only_token", "This API token is read-only: it may only read (GET).")


@login_manager.unauthorized_handler
def _unauthorized():
    return error_response(401, "unauthenticated", "Sign in first.")


def init_auth(app: Flask) -> None:
    login_manager.init_app(app)
    login_manager.session_protection = "basic"
    csrf.init_app(app)

    @app.before_request
    def _csrf_for_browser_requests():
        if request.method in SAFE_METHODS:
            return None
        # Scripts authenticate with a Bearer token and carry no ambient cookie: no CSRF risk there.
        if bearer_token() is not None:
            _refuse_read_only_token_writes()
            return None
        if request.path.startswith("/health"):
            return None
        try:
            csrf.protect()
        except CSRFError as exc:
            raise APIError(400, "csrf_failed", f"The CSRF token is missing or invalid: {exc.description}") from exc
        return None
