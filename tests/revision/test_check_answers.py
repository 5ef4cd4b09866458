"""The check's model answers: repaired once, else the check fails saying why and no status is made up;
deferral when every model is busy; the offline reviewer's deterministic answers. The job body runs in
process (the worker path is in test_revision_check.py)."""
import json

import pytest

from app.extensions import db
from app.models import RevisionCheck
from app.review import revision
from tests.conftest import login
from tests.revision.builders import QUOTES, V1, V2, accepted_items, build, upload


def _setup(app, client):
    v1 = upload(client, build(V1), "case.docx")
    ids = accepted_items(app, client, v1["id"])
    v2 = upload(client, build(V2), "case v2.docx", path=f"/api/documents/{v1['id']}/versions")
    return v2, ids


def _run(app, v2):
    with app.app_context():
        check = db.session.query(RevisionCheck).filter_by(document_id=v2["id"]).one()
        return revision.run_check(db.session, app.extensions["redis"], app.extensions["model_chain"], check.id)


def test_unusable_answer_is_repaired_once(bedrock_app, reviewer, fake):
    v2, ids = _setup(bedrock_app, reviewer)
    invented = {"results": [{"item_id": ids["We found no root cause for the delay."], "status": "addressed",
                             "reason": "done", "new_quote": "words nobody wrote"}]}
    fake.replies.extend([json.dumps(invented)])  # then the simulator answers the repair turn and the other group
    assert _run(bedrock_app, v2) == "completed"
    body = reviewer.get(f"/api/documents/{v2['id']}/revision").get_json()
    assert body["model_calls"] == 3 and body["summary"]["addressed"] == 1 and body["summary"]["quote_gone"] == 1
    repair = [b for _, _, b in fake.requests if len(b["messages"]) > 1]
    assert repair and "must copy words of the version 2 text exactly" in repair[0]["messages"][-1]["content"][0]["text"]


@pytest.mark.parametrize("answers", [
    ['{"results": "no"}', "not json at all"],
    [json.dumps({"results": [{"item_id": 999999, "status": "open", "reason": "x"}]}), '{"results": []}'],
])
def test_unusable_twice_fails_with_a_message_and_makes_nothing_up(bedrock_app, reviewer, fake, answers):
    v2, ids = _setup(bedrock_app, reviewer)
    fake.replies.extend(answers)
    assert _run(bedrock_app, v2) == "failed"
    body = reviewer.get(f"/api/documents/{v2['id']}/revision").get_json()
    assert body["state"] == "failed" and body["error"]["code"] == "invalid_model_output"
    assert "could not be read" in body["error"]["message"]
    judged_by_model = [row for row in body["items"] if row["location"] in ("changed", "gone") and row["status"] is not None]
    assert judged_by_model == []  # the first group failed; nothing was invented for it
    assert body["summary"]["unjudged"] >= 1
    # run again after the failure: the simulator answers, the check completes with the same rows
    again = reviewer.post(f"/api/documents/{v2['id']}/revision", headers={"X-CSRFToken": reviewer.csrf})
    assert again.status_code == 202 and again.get_json()["state"] == "queued"
    assert _run(bedrock_app, v2) == "completed"
    assert len(reviewer.get(f"/api/documents/{v2['id']}/revision").get_json()["items"]) == len(QUOTES)


def test_every_model_busy_defers(bedrock_app, reviewer, fake):
    v2, _ = _setup(bedrock_app, reviewer)
    fake.fault("throttle", seconds=60)
    assert _run(bedrock_app, v2) == "deferred"
    body = reviewer.get(f"/api/documents/{v2['id']}/revision").get_json()
    assert body["state"] == "deferred" and body["deferrals"] == 1 and body["deferred_until"]


def test_offline_reviewer_is_deterministic(app, make_user):
    make_user("off@example.com")
    client = app.test_client()
    client.csrf = login(client, "off@example.com").get_json()["csrf_token"]
    v2, ids = _setup(app, client)
    assert _run(app, v2) == "completed"
    body = client.get(f"/api/documents/{v2['id']}/revision").get_json()
    status = {row["item_id"]: row for row in body["items"]}
    assert status[ids["No refunds were made to anyone."]]["status"] == "quote_gone"
    assert status[ids["The buyer complained on 20 May."]]["status"] == "open"
    rewritten = status[ids["We found no root cause for the delay."]]
    assert rewritten["status"] == "open" and "does not judge" in rewritten["reason"] and rewritten["judged_by"] == "offline-rules"
