"""/api/admin/models: the chain's state per model, and a reset."""
from __future__ import annotations

from flask import Blueprint, current_app, jsonify

from app.auth.access import require_role

bp = Blueprint("admin_models", __name__, url_prefix="/api/admin/models")


def chain():
    return current_app.extensions["model_chain"]


@bp.get("")
@require_role("admin")
def models():
    return jsonify({"provider": current_app.config["MODEL_PROVIDER"], "models": chain().status()})


@bp.post("/reset")
@require_role("admin")
def reset():
    chain().reset()
    return jsonify({"provider": current_app.config["MODEL_PROVIDER"], "models": chain().status()})
