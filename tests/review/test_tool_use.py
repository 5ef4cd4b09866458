"""An analysis end to end (in-process job body, real PostgreSQL and Redis, boto3 against the fake):
the answer comes through the forced tool where the model takes it, through text plus the repair turn
where the chain spec says no tools or thinking is on, and an unreadable answer fails the same clear
way on both paths."""
import json

import pytest
from sqlalchemy import select

from app import create_app
from app.extensions import db
from app.llm.types import Sampling
from app.models import Analysis, Document, FeedbackItem, User
from app.review import service as review
from tests.conftest import _clean, app_config, login
from tests.review.test_analysis import upload

TEXT = "The seller shipped late and nobody owned the refund queue for three weeks."
TOOLS = json.dumps([{"id": "fake-tools", "rpm": 1000, "cooldown_s": 1}])
NO_TOOLS = json.dumps([{"id": "fake-plain", "rpm": 1000, "cooldown_s": 1, "tools": False}])
THINKING = json.dumps([{"id": "fake-thinker", "rpm": 1000, "cooldown_s": 1, "thinking": True}])
PATHS = {
    "tool": {"BEDROCK_MODEL_CHAIN": TOOLS},
    "no_tools": {"BEDROCK_MODEL_CHAIN": NO_TOOLS},
    "thinking": {"BEDROCK_MODEL_CHAIN": THINKING, "ENABLE_EXTENDED_THINKING": True},
}


@pytest.fixture
def make_app(database_url, redis_url, tmp_path, bedrock_settings, fake, make_user):
    made = []

    def make(path: str):
        fake.configure("fake-plain", tools=False)  # a model without tool use refuses toolConfig
        application = create_app(app_config(database_url, redis_url, tmp_path, **{**bedrock_settings, **PATHS[path]}))
        made.append(application)
        return application

    yield make
    for application in made:
        _clean(application, redis_url)


def analyse_one(application, make_user) -> Analysis:
    make_user("rev@example.com")
    client = application.test_client()
    client.csrf = login(client, "rev@example.com").get_json()["csrf_token"]
    document = upload(client, name="one.txt", data=f"FINDINGS\n\n{TEXT}\n".encode())
    with application.app_context():
        analyses = review.start_analyses(db.session, application.extensions["redis"], db.session.get(Document, document["id"]),
                                         None, db.session.scalars(select(User)).first())
        review.run_analysis(db.session, application.extensions["redis"], application.extensions["model_chain"],
                            analyses[0].id, sampling=Sampling.from_config(application.config))
        row = db.session.get(Analysis, analyses[0].id)
        db.session.expunge(row)
        return row


def analysis_calls(fake) -> list[dict]:
    return [body for _, _, body in fake.requests if "feedback_items" in body["system"][0]["text"]]


def stored_items(application) -> list[FeedbackItem]:
    with application.app_context():
        return db.session.scalars(select(FeedbackItem)).all()


@pytest.mark.parametrize("path", ["tool", "no_tools", "thinking"])
def test_each_model_answers_through_its_own_path(make_app, make_user, fake, path):
    application = make_app(path)
    row = analyse_one(application, make_user)
    assert row.status == "completed", row.error_message
    (body,) = analysis_calls(fake)
    if path == "tool":
        assert body["toolConfig"]["toolChoice"] == {"tool": {"name": "record_feedback"}}
    else:
        assert "toolConfig" not in body
    assert ("additionalModelRequestFields" in body) == (path == "thinking")
    items = stored_items(application)
    assert len(items) == 2 and sum(i.verified for i in items) == 1  # grounded_reply: one real quote, one invented


@pytest.mark.parametrize("path", ["tool", "no_tools", "thinking"])
def test_an_unusable_first_answer_is_repaired_on_the_same_path(make_app, make_user, fake, path):
    application = make_app(path)
    fake.replies.extend(["Sure! Here is my review: {not json", json.dumps({"feedback_items": [
        {"type": "critical", "description": "Name the owner.", "risk_level": "High", "quote": "nobody owned the refund queue"}]})])
    row = analyse_one(application, make_user)
    assert row.status == "completed", row.error_message
    first, repair = analysis_calls(fake)
    assert [m["role"] for m in repair["messages"]] == ["user", "assistant", "user"]
    assert repair["messages"][1]["content"][0]["text"] == "Sure! Here is my review: {not json"
    assert ("toolConfig" in first) == ("toolConfig" in repair) == (path == "tool")
    (item,) = stored_items(application)
    assert item.verified and item.quote == "nobody owned the refund queue"


@pytest.mark.parametrize("path", ["tool", "no_tools"])
def test_an_answer_unreadable_twice_fails_the_same_clear_way_on_either_path(make_app, make_user, fake, path):
    application = make_app(path)
    fake.replies.extend(['{"feedback_items": [{"type": "critical", "descr', '{"feedback_items": 5}'])
    row = analyse_one(application, make_user)
    assert row.status == "failed" and row.error_code == "invalid_model_output"
    assert row.error_message.startswith("The model's answer could not be read, even after a repair request (")
    assert 'must have a "feedback_items" list' in row.error_message
    assert stored_items(application) == []
