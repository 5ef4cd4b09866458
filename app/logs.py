"""Structured logs (one JSON object per line) that carry the request id or job id."""
from __future__ import annotations

import contextvars
import logging
import re
import sys
import uuid

from flask import Flask, g, has_request_context, request
from pythonjsonlogger.json import JsonFormatter

# Set by job workers so their lines carry the job id the way requests carry theirs.
current_job_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("current_job_id", default=None)

_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_HANDLER_NAME = "ai-prism-json"


class ContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = getattr(g, "request_id", None) if has_request_context() else None
        record.job_id = current_job_id.get()
        return True


def configure_logging(level: str = "INFO") -> None:
    """Send every logger's records to stdout as JSON. Idempotent: safe to call per app."""
    root = logging.getLogger()
    root.setLevel(level)
    if any(getattr(h, "name", None) == _HANDLER_NAME for h in root.handlers):
        return
    handler = logging.StreamHandler(sys.stdout)
    handler.set_name(_HANDLER_NAME)
    handler.setFormatter(
        JsonFormatter(
            "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s %(job_id)s",
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
            datefmt="%Y-%m-%dT%H:%M:%S%z",
        )
    )
    handler.addFilter(ContextFilter())
    root.addHandler(handler)


def init_request_ids(app: Flask) -> None:
    """Every request gets an id (the caller's X-Request-ID when it is sane), echoed in the response."""

    @app.before_request
    def _assign_request_id():
        incoming = request.headers.get("X-Request-ID", "")
        g.request_id = incoming if _SAFE_REQUEST_ID.match(incoming) else uuid.uuid4().hex

    @app.after_request
    def _echo_request_id(response):
        request_id = getattr(g, "request_id", None)
        if request_id:
            response.headers["X-Request-ID"] = request_id
        return response
