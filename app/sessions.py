"""Sessions: server-side in Redis (Flask-Session, msgpack, never pickled) once someone signs in;
a signed cookie before that.

An anonymous visitor's session holds only the CSRF secret Flask-WTF keeps in it (and Flask-Login's
bookkeeping). Keeping that in Redis meant every anonymous GET /api/auth/csrf created a 12-hour key,
without limit. Instead, a session that names no user is written into the cookie itself, signed with
SECRET_KEY (itsdangerous, timed, its own salt, prefixed ``anon.``), so anonymous visits cost Redis
nothing. Flask-WTF works unchanged on both kinds: it signs a token from the secret in the session
and compares on every state-changing request. At sign-in the session id is regenerated and the
session (with its CSRF secret) moves to Redis; at sign-out the Redis key is deleted. A signed-in
session is never written to the cookie, so sign-out and password changes still end it at once.

Health checks open no session, so a Redis outage is reported by /health/ready instead of breaking
it; the one exception is /health/ready with a session cookie (an admin asking for the details), read
but never written, and treated as no session when Redis does not answer. Any other request that
needs its session while Redis is down gets a clean 503.
"""
from __future__ import annotations

import redis.exceptions
from flask import Flask, request
from flask.json.tag import TaggedJSONSerializer
from flask_session.redis import RedisSessionInterface
from itsdangerous import BadSignature, URLSafeTimedSerializer

from app.errors import APIError

SESSIONLESS_PREFIXES = ("/health", "/static/")
ANONYMOUS_PREFIX = "anon."
SIGNED_IN_KEY = "_user_id"  # Flask-Login's key: present exactly when someone is signed in
_SESSION_ERROR = "ai_prism.session_error"


class AppSessionInterface(RedisSessionInterface):
    def _anonymous_codec(self, app: Flask) -> URLSafeTimedSerializer:
        return URLSafeTimedSerializer(
            app.secret_key, salt="ai-prism-anonymous-session", serializer=TaggedJSONSerializer()
        )

    def open_session(self, app, req):
        raw = req.cookies.get(self.get_cookie_name(app)) or ""
        if req.path.startswith(SESSIONLESS_PREFIXES):
            if req.path == "/health/ready" and raw and not raw.startswith(ANONYMOUS_PREFIX):
                try:
                    return super().open_session(app, req)
                except redis.exceptions.RedisError:
                    pass
            return self.make_null_session(app)
        if raw.startswith(ANONYMOUS_PREFIX):
            return self._open_anonymous(app, raw[len(ANONYMOUS_PREFIX):])
        try:
            return super().open_session(app, req)
        except redis.exceptions.RedisError as exc:
            # Raising here would leave Flask without a session to finish the request with; record
            # it and let the first before_request hook answer 503.
            req.environ[_SESSION_ERROR] = exc
            return self.make_null_session(app)

    def _open_anonymous(self, app, value: str):
        try:
            data = self._anonymous_codec(app).loads(value, max_age=int(app.permanent_session_lifetime.total_seconds()))
        except BadSignature:
            data = None
        if not isinstance(data, dict) or SIGNED_IN_KEY in data:
            data = {}  # forged, expired, or claiming a user: a fresh anonymous session
        # A fresh id, used only if this visitor signs in (regenerated again there).
        return self.session_class(data, sid=self._generate_sid(self.sid_length), permanent=self.permanent)

    def save_session(self, app, session, response):
        if request.path.startswith(SESSIONLESS_PREFIXES) or _SESSION_ERROR in request.environ:
            return None
        if SIGNED_IN_KEY in session:
            return super().save_session(app, session, response)
        return self._save_anonymous(app, session, response)

    def _save_anonymous(self, app, session, response) -> None:
        name = self.get_cookie_name(app)
        domain, path = self.get_cookie_domain(app), self.get_cookie_path(app)
        raw = request.cookies.get(name) or ""
        if raw and not raw.startswith(ANONYMOUS_PREFIX):
            # A Redis session that no longer names a user (signed out, or from before this change).
            self._delete_session(self._get_store_id(raw))
        if not session:
            if raw:
                response.delete_cookie(key=name, domain=domain, path=path)
            return
        if not session.modified and raw.startswith(ANONYMOUS_PREFIX):
            return
        value = ANONYMOUS_PREFIX + self._anonymous_codec(app).dumps(dict(session))
        response.set_cookie(
            key=name, value=value, expires=self.get_expiration_time(app, session),
            httponly=self.get_cookie_httponly(app), domain=domain, path=path,
            secure=self.get_cookie_secure(app), samesite=self.get_cookie_samesite(app),
        )
        response.vary.add("Cookie")


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
