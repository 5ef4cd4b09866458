"""Recurring issues across documents (GET /api/patterns, the patterns page): a reviewer sees their own
documents' patterns, an admin everyone's with ?scope=all; rejected feedback does not make a pattern."""
import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Analysis
from app.review import service
from tests.conftest import login
from tests.documents.corpus import headed_sections
from tests.review.test_analysis import analyse, upload

pytestmark = pytest.mark.slow


def _client(app, email):
    client = app.test_client()
    client.csrf = login(client, email).get_json()["csrf_token"]
    return client


def _analysed(app, client, text):
    document = upload(client, data=headed_sections(1, lambda i: text))
    assert analyse(client, document["id"]).status_code == 202
    with app.app_context():
        for analysis_id in db.session.scalars(select(Analysis.id).where(Analysis.document_id == document["id"])):
            service.run_analysis(db.session, app.extensions["redis"], app.extensions["model_chain"], analysis_id)
    return document["id"]


def test_patterns_mine_and_everyone(bedrock_app, make_user):
    for email, role in (("a@example.com", "reviewer"), ("b@example.com", "reviewer"), ("boss@example.com", "admin")):
        make_user(email, role=role)
    a, b, boss = (_client(bedrock_app, e) for e in ("a@example.com", "b@example.com", "boss@example.com"))
    first = _analysed(bedrock_app, a, "The seller shipped late and nobody called the customer.")
    second = _analysed(bedrock_app, a, "The courier lost the parcel and the refund took weeks.")
    theirs = _analysed(bedrock_app, b, "The warehouse closed early and orders waited.")

    mine = a.get("/api/patterns").get_json()
    assert mine["scope"] == "mine"
    by_label = {p["label"]: p for p in mine["patterns"]}
    clarity = by_label["Clarity"]  # grounded_reply: "State who did this." in every section
    assert clarity["count"] == 2 and [d["id"] for d in clarity["documents"]] == [first, second]
    assert {x["quote"] for x in clarity["examples"]} == {"The seller shipped late and nobody", "The courier lost the parcel and"}
    assert any(p["kind"] == "hawkeye" and p["key"] == 12 and p["label"].startswith("Hawkeye 12: ") for p in mine["patterns"])
    assert all(theirs not in [d["id"] for d in p["documents"]] for p in mine["patterns"])
    assert b.get("/api/patterns").get_json()["patterns"] == []  # one document: nothing recurs
    assert b.get("/api/patterns?scope=all").status_code == 403

    everyone = boss.get("/api/patterns?scope=all").get_json()
    assert {d["id"] for d in {p["label"]: p for p in everyone["patterns"]}["Clarity"]["documents"]} == {first, second, theirs}

    # Rejected feedback is not an issue: reject "Cite the ticket." in one document and it recurs no more.
    for item in a.get(f"/api/documents/{first}/feedback?min_confidence=0").get_json()["items"]:
        if item["category"] == "Evidence":
            assert a.post(f"/api/feedback/{item['id']}/decision", json={"decision": "reject", "version": item["version"]},
                          headers={"X-CSRFToken": a.csrf}).status_code == 200
    assert "Evidence" not in {p["label"] for p in a.get("/api/patterns").get_json()["patterns"]}
    page = a.get("/patterns")
    assert page.status_code == 200 and b'id="patterns-list"' in page.data
