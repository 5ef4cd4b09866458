"""What the HTTP benchmarks share: real PostgreSQL and Redis (the machine's or embedded), a fresh
migrated database with one user, and a signed-in session against a gunicorn instance."""
from __future__ import annotations

import contextlib
import os
import sys
import tempfile
import uuid
from dataclasses import dataclass

import psycopg
import requests

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

EMAIL, PASSWORD = "bench@example.com", "correct horse battery staple"
# One bench user does what a whole team would: the per-user limits (tested in tests/security) are lifted.
UNLIMITED = {"UPLOAD_RATE_LIMIT": "1000000/minute", "ANALYSIS_RATE_LIMIT": "1000000/minute",
             "EXPORT_RATE_LIMIT": "1000000/minute", "CHAT_RATE_LIMIT": "1000000/minute", "USER_STORAGE_QUOTA_MB": "1000000"}


@dataclass
class BenchEnvironment:
    database_url: str
    redis_url: str
    storage_dir: str
    postgres_kind: str
    redis_kind: str


@contextlib.contextmanager
def bench_environment(redis_db: int):
    """A migrated throw-away database with the bench user, a Redis database number, a storage folder."""
    from app import create_app
    from app.auth import service
    from app.cli import upgrade_database
    from app.extensions import db
    from tests.support.services import start_services, stop_services

    services = start_services()
    name = f"aiprism_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(services.postgres_admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        database_url = services.database_url(name)
        redis_url = f"{services.redis_base_url}/{redis_db}"
        upgrade_database(database_url)
        app = create_app({"DATABASE_URL": database_url, "REDIS_URL": redis_url, "SECRET_KEY": "bench"})
        with app.app_context():
            service.create_user(db.session, EMAIL, PASSWORD)
            db.session.commit()
        app.extensions["database"].dispose()
        yield BenchEnvironment(database_url, redis_url, tempfile.mkdtemp(prefix="ai-prism-bench-"),
                               services.postgres_kind, services.redis_kind)
    finally:
        with psycopg.connect(services.postgres_admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        stop_services(services)


def signed_in(base_url: str) -> tuple[requests.Session, str]:
    """A session signed in as the bench user, and its CSRF token."""
    session = requests.Session()
    token = session.get(f"{base_url}/api/auth/csrf").json()["csrf_token"]
    response = session.post(f"{base_url}/api/auth/login", json={"email": EMAIL, "password": PASSWORD}, headers={"X-CSRFToken": token})
    return session, response.json()["csrf_token"]
