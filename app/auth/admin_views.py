"""/api/admin/users: accounts, for administrators signed in in the browser (never with a token)."""
from __future__ import annotations

from flask import Blueprint, jsonify
from flask_login import current_user
from sqlalchemy import select

from app.errors import APIError
from app.extensions import db
from app.models import AccountEvent, User

from . import service
from .access import require_role, session_only
from .views import account_error, json_body

admin_bp = Blueprint("admin_users", __name__, url_prefix="/api/admin/users")


def _user_or_404(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        raise APIError(404, "not_found", f"No user with id {user_id}.")
    return user


@admin_bp.get("")
@require_role("admin")
def list_users():
    users = db.session.scalars(select(User).order_by(User.id)).all()
    return jsonify({"users": [u.to_dict() for u in users]})


@admin_bp.post("")
@session_only
@require_role("admin")
def create_user():
    body = json_body()
    try:
        user = service.create_user(
            db.session, body.get("email", ""), body.get("password", ""),
            body.get("role", "reviewer"), body.get("display_name", ""),
        )
    except service.AccountError as exc:
        raise account_error(exc) from exc
    service.record_created(db.session, current_user, user)
    db.session.commit()
    return jsonify({"user": user.to_dict()}), 201


@admin_bp.post("/<int:user_id>/disable")
@session_only
@require_role("admin")
def disable_user(user_id: int):
    user = _user_or_404(user_id)
    try:
        service.disable_user(db.session, current_user, user)
    except service.AccountError as exc:
        raise APIError(409, exc.code, exc.message) from exc
    db.session.commit()
    return jsonify({"user": user.to_dict()})


@admin_bp.post("/<int:user_id>/enable")
@session_only
@require_role("admin")
def enable_user(user_id: int):
    user = _user_or_404(user_id)
    service.enable_user(db.session, current_user, user)
    db.session.commit()
    return jsonify({"user": user.to_dict()})


@admin_bp.post("/<int:user_id>/password")
@session_only
@require_role("admin")
def reset_password(user_id: int):
    body = json_body()
    user = _user_or_404(user_id)
    if user.id == current_user.id:
        raise APIError(409, "use_own_password_change", "Change your own password with POST /api/auth/password.")
    try:
        service.reset_password(db.session, current_user, user, body.get("new_password", ""))
    except service.AccountError as exc:
        raise account_error(exc) from exc
    db.session.commit()
    return jsonify({"user": user.to_dict()})


@admin_bp.get("/<int:user_id>/events")
@require_role("admin")
def account_events(user_id: int):
    user = _user_or_404(user_id)
    events = db.session.scalars(
        select(AccountEvent).where(AccountEvent.user_id == user.id).order_by(AccountEvent.id.desc())
    ).all()
    return jsonify({"events": [e.to_dict() for e in events]})


@admin_bp.post("/<int:user_id>/group")
@session_only
@require_role("admin")
def set_group(user_id: int):
    """The team whose decisions teach this user's analyses (app/review/learning.py); null: the deployment's."""
    body = json_body()
    group = body.get("group")
    if group is not None and (not isinstance(group, str) or len(group.strip()) > 100):
        raise APIError(400, "invalid_group", "group must be text of at most 100 characters, or null.")
    user = _user_or_404(user_id)
    user.review_group = " ".join(group.split())[:100] or None if group else None
    db.session.commit()
    return jsonify({"user": user.to_dict()})
