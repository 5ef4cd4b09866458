"""LOG_FORMAT: JSON for production (the default), short text lines for a person under `make run`;
neither logs health checks or static files."""
import importlib.util
import io
import json
import logging
from datetime import timedelta
from pathlib import Path

import pytest

from app.config import ConfigError, load_settings
from app.logs import CONSOLE, ContextFilter, ForPeople, TextFormatter

ROOT = Path(__file__).resolve().parents[2]


def test_json_is_the_default_and_text_is_a_choice():
    assert load_settings({})["LOG_FORMAT"] == "json"
    assert load_settings({"LOG_FORMAT": "TEXT"})["LOG_FORMAT"] == "text"
    with pytest.raises(ConfigError, match="LOG_FORMAT"):
        load_settings({"LOG_FORMAT": "xml"})


def _text_handler():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(TextFormatter())
    handler.addFilter(ForPeople())
    handler.addFilter(ContextFilter())
    logger = logging.getLogger("test.log_format")
    logger.propagate = False
    logger.handlers[:] = [handler]
    logger.setLevel(logging.INFO)
    return logger, stream


def test_text_form_shows_what_a_person_needs_and_drops_the_rest():
    logger, stream = _text_handler()
    logger.info("Worker 6753: cleaning registries for queue: analysis")
    logger.info("worker ready: 2 job processes", extra=CONSOLE)
    logger.warning("redis unavailable; worker starting again", extra={"retry_in_s": 2})
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2
    assert lines[0].endswith("  worker ready: 2 job processes") and not lines[0].startswith("{")
    assert "WARNING test.log_format: redis unavailable; worker starting again (retry_in_s=2)" in lines[1]


def _gunicorn_conf(monkeypatch, log_format):
    monkeypatch.setenv("LOG_FORMAT", log_format)
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", "/tmp")
    spec = importlib.util.spec_from_file_location(f"gunicorn_conf_{log_format}", ROOT / "gunicorn.conf.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _access_lines(conf, path, status):
    logger = conf.JsonAccessLogger.__new__(conf.JsonAccessLogger)
    logger.access_log = logging.getLogger(f"test.access.{id(conf)}")
    logger.access_log.propagate = False
    stream = io.StringIO()
    logger.access_log.handlers[:] = [logging.StreamHandler(stream)]
    logger.access_log.setLevel(logging.INFO)
    logger.cfg = type("Cfg", (), {"accesslog": "-", "access_log_format": ""})()
    logger.atoms = lambda resp, req, environ, request_time: {"m": "GET", "U": path, "s": str(status), "B": 10, "h": "127.0.0.1"}
    type(logger).access_log_enabled = property(lambda self: True)
    logger.access(None, None, {"PATH_INFO": path}, timedelta(milliseconds=12))
    return stream.getvalue().splitlines()


def test_access_log_skips_health_and_static_and_text_shows_only_server_errors(monkeypatch):
    production = _gunicorn_conf(monkeypatch, "json")
    assert production.loglevel == "info"
    assert _access_lines(production, "/health/ready", 200) == []
    assert _access_lines(production, "/static/js/api.js", 200) == []
    (line,) = _access_lines(production, "/api/documents", 200)
    assert json.loads(line)["path"] == "/api/documents"
    terminal = _gunicorn_conf(monkeypatch, "text")
    assert terminal.loglevel == "warning"
    assert _access_lines(terminal, "/api/documents", 200) == []
    (line,) = _access_lines(terminal, "/api/documents", 500)
    assert "GET /api/documents answered 500" in line and not line.startswith("{")
