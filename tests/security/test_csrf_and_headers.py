"""CSRF on every state-changing browser request; headers and cookies; CORS off unless allowed."""
import pytest

from app import create_app
from tests.conftest import PASSWORD, app_config, login

STATE_CHANGING = [
    ("POST", "/api/documents/{doc}/analyses", {}),
    ("POST", "/api/documents/{doc}/feedback", {"section_id": 1, "type": "important", "description": "x", "risk_level": "Low"}),
    ("POST", "/api/feedback/{item}/decision", {"decision": "reject"}),
    ("PATCH", "/api/feedback/{item}", {"description": "forged"}),
    ("POST", "/api/documents/{doc}/chat", {"message": "hi"}),
    ("POST", "/api/documents/{doc}/exports", {"formats": ["json"]}),
    ("DELETE", "/api/documents/{doc}", None),
    ("POST", "/api/auth/password", {"current_password": PASSWORD, "new_password": "a brand new password"}),
    ("POST", "/api/auth/tokens", {"name": "forged"}),
    ("POST", "/api/auth/logout", None),
]


@pytest.mark.parametrize("token", [None, "forged-token"], ids=["missing", "wrong"])
@pytest.mark.parametrize("method,path,body", STATE_CHANGING, ids=[f"{m} {p}" for m, p, _ in STATE_CHANGING])
def test_state_changes_without_the_csrf_token_are_refused(ann_and_bob, method, path, body, token):
    ann = ann_and_bob["ann"]
    url = path.format(doc=ann_and_bob["document"]["id"], item=ann_and_bob["item_id"])
    headers = {"X-CSRFToken": token} if token else {}
    response = ann.open(url, method=method, json=body, headers=headers)
    assert response.status_code in (400, 403), (url, response.status_code)
    assert response.get_json()["error"]["code"] == "csrf_failed"
    # Nothing happened: the document and the session are still there.
    assert ann.get(f"/api/documents/{ann_and_bob['document']['id']}").status_code == 200
    assert ann.get("/api/auth/me").status_code == 200


def test_a_bearer_token_needs_no_csrf_token_and_ignores_cookies(ann_and_bob):
    ann = ann_and_bob["ann"]
    raw = ann.post("/api/auth/tokens", json={"name": "script"}, headers={"X-CSRFToken": ann.csrf}).get_json()["token"]
    script = ann_and_bob["bob"].application.test_client()
    response = script.post(f"/api/documents/{ann_and_bob['document']['id']}/exports", json={"formats": ["csv"]},
                           headers={"Authorization": f"Bearer {raw}"})
    assert response.status_code == 202


def test_every_response_carries_the_security_headers(client):
    for url in ("/login", "/setup", "/api/auth/csrf", "/health", "/api/nope"):
        headers = client.get(url).headers
        csp = headers["Content-Security-Policy"]
        assert "default-src 'self'" in csp and "script-src 'self'" in csp and "'unsafe-inline'" not in csp
        assert "frame-ancestors 'none'" in csp and "object-src 'none'" in csp
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["X-Frame-Options"] == "DENY"
        assert headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
        assert "Strict-Transport-Security" not in headers  # development serves plain HTTP
    assert client.get("/api/auth/csrf").headers["Cache-Control"] == "no-store"


def test_pages_have_no_inline_script_or_style(client, make_user):
    make_user("ann@example.com")
    login(client, "ann@example.com")
    import re

    for url in ("/login", "/"):
        html = client.get(url, follow_redirects=True).get_data(as_text=True)
        for tag in re.findall(r"<script\b[^>]*>", html):
            assert "src=" in tag, f"inline script on {url}: {tag}"
        assert "<style" not in html and " style=" not in html and " onclick=" not in html.lower()


def test_production_sets_hsts_and_host_prefixed_secure_cookies(database_url, redis_url, tmp_path, monkeypatch, make_user):
    for name, value in (("APP_ENV", "production"), ("SECRET_KEY", "s" * 32), ("DATABASE_URL", database_url), ("REDIS_URL", redis_url)):
        monkeypatch.setenv(name, value)
    app = create_app(app_config(database_url, redis_url, tmp_path))
    assert app.config["PRODUCTION"]
    client = app.test_client()
    response = client.get("/api/auth/csrf", base_url="https://review.example.com")
    assert response.headers["Strict-Transport-Security"].startswith("max-age=31536000")
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("__Host-ai-prism=")
    for flag in ("Secure", "HttpOnly", "SameSite=Lax", "Path=/"):
        assert flag in cookie
    assert "Domain=" not in cookie  # the __Host- prefix forbids it


def test_cors_is_off_by_default(client):
    response = client.get("/api/auth/csrf", headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in response.headers
    preflight = client.options("/api/documents", headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"})
    assert "Access-Control-Allow-Origin" not in preflight.headers


def test_cors_allow_list_admits_only_the_named_origins_and_never_cookies(app, client):
    app.config["CORS_ALLOWED_ORIGINS"] = ["https://tools.example.com"]
    preflight = client.options("/api/documents", headers={"Origin": "https://tools.example.com", "Access-Control-Request-Method": "POST",
                                                          "Access-Control-Request-Headers": "Authorization"})
    assert preflight.status_code == 204
    assert preflight.headers["Access-Control-Allow-Origin"] == "https://tools.example.com"
    assert "Authorization" in preflight.headers["Access-Control-Allow-Headers"]
    assert "Access-Control-Allow-Credentials" not in preflight.headers
    other = client.get("/api/auth/csrf", headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in other.headers and "Origin" in other.headers.get("Vary", "")
    page = client.get("/login", headers={"Origin": "https://tools.example.com"})
    assert "Access-Control-Allow-Origin" not in page.headers  # only the API is shared
