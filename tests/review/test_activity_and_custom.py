"""Issue 18 parts 4 and 7 on real PostgreSQL: the activity timeline (per document, admin filters,
downloads, access), deleting a custom item (own only, audited), Hawkeye points on custom items, the
reviewer's own confidence threshold, and the guidelines download."""
import csv
import io
from datetime import datetime, timedelta, timezone

import docx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sqlalchemy import select

from app.extensions import db
from app.models import ChatMessage, Export, FeedbackItem, ReviewEvent
from tests.conftest import _clean, login
from tests.documents.corpus import save
from tests.review.test_decisions import setup_document


def _client(app, email, role="reviewer", make_user=None):
    make_user(email, role=role)
    client = app.test_client()
    client.csrf = login(client, email).get_json()["csrf_token"]
    return client


def test_timeline_holds_upload_analysis_decisions_edits_section_edits_chat_and_exports(app, make_user):
    client, doc, section, item_id = setup_document(app, make_user)
    h = {"X-CSRFToken": client.csrf}
    client.post(f"/api/feedback/{item_id}/decision", json={"decision": "reject", "version": 1, "reason": "not here"}, headers=h)
    client.patch(f"/api/feedback/{item_id}", json={"version": 2, "description": "Say who owns it."}, headers=h)
    custom = client.post(f"/api/documents/{doc['id']}/feedback", json={"section_id": section["id"], "description": "Mine."},
                         headers=h).get_json()
    assert client.patch(f"/api/documents/{doc['id']}/sections/{section['id']}", json={"title": "Renamed"}, headers=h).status_code == 200
    assert client.patch(f"/api/documents/{doc['id']}/sections/{section['id']}", json={"action": "merge_next"},
                        headers=h).status_code == 200
    with app.app_context():
        db.session.add(ChatMessage(document_id=doc["id"], user_id=1, conversation_id="c1", role="user", content="Who owns =this?"))
        db.session.add(Export(document_id=doc["id"], user_id=1, formats=["docx"], status="completed"))
        db.session.commit()

    events = client.get(f"/api/documents/{doc['id']}/activity").get_json()["events"]
    actions = [e["action"] for e in events]
    assert actions[0] == "upload" and events[0]["detail"].startswith("c.docx")
    for expected in ("analysis_requested", "analysis_completed", "reject", "edit", "create", "section_rename",
                     "section_merge_next", "chat", "export"):
        assert expected in actions, (expected, actions)
    assert [e["at"] for e in events] == sorted(e["at"] for e in events)
    assert all(set(e) >= {"at", "user", "action", "target", "detail"} for e in events)
    reject = next(e for e in events if e["action"] == "reject")
    assert reject["user"] == "ann@example.com" or reject["user"]  # the reviewer's name
    assert reject["target"] == f"item {item_id}" and "reason: not here" in reject["detail"]
    assert next(e for e in events if e["action"] == "create")["target"] == f"item {custom['id']}"
    assert "Renamed" in next(e for e in events if e["action"] == "section_rename")["detail"]

    download = client.get(f"/api/documents/{doc['id']}/activity?download=1")
    assert download.headers["Content-Disposition"].startswith("attachment") and download.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(download.get_data().decode("utf-8-sig"))))
    assert [r["action"] for r in rows] == actions
    assert next(r for r in rows if r["action"] == "chat")["detail"] == "Who owns =this?"
    as_json = client.get(f"/api/documents/{doc['id']}/activity?download=1&format=json")
    assert as_json.mimetype == "application/json" and len(as_json.get_json()["events"]) == len(events)

    # Access as for documents: someone else's answers 404, an admin sees it.
    bob = _client(app, "bob@example.com", make_user=make_user)
    assert bob.get(f"/api/documents/{doc['id']}/activity").status_code == 404
    assert bob.get("/api/admin/activity").status_code == 403
    boss = _client(app, "boss@example.com", role="admin", make_user=make_user)
    assert len(boss.get(f"/api/documents/{doc['id']}/activity").get_json()["events"]) == len(events)


