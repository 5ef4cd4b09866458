"""Server-rendered pages. Thin: decide where a person belongs, then render. The data comes from the
JSON API, fetched by the page's module; the template passes only ids and limits as data- attributes."""
from __future__ import annotations

from functools import wraps

from flask import Blueprint, abort, current_app, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from app.auth import service
from app.auth.access import owned_or_404
from app.auth.views import safe_next
from app.documents.intake import ACCEPTED
from app.extensions import db
from app.models import Document
from app.review.activity import ACTIONS
from app.review.checklist import HAWKEYE

bp = Blueprint("pages", __name__)


def signed_in_page(view):
    """Send a visitor who is not signed in to setup (no account yet) or sign-in, then back."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        if service.user_count(db.session) == 0:
            return redirect(url_for("pages.setup"))
        if not current_user.is_authenticated:
            return redirect(url_for("pages.login", next=request.full_path.rstrip("?")))
        return view(*args, **kwargs)

    return wrapper


@bp.get("/")
@signed_in_page
def home():
    return render_template(
        "dashboard.html", max_upload_bytes=current_app.config["MAX_UPLOAD_BYTES"],
        accepted=",".join(sorted(f".{ext}" for ext in ACCEPTED)),
    )


@bp.get("/documents/<int:document_id>")
@signed_in_page
def review(document_id: int):
    document = owned_or_404(Document, document_id)
    hawkeye = {point.number: point.name for point in HAWKEYE}
    # A document with a later version links to it instead of offering another upload (which the API
    # would refuse: versions form a line, not a tree).
    next_version = db.session.scalars(select(Document).where(Document.previous_version_id == document.id)).first()
    return render_template("review.html", document=document, hawkeye=hawkeye, checklist=HAWKEYE, next_version=next_version,
                           deployment_min_confidence=current_app.config["MIN_CONFIDENCE"])


@bp.get("/documents/<int:document_id>/changes")
@signed_in_page
def changes(document_id: int):
    """The Changes view of a later version: its revision check, side by side with the version before."""
    document = owned_or_404(Document, document_id)
    if document.previous_version_id is None:
        return redirect(url_for("pages.review", document_id=document.id))
    return render_template("changes.html", document=document)


@bp.get("/patterns")
@signed_in_page
def patterns():
    return render_template("patterns.html")


@bp.get("/admin")
@signed_in_page
def admin():
    if not current_user.is_admin:
        abort(403, "Only administrators can open the admin page.")
    return render_template("admin.html")


@bp.get("/stats")
@signed_in_page
def statistics():
    return render_template("stats.html", all_scope=current_user.is_admin and request.args.get("scope") == "all",
                           hawkeye={point.number: point.name for point in HAWKEYE})


@bp.get("/help")
@signed_in_page
def help_page():
    return render_template("help.html", hawkeye=HAWKEYE)


@bp.get("/admin/activity")
@signed_in_page
def admin_activity():
    if not current_user.is_admin:
        abort(403, "Only administrators can open the activity page.")
    return render_template("activity.html", actions=ACTIONS)


@bp.get("/login")
def login():
    if service.user_count(db.session) == 0:
        return redirect(url_for("pages.setup"))
    if current_user.is_authenticated:
        return redirect(safe_next(request.args.get("next")))
    return render_template("login.html", next=safe_next(request.args.get("next")))


@bp.get("/setup")
def setup():
    if service.user_count(db.session) > 0:
        return redirect(url_for("pages.login"))
    return render_template("setup.html")

