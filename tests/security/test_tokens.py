"""A leaked API token cannot outlive its revocation: tokens cannot mint tokens, change the password or
open a browser session (403 token_not_allowed); every token expires; a read-only token can read but
not write; revoking ends a token at once; the list shows the last use."""
from datetime import timedelta

import pytest
import redis as redis_lib
from sqlalchemy import select

from app.extensions import db
from app.models import ApiToken, utcnow
from tests.conftest import PASSWORD, login
from tests.documents.corpus import headed_sections
from tests.security.conftest import upload

DOC = headed_sections(1, lambda i: "The seller shipped late and the refund took weeks.")


def mint(client, **body):
    response = client.post("/api/auth/tokens", json={"name": "script", **body}, headers={"X-CSRFToken": client.csrf})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def bearer(raw):
    return {"Authorization": f"Bearer {raw}"}


def assert_not_allowed(response):
    assert response.status_code == 403, response.get_json()
    assert response.get_json()["error"]["code"] == "token_not_allowed"


def test_a_token_cannot_mint_a_token(signed_in, app):
    raw = mint(signed_in)["token"]
    assert_not_allowed(app.test_client().post("/api/auth/tokens", json={"name": "child"}, headers=bearer(raw)))
    assert len(signed_in.get("/api/auth/tokens").get_json()["tokens"]) == 1


def test_a_token_cannot_change_the_password(signed_in, app):
    raw = mint(signed_in)["token"]
    response = app.test_client().post("/api/auth/password", headers=bearer(raw),
                                      json={"current_password": PASSWORD, "new_password": "a brand new passphrase"})
    assert_not_allowed(response)
    assert login(app.test_client(), "reviewer@example.com").status_code == 200  # the old password still works


def test_a_token_cannot_open_a_browser_session(signed_in, app, redis_url):
    raw = mint(signed_in)["token"]
    script = app.test_client()
    before = set(redis_lib.Redis.from_url(redis_url).keys("ai-prism:session:*"))
    for path, body in (("/api/auth/login", {"email": "reviewer@example.com", "password": PASSWORD}),
                       ("/api/auth/setup", {"email": "x@example.com", "password": PASSWORD})):
        response = script.post(path, json=body, headers=bearer(raw))
        assert_not_allowed(response)
        assert "Set-Cookie" not in response.headers
    me = script.get("/api/auth/me", headers=bearer(raw))
    assert me.status_code == 200 and "Set-Cookie" not in me.headers
    assert set(redis_lib.Redis.from_url(redis_url).keys("ai-prism:session:*")) == before
    assert script.get("/api/auth/me").status_code == 401  # nothing was left behind for a cookie


def test_a_minted_then_revoked_chain_leaves_nothing_usable(signed_in, app):
    first = mint(signed_in)
    script = app.test_client()
    for _ in range(3):  # every attempt to mint a descendant is refused
        assert_not_allowed(script.post("/api/auth/tokens", json={"name": "child"}, headers=bearer(first["token"])))
    revoked = signed_in.delete(f"/api/auth/tokens/{first['id']}", headers={"X-CSRFToken": signed_in.csrf})
    assert revoked.status_code == 200 and revoked.get_json()["revoked"] is True
    assert script.get("/api/auth/me", headers=bearer(first["token"])).status_code == 401
    assert script.get("/api/documents", headers=bearer(first["token"])).status_code == 401
    tokens = signed_in.get("/api/auth/tokens").get_json()["tokens"]
    assert [t["revoked"] for t in tokens] == [True]


def test_tokens_expire_by_default_within_the_maximum(signed_in, app):
    app.config["TOKEN_MAX_DAYS"] = 30
    made = mint(signed_in, expires_in_days=30)
    assert 29 <= (_parse(made["expires_at"]) - utcnow()).days <= 30
    app.config["TOKEN_MAX_DAYS"] = 365
    default = mint(signed_in)
    assert 89 <= (_parse(default["expires_at"]) - utcnow()).days <= 90
    for days in (0, 366, 100000, "7", True):
        refused = signed_in.post("/api/auth/tokens", json={"name": "x", "expires_in_days": days}, headers={"X-CSRFToken": signed_in.csrf})
        assert refused.status_code == 422 and refused.get_json()["error"]["code"] == "invalid_expiry"