def test_admin_activity_filters_by_user_action_and_dates(app, make_user):
    client, doc, section, item_id = setup_document(app, make_user)
    h = {"X-CSRFToken": client.csrf}
    client.post(f"/api/feedback/{item_id}/decision", json={"decision": "accept", "version": 1}, headers=h)
    boss = _client(app, "boss@example.com", role="admin", make_user=make_user)
    everything = boss.get("/api/admin/activity").get_json()["events"]
    assert {e["document_id"] for e in everything} == {doc["id"]} and everything[0]["document"] == doc["title"]
    accepts = boss.get("/api/admin/activity?action=accept").get_json()["events"]
    assert [e["action"] for e in accepts] == ["accept"]
    assert boss.get("/api/admin/activity?user_id=2").get_json()["events"] == []  # the admin did nothing
    today = datetime.now(timezone.utc).date()
    assert len(boss.get(f"/api/admin/activity?since={today}&until={today}").get_json()["events"]) == len(everything)
    assert boss.get(f"/api/admin/activity?since={today + timedelta(days=1)}").get_json()["events"] == []
    assert boss.get(f"/api/admin/activity?until={today - timedelta(days=1)}").get_json()["events"] == []
    assert boss.get("/api/admin/activity?since=yesterday").status_code == 400
    assert boss.get("/api/admin/activity?action=dance").status_code == 400
    assert boss.get("/api/admin/activity?user_id=x").status_code == 400
    download = boss.get("/api/admin/activity?download=1&action=accept")
    rows = list(csv.DictReader(io.StringIO(download.get_data().decode("utf-8-sig"))))
    assert [r["action"] for r in rows] == ["accept"] and rows[0]["document"] == doc["title"]


