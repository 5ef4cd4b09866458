"""S3 unreachable: an upload answers 503 with a JSON error at once (not a 500, not a hang), and
readiness names storage (found by `make chaos`)."""
from __future__ import annotations

import time

import pytest

from app import create_app
from tests.conftest import app_config, login
from tests.documents.corpus import headed_sections
from tests.support.services import free_port


@pytest.fixture
def s3_down_client(database_url, redis_url, tmp_path, monkeypatch, make_user):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    dead = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    app = create_app(app_config(database_url, redis_url, tmp_path, S3_BUCKET_NAME="docs", S3_ENDPOINT_URL=dead))
    client = app.test_client()
    make_user("reviewer@example.com")
    response = login(client, "reviewer@example.com")
    client.csrf = response.get_json()["csrf_token"]
    return client


def test_upload_answers_503_when_storage_is_unreachable(s3_down_client):
    client = s3_down_client
    started = time.monotonic()
    response = client.post("/api/documents", data={"file": (__import__("io").BytesIO(headed_sections(2, lambda i: f"Body {i}.")), "a.docx")},
                           headers={"X-CSRFToken": client.csrf}, content_type="multipart/form-data")
    assert time.monotonic() - started < 15
    assert response.status_code == 503, response.get_json()
    assert response.get_json()["error"]["code"] == "service_unavailable" and response.headers["Retry-After"] == "5"
    ready = client.get("/health/ready")
    assert ready.status_code == 503 and "storage" in ready.get_json()["down"]
