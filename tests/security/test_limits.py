"""Rate limits (counted in Redis, shared by every worker and instance) on upload, analysis, chat and
export answer 429 with Retry-After; a per-user storage quota; request size limits on every route. The
server keeps serving and nothing stored is lost."""
import pytest

from tests.documents.corpus import headed_sections
from tests.security.conftest import signed_in_client, upload

DOC = headed_sections(1, lambda i: "The seller shipped late and the refund took weeks.")


def assert_429(response):
    assert response.status_code == 429, response.get_json()
    assert response.get_json()["error"]["code"] == "rate_limited"
    assert 1 <= int(response.headers["Retry-After"]) <= 60


def test_upload_rate_limit(app, make_user):
    app.config["UPLOAD_RATE_LIMIT"] = "3/minute"
    make_user("ann@example.com")
    make_user("bob@example.com")
    ann = signed_in_client(app, "ann@example.com")
    assert [upload(ann, f"d{i}.docx", DOC).status_code for i in range(3)] == [201] * 3
    assert_429(upload(ann, "d4.docx", DOC))
    assert len(ann.get("/api/documents").get_json()["documents"]) == 3
    # Counted per user: Bob is not held back by Ann's uploads.
    assert upload(signed_in_client(app, "bob@example.com"), "b.docx", DOC).status_code == 201


@pytest.mark.parametrize("action", ["analysis", "export", "chat"])
def test_analysis_export_and_chat_rate_limits(app, make_user, action):
    setting = {"analysis": "ANALYSIS_RATE_LIMIT", "export": "EXPORT_RATE_LIMIT", "chat": "CHAT_RATE_LIMIT"}[action]
    app.config[setting] = "2/minute"
    make_user("ann@example.com")
    ann = signed_in_client(app, "ann@example.com")
    document = upload(ann, "d.docx", DOC).get_json()
    url, body = {
        "analysis": (f"/api/documents/{document['id']}/analyses", {}),
        "export": (f"/api/documents/{document['id']}/exports", {"formats": ["json"]}),
        "chat": (f"/api/documents/{document['id']}/chat", {"message": "What is missing?"}),
    }[action]
    headers = {"X-CSRFToken": ann.csrf, "Accept": "application/json"}
    first = [ann.post(url, json=body, headers=headers).status_code for _ in range(2)]
    assert all(code in (200, 202) for code in first), first
    assert_429(ann.post(url, json=body, headers=headers))
    assert ann.get(f"/api/documents/{document['id']}").status_code == 200  # reading is never limited


def test_a_user_over_the_storage_quota_gets_413_and_keeps_what_is_stored(app, make_user):
    app.config["USER_STORAGE_QUOTA_BYTES"] = int(len(DOC) * 2.5)
    make_user("ann@example.com")
    ann = signed_in_client(app, "ann@example.com")
    assert upload(ann, "a.docx", DOC).status_code == 201
    assert upload(ann, "b.docx", DOC).status_code == 201
    refused = upload(ann, "c.docx", DOC)
    assert refused.status_code == 413 and refused.get_json()["error"]["code"] == "storage_quota_exceeded"
    assert "MB" in refused.get_json()["error"]["message"]
    assert len(ann.get("/api/documents").get_json()["documents"]) == 2
    first = ann.get("/api/documents").get_json()["documents"][-1]["id"]
    assert ann.delete(f"/api/documents/{first}", headers={"X-CSRFToken": ann.csrf}).status_code == 200
    assert upload(ann, "c.docx", DOC).status_code == 201  # deleting frees the room


@pytest.mark.parametrize("method,path", [
    ("POST", "/api/auth/login"), ("POST", "/api/documents/1/feedback"), ("PATCH", "/api/feedback/1"),
    ("POST", "/api/documents/1/chat"), ("POST", "/api/auth/setup"),
])
def test_oversized_json_bodies_are_refused_on_every_route(app, make_user, method, path):
    app.config["MAX_JSON_BYTES"] = 64 * 1024
    make_user("ann@example.com")
    ann = signed_in_client(app, "ann@example.com")
    big = '{"message": "' + "x" * (200 * 1024) + '"}'
    response = ann.open(path, method=method, data=big, content_type="application/json", headers={"X-CSRFToken": ann.csrf})
    assert response.status_code == 413, response.get_data(as_text=True)[:200]
    assert response.get_json()["error"]["code"] == "too_large"
    assert ann.get("/api/auth/me").status_code == 200


def test_a_chunked_body_without_a_length_is_cut_at_the_limit(app, make_user):
    app.config["MAX_JSON_BYTES"] = 64 * 1024
    make_user("ann@example.com")
    ann = signed_in_client(app, "ann@example.com")

    import io

    document = upload(ann, "d.docx", DOC).get_json()
    body = io.BytesIO(b'{"message": "' + b"x" * (400 * 1024) + b'"}')
    response = ann.post(f"/api/documents/{document['id']}/chat", input_stream=body, content_type="application/json",
                        headers={"X-CSRFToken": ann.csrf, "Transfer-Encoding": "chunked"},
                        environ_base={"wsgi.input_terminated": True})  # as gunicorn marks a chunked body
    assert response.status_code == 413
    assert response.get_json()["error"]["code"] in ("too_large", "payload_too_large")

