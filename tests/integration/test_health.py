"""Liveness without I/O; readiness that names a dead dependency within 2 s and recovers by itself."""
import time

import pytest
from sqlalchemy.engine import make_url

from app import create_app
from tests.conftest import _clean, app_config
from tests.support.tcp_proxy import TCPProxy


def _proxy_for_postgres(url: str) -> TCPProxy:
    parsed = make_url(url)
    socket_dir = parsed.query.get("host")
    if socket_dir:  # embedded pgserver listens on a Unix socket
        return TCPProxy("", 0, unix_path=f"{socket_dir}/.s.PGSQL.{parsed.port or 5432}").start()
    return TCPProxy(parsed.host, parsed.port or 5432).start()


def _proxied_postgres_url(url: str, proxy: TCPProxy) -> str:
    parsed = make_url(url)
    query = {k: v for k, v in parsed.query.items() if k != "host"}
    return parsed.set(host="127.0.0.1", port=proxy.port, query=query).render_as_string(hide_password=False)


def _proxy_for_redis(redis_url: str) -> tuple[TCPProxy, str]:
    from urllib.parse import urlparse

    parsed = urlparse(redis_url)
    proxy = TCPProxy(parsed.hostname, parsed.port).start()
    return proxy, f"redis://127.0.0.1:{proxy.port}{parsed.path}"


def _ready(client):
    started = time.monotonic()
    response = client.get("/health/ready")
    return response, time.monotonic() - started


def test_liveness_does_no_io(app):
    app.extensions["database"].dispose()
    # Point every backing service somewhere dead: /health must not notice.
    dead = create_app({**app.config, "REDIS_URL": "redis://127.0.0.1:9/0", "DATABASE_URL": "postgresql://u@127.0.0.1:9/x"})
    response = dead.test_client().get("/health")
    assert response.status_code == 200
    assert response.get_json()["status"] == "ok" and response.get_json()["version"]


def test_ready_reports_every_dependency_and_deployment_facts(client):
    response = client.get("/health/ready")
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert set(body["checks"]) == {"database", "redis", "queues", "workers", "storage", "models"}
    assert all(check["ok"] for check in body["checks"].values())
    assert body["checks"]["queues"]["depths"] == {"analysis": 0, "exports": 0, "maintenance": 0}
    for key in ("region", "bedrock_region", "primary_model", "bucket", "mode", "version"):
        assert key in body
    assert "Set-Cookie" not in response.headers


@pytest.fixture
def proxied_app(database_url, redis_url, tmp_path):
    pg_proxy = _proxy_for_postgres(database_url)
    redis_proxy, proxied_redis = _proxy_for_redis(redis_url)
    application = create_app(app_config(_proxied_postgres_url(database_url, pg_proxy), proxied_redis, tmp_path))
    yield application, pg_proxy, redis_proxy
    pg_proxy.cut()
    redis_proxy.cut()
    application.extensions["database"].dispose()
    _clean(create_app(app_config(database_url, redis_url, tmp_path)), redis_url)


@pytest.mark.parametrize("dependency", ["redis", "database"])
def test_ready_names_a_dead_dependency_within_two_seconds_and_recovers(proxied_app, dependency):
    app, pg_proxy, redis_proxy = proxied_app
    proxy = redis_proxy if dependency == "redis" else pg_proxy
    client = app.test_client()
    assert client.get("/health/ready").status_code == 200

    proxy.cut()
    for _ in range(3):  # repeatedly, not just once: no hang builds up
        response, elapsed = _ready(client)
        assert response.status_code == 503
        assert elapsed < 2.0, f"took {elapsed:.2f} s"
        body = response.get_json()
        assert dependency in body["down"]
        assert body["checks"][dependency]["ok"] is False
        assert body["status"] == "unavailable"
    assert client.get("/health").status_code == 200

    proxy.restore()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        response, _ = _ready(client)
        if response.status_code == 200:
            break
        time.sleep(0.2)
    assert response.status_code == 200, response.get_json()


def test_api_answers_503_json_when_redis_is_down(proxied_app):
    app, _, redis_proxy = proxied_app
    app.config["PROPAGATE_EXCEPTIONS"] = False  # answer as production does, not re-raise for pytest
    client = app.test_client()
    client.set_cookie("ai-prism", "a" * 32)  # a returning browser: its session must be looked up
    redis_proxy.cut()
    response = client.get("/api/auth/me")
    assert response.status_code == 503
    assert response.get_json()["error"]["code"] == "service_unavailable"
    assert "Retry-After" in response.headers
