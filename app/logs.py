"""Logs that carry the request id or job id: one JSON object per line (LOG_FORMAT=json, production's
default), or short lines for a person at a terminal (LOG_FORMAT=text, what `make run` uses).

In text form only what a person running the product cares about is shown: records logged with
``extra=CONSOLE`` (started, worker ready, analysis started and finished) and every warning or error.
The JSON form keeps everything at LOG_LEVEL."""
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
LOG_FORMATS = ("json", "text")
# Pass as ``extra=CONSOLE`` (or merge it into an extra dict) on the few INFO lines a person watching
# the terminal wants to see.
CONSOLE = {"console": True}
_STANDARD_ATTRS = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime", "request_id", "job_id", "console"}


class ContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = getattr(g, "request_id", None) if has_request_context() else None
        record.job_id = current_job_id.get()
        return True


class ForPeople(logging.Filter):
    """Text form: the lines marked CONSOLE, and every warning and error."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.WARNING or bool(getattr(record, "console", False))


class TextFormatter(logging.Formatter):
    """``15:31:09  worker ready`` for people; warnings and errors say their level and where from,
    and the extra fields follow as key=value."""

    def __init__(self):
        super().__init__(datefmt="%H:%M:%S")

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        extras = {k: v for k, v in record.__dict__.items() if k not in _STANDARD_ATTRS and v is not None}
        if record.levelno >= logging.WARNING:
            message = f"{record.levelname} {record.name}: {message}"
            if extras:
                message += " (" + ", ".join(f"{k}={v}" for k, v in extras.items()) + ")"
        line = f"{self.formatTime(record, self.datefmt)}  {message}"
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


def configure_logging(level: str = "INFO", fmt: str = "json") -> None:
    """Send every logger's records to stdout, as JSON or as text for people (``fmt``). Idempotent:
    safe to call per app."""
    root = logging.getLogger()
    root.setLevel(level)
    if any(getattr(h, "name", None) == _HANDLER_NAME for h in root.handlers):
        return
    handler = logging.StreamHandler(sys.stdout)
    handler.set_name(_HANDLER_NAME)
    if fmt == "text":
        handler.setFormatter(TextFormatter())
        handler.addFilter(ForPeople())
    else:
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