def test_an_expired_token_stops_working(signed_in, app):
    made = mint(signed_in, expires_in_days=1)
    script = app.test_client()
    assert script.get("/api/auth/me", headers=bearer(made["token"])).status_code == 200
    with app.app_context():
        token = db.session.get(ApiToken, made["id"])
        token.expires_at = utcnow() - timedelta(seconds=1)  # a day has passed
        db.session.commit()
    assert script.get("/api/auth/me", headers=bearer(made["token"])).status_code == 401


def test_a_read_only_token_can_read_but_not_write(signed_in, app):
    document = upload(signed_in, "d.docx", DOC).get_json()
    made = mint(signed_in, scope="read")
    assert made["scope"] == "read"
    script = app.test_client()
    assert script.get("/api/documents", headers=bearer(made["token"])).status_code == 200
    assert script.get(f"/api/documents/{document['id']}", headers=bearer(made["token"])).status_code == 200
    writes = [
        ("POST", f"/api/documents/{document['id']}/analyses", {}),
        ("POST", f"/api/documents/{document['id']}/chat", {"message": "hi"}),
        ("POST", f"/api/documents/{document['id']}/exports", {"formats": ["json"]}),
        ("PATCH", f"/api/documents/{document['id']}/sections/{document['sections'][0]['id']}", {"title": "renamed"}),
        ("DELETE", f"/api/documents/{document['id']}", None),
        ("DELETE", f"/api/auth/tokens/{made['id']}", None),
    ]
    for method, path, body in writes:
        response = script.open(path, method=method, json=body, headers=bearer(made["token"]))
        assert response.status_code == 403, (path, response.get_json())
        assert response.get_json()["error"]["code"] == "read_only_token"
    refused = upload(signed_in, "e.docx", DOC, **bearer(made["token"]))
    assert refused.status_code == 403
    assert signed_in.get(f"/api/documents/{document['id']}").get_json()["sections"][0]["title"] == document["sections"][0]["title"]
    assert len(signed_in.get("/api/documents").get_json()["documents"]) == 1


def test_an_unknown_scope_is_refused(signed_in):
    for scope in ("admin", "", ["read"], None):
        refused = signed_in.post("/api/auth/tokens", json={"name": "x", "scope": scope}, headers={"X-CSRFToken": signed_in.csrf})
        assert refused.status_code == 422 and refused.get_json()["error"]["code"] == "invalid_scope"


def test_the_token_list_shows_the_last_use_written_at_most_once_a_minute(signed_in, app):
    made = mint(signed_in)
    assert signed_in.get("/api/auth/tokens").get_json()["tokens"][0]["last_used_at"] is None
    script = app.test_client()
    script.get("/api/auth/me", headers=bearer(made["token"]))
    first = signed_in.get("/api/auth/tokens").get_json()["tokens"][0]["last_used_at"]
    assert first is not None
    script.get("/api/auth/me", headers=bearer(made["token"]))
    assert signed_in.get("/api/auth/tokens").get_json()["tokens"][0]["last_used_at"] == first
    with app.app_context():
        token = db.session.scalars(select(ApiToken)).one()
        token.last_used_at = utcnow() - timedelta(minutes=2)
        db.session.commit()
    script.get("/api/auth/me", headers=bearer(made["token"]))
    assert _parse(signed_in.get("/api/auth/tokens").get_json()["tokens"][0]["last_used_at"]) > utcnow() - timedelta(seconds=30)


def _parse(value):
    from datetime import datetime

    return datetime.fromisoformat(value)
