"""BEDROCK_MAX_TOKENS and BEDROCK_TEMPERATURE are what the analysis job (a real worker process) and
chat (through the view) send, as the fake Bedrock received them."""
import io

import pytest

from app import create_app
from tests.conftest import _clean, app_config, login
from tests.documents.corpus import headed_sections
from tests.review.conftest import start_worker
from tests.review.test_analysis import analyse, upload, wait_for
from tests.support.prompts import analysis_bodies

pytestmark = pytest.mark.slow
SETTINGS = {"BEDROCK_MAX_TOKENS": 3000, "BEDROCK_TEMPERATURE": 0.65}


@pytest.fixture
def tuned_app(database_url, redis_url, tmp_path, bedrock_settings):
    application = create_app(app_config(database_url, redis_url, tmp_path, **bedrock_settings, **SETTINGS))
    yield application
    _clean(application, redis_url)


@pytest.fixture
def tuned_reviewer(tuned_app, make_user):
    make_user("rev@example.com")
    client = tuned_app.test_client()
    client.csrf = login(client, "rev@example.com").get_json()["csrf_token"]
    return client


def test_analysis_jobs_send_the_configured_max_tokens_and_temperature(tuned_app, tuned_reviewer, worker_env, fake):
    document = upload(tuned_reviewer, data=headed_sections(2, lambda i: f"Case {i}: the seller shipped late."))
    analyse(tuned_reviewer, document["id"])
    env = {**worker_env, **{k: str(v) for k, v in SETTINGS.items()}}
    assert start_worker(env, "--burst").wait(timeout=90) == 0
    assert {r.status for r in wait_for(tuned_app, document["id"])} == {"completed"}
    analysis_calls = analysis_bodies(fake)
    assert len(analysis_calls) == 2
    for body in analysis_calls:
        assert body["inferenceConfig"] == {"maxTokens": 3000, "temperature": 0.65}


def test_chat_sends_the_configured_max_tokens_and_temperature(tuned_app, tuned_reviewer, fake):
    document = upload(tuned_reviewer, data=headed_sections(1, lambda i: "The seller shipped late."))
    fake.responder = lambda model, body: "Name the owner."
    for accept in ("application/json", "text/event-stream"):
        response = tuned_reviewer.post(f"/api/documents/{document['id']}/chat", json={"message": "What is missing?"},
                                       headers={"X-CSRFToken": tuned_reviewer.csrf, "Accept": accept})
        assert response.status_code == 200
        response.get_data()
        model, operation, body = fake.requests[-1]
        assert operation == ("converse" if accept == "application/json" else "converse-stream")
        assert body["inferenceConfig"] == {"maxTokens": 3000, "temperature": 0.65}
