"""Fixtures: real PostgreSQL and Redis, an app bound to them, clients, users and sign-in helpers."""
from __future__ import annotations

import os
import uuid

import psycopg
import pytest
import redis as redis_lib
from sqlalchemy import text

from app import create_app
from app.cli import upgrade_database
from app.extensions import db as database
from app.models import Base
from tests.support.services import start_services, stop_services

PASSWORD = "correct horse battery staple"


@pytest.fixture(scope="session")
def services():
    started = start_services()
    yield started
    stop_services(started)


@pytest.fixture(scope="session")
def database_url(services):
    """A fresh PostgreSQL database for this run, migrated to head, dropped at the end."""
    name = f"aiprism_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    with psycopg.connect(services.postgres_admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = services.database_url(name)
    upgrade_database(url)
    yield url
    with psycopg.connect(services.postgres_admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def redis_url(services):
    # A database number of its own, so a second test run on the machine does not collide
    # (TEST_REDIS_DB picks one explicitly when several suites run side by side).
    number = int(os.environ.get("TEST_REDIS_DB") or 1 + os.getpid() % 15)
    url = f"{services.redis_base_url}/{number}"
    redis_lib.Redis.from_url(url).flushdb()
    return url


def app_config(database_url, redis_url, tmp_path, **extra) -> dict:
    config = {
        "TESTING": True,
        "SECRET_KEY": "test-secret-key",
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "EMBEDDED_DATABASE": False,
        "EMBEDDED_REDIS": False,
        "LOCAL_STORAGE_DIR": str(tmp_path / "storage"),
        "S3_BUCKET_NAME": None,
        "MODEL_PROVIDER": "offline",
    }
    config.update(extra)
    return config


def _clean(app, redis_url) -> None:
    chain = app.extensions.get("model_chain")
    if chain is not None and chain.recorder is not None:
        chain.recorder.flush()  # background record writes land before the tables are emptied
    with app.app_context():
        engine = app.extensions["database"]
        tables = ", ".join(f'"{t.name}"' for t in reversed(Base.metadata.sorted_tables))
        with engine.begin() as conn:
            conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        engine.dispose()
    redis_lib.Redis.from_url(redis_url).flushdb()


@pytest.fixture
def app(database_url, redis_url, tmp_path):
    application = create_app(app_config(database_url, redis_url, tmp_path))
    yield application
    _clean(application, redis_url)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def make_user(app):
    """Create an account directly through the service: make_user("a@x.io", role="admin")."""
    from app.auth import service

    def make(email: str, role: str = "reviewer", password: str = PASSWORD):
        with app.app_context():
            user = service.create_user(database.session, email, password, role)
            database.session.commit()
            return user.id

    return make


def csrf_token(client) -> str:
    return client.get("/api/auth/csrf").get_json()["csrf_token"]


def login(client, email: str, password: str = PASSWORD):
    """Sign in through the API; returns the response. The client keeps the cookie."""
    return client.post(
        "/api/auth/login", json={"email": email, "password": password},
        headers={"X-CSRFToken": csrf_token(client)},
    )


@pytest.fixture
def signed_in(client, make_user):
    """A client signed in as a reviewer; ``client.csrf`` holds its CSRF token."""
    make_user("reviewer@example.com")
    response = login(client, "reviewer@example.com")
    assert response.status_code == 200, response.get_json()
    client.csrf = response.get_json()["csrf_token"]
    return client
