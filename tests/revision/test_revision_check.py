"""The revision check end to end: real PostgreSQL, Redis and RQ worker processes, the fake Bedrock
(its simulator answers record_revision_check)."""
import json
import os
import signal
import subprocess
import time

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import ReviewEvent, RevisionItem
from tests.review.conftest import start_worker
from tests.revision.builders import QUOTES, REWRITE, V1, V2, accepted_items, build, upload, wait_for_check
from tests.support.processes import BIN, ROOT
from tests.support.prompts import data_blocks

pytestmark = pytest.mark.slow


def _versions(reviewer, bedrock_app):
    v1 = upload(reviewer, build(V1), "case.docx")
    ids = accepted_items(bedrock_app, reviewer, v1["id"])
    v2 = upload(reviewer, build(V2), "case v2.docx", path=f"/api/documents/{v1['id']}/versions")
    return v1, v2, ids


def _revision_calls(fake):
    return [body for _, _, body in fake.requests
            if ((body.get("toolConfig") or {}).get("toolChoice") or {}).get("tool", {}).get("name") == "record_revision_check"]


def _expect_statuses(reviewer, v2, ids):
    revision = reviewer.get(f"/api/documents/{v2['id']}/revision").get_json()
    assert revision["state"] == "completed"
    by_item = {row["item_id"]: row for row in revision["items"]}
    assert set(by_item) == set(ids.values())
    for quote, (_, status, location) in QUOTES.items():
        row = by_item[ids[quote]]
        assert (row["status"], row["location"]) == (status, location), (quote, row)
    return revision, by_item


def test_statuses_new_quote_and_model_calls(bedrock_app, reviewer, worker_env, fake):
    v1, v2, ids = _versions(reviewer, bedrock_app)
    assert v2["version"] == 2 and v2["previous_version_id"] == v1["id"]
    assert [v["id"] for v in v2["versions"]] == [v1["id"], v2["id"]]
    worker = start_worker(worker_env)
    try:
        check = wait_for_check(bedrock_app, v2["id"])
    finally:
        worker.terminate()
        worker.wait(timeout=30)
    assert check.status == "completed", check.error_message
    revision, by_item = _expect_statuses(reviewer, v2, ids)
    assert revision["previous_id"] == v1["id"]
    assert revision["summary"] == {"open": 3, "addressed": 1, "partly": 0, "quote_gone": 1, "unjudged": 0}
    rewritten = by_item[ids["We found no root cause for the delay."]]
    assert rewritten["verified"] and rewritten["new_quote"] == REWRITE
    section = reviewer.get(f"/api/documents/{v2['id']}/sections/{rewritten['new_quote_section_id']}").get_json()
    assert section["text"][rewritten["new_quote_start"]:rewritten["new_quote_end"]] == REWRITE
    # Unchanged items made no model call: two groups had changed quoted items, so two calls, and the
    # only items ever put to the model are the rewritten and the deleted one.
    calls = _revision_calls(fake)
    assert len(calls) == 2 == revision["model_calls"]
    asked = {c["item_id"] for body in calls for c in json.loads(data_blocks(body["messages"][0]["content"][0]["text"])[0])}
    assert asked == {ids["We found no root cause for the delay."], ids["No refunds were made to anyone."]}
    # Renamed + moved and split sections are recognised.
    kinds = {tuple(g["v1_titles"]): g["kinds"] for g in revision["groups"]}
    assert "renamed" in kinds[("Background",)] and "moved" in kinds[("Background",)]
    assert kinds[("Actions",)][0] == "split"
    # The document lists its versions both ways.
    assert [v["version"] for v in reviewer.get(f"/api/documents/{v1['id']}").get_json()["versions"]] == [1, 2]


