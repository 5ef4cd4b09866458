"""Server-rendered pages. Thin: decide where a person belongs, then render."""
from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, url_for
from flask_login import current_user

from app.auth import service
from app.auth.views import safe_next
from app.extensions import db

bp = Blueprint("pages", __name__)


@bp.get("/")
def home():
    if service.user_count(db.session) == 0:
        return redirect(url_for("pages.setup"))
    if not current_user.is_authenticated:
        return redirect(url_for("pages.login"))
    return render_template("home.html")


@bp.get("/login")
def login():
    if service.user_count(db.session) == 0:
        return redirect(url_for("pages.setup"))
    if current_user.is_authenticated:
        return redirect(safe_next(request.args.get("next")))
    return render_template("login.html")


@bp.get("/setup")
def setup():
    if service.user_count(db.session) > 0:
        return redirect(url_for("pages.login"))
    return render_template("setup.html")
