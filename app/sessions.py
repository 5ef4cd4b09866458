"""Server-side sessions in Redis (Flask-Session), msgpack-serialised, never pickled.

Health checks open no session, so a Redis outage is reported by /health/ready instead of breaking
it; the one exception is /health/ready with a session cookie (an admin asking for the details), read
but never written, and treated as no session when Redis does not answer. Any other request that needs its session while Redis is down gets a clean 503.
"""
from __future__ import annotations

import redis.exceptions
from flask import Flask, request
from flask_session.redis import RedisSessionInterface

from app.errors import APIError

SESSIONLESS_PREFIXES = ("/health", "/static/")
_SESSION_ERROR = "ai_prism.session_error"


class AppSessionInterface(RedisSessionInterface):
    def open_session(self, app, req):
        if req.path.startswith(SESSIONLESS_PREFIXES):
            if req.path == "/health/ready" and req.cookies.get(self._cookie_name(app)):
                try:
                    return super().open_session(app, req)
                except redis.exceptions.RedisError:
                    pass
            return self.make_null_session(app)
        try:
            return super().open_session(app, req)
        except redis.exceptions.RedisError as exc:
            # Raising here would leave Flask without a session to finish the request with; record
            # it and let the first before_request hook answer 503.
            req.environ[_SESSION_ERROR] = exc
            return self.make_null_session(app)

    @staticmethod
    def _cookie_name(app) -> str:
        return app.config["SESSION_COOKIE_NAME"]

    def save_session(self, app, session, response):
        if request.path.startswith(SESSIONLESS_PREFIXES) or _SESSION_ERROR in request.environ:
            return None
        return super().save_session(app, session, response)


def init_sessions(app: Flask) -> None:
    app.session_interface = AppSessionInterface(
        app=app,
        client=app.extensions["redis"],
        key_prefix=app.config["SESSION_KEY_PREFIX"],
        use_signer=False,
        permanent=True,
        sid_length=32,
        serialization_format="msgpack",
    )

    @app.before_request
    def _session_store_unavailable():
        if _SESSION_ERROR in request.environ:
            raise APIError(
                503, "service_unavailable",
                "Sessions are unavailable right now (Redis is down). Try again shortly.",
                headers={"Retry-After": "5"},
            )
