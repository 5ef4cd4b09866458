"""An analysis through the real worker (6 job processes) on a chain where only the last model works
and the primary really allows 2 calls a minute: every section completes, none fails."""
import io
import json
import time

import pytest
from sqlalchemy import select

from app import create_app
from app.extensions import db
from app.models import Analysis
from tests.conftest import _clean, app_config, login
from tests.documents.corpus import headed_sections
from tests.fakes.bedrock import FakeBedrock
from tests.fakes.limits import SlidingWindow
from tests.review.conftest import grounded_reply, start_worker
from tests.support.processes import process_env

pytestmark = pytest.mark.slow

CHAIN = json.dumps([{"id": "primary", "rpm": 200, "cooldown_s": 5}, {"id": "denied", "rpm": 200},
                    {"id": "retired", "rpm": 200}, {"id": "last", "rpm": 1000}])


@pytest.fixture
def fake():
    server = FakeBedrock().start()
    server.responder = grounded_reply
    server.limiters["primary"] = SlidingWindow(2, 60.0)  # really 2 calls a minute, configured 200
    server.fault("access_denied", model="denied")
    server.fault("end_of_life", model="retired")
    yield server
    server.stop()


def test_thirty_sections_by_six_job_processes_complete_when_only_the_last_model_works(
        database_url, redis_url, tmp_path, fake, make_user, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    settings = {"MODEL_PROVIDER": "bedrock", "BEDROCK_ENDPOINT_URL": fake.url, "BEDROCK_MODEL_CHAIN": CHAIN,
                "BEDROCK_READ_TIMEOUT": 20.0, "ANALYSIS_MAX_WAIT_S": 600}
    app = create_app(app_config(database_url, redis_url, tmp_path, **settings))
    try:
        make_user("rev@example.com")
        client = app.test_client()
        csrf = login(client, "rev@example.com").get_json()["csrf_token"]
        data = headed_sections(30, lambda i: f"The seller in case {i + 1} shipped late and some customers waited weeks.")
        response = client.post("/api/documents", data={"file": (io.BytesIO(data), "case.docx")},
                               content_type="multipart/form-data", headers={"X-CSRFToken": csrf})
        document = response.get_json()
        assert client.post(f"/api/documents/{document['id']}/analyses", json={}, headers={"X-CSRFToken": csrf}).status_code == 202
        env = process_env(database_url, redis_url, str(tmp_path / "storage"), MODEL_PROVIDER="bedrock",
                          BEDROCK_ENDPOINT_URL=fake.url, BEDROCK_MODEL_CHAIN=CHAIN, AWS_ACCESS_KEY_ID="testing",
                          AWS_SECRET_ACCESS_KEY="testing", BEDROCK_READ_TIMEOUT="20", SCHEDULER_INTERVAL_SECONDS="5")
        worker = start_worker(env, "--processes", "6")
        try:
            deadline = time.monotonic() + 240
            rows = []
            while time.monotonic() < deadline:
                with app.app_context():
                    rows = db.session.scalars(select(Analysis).where(Analysis.document_id == document["id"])).all()
                    assert not any(r.status == "failed" for r in rows), [(r.status, r.error_message) for r in rows if r.status == "failed"]
                    if len(rows) == 30 and all(r.status == "completed" for r in rows):
                        break
                time.sleep(0.5)
            assert len(rows) == 30 and {r.status for r in rows} == {"completed"}
        finally:
            worker.terminate()
            worker.wait(timeout=30)
        stats = fake.snapshot()
        assert stats["denied"]["calls"] == 1 and stats["retired"]["calls"] == 1, "one call each to the unusable models"
        assert stats["primary"]["ok"] <= 3 and stats["last"]["ok"] >= 27
    finally:
        _clean(app, redis_url)


def test_an_analysis_fails_at_once_when_every_model_is_unusable(database_url, redis_url, tmp_path, make_user, monkeypatch):
    server = FakeBedrock().start()
    try:
        for model in ("primary", "denied", "retired", "last"):
            server.fault("access_denied" if model != "retired" else "end_of_life", model=model)
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        app = create_app(app_config(database_url, redis_url, tmp_path, MODEL_PROVIDER="bedrock", BEDROCK_ENDPOINT_URL=server.url,
                                    BEDROCK_MODEL_CHAIN=CHAIN, BEDROCK_READ_TIMEOUT=20.0, ANALYSIS_MAX_WAIT_S=600))
        try:
            make_user("rev@example.com")
            client = app.test_client()
            csrf = login(client, "rev@example.com").get_json()["csrf_token"]
            data = headed_sections(1, lambda i: "The seller shipped late and some customers waited weeks.")
            document = client.post("/api/documents", data={"file": (io.BytesIO(data), "case.docx")},
                                   content_type="multipart/form-data", headers={"X-CSRFToken": csrf}).get_json()
            client.post(f"/api/documents/{document['id']}/analyses", json={}, headers={"X-CSRFToken": csrf})
            from app.review import service

            with app.app_context():
                (analysis,) = db.session.scalars(select(Analysis)).all()
                outcome = service.run_analysis(db.session, app.extensions["redis"], app.extensions["model_chain"], analysis.id)
                db.session.refresh(analysis)
                assert outcome == "failed" and analysis.error_code == "models_unusable", (outcome, analysis.error_message)
            assert all(server.snapshot()[m]["calls"] == 1 for m in ("primary", "denied", "retired", "last"))
        finally:
            _clean(app, redis_url)
    finally:
        server.stop()


def _one_section_analysis(app, client_email, make_user):
    make_user(client_email)
    client = app.test_client()
    csrf = login(client, client_email).get_json()["csrf_token"]
    data = headed_sections(1, lambda i: "The seller shipped late and some customers waited weeks.")
    document = client.post("/api/documents", data={"file": (io.BytesIO(data), "case.docx")},
                           content_type="multipart/form-data", headers={"X-CSRFToken": csrf}).get_json()
    assert client.post(f"/api/documents/{document['id']}/analyses", json={}, headers={"X-CSRFToken": csrf}).status_code == 202
    with app.app_context():
        (analysis,) = db.session.scalars(select(Analysis).where(Analysis.document_id == document["id"])).all()
        return analysis.id


def test_an_analysis_keeps_deferring_past_any_total_wait_while_a_usable_model_throttles(
        database_url, redis_url, tmp_path, make_user, monkeypatch):
    """The job (workers.tasks.analyse_section) on real PostgreSQL and Redis: the only usable model
    answers every call with a throttle, the analysis was queued two hours ago (past the old 30-minute
    total limit): it is deferred, again and again, each time with a next-try time no further than
    ANALYSIS_MAX_WAIT_S, never failed; the user can still cancel it."""
    from datetime import timedelta

    from app.models import utcnow
    from workers import tasks

    server = FakeBedrock().start()
    try:
        server.fault("throttle", model="primary")
        server.fault("access_denied", model="denied")
        server.fault("end_of_life", model="retired")
        server.fault("access_denied", model="last")
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        app = create_app(app_config(database_url, redis_url, tmp_path, MODEL_PROVIDER="bedrock", BEDROCK_ENDPOINT_URL=server.url,
                                    BEDROCK_MODEL_CHAIN=CHAIN, BEDROCK_READ_TIMEOUT=20.0, ANALYSIS_MAX_WAIT_S=60))
        try:
            analysis_id = _one_section_analysis(app, "rev@example.com", make_user)
            with app.app_context():
                db.session.get(Analysis, analysis_id).created_at = utcnow() - timedelta(hours=2)
                db.session.commit()
            for run in range(1, 4):
                with app.app_context():
                    assert tasks.analyse_section(analysis_id) == "deferred"
                    row = db.session.get(Analysis, analysis_id)
                    assert row.status == "deferred" and row.error_code is None and row.deferrals == run
                    wait = (row.deferred_until - utcnow()).total_seconds()
                    assert 0 < wait <= 60, wait  # the chain's retry time, capped by ANALYSIS_MAX_WAIT_S
                    assert row.to_dict()["deferred_until"], "the next try is visible to the user"
                    assert row.attempts == 0, "a run that deferred is not a crashed attempt"
            stats = server.snapshot()
            assert stats["denied"]["calls"] == 1 and stats["retired"]["calls"] == 1 and stats["last"]["calls"] == 1
            assert stats["primary"]["calls"] >= 1 and stats["primary"]["ok"] == 0
            client = app.test_client()
            csrf = login(client, "rev@example.com").get_json()["csrf_token"]
            response = client.post(f"/api/jobs/{analysis_id}/cancel", headers={"X-CSRFToken": csrf})
            assert response.status_code == 200 and response.get_json()["status"] == "cancelled"
            with app.app_context():
                assert tasks.analyse_section(analysis_id) == "cancelled"
        finally:
            _clean(app, redis_url)
    finally:
        server.stop()


def test_the_job_fails_with_a_clear_message_when_every_model_is_unusable(
        database_url, redis_url, tmp_path, make_user, monkeypatch):
    from workers import tasks

    server = FakeBedrock().start()
    try:
        for model in ("primary", "denied", "last"):
            server.fault("access_denied", model=model)
        server.fault("end_of_life", model="retired")
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        app = create_app(app_config(database_url, redis_url, tmp_path, MODEL_PROVIDER="bedrock", BEDROCK_ENDPOINT_URL=server.url,
                                    BEDROCK_MODEL_CHAIN=CHAIN, BEDROCK_READ_TIMEOUT=20.0))
        try:
            analysis_id = _one_section_analysis(app, "rev@example.com", make_user)
            with app.app_context():
                assert tasks.analyse_section(analysis_id) == "failed"
                row = db.session.get(Analysis, analysis_id)
                assert row.status == "failed" and row.error_code == "models_unusable"
                assert "Every model in the chain is unusable" in row.error_message and "admin" in row.error_message
        finally:
            _clean(app, redis_url)
    finally:
        server.stop()
