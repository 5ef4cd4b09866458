"""Reviewer decisions, custom items, optimistic locking and the audit trail, on real PostgreSQL."""
import io
import threading


from app.extensions import db
from app.models import Analysis, FeedbackItem, Section
from app.review import state
from tests.conftest import csrf_token, login
from tests.documents.corpus import tables_in_reading_order


def setup_document(app, make_user):
    make_user("ann@example.com")
    client = app.test_client()
    client.csrf = login(client, "ann@example.com").get_json()["csrf_token"]
    doc = client.post("/api/documents", data={"file": (io.BytesIO(tables_in_reading_order()[0]), "c.docx")},
                      content_type="multipart/form-data", headers={"X-CSRFToken": client.csrf}).get_json()
    section = doc["sections"][0]
    with app.app_context():
        analysis = Analysis(document_id=doc["id"], section_id=section["id"], status="completed")
        db.session.add(analysis)
        db.session.flush()
        state.make_current(db.session.get(Section, section["id"]), analysis)
        item = FeedbackItem(document_id=doc["id"], section_id=section["id"], analysis_id=analysis.id, source="ai",
                            type="important", description="Say who.", risk_level="Medium", confidence=0.8)
        db.session.add(item)
        db.session.commit()
        return client, doc, section, item.id


def test_accept_reject_revert_edit_and_audit(app, make_user):
    client, doc, section, item_id = setup_document(app, make_user)
    h = {"X-CSRFToken": client.csrf}
    accepted = client.post(f"/api/feedback/{item_id}/decision", json={"decision": "accept", "version": 1}, headers=h).get_json()
    assert accepted["status"] == "accepted" and accepted["version"] == 2
    rejected = client.post(f"/api/feedback/{item_id}/decision", json={"decision": "reject", "version": 2, "reason": "wrong"}, headers=h)
    assert rejected.get_json()["status"] == "rejected"
    reverted = client.post(f"/api/feedback/{item_id}/decision", json={"decision": "revert", "version": 3}, headers=h).get_json()
    assert reverted["status"] == "pending"
    edited = client.patch(f"/api/feedback/{item_id}", json={"version": 4, "description": "<b>Name</b> the owner.", "risk_level": "high"}, headers=h)
    assert edited.status_code == 200 and edited.get_json()["description"] == "Name the owner." and edited.get_json()["risk_level"] == "High"
    assert client.post(f"/api/feedback/{item_id}/decision", json={"decision": "maybe", "version": 5}, headers=h).status_code == 400
    assert client.post(f"/api/feedback/{item_id}/decision", json={"decision": "accept"}, headers=h).status_code == 400
    assert client.patch(f"/api/feedback/{item_id}", json={"version": 5, "type": "critical"}, headers=h).status_code == 400
    events = client.get(f"/api/documents/{doc['id']}/audit").get_json()["events"]
    assert [e["action"] for e in events] == ["accept", "reject", "revert", "edit"]
    assert events[1]["reason"] == "wrong" and events[1]["before"]["status"] == "accepted" and events[1]["after"]["status"] == "rejected"
    assert all(e["user_id"] == 1 and e["after"]["outcome"] == "applied" for e in events)


def test_stale_version_gets_409_with_the_current_item(app, make_user):
    client, doc, section, item_id = setup_document(app, make_user)
    h = {"X-CSRFToken": client.csrf}
    client.post(f"/api/feedback/{item_id}/decision", json={"decision": "accept", "version": 1}, headers=h)
    late = client.post(f"/api/feedback/{item_id}/decision", json={"decision": "reject", "version": 1}, headers=h)
    assert late.status_code == 409
    error = late.get_json()["error"]
    assert error["code"] == "version_conflict" and error["current"]["status"] == "accepted" and error["current"]["version"] == 2


