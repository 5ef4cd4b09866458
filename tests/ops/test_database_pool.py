"""The database pool: sized from DB_POOL_SIZE / DB_MAX_OVERFLOW / DB_POOL_TIMEOUT / DB_POOL_RECYCLE,
and a request that finds every connection taken answers 503 with Retry-After, never 500."""
from __future__ import annotations

import pytest

from app import create_app
from app.config import ConfigError, load_settings
from tests.conftest import _clean, app_config, login


def test_defaults_and_parsing():
    settings = load_settings({})
    assert (settings["DB_POOL_SIZE"], settings["DB_MAX_OVERFLOW"], settings["DB_POOL_TIMEOUT"],
            settings["DB_POOL_RECYCLE"]) == (10, 20, 5.0, 1800)
    settings = load_settings({"DB_POOL_SIZE": "2", "DB_MAX_OVERFLOW": "0", "DB_POOL_TIMEOUT": "0.5", "DB_POOL_RECYCLE": "600"})
    assert (settings["DB_POOL_SIZE"], settings["DB_MAX_OVERFLOW"], settings["DB_POOL_TIMEOUT"],
            settings["DB_POOL_RECYCLE"]) == (2, 0, 0.5, 600)
    for name, bad in (("DB_POOL_SIZE", "0"), ("DB_MAX_OVERFLOW", "-1"), ("DB_POOL_TIMEOUT", "soon"), ("DB_POOL_SIZE", "ten")):
        with pytest.raises(ConfigError, match=name):
            load_settings({name: bad})


def test_the_engine_uses_the_settings(database_url, redis_url, tmp_path):
    app = create_app(app_config(database_url, redis_url, tmp_path, DB_POOL_SIZE=3, DB_MAX_OVERFLOW=4,
                                DB_POOL_TIMEOUT=1.5, DB_POOL_RECYCLE=900))
    pool = app.extensions["database"].pool
    assert (pool.size(), pool._max_overflow, pool._timeout, pool._recycle) == (3, 4, 1.5, 900)
    app.extensions["database"].dispose()


@pytest.fixture
def tiny_pool_app(database_url, redis_url, tmp_path):
    app = create_app(app_config(database_url, redis_url, tmp_path, DB_POOL_SIZE=1, DB_MAX_OVERFLOW=0, DB_POOL_TIMEOUT=0.3))
    yield app
    _clean(app, redis_url)


def test_pool_exhaustion_answers_503_with_retry_after(tiny_pool_app):
    from app.auth import service
    from app.extensions import db

    app = tiny_pool_app
    with app.app_context():
        service.create_user(db.session, "pool@example.com", "a long enough password 1", "reviewer")
        db.session.commit()
    client = app.test_client()
    assert login(client, "pool@example.com", "a long enough password 1").status_code == 200
    assert client.get("/api/documents").status_code == 200

    engine = app.extensions["database"]
    held = engine.connect()  # the pool's only connection, taken by "another request"
    try:
        response = client.get("/api/documents")
        assert response.status_code == 503, response.get_data(as_text=True)
        assert response.headers["Retry-After"].isdigit()
        assert response.get_json()["error"]["code"] == "service_unavailable"
    finally:
        held.close()
    # The connection is back: the next request is served.
    assert client.get("/api/documents").status_code == 200
