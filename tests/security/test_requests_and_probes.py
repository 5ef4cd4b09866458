"""Requests that used to answer 500 or say too much: ids beyond the database's range, JSON nested
100,000 deep, and /health/ready telling anonymous callers about the deployment."""
import pytest

from tests.conftest import login

OUTSIDE = {"REMOTE_ADDR": "203.0.113.9"}  # not in METRICS_ALLOWED_NETWORKS (loopback by default)
DEEP = "[" * 100_000 + "]" * 100_000


@pytest.mark.parametrize("document_id", ["12345678901234567890123", "2147483648", "9" * 5000])
def test_an_id_beyond_the_database_range_is_404(signed_in, document_id):
    for path in (f"/api/documents/{document_id}", f"/api/documents/{document_id}/sections/1",
                 f"/api/jobs/{document_id}", f"/api/documents/1/sections/{document_id}"):
        response = signed_in.get(path)
        assert response.status_code == 404, (path, response.status_code)
        assert response.get_json()["error"]["code"] == "not_found"


def test_the_largest_database_id_still_routes(signed_in):
    response = signed_in.get("/api/documents/2147483647")
    assert response.status_code == 404 and response.get_json()["error"]["code"] == "not_found"


def test_deep_json_is_400_without_sign_in(client):
    response = client.post("/api/auth/login", data=DEEP, content_type="application/json",
                           headers={"X-CSRFToken": client.get("/api/auth/csrf").get_json()["csrf_token"]})
    assert response.status_code == 400, response.data[:200]
    assert response.get_json()["error"]["code"] == "invalid_json"


def test_deep_json_is_400_signed_in_on_silent_and_strict_parsers(signed_in):
    headers = {"X-CSRFToken": signed_in.csrf}
    for method, path in (("post", "/api/documents/1/analyses"), ("post", "/api/auth/tokens"),
                         ("post", "/api/feedback/1/decision"), ("post", "/api/documents/1/chat")):
        response = getattr(signed_in, method)(path, data=DEEP, content_type="application/json", headers=headers)
        assert response.status_code in (400, 404), (path, response.status_code)
        assert response.status_code != 500
    response = signed_in.post("/api/auth/tokens", data=DEEP, content_type="application/json", headers=headers)
    assert response.status_code == 400 and response.get_json()["error"]["code"] == "invalid_json"


def test_anonymous_readiness_says_only_status_and_what_is_down(client):
    response = client.get("/health/ready", environ_base=OUTSIDE)
    assert response.status_code == 200
    body = response.get_json()
    assert body == {"status": "ok", "down": []}
    text = response.get_data(as_text=True)
    for secret in ("version", "region", "bucket", "storage", "primary_model", "depths", "path"):
        assert secret not in text


def test_admins_and_monitoring_networks_see_the_details(app, client, make_user):
    make_user("admin@example.com", role="admin")
    assert login(client, "admin@example.com").status_code == 200
    body = client.get("/health/ready", environ_base=OUTSIDE).get_json()
    assert {"version", "region", "bucket", "primary_model", "checks", "mode"} <= set(body)
    assert "depths" in body["checks"]["queues"]
    monitor = app.test_client().get("/health/ready", environ_base={"REMOTE_ADDR": "127.0.0.1"}).get_json()
    assert "version" in monitor and "checks" in monitor


def test_a_reviewer_outside_the_networks_sees_no_details(client, make_user):
    make_user("rev@example.com")
    assert login(client, "rev@example.com").status_code == 200
    assert set(client.get("/health/ready", environ_base=OUTSIDE).get_json()) == {"status", "down"}
