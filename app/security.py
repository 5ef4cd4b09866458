"""Response headers, CORS, request size limits and per-user rate limits.

Every response carries a strict Content-Security-Policy (no inline script or style, nothing from
another origin), nosniff, no framing and a conservative referrer policy; HSTS in production. CORS is
off unless CORS_ALLOWED_ORIGINS names origins, and then only for the API and without cookies (scripts
use Bearer tokens). JSON bodies are capped far below the upload limit. Rate limits live in Redis, so
every worker of every instance counts together.
"""
from __future__ import annotations

import io
import math
import time

from flask import Flask, current_app, request
from flask_login import current_user
from limits import parse

from app.errors import APIError

CONTENT_SECURITY_POLICY = "; ".join((
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "connect-src 'self'",
    "font-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
))
UPLOAD_ENDPOINTS = frozenset({"documents.upload"})
BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
CORS_METHODS = "GET, POST, PATCH, DELETE"
CORS_HEADERS = "Authorization, Content-Type, X-CSRFToken, X-Request-ID"


def _cors_origin() -> str | None:
    origin = request.headers.get("Origin")
    if origin and request.path.startswith("/api/") and origin in current_app.config["CORS_ALLOWED_ORIGINS"]:
        return origin
    return None


def init_security(app: Flask) -> None:
    static_base = app.config.get("STATIC_BASE_URL") or ""

    @app.before_request
    def _limit_request_size():
        # Uploads may be large (MAX_CONTENT_LENGTH); everything else is a small JSON body. Werkzeug
        # enforces the per-request limit on the stream too, so a chunked body without a length is cut.
        if request.endpoint not in UPLOAD_ENDPOINTS:
            limit = app.config["MAX_JSON_BYTES"]
            too_large = APIError(413, "too_large", f"Request bodies here are limited to {limit // 1024} KB.")
            request.max_content_length = limit
            if request.content_length is not None and request.content_length > limit:
                raise too_large
            if request.content_length is None and request.method in BODY_METHODS and request.environ.get("wsgi.input_terminated"):
                # A chunked body (gunicorn marks it terminated): Werkzeug would quietly cut it at the
                # limit; read it here instead, answer 413 when it is over, else hand on what was read.
                raw = request.environ["wsgi.input"].read(limit + 1)
                if len(raw) > limit:
                    raise too_large
                request.environ["wsgi.input"] = io.BytesIO(raw)
                request.environ["CONTENT_LENGTH"] = str(len(raw))
        if request.method == "OPTIONS" and request.headers.get("Access-Control-Request-Method"):
            # A CORS preflight: answered here (allowed or not) so no view runs for it.
            return app.response_class(status=204)
        return None

    @app.after_request
    def _security_headers(response):
        headers = response.headers
        policy = CONTENT_SECURITY_POLICY
        if static_base:
            # Fingerprinted assets may come from the CDN named by STATIC_BASE_URL.
            origin = static_base.rstrip("/")
            policy = (policy.replace("script-src 'self'", f"script-src 'self' {origin}")
                      .replace("style-src 'self'", f"style-src 'self' {origin}")
                      .replace("font-src 'self'", f"font-src 'self' {origin}")
                      .replace("img-src 'self' data:", f"img-src 'self' data: {origin}"))
        headers.setdefault("Content-Security-Policy", policy)
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
        headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()")
        if app.config["PRODUCTION"]:
            headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        if request.path.startswith("/api/") and "Cache-Control" not in headers:
            # Documents and reviews are private: never kept by a shared or browser cache.
            headers["Cache-Control"] = "no-store"
        origin = _cors_origin()
        if origin:
            headers["Access-Control-Allow-Origin"] = origin
            headers["Access-Control-Allow-Methods"] = CORS_METHODS
            headers["Access-Control-Allow-Headers"] = CORS_HEADERS
            headers["Access-Control-Max-Age"] = "600"
        if request.headers.get("Origin") and request.path.startswith("/api/"):
            headers.add("Vary", "Origin")
        return response


def rate_limit(name: str, setting: str, what: str) -> None:
    """Count one use of ``name`` by the current user against the limit in ``setting`` (e.g. "30/minute");
    over it, answer 429 with Retry-After. ``what`` names the action in the message."""
    limiter = current_app.extensions["rate_limiter"]
    limit = parse(current_app.config[setting])
    who = str(current_user.id) if current_user.is_authenticated else (request.remote_addr or "unknown")
    if not limiter.hit(limit, name, who):
        reset_at = limiter.get_window_stats(limit, name, who).reset_time
        wait = max(1, math.ceil(reset_at - time.time()))
        raise APIError(429, "rate_limited", f"Too many {what}; try again in {wait} seconds.",
                       headers={"Retry-After": str(wait)})