def test_delete_own_custom_item_only_and_the_audit_keeps_it(app, make_user):
    client, doc, section, ai_item = setup_document(app, make_user)
    h = {"X-CSRFToken": client.csrf}
    custom = client.post(f"/api/documents/{doc['id']}/feedback", json={"section_id": section["id"], "description": "Mine.",
                                                                       "hawkeye_refs": [12, 11, 12], "category": "Preventative actions"},
                         headers=h).get_json()
    assert custom["hawkeye_refs"] == [11, 12] and custom["category"] == "Preventative actions" and custom["created_by"] == 1
    assert client.delete(f"/api/feedback/{ai_item}", headers=h).status_code == 409
    boss = _client(app, "boss@example.com", role="admin", make_user=make_user)
    # An admin sees the item but it is not theirs: 403. Someone without access: 404.
    assert boss.delete(f"/api/feedback/{custom['id']}", headers={"X-CSRFToken": boss.csrf}).status_code == 403
    bob = _client(app, "bob@example.com", make_user=make_user)
    assert bob.delete(f"/api/feedback/{custom['id']}", headers={"X-CSRFToken": bob.csrf}).status_code == 404
    assert client.delete(f"/api/feedback/{custom['id']}").status_code in (400, 403)  # no CSRF token

    gone = client.delete(f"/api/feedback/{custom['id']}", headers=h)
    assert gone.status_code == 200 and gone.get_json()["deleted"]["description"] == "Mine."
    assert client.delete(f"/api/feedback/{custom['id']}", headers=h).status_code == 404
    items = client.get(f"/api/documents/{doc['id']}/feedback?min_confidence=0").get_json()["items"]
    assert [i["id"] for i in items] == [ai_item]
    audit = client.get(f"/api/documents/{doc['id']}/audit").get_json()["events"]
    assert [e["action"] for e in audit] == ["create", "delete"]
    assert audit[1]["before"]["description"] == "Mine." and audit[0]["feedback_item_id"] is None  # kept, unlinked
    assert next(e for e in client.get(f"/api/documents/{doc['id']}/activity").get_json()["events"]
                if e["action"] == "delete")["target"] == f"item {custom['id']}"

    for bad in ([0], [21], ["3"], "3", [True]):
        response = client.post(f"/api/documents/{doc['id']}/feedback", json={"section_id": section["id"], "description": "x",
                                                                             "hawkeye_refs": bad}, headers=h)
        assert response.status_code == 422 and response.get_json()["error"]["code"] == "invalid_hawkeye_refs"


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(st.sampled_from(["add", "delete", "accept"]), min_size=1, max_size=8))
def test_deleting_custom_items_never_touches_other_items_nor_loses_an_event(app, make_user, steps):
    """Invariants after any sequence of custom additions, deletions and decisions: AI items are never
    deleted, every custom item created is either live or has a delete event, and the event count is
    the number of applied requests."""
    _clean(app, app.config["REDIS_URL"])  # each example starts from empty tables
    client, doc, section, ai_item = setup_document(app, make_user)
    h = {"X-CSRFToken": client.csrf}
    mine, applied, version = [], 0, 1
    for step in steps:
        if step == "add":
            mine.append(client.post(f"/api/documents/{doc['id']}/feedback", json={"section_id": section["id"], "description": "x"},
                                    headers=h).get_json()["id"])
            applied += 1
        elif step == "delete" and mine:
            assert client.delete(f"/api/feedback/{mine.pop(0)}", headers=h).status_code == 200
            applied += 1
        elif step == "accept":
            assert client.post(f"/api/feedback/{ai_item}/decision", json={"decision": "accept" if version % 2 else "reject",
                                                                          "version": version}, headers=h).status_code == 200
            version += 1
            applied += 1
    with app.app_context():
        assert db.session.get(FeedbackItem, ai_item) is not None
        live_custom = set(db.session.scalars(select(FeedbackItem.id).where(FeedbackItem.source == "custom")))
        assert live_custom == set(mine)
        events = db.session.scalars(select(ReviewEvent)).all()
        assert len(events) == applied
        deleted = {e.before["id"] for e in events if e.action == "delete"}
        assert not (deleted & live_custom) and len(deleted) + len(live_custom) == sum(1 for e in events if e.action == "create")


def test_a_reviewer_raises_the_threshold_for_themselves_never_below_the_deployment(app, make_user):
    client, doc, section, item_id = setup_document(app, make_user)  # the item's confidence is 0.8
    h = {"X-CSRFToken": client.csrf}
    deployment = app.config["MIN_CONFIDENCE"]
    assert client.get("/api/me/preferences").get_json() == {"min_confidence": None, "deployment_min_confidence": deployment,
                                                            "effective_min_confidence": deployment}
    assert len(client.get(f"/api/documents/{doc['id']}/feedback").get_json()["items"]) == 1
    raised = client.put("/api/me/preferences", json={"min_confidence": 0.9}, headers=h)
    assert raised.status_code == 200 and raised.get_json()["effective_min_confidence"] == 0.9
    shown = client.get(f"/api/documents/{doc['id']}/feedback").get_json()
    assert shown["items"] == [] and shown["hidden"] == 1 and shown["min_confidence"] == 0.9
    low = client.put("/api/me/preferences", json={"min_confidence": deployment / 2}, headers=h)
    assert low.status_code == 422 and low.get_json()["error"]["code"] == "below_deployment_minimum"
    for bad in ("0.9", 2, True):
        assert client.put("/api/me/preferences", json={"min_confidence": bad}, headers=h).status_code == 422
    assert client.put("/api/me/preferences", json={"theme": "dark"}, headers=h).status_code == 400
    # Another reviewer keeps the deployment's threshold.
    bob = _client(app, "bob@example.com", make_user=make_user)
    assert bob.get("/api/me/preferences").get_json()["effective_min_confidence"] == deployment
    cleared = client.put("/api/me/preferences", json={"min_confidence": None}, headers=h).get_json()
    assert cleared["effective_min_confidence"] == deployment
    assert len(client.get(f"/api/documents/{doc['id']}/feedback").get_json()["items"]) == 1


