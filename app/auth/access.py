"""Who may see what: owners see their own, admins see all, everyone else gets 404."""
from __future__ import annotations

from functools import wraps

from flask_login import current_user
from sqlalchemy import select

from app.errors import APIError
from app.extensions import db

from .loading import bearer_token


def _visible(owner_id: int) -> bool:
    return current_user.is_admin or owner_id == current_user.id


def owned_or_404(model, object_id: int, owner_attr: str = "user_id"):
    """The object when the current user owns it (or is an admin); otherwise 404, never 403."""
    obj = db.session.get(model, object_id)
    if obj is None or not _visible(getattr(obj, owner_attr)):
        raise APIError(404, "not_found", f"No {model.__name__.lower()} with id {object_id}.")
    return obj


def require_role(*roles: str):
    """Allow only signed-in users with one of ``roles``."""

    def decorator(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            if not current_user.is_authenticated:
                raise APIError(401, "unauthenticated", "Sign in first.")
            if current_user.role not in roles:
                raise APIError(403, "forbidden", "Your role does not allow this.")
            return view(*args, **kwargs)

        return wrapper

    return decorator


def document_child_or_404(model, object_id: int, label: str):
    """An analysis, feedback item or export: visible exactly when its document is. One query: the
    object and its document's owner (status polls come every few seconds from every open page)."""
    from app.models import Document

    row = db.session.execute(
        select(model, Document.user_id).join(Document, Document.id == model.document_id).where(model.id == object_id)
    ).first()
    if row is None or not _visible(row.user_id):
        raise APIError(404, "not_found", f"No {label} with id {object_id}.")
    return row[0]


def session_only(view):
    """For what an API token must never do: create tokens, change a password, sign in (open a
    browser session) or administer accounts. A Bearer request gets 403 ``token_not_allowed``, so a
    leaked token cannot outlive its own revocation."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        if bearer_token() is not None:
            raise APIError(
                403, "token_not_allowed",
                "API tokens cannot do this (create tokens, change passwords, sign in or manage accounts); "
                "sign in in the browser instead.",
            )
        return view(*args, **kwargs)

    return wrapper
