"""The document summary the model writes (app/review/summary.py): asked for through the forced
`record_summary` tool, checked like an analysis (repair, then a failure the reviewer sees), deferred
when every model is busy, and re-run after decisions at most once per SUMMARY_REFRESH_INTERVAL_S per
document across processes (a real worker and real Redis; the interval is scaled down to 3 s)."""
import math
import threading
import time

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Analysis, DocumentSummary
from app.review import service
from app.review import summary as summaries
from tests.documents.corpus import headed_sections
from tests.fakes import sim_summary
from tests.review.conftest import start_worker
from tests.review.test_analysis import analyse, upload, wait_for
from tests.support.processes import stop_processes
from tests.support.prompts import forced_tool

pytestmark = pytest.mark.slow


def _analysed(app, client, sections=2):
    """A document whose analyses ran in this process (the summary job is only requested)."""
    document = upload(client, data=headed_sections(sections, lambda i: f"Case {i}: the seller shipped late and nobody called."))
    assert analyse(client, document["id"]).status_code == 202
    with app.app_context():
        for analysis_id in db.session.scalars(select(Analysis.id).where(Analysis.document_id == document["id"])):
            assert service.run_analysis(db.session, app.extensions["redis"], app.extensions["model_chain"], analysis_id) == "completed"
    return document["id"]


def _run(app, document_id):
    with app.app_context():
        app.extensions["redis"].delete(summaries.TURN_KEY.format(id=document_id))
        return summaries.run_summary(db.session, app.extensions["redis"], app.extensions["model_chain"], document_id)


def test_the_summary_comes_from_the_forced_tool_and_points_at_real_items(bedrock_app, reviewer, fake):
    document_id = _analysed(bedrock_app, reviewer)
    items = {i["id"]: i for i in reviewer.get(f"/api/documents/{document_id}/feedback?min_confidence=0").get_json()["items"]}
    assert _run(bedrock_app, document_id) == "completed"
    body = next(b for _, _, b in reversed(fake.requests) if forced_tool(b) == "record_summary")
    assert body["toolConfig"]["tools"][0]["toolSpec"]["inputSchema"]["json"]["required"][0] == "risk_score"
    summary = reviewer.get(f"/api/documents/{document_id}/summary").get_json()
    assert summary["state"] == "completed" and summary["model"] in ("fake-primary", "fake-secondary")
    assert set(summary) >= {"state", "risk_score", "reasons", "key_risks", "recommendations", "compliance_concerns", "verdict", "model"}
    assert 0 <= summary["risk_score"] <= 100 and summary["verdict"] == "needs_work"
    for risk in summary["key_risks"]:
        assert risk["item_ids"] and set(risk["item_ids"]) <= set(items)
        assert risk["quotes"] == [items[i]["quote"] for i in risk["item_ids"] if items[i]["quote"]]
    detail = reviewer.get(f"/api/documents/{document_id}").get_json()
    assert detail["risk_score"] == summary["risk_score"]


def test_ids_the_document_does_not_hold_are_dropped(bedrock_app, reviewer, fake):
    document_id = _analysed(bedrock_app, reviewer, sections=1)
    real = reviewer.get(f"/api/documents/{document_id}/feedback?min_confidence=0").get_json()["items"][0]["id"]
    fake.replies.append('{"risk_score": 40, "reasons": ["r"], "verdict": "needs_work", "recommendations": [], '
                        '"compliance_concerns": [{"text": "invented", "item_ids": [99999]}], '
                        f'"key_risks": [{{"text": "grounded", "item_ids": [{real}, 99999]}}, {{"text": "made up", "item_ids": [424242]}}]}}')
    assert _run(bedrock_app, document_id) == "completed"
    summary = reviewer.get(f"/api/documents/{document_id}/summary").get_json()
    assert [(r["text"], r["item_ids"]) for r in summary["key_risks"]] == [("grounded", [real])]
    assert summary["compliance_concerns"] == []


def test_an_unusable_answer_is_repaired_once_then_shown_as_a_failure(bedrock_app, reviewer, fake):
    document_id = _analysed(bedrock_app, reviewer, sections=1)
    fake.replies.extend(['{"risk_score": 250, "verdict": "great"}', "not json at all"])
    assert _run(bedrock_app, document_id) == "failed"
    summary = reviewer.get(f"/api/documents/{document_id}/summary").get_json()
    assert summary["state"] == "failed" and summary["risk_score"] is None and summary["verdict"] is None
    assert summary["error"]["code"] == "invalid_model_output" and "repair" in summary["error"]["message"]
    assert reviewer.get(f"/api/documents/{document_id}").get_json()["risk_score"] is None
    # the repair turn came back with the first answer's error
    repair = next(b for _, _, b in reversed(fake.requests) if forced_tool(b) == "record_summary" and len(b["messages"]) == 3)
    assert "risk_score" in repair["messages"][2]["content"][0]["text"]
    fake.replies.clear()
    assert _run(bedrock_app, document_id) == "completed"  # the next run, with a sound answer, replaces it