def test_guidelines_download(app, make_user):
    client, doc, _, _ = setup_document(app, make_user)
    h = {"X-CSRFToken": client.csrf}
    assert client.get(f"/api/documents/{doc['id']}/guidelines").status_code == 404
    rules = docx.Document()
    rules.add_paragraph("Every finding names an owner.")
    source = docx.Document()
    source.add_heading("Impact", 1)
    source.add_paragraph("Refunds were late.")
    made = client.post("/api/documents", data={"file": (io.BytesIO(save(source)), "g.docx"),
                                               "guidelines": (io.BytesIO(save(rules)), "rules.docx")},
                       content_type="multipart/form-data", headers=h).get_json()
    got = client.get(f"/api/documents/{made['id']}/guidelines")
    assert got.status_code == 200 and got.headers["Content-Disposition"].startswith("attachment")
    assert docx.Document(io.BytesIO(got.get_data())).paragraphs[0].text == "Every finding names an owner."
    bob = _client(app, "bob@example.com", make_user=make_user)
    assert bob.get(f"/api/documents/{made['id']}/guidelines").status_code == 404


def test_chart_figures_agree_with_the_items_and_decisions(app, make_user):
    from app.models import Document, ModelCall

    client, doc, section, item_id = setup_document(app, make_user)
    h = {"X-CSRFToken": client.csrf}
    client.post(f"/api/feedback/{item_id}/decision", json={"decision": "reject", "version": 1}, headers=h)
    for refs in ([11], [11, 12]):
        client.post(f"/api/documents/{doc['id']}/feedback", json={"section_id": section["id"], "description": "x",
                                                                  "category": "Root cause analysis", "hawkeye_refs": refs}, headers=h)
    with app.app_context():
        db.session.get(Document, doc["id"]).risk_score = 45.0
        db.session.add(ModelCall(purpose="analysis", provider="bedrock", model_id="anthropic.claude-3-haiku", outcome="success",
                                 input_tokens=1_000_000, output_tokens=0, document_id=doc["id"]))
        db.session.commit()
    mine = client.get("/api/stats").get_json()
    assert mine["risk_distribution"] == {"bands": {"0\u201320": 0, "20\u201340": 0, "40\u201360": 1, "60\u201380": 0, "80\u2013100": 0},
                                         "not_scored": 0}
    assert mine["acceptance_by_category"] == {"(none)": {"accepted": 0, "rejected": 1, "rate": 0.0},
                                              "Root cause analysis": {"accepted": 2, "rejected": 0, "rate": 1.0}}
    assert mine["acceptance_by_hawkeye_point"] == {"11": {"accepted": 2, "rejected": 0, "rate": 1.0},
                                                   "12": {"accepted": 1, "rejected": 0, "rate": 1.0}}
    today = datetime.now(timezone.utc).date().isoformat()
    assert mine["decisions_over_time"] == [{"day": today, "accept": 0, "reject": 1, "create": 2, "edit": 0}]
    assert "model_usage" not in mine  # cost is for admins
    boss = _client(app, "boss@example.com", role="admin", make_user=make_user)
    everything = boss.get("/api/stats?scope=all").get_json()
    assert everything["model_usage"] == {"anthropic.claude-3-haiku": {"calls": 1, "successes": 1, "input_tokens": 1_000_000,
                                                                      "output_tokens": 0, "cache_read_tokens": 0,
                                                                      "estimated_cost_usd": 1.0}}
    assert everything["estimated_cost_usd"] == 1.0
    # The admin's own scope has no documents: nothing is drawn from anyone else's.
    assert boss.get("/api/stats").get_json()["risk_distribution"]["bands"]["40\u201360"] == 0
