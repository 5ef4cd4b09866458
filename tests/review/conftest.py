import json
import subprocess

import pytest

from app import create_app
from tests.conftest import _clean, app_config, login
from tests.fakes.bedrock import FakeBedrock
from tests.support.prompts import section_text_of  # noqa: F401  (imported from here by other tests)
from tests.support.processes import BIN, ROOT, process_env

CHAIN = json.dumps([{"id": "fake-primary", "rpm": 1000, "cooldown_s": 1},
                    {"id": "fake-secondary", "rpm": 1000, "cooldown_s": 2}])


def grounded_reply(model_id: str, body: dict) -> str:
    """A well-behaved model: one item quoting the section's first words, one with an invented quote."""
    if len(body["messages"]) > 1:  # a repair turn
        return json.dumps({"feedback_items": []})
    text = section_text_of(body)
    quote = " ".join(text.split()[:6])
    return json.dumps({"feedback_items": [
        {"type": "important", "category": "Clarity", "description": "State who did this.", "suggestion": "Name the team.",
         "questions": ["Who owns it?"], "hawkeye_refs": [12, 17], "risk_level": "Medium", "confidence": 0.8, "quote": quote},
        {"type": "suggestion", "category": "Evidence", "description": "Cite the ticket.", "hawkeye_refs": [13],
         "risk_level": "Low", "confidence": 0.6, "quote": "words that are not in the section"},
    ]})


@pytest.fixture
def fake():
    server = FakeBedrock().start()
    server.responder = grounded_reply
    yield server
    server.stop()


@pytest.fixture
def bedrock_settings(fake, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    return {"MODEL_PROVIDER": "bedrock", "BEDROCK_ENDPOINT_URL": fake.url, "BEDROCK_MODEL_CHAIN": CHAIN,
            "BEDROCK_READ_TIMEOUT": 20.0, "ANALYSIS_MAX_WAIT_S": 600}


@pytest.fixture
def bedrock_app(database_url, redis_url, tmp_path, bedrock_settings):
    application = create_app(app_config(database_url, redis_url, tmp_path, **bedrock_settings))
    yield application
    _clean(application, redis_url)


@pytest.fixture
def reviewer(bedrock_app, make_user):
    make_user("rev@example.com")
    client = bedrock_app.test_client()
    response = login(client, "rev@example.com")
    client.csrf = response.get_json()["csrf_token"]
    return client


@pytest.fixture
def worker_env(database_url, redis_url, tmp_path, fake):
    return process_env(database_url, redis_url, str(tmp_path / "storage"), MODEL_PROVIDER="bedrock",
                       BEDROCK_ENDPOINT_URL=fake.url, BEDROCK_MODEL_CHAIN=CHAIN, AWS_ACCESS_KEY_ID="testing",
                       AWS_SECRET_ACCESS_KEY="testing", BEDROCK_READ_TIMEOUT="20", SCHEDULER_INTERVAL_SECONDS="5")


def start_worker(env, *extra, **kwargs):
    return subprocess.Popen([str(BIN / "flask"), "--app", "application", "worker", "--queues", "analysis,maintenance", *extra],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **kwargs)
