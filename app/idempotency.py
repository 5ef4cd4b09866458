"""Idempotency keys: a request carrying `Idempotency-Key` is answered once per user and key; a repeat
within IDEMPOTENCY_TTL_S gets the first request's answer again and starts nothing.

The key is claimed in Redis with SET NX before the view runs, so a repeat that arrives while the first
request is still in flight (a double click, a client retry on a slow network) cannot start a second
run: it waits for the first answer, briefly, or is told to try again. Only successful answers are kept;
an error frees the key, so the client may retry the same request.
"""
from __future__ import annotations

import functools
import hashlib
import json
import re
import time

from flask import Response, current_app, request
from flask_login import current_user

from app.errors import APIError

HEADER = "Idempotency-Key"
TTL_S = 60
KEY = "ai-prism:idempotency:{user}:{digest}"
_VALID = re.compile(r"^[A-Za-z0-9_.:-]{1,200}$")
WAIT_S = 10.0  # how long a concurrent repeat waits for the first answer before it is told to retry


def _claim(redis, key: str, fingerprint: str) -> bool:
    return bool(redis.set(key, json.dumps({"state": "in_flight", "fingerprint": fingerprint}), nx=True, ex=TTL_S))


def _stored(redis, key: str) -> dict | None:
    raw = redis.get(key)
    return json.loads(raw) if raw else None


def _replay(entry: dict) -> Response:
    response = Response(entry["body"], status=entry["status"], mimetype=entry.get("mimetype") or "application/json")
    response.headers["Idempotent-Replayed"] = "true"
    return response


def _answer_for_repeat(redis, key: str, fingerprint: str) -> Response:
    deadline = time.monotonic() + WAIT_S
    while True:
        entry = _stored(redis, key)
        if entry is None:  # the first request failed and freed the key meanwhile
            raise APIError(409, "idempotency_retry", "The first request with this Idempotency-Key failed; send it again.",
                           headers={"Retry-After": "1"})
        if entry.get("fingerprint") != fingerprint:
            raise APIError(422, "idempotency_key_reused",
                           "This Idempotency-Key was used for a different request; use a new key for a new request.")
        if entry["state"] == "done":
            return _replay(entry)
        if time.monotonic() >= deadline:
            raise APIError(409, "request_in_flight", "The same request is still being handled; try again in a moment.",
                           headers={"Retry-After": "1"})
        time.sleep(0.05)  # cooperative under gevent


def idempotent(view):
    """Wrap a state-changing view (after login_required): answer a repeated Idempotency-Key once."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        raw = request.headers.get(HEADER)
        if raw is None:
            return view(*args, **kwargs)
        if not _VALID.match(raw):
            raise APIError(400, "invalid_idempotency_key",
                           "Idempotency-Key must be 1 to 200 letters, digits or the characters _ . : -")
        redis = current_app.extensions["redis"]
        digest = hashlib.sha256(f"{request.method} {request.path}\n{raw}".encode()).hexdigest()
        key = KEY.format(user=current_user.id, digest=digest)
        fingerprint = hashlib.sha256(request.get_data()).hexdigest()
        if not _claim(redis, key, fingerprint):
            return _answer_for_repeat(redis, key, fingerprint)
        try:
            response = current_app.make_response(view(*args, **kwargs))
        except BaseException:
            redis.delete(key)
            raise
        if 200 <= response.status_code < 300:
            redis.set(key, json.dumps({"state": "done", "fingerprint": fingerprint, "status": response.status_code,
                                       "mimetype": response.mimetype, "body": response.get_data(as_text=True)}), ex=TTL_S)
        else:
            redis.delete(key)
        return response

    return wrapper