def test_concurrent_decisions_one_wins_one_409_both_audited(app, make_user):
    client, doc, section, item_id = setup_document(app, make_user)
    second = app.test_client()
    login(second, "ann@example.com")
    second.csrf = csrf_token(second)
    barrier = threading.Barrier(2)
    results = {}

    def act(name, c, decision):
        barrier.wait()
        results[name] = c.post(f"/api/feedback/{item_id}/decision", json={"decision": decision, "version": 1},
                               headers={"X-CSRFToken": c.csrf})

    threads = [threading.Thread(target=act, args=("a", client, "accept")), threading.Thread(target=act, args=("b", second, "reject"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    statuses = sorted(r.status_code for r in results.values())
    assert statuses == [200, 409]
    winner = next(r for r in results.values() if r.status_code == 200).get_json()
    events = client.get(f"/api/documents/{doc['id']}/audit").get_json()["events"]
    outcomes = sorted(e["after"]["outcome"] for e in events)
    assert outcomes == ["applied", "conflict"]
    applied = next(e for e in events if e["after"]["outcome"] == "applied")
    assert applied["after"]["status"] == winner["status"]
    with app.app_context():
        assert db.session.get(FeedbackItem, item_id).status == winner["status"]


def test_custom_feedback_with_a_selected_quote_and_bulk_decisions(app, make_user):
    client, doc, section, item_id = setup_document(app, make_user)
    h = {"X-CSRFToken": client.csrf}
    custom = client.post(f"/api/documents/{doc['id']}/feedback", json={
        "section_id": section["id"], "type": "critical", "category": "Evidence", "description": "Attach the refund log.",
        "quote": "Refunds | 1,200"}, headers=h)
    assert custom.status_code == 201
    body = custom.get_json()
    full = client.get(f"/api/documents/{doc['id']}/sections/{section['id']}").get_json()["text"]
    assert body["source"] == "custom" and body["verified"] and full[body["quote_start"]:body["quote_end"]] == "Refunds | 1,200"
    missing = client.post(f"/api/documents/{doc['id']}/feedback", json={"section_id": section["id"], "description": "x", "quote": "not there"}, headers=h)
    assert missing.status_code == 422 and missing.get_json()["error"]["code"] == "quote_not_found"
    bulk = client.post(f"/api/documents/{doc['id']}/feedback/decisions", json={"decision": "reject"}, headers=h).get_json()["items"]
    assert {i["status"] for i in bulk} == {"rejected"} and len(bulk) == 2
    events = client.get(f"/api/documents/{doc['id']}/audit").get_json()["events"]
    assert [e["action"] for e in events] == ["create", "reject", "reject"]


def test_other_users_cannot_touch_items_and_admins_see_audit(app, make_user):
    client, doc, section, item_id = setup_document(app, make_user)
    make_user("bob@example.com")
    make_user("boss@example.com", role="admin")
    bob, boss = app.test_client(), app.test_client()
    login(bob, "bob@example.com")
    login(boss, "boss@example.com")
    h = {"X-CSRFToken": csrf_token(bob)}
    assert bob.post(f"/api/feedback/{item_id}/decision", json={"decision": "accept", "version": 1}, headers=h).status_code == 404
    assert bob.patch(f"/api/feedback/{item_id}", json={"version": 1, "description": "x"}, headers=h).status_code == 404
    assert bob.get(f"/api/documents/{doc['id']}/audit").status_code == 404
    assert bob.get("/api/admin/audit").status_code == 403
    client.post(f"/api/feedback/{item_id}/decision", json={"decision": "accept", "version": 1}, headers={"X-CSRFToken": client.csrf})
    assert len(boss.get("/api/admin/audit?user_id=1").get_json()["events"]) == 1


def test_statistics_per_document_user_and_admin(app, make_user):
    client, doc, section, item_id = setup_document(app, make_user)
    h = {"X-CSRFToken": client.csrf}
    client.post(f"/api/feedback/{item_id}/decision", json={"decision": "accept", "version": 1}, headers=h)
    client.post(f"/api/documents/{doc['id']}/feedback", json={"section_id": section["id"], "description": "=HYPERLINK(1)",
                                                              "category": "Evidence"}, headers=h)
    stats = client.get(f"/api/documents/{doc['id']}/stats").get_json()
    assert stats["items"] == 2 and stats["accepted"] == 2 and stats["custom"] == 1 and stats["acceptance_rate"] == 1.0
    assert stats["by_risk"] == {"Medium": 2} and stats["sections_analysed"] == 1 and stats["sections"] == 2
    csv_text = client.get(f"/api/documents/{doc['id']}/stats?format=csv").get_data(as_text=True)
    assert csv_text.startswith("metric,value") and "accepted,2" in csv_text
    mine = client.get("/api/stats").get_json()
    assert mine["documents"] == 1 and "model_distribution" not in mine
    make_user("boss@example.com", role="admin")
    boss = app.test_client()
    login(boss, "boss@example.com")
    everything = boss.get("/api/stats?scope=all").get_json()
    assert everything["acceptance_by_category"] == {"(none)": {"accepted": 1, "rejected": 0, "rate": 1.0},
                                                    "Evidence": {"accepted": 1, "rejected": 0, "rate": 1.0}}
    assert everything["acceptance_by_hawkeye_point"] == {}
    assert "estimated_cost_usd" in everything and "tokens" in everything
