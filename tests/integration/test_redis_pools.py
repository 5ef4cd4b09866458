"""The requests' Redis pool is bounded and waits a bounded time: when it is empty a request answers
503 with Retry-After after REDIS_POOL_TIMEOUT (not a hang, not a 500), readiness keeps its own pool,
and event streams take nothing from it."""
import time

from app import create_app
from tests.conftest import _clean, app_config, login


def _document(app) -> int:
    from app.extensions import db
    from app.models import Document, User
    from sqlalchemy import select

    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == "ann@example.com"))
        document = Document(user_id=user.id, title="t", original_filename="t.txt", file_format="txt",
                            content_type="text/plain", size_bytes=1, sha256="0" * 64, storage_key="k")
        db.session.add(document)
        db.session.commit()
        return document.id


def test_an_exhausted_request_pool_answers_503_quickly_and_readiness_stays_up(database_url, redis_url, tmp_path):
    app = create_app(app_config(database_url, redis_url, tmp_path, REDIS_MAX_CONNECTIONS=3, REDIS_POOL_TIMEOUT=0.3))
    try:
        with app.app_context():
            from app.auth import service
            from app.extensions import db

            service.create_user(db.session, "ann@example.com", "correct horse battery staple", "reviewer")
            db.session.commit()
        client = app.test_client()
        assert login(client, "ann@example.com").status_code == 200
        pool = app.extensions["redis"].connection_pool
        assert pool.max_connections == 3 and pool.timeout == 0.3

        # Five open event streams on a pool of three: none of them holds a connection of it.
        document_id = _document(app)
        streams = [client.get(f"/api/documents/{document_id}/events", buffered=False) for _ in range(5)]
        assert all("event: snapshot" in next(s.response).decode() for s in streams)
        assert [client.get("/api/auth/me").status_code for _ in range(5)] == [200] * 5

        held = [pool.get_connection() for _ in range(3)]
        started = time.monotonic()
        response = client.get("/api/auth/me")
        waited = time.monotonic() - started
        assert response.status_code == 503, response.get_json()
        assert response.headers["Retry-After"] and 0.25 <= waited < 2.0
        ready = client.get("/health/ready")
        assert ready.status_code == 200, ready.get_json()  # the probe has its own pool
        for connection in held:
            pool.release(connection)
        assert client.get("/api/auth/me").status_code == 200
        for stream in streams:
            stream.close()
        assert app.extensions["event_hub"].open_streams() == 0
        app.extensions["event_hub"].stop()
    finally:
        _clean(app, redis_url)