def test_worker_killed_during_the_check_still_completes(bedrock_app, reviewer, worker_env, fake):
    fake.default.latency_s = 4
    v1, v2, ids = _versions(reviewer, bedrock_app)
    worker = start_worker(worker_env, start_new_session=True)
    try:
        wait_for_check(bedrock_app, v2["id"], states=("running",), timeout=60)
        time.sleep(1)
        import psutil

        processes = [psutil.Process(worker.pid), *psutil.Process(worker.pid).children(recursive=True)]
        for process in processes:
            process.kill()
        worker.wait()
    finally:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGKILL)
    fake.default.latency_s = 0
    restarted = start_worker(worker_env, start_new_session=True)
    scheduler = subprocess.Popen([str(BIN / "flask"), "--app", "application", "scheduler"], cwd=ROOT, env=worker_env,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        check = wait_for_check(bedrock_app, v2["id"], timeout=150)
    finally:
        scheduler.terminate()
        os.killpg(restarted.pid, signal.SIGTERM)
        restarted.wait(timeout=30)
        scheduler.wait(timeout=30)
    assert check.status == "completed" and check.attempts >= 2, (check.status, check.error_message)
    _expect_statuses(reviewer, v2, ids)
    with bedrock_app.app_context():  # one row per followed item, however many runs
        assert db.session.scalar(select(func.count()).select_from(RevisionItem)) == len(QUOTES)


def test_override_is_audited_and_bad_input_is_refused(bedrock_app, reviewer, worker_env, fake, make_user):
    v1, v2, ids = _versions(reviewer, bedrock_app)
    worker = start_worker(worker_env)
    try:
        wait_for_check(bedrock_app, v2["id"])
    finally:
        worker.terminate()
        worker.wait(timeout=30)
    item = ids["The buyer complained on 20 May."]
    path = f"/api/documents/{v2['id']}/revision/items/{item}"
    headers = {"X-CSRFToken": reviewer.csrf}
    assert reviewer.post(path, json={"status": "done"}, headers=headers).status_code == 400
    assert reviewer.post(path, data="x", headers=headers).get_json()["error"]["code"] == "invalid_json"
    assert reviewer.post(f"/api/documents/{v2['id']}/revision/items/999999", json={"status": "open"}, headers=headers).status_code == 404
    answer = reviewer.post(path, json={"status": "addressed", "reason": "Dealt with in the call notes."}, headers=headers)
    assert answer.status_code == 200, answer.get_json()
    row = answer.get_json()
    assert row["status"] == "addressed" and row["overridden"] and row["checked_status"] == "open"
    summary = reviewer.get(f"/api/documents/{v2['id']}/revision").get_json()["summary"]
    assert summary["addressed"] == 2 and summary["open"] == 2
    # statistics: the addressed rate per category and Hawkeye point over documents with versions
    rates = reviewer.get("/api/stats").get_json()["revisions"]
    assert rates["checks"] == 1
    assert rates["by_category"]["Evidence"] == {"followed": 5, "addressed": 2, "partly": 0, "addressed_rate": 0.4}
    assert rates["by_hawkeye_point"]["12"]["addressed_rate"] == 0.4
    with bedrock_app.app_context():
        event = db.session.scalars(select(ReviewEvent).where(ReviewEvent.action == "revision_override")).one()
        assert (event.feedback_item_id, event.document_id, event.before["status"], event.after["status"]) == (item, v2["id"], "open", "addressed")
    # Versions: only the latest takes a next version; another user sees none of it.
    again = upload(reviewer, build(V2), "again.docx", path=f"/api/documents/{v1['id']}/versions", status=409)
    assert again["error"]["code"] == "not_latest_version"
    bad = reviewer.post(f"/api/documents/{v2['id']}/versions", data={}, content_type="multipart/form-data", headers=headers)
    assert bad.status_code == 400 and bad.get_json()["error"]["code"] == "missing_file"
    from io import BytesIO
    fake_doc = reviewer.post(f"/api/documents/{v2['id']}/versions", data={"file": (BytesIO(b"MZ not a docx"), "x.docx")},
                             content_type="multipart/form-data", headers=headers)
    assert fake_doc.status_code in (400, 415) and reviewer.get(f"/api/documents/{v2['id']}").get_json()["versions"][-1]["id"] == v2["id"]
    make_user("other@example.com")
    other = bedrock_app.test_client()
    from tests.conftest import login
    other.csrf = login(other, "other@example.com").get_json()["csrf_token"]
    assert other.get(f"/api/documents/{v2['id']}/revision").status_code == 404
    assert other.post(f"/api/documents/{v1['id']}/versions", data={"file": (BytesIO(build(V2)), "v.docx")},
                      content_type="multipart/form-data", headers={"X-CSRFToken": other.csrf}).status_code == 404
    assert reviewer.get(f"/api/documents/{v1['id']}/revision").status_code == 404


def test_export_of_v2_carries_open_items_onto_v2_text(bedrock_app, reviewer, worker_env, fake):
    import io

    import docx

    from app.exports import service as exports
    from app.exports.word import anchored_texts
    from app.models import Export

    v1, v2, ids = _versions(reviewer, bedrock_app)
    headers = {"X-CSRFToken": reviewer.csrf}
    early = reviewer.post(f"/api/documents/{v2['id']}/exports", json={"formats": ["docx", "json"], "carry_forward": True},
                          headers=headers)
    assert early.status_code == 409 and early.get_json()["error"]["code"] == "revision_not_checked"
    worker = start_worker(worker_env)
    try:
        wait_for_check(bedrock_app, v2["id"])
    finally:
        worker.terminate()
        worker.wait(timeout=30)
    # one open item set to partly by a reviewer: carried too
    partly = ids["Train the team on it."]
    reviewer.post(f"/api/documents/{v2['id']}/revision/items/{partly}", json={"status": "partly"}, headers=headers)
    started = reviewer.post(f"/api/documents/{v2['id']}/exports", json={"formats": ["docx", "json"], "carry_forward": True},
                            headers=headers)
    assert started.status_code == 202 and started.get_json()["carry_forward"] is True
    with bedrock_app.app_context():
        export_id = started.get_json()["id"]
        assert exports.run_export(db.session, bedrock_app.extensions["redis"], bedrock_app.extensions["storage"], export_id,
                                  "Logs and data/") == "completed"
        files = {f["format"]: f["key"] for f in db.session.get(Export, export_id).files}
        word = bedrock_app.extensions["storage"].get(files["docx"])
        record = json.loads(bedrock_app.extensions["storage"].get(files["json"]))
    comments = {c.comment_id: c.text for c in docx.Document(io.BytesIO(word)).comments}
    anchored = anchored_texts(word)
    carried = {anchored[str(cid)]: text for cid, text in comments.items() if "Carried from version 1" in text}
    # open and partly ones, each on its words in the v2 text; addressed and gone ones not carried
    assert set(carried) == {"The buyer complained on 20 May.", "The seller joined in 2019.", "Train the team on it."}
    assert "partly" in carried["Train the team on it."]
    assert record["revision"]["previous_id"] == v1["id"]
    statuses = {row["item_id"]: row["status"] for row in record["revision"]["items"]}
    assert statuses[ids["No refunds were made to anyone."]] == "quote_gone" and statuses[partly] == "partly"
