"""/api/auth: CSRF token, sign-in and out, first-run setup, the current user, personal tokens."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, current_app, jsonify, request, session
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf.csrf import generate_csrf
from sqlalchemy import select

from app.errors import APIError
from app.extensions import db, redis_clients
from app.models import ApiToken, User, utcnow

from . import service
from .access import owned_or_404, session_only
from .throttle import sign_in_throttle

bp = Blueprint("auth", __name__, url_prefix="/api/auth")


def json_body() -> dict:
    """The request's JSON object, or a 400 a client can understand."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise APIError(400, "invalid_json", "Send a JSON object with Content-Type: application/json.")
    return body


def _sign_in(user: User) -> dict:
    # A fresh session id at sign-in defeats session fixation.
    current_app.session_interface.regenerate(session)
    session.clear()
    login_user(user)
    session.permanent = True
    session["signed_in_at"] = utcnow().isoformat()
    user.last_login_at = utcnow()
    db.session.commit()
    return {"user": user.to_dict(), "csrf_token": generate_csrf()}


def account_error(exc: service.AccountError):
    status = 409 if exc.code == "email_taken" else 422
    return APIError(status, exc.code, exc.message)


@bp.get("/csrf")
def csrf_token():
    return jsonify({"csrf_token": generate_csrf()})


def _too_many(wait: int) -> APIError:
    return APIError(
        429, "too_many_attempts", f"Too many failed sign-ins. Try again in {wait} seconds.",
        headers={"Retry-After": str(wait)},
    )


def checked_password(email: str, password, wrong: APIError) -> User:
    """The active user with this email and password, throttled as a sign-in: 429 with Retry-After
    when this address (or this address for this account) is over its limit, or when the account is
    being slowed and this address has failed; ``wrong`` when the password is not right."""
    throttle = sign_in_throttle()
    address = request.remote_addr or "unknown"
    verdict = throttle.check(email, address)
    if verdict.refuse_for is not None:
        raise _too_many(verdict.refuse_for)
    try:
        user = service.authenticate(db.session, email, password if isinstance(password, str) else "")
    except service.AccountDisabled as exc:
        raise APIError(403, "account_disabled",
                       "This account has been disabled by an administrator. Ask an administrator to enable it.") from exc
    if user is None:
        wait = throttle.record_failure(email, address)
        if wait:
            raise _too_many(wait)
        raise wrong
    throttle.record_success(email, address)
    return user


@bp.post("/login")
@session_only
def login():
    body = json_body()
    email, password = body.get("email"), body.get("password")
    if not isinstance(email, str) or not isinstance(password, str) or not email or not password:
        raise APIError(400, "missing_credentials", "Give both email and password.")
    email = service.normalise_email(email)
    user = checked_password(email, password, APIError(401, "invalid_credentials", "Wrong email or password."))
    return jsonify({**_sign_in(user), "redirect": safe_next(body.get("next"))})


def safe_next(target) -> str:
    """Where to go after sign-in: a path on this site only ("/documents/3"), never another host
    ("https://evil.example", "//evil.example", "/\\evil.example"), else the dashboard."""
    if not isinstance(target, str) or not target.startswith("/") or target.startswith(("//", "/\\")):
        return "/"
    if any(ch in target for ch in "\\\r\n\t") or len(target) > 2000:
        return "/"
    parsed = urlsplit(target)
    if parsed.scheme or parsed.netloc:
        return "/"
    return target


@bp.post("/logout")
def logout():
    logout_user()
    session.clear()
    return jsonify({"status": "signed_out"})


@bp.get("/me")
@login_required
def me():
    return jsonify({
        "user": current_user.to_dict(),
        "auth": "token" if request.headers.get("Authorization", "").startswith("Bearer ") else "session",
        "signed_in_at": session.get("signed_in_at"),
    })


@bp.get("/setup")
def setup_state():
    return jsonify({"setup_needed": service.user_count(db.session) == 0})


@bp.post("/setup")
@session_only
def setup():
    """Create the first (admin) account; refused once any account exists."""
    body = json_body()
    # One setup at a time across every worker; the count check inside makes it first-come only.
    lock = redis_clients.client.lock("ai-prism:setup-lock", timeout=30, blocking_timeout=10)
    with lock:
        if service.user_count(db.session) > 0:
            raise APIError(409, "already_set_up", "An administrator already exists; sign in instead.")
        try:
            user = service.create_user(
                db.session, body.get("email", ""), body.get("password", ""), "admin", body.get("display_name", "")
            )
        except service.AccountError as exc:
            raise account_error(exc) from exc
        db.session.commit()
    return jsonify(_sign_in(user)), 201


@bp.get("/tokens")
@login_required
def list_tokens():
    tokens = db.session.scalars(
        select(ApiToken).where(ApiToken.user_id == current_user.id).order_by(ApiToken.id)
    ).all()
    return jsonify({"tokens": [t.to_dict() for t in tokens]})


@bp.post("/tokens")
@session_only
@login_required
def create_token():
    body = json_body()
    expires = body.get("expires_in_days")
    if expires is not None and (not isinstance(expires, int) or isinstance(expires, bool)):
        raise APIError(422, "invalid_expiry", "expires_in_days must be a whole number of days.")
    scope = body.get("scope", "full")
    try:
        raw, token = service.create_api_token(
            db.session, current_user, body.get("name", ""), expires_in_days=expires, scope=scope,
            default_days=current_app.config["TOKEN_DEFAULT_DAYS"], max_days=current_app.config["TOKEN_MAX_DAYS"],
        )
    except service.AccountError as exc:
        raise account_error(exc) from exc
    db.session.commit()
    return jsonify({**token.to_dict(), "token": raw}), 201


@bp.delete("/tokens/<int:token_id>")
@login_required
def revoke_token(token_id: int):
    token = owned_or_404(ApiToken, token_id)
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        db.session.commit()
    return jsonify(token.to_dict())


@bp.post("/password")
@session_only
@login_required
def change_password():
    body = json_body()
    user = checked_password(current_user.email, body.get("current_password"),
                            APIError(403, "wrong_password", "The current password is not right."))
    try:
        service.set_password(db.session, user, body.get("new_password", ""))
    except service.AccountError as exc:
        raise account_error(exc) from exc
    db.session.commit()
    # This session continues under the new auth version; every other one has just ended.
    return jsonify(_sign_in(user))
