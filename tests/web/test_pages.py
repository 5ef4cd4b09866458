"""Pages, fingerprinted assets and the admin queue/model-call endpoints, through the test client."""
import re

from app.extensions import db
from app.models import ModelCall
from tests.conftest import login

CSP_UNSAFE = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>|\son[a-z]+=|\sstyle=|<style", re.I)


def test_pages_redirect_to_setup_then_sign_in(client, make_user):
    assert client.get("/").headers["Location"].endswith("/setup")
    make_user("rev@example.com")
    assert "/login" in client.get("/documents/1").headers["Location"]
    assert client.get("/login?next=//evil.example/x").status_code == 200
    assert b'data-next="/"' in client.get("/login?next=//evil.example/x").data


def test_dashboard_and_review_pages_pass_limits_and_ids_as_data_attributes(app, signed_in):
    page = signed_in.get("/").get_data(as_text=True)
    assert f'data-max-bytes="{app.config["MAX_UPLOAD_BYTES"]}"' in page
    assert 'data-accept=".docx,.md,.pdf,.txt"' in page
    made = signed_in.post("/api/documents", data={"file": (__import__("io").BytesIO(b"# A\n\nText here.\n"), "a.md")},
                          headers={"X-CSRFToken": signed_in.csrf})
    document_id = made.get_json()["id"]
    listed = signed_in.get("/api/documents").get_json()["documents"][0]
    assert listed["progress"] == {"sections": 1, "analysed": 0, "active": 0, "failed": 0} and listed["last_activity"]
    review = signed_in.get(f"/documents/{document_id}").get_data(as_text=True)
    assert f'data-document-id="{document_id}"' in review and "Root cause analysis" in review
    for html in (page, review):
        assert not CSP_UNSAFE.search(html), CSP_UNSAFE.search(html).group(0)  # nothing inline for the CSP to block
    assert signed_in.get("/documents/9999", headers={"Accept": "text/html"}).status_code == 404


def test_admin_page_is_for_admins(client, make_user, signed_in):
    assert signed_in.get("/admin", headers={"Accept": "text/html"}).status_code == 403
    make_user("boss@example.com", role="admin")
    other = client.application.test_client()
    login(other, "boss@example.com")
    assert other.get("/admin").status_code == 200


def test_assets_are_fingerprinted_immutable_and_imports_rewritten(app, client):
    with app.test_request_context():
        from app.web.assets import asset_url

        url = asset_url("js/review.js")
    assert re.fullmatch(r"/static/js/review\.[0-9a-f]{12}\.js", url)
    response = client.get(url)
    assert response.status_code == 200 and response.mimetype == "text/javascript"
    assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    body = response.get_data(as_text=True)
    imports = re.findall(r'from "(\./[^"]+)"', body)
    assert imports and all(re.fullmatch(r"\./[a-z]+\.[0-9a-f]{12}\.js", i) for i in imports)
    for specifier in imports:  # each rewritten import resolves and is immutable too
        assert client.get("/static/js/" + specifier[2:]).headers["Cache-Control"].endswith("immutable")
    plain = client.get("/static/js/review.js")
    assert plain.status_code == 200 and plain.headers["Cache-Control"] == "no-cache"
    assert client.get("/static/js/review.000000000000.js").status_code == 404
    assert client.get(url, headers={"If-None-Match": response.headers["ETag"]}).status_code == 304


def test_static_base_url_prefixes_asset_urls(database_url, redis_url, tmp_path):
    from app import create_app
    from tests.conftest import app_config

    app = create_app(app_config(database_url, redis_url, tmp_path, STATIC_BASE_URL="https://cdn.example.net/"))
    with app.test_request_context():
        from app.web.assets import asset_url

        assert re.fullmatch(r"https://cdn\.example\.net/static/css/app\.[0-9a-f]{12}\.css", asset_url("css/app.css"))
    app.extensions["database"].dispose()


def test_admin_queues_and_model_calls(app, client, make_user, signed_in):
    assert signed_in.get("/api/admin/queues").status_code == 403
    make_user("boss@example.com", role="admin")
    admin = app.test_client()
    login(admin, "boss@example.com")
    app.extensions["redis"].rpush("rq:queue:analysis", "x")  # a waiting job id is all a depth counts
    queues = admin.get("/api/admin/queues").get_json()
    assert [q["name"] for q in queues["queues"]] == ["analysis", "exports", "maintenance"]
    assert queues["queues"][0]["queued"] == 1 and queues["workers"] == []
    with app.app_context():
        db.session.add(ModelCall(purpose="chat", provider="bedrock", model_id="m1", outcome="ok", input_tokens=10, latency_ms=5))
        db.session.commit()
    calls = admin.get("/api/admin/model-calls?limit=5").get_json()["calls"]
    assert calls[0]["model"] == "m1" and calls[0]["input_tokens"] == 10
    assert admin.get("/api/admin/model-calls?limit=x").status_code == 400
