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