def test_busy_models_defer_the_summary_instead_of_failing_it(bedrock_app, reviewer, fake):
    document_id = _analysed(bedrock_app, reviewer, sections=1)
    fake.fault("throttle", seconds=60)
    assert _run(bedrock_app, document_id) == "deferred"
    with bedrock_app.app_context():
        row = db.session.scalars(select(DocumentSummary).where(DocumentSummary.document_id == document_id)).one()
        assert row.state == "deferred" and row.risk_score is None
        assert bedrock_app.extensions["redis"].exists(summaries.PENDING_KEY.format(id=document_id))


def test_once_per_settle_then_at_most_once_per_interval_under_a_stream_of_decisions(bedrock_app, reviewer, worker_env, fake):
    interval = 3
    calls: list[float] = []
    lock = threading.Lock()

    def counted(model_id, body):
        with lock:
            calls.append(time.time())
        return sim_summary.respond(model_id, body)

    fake.tool_responders["record_summary"] = counted
    worker = start_worker({**worker_env, "SUMMARY_REFRESH_INTERVAL_S": str(interval)})
    try:
        document = upload(reviewer, data=headed_sections(3, lambda i: f"Case {i}: the seller shipped late."))
        analyse(reviewer, document["id"])
        wait_for(bedrock_app, document["id"])
        deadline = time.monotonic() + 30
        while not calls and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(interval + 1)
        assert len(calls) == 1, "one summary for one settle"

        items = reviewer.get(f"/api/documents/{document['id']}/feedback?min_confidence=0").get_json()["items"]
        versions = {i["id"]: i["version"] for i in items}
        # 100 decisions a minute, scaled to the interval: 100 in 3 intervals (9 s), ~11 per second.
        started, decided = time.time(), 0
        for n in range(100):
            item_id = items[n % len(items)]["id"]
            response = reviewer.post(f"/api/feedback/{item_id}/decision", headers={"X-CSRFToken": reviewer.csrf},
                                     json={"decision": ("accept", "reject", "revert")[n % 3], "version": versions[item_id]})
            assert response.status_code == 200, response.get_json()
            versions[item_id] = response.get_json()["version"]
            decided += 1
            time.sleep(max(0.0, started + (n + 1) * 3 * interval / 100 - time.time()))
        last_decision = time.time()
        time.sleep(2 * interval + 2)
    finally:
        stop_processes(worker)
    during = [t for t in calls[1:]]
    gaps = [b - a for a, b in zip(calls, calls[1:])]
    print(f"summaries: 1 for the settle, {len(during)} for 100 decisions in {last_decision - started:.1f} s; "
          f"gaps {[round(g, 2) for g in gaps]} s (interval {interval} s)")
    assert decided == 100 and during, "decisions brought a new summary"
    assert min(gaps) >= interval - 0.05, gaps  # never more than once per interval per document
    assert len(during) <= math.ceil((last_decision - started) / interval) + 1, (len(during), gaps)
    assert calls[-1] > last_decision - 0.5  # the last decisions are summarised too
    with bedrock_app.app_context():
        row = db.session.scalars(select(DocumentSummary).where(DocumentSummary.document_id == document["id"])).one()
        assert row.state == "completed" and row.runs == len(calls)


def test_a_summary_left_running_by_a_killed_job_is_asked_for_again(bedrock_app, reviewer, fake):
    """A job process killed with -9 mid-call leaves the row `running` and nothing pending: the
    reconciler asks again once the row is stale, once, and the next run completes it."""
    from datetime import timedelta

    from app.models import utcnow

    document_id = _analysed(bedrock_app, reviewer, sections=1)
    with bedrock_app.app_context():
        redis = bedrock_app.extensions["redis"]
        redis.delete(summaries.PENDING_KEY.format(id=document_id))
        row = summaries._row(db.session, document_id)
        row.state = "running"
        db.session.commit()
        # Fresh: a job may still be running it.
        assert summaries.reconcile(db.session, redis) == []
        later = utcnow() + timedelta(seconds=summaries.STALE_S + 1)
        assert summaries.reconcile(db.session, redis, now=later) == [document_id]
        assert redis.exists(summaries.PENDING_KEY.format(id=document_id))
        assert summaries.reconcile(db.session, redis, now=later) == []  # one job on its way, not two
    assert _run(bedrock_app, document_id) == "completed"
    with bedrock_app.app_context():
        assert summaries.reconcile(db.session, bedrock_app.extensions["redis"], now=utcnow() + timedelta(hours=1)) == []
