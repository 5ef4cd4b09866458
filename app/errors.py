"""Every error as JSON ``{"error": {"code", "message"}}`` with the right status."""
from __future__ import annotations

import logging

import redis.exceptions
import sqlalchemy.exc
from flask import Flask, g, jsonify, make_response, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

log = logging.getLogger(__name__)


class APIError(Exception):
    """An error a client can act on: status, machine-readable code, human message."""

    def __init__(self, status: int, code: str, message: str, *, headers: dict | None = None, extra: dict | None = None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}
        self.extra = extra or {}


def error_response(status: int, code: str, message: str, *, headers: dict | None = None, extra: dict | None = None):
    body = {"code": code, "message": message}
    request_id = getattr(g, "request_id", None)
    if request_id:
        body["request_id"] = request_id
    body.update(extra or {})
    if _wants_html():
        response = make_response(render_template("error.html", status=status, error=body), status)
    else:
        response = make_response(jsonify({"error": body}), status)
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def _wants_html() -> bool:
    """Pages a person navigates to get an HTML error; the API and health checks always get JSON."""
    if request.path.startswith(("/api/", "/health")):
        return False
    best = request.accept_mimetypes.best_match(["application/json", "text/html"])
    return best == "text/html" and request.accept_mimetypes[best] > request.accept_mimetypes["application/json"]


_HTTP_CODES = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "unprocessable",
    429: "rate_limited",
    503: "service_unavailable",
}


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(APIError)
    def _api_error(exc: APIError):
        return error_response(exc.status, exc.code, exc.message, headers=exc.headers, extra=exc.extra)

    @app.errorhandler(CSRFError)
    def _csrf_error(exc: CSRFError):
        return error_response(400, "csrf_failed", f"The CSRF token is missing or invalid: {exc.description}")

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        status = exc.code or 500
        code = _HTTP_CODES.get(status, "http_error")
        return error_response(status, code, exc.description or exc.name)

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        original = getattr(exc, "original_exception", exc)
        if isinstance(original, (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)):
            log.warning("redis unavailable: %s", type(original).__name__)
            return error_response(
                503, "service_unavailable", "A backing service (Redis) is unavailable. Try again shortly.",
                headers={"Retry-After": "5"},
            )
        if isinstance(original, sqlalchemy.exc.TimeoutError):
            # Every connection of this process's pool is in use (DB_POOL_SIZE + DB_MAX_OVERFLOW)
            # and none came free within DB_POOL_TIMEOUT: the server is busy, not broken.
            log.warning("database pool exhausted")
            return error_response(
                503, "service_unavailable", "The server is busy. Try again shortly.",
                headers={"Retry-After": "2"},
            )
        if isinstance(original, (sqlalchemy.exc.OperationalError, sqlalchemy.exc.InterfaceError)):
            log.warning("database unavailable: %s", type(original).__name__)
            return error_response(
                503, "service_unavailable", "The database is unavailable. Try again shortly.",
                headers={"Retry-After": "5"},
            )
        if _storage_unavailable(original):
            log.warning("storage unavailable: %s", type(original).__name__)
            return error_response(
                503, "service_unavailable", "File storage is unavailable. Try again shortly.",
                headers={"Retry-After": "5"},
            )
        log.exception("unhandled error")
        return error_response(500, "internal_error", "Something went wrong on our side; it has been logged.")


def _storage_unavailable(exc: Exception) -> bool:
    """S3 could not be reached, timed out, or answered 5xx (`make chaos` showed these as 500s)."""
    from botocore.exceptions import ClientError, ConnectionError as BotoConnectionError, HTTPClientError

    if isinstance(exc, (BotoConnectionError, HTTPClientError)):
        return True
    return isinstance(exc, ClientError) and exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) >= 500
