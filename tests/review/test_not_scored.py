"""A document whose analyses all failed is "not scored" with the reason, never "Risk score 0"
(the first-run report: a failed document showed "Risk score 0")."""
import io

from sqlalchemy import select, update

from app.extensions import db
from app.models import Analysis, Document
from app.review import outcome
from app.review import summary as summaries
from app.review.stats import document_stats
from tests.conftest import login
from tests.documents.corpus import headed_sections


def _document_with_analyses(app, client, sections=2):
    data = headed_sections(sections, lambda i: f"Finding {i} text.")
    response = client.post("/api/documents", data={"file": (io.BytesIO(data), "case.docx")},
                           content_type="multipart/form-data", headers={"X-CSRFToken": client.csrf})
    assert response.status_code == 201, response.get_json()
    document = response.get_json()
    assert client.post(f"/api/documents/{document['id']}/analyses", json={},
                       headers={"X-CSRFToken": client.csrf}).status_code in (200, 201, 202)
    return document["id"]


def _signed_in(app, make_user):
    make_user("ann@example.com")
    client = app.test_client()
    client.csrf = login(client, "ann@example.com").get_json()["csrf_token"]
    return client


def test_all_analyses_failed_means_not_scored_with_the_reason(app, make_user):
    client = _signed_in(app, make_user)
    document_id = _document_with_analyses(app, client)
    with app.app_context():
        db.session.execute(update(Analysis).where(Analysis.document_id == document_id).values(
            status="failed", error_code="model_unavailable", error_message="Every model in the chain refused the request."))
        db.session.commit()
        outcome.settle_document(db.session, app.extensions["redis"], document_id)  # as the last analysis job does
        assert summaries.run_summary(db.session, app.extensions["redis"], app.extensions["model_chain"], document_id) == "not_scored"
        document = db.session.get(Document, document_id)
        assert document.risk_score is None and document.status == "failed"
        stats = document_stats(db.session, document)
    assert stats["risk_score"] is None and "all 2 sections failed" in stats["not_scored_reason"]
    detail = client.get(f"/api/documents/{document_id}").get_json()
    assert detail["risk_score"] is None
    reason = detail["not_scored_reason"]
    assert "Every model in the chain refused the request" in reason and "model_unavailable" in reason
    listed = {d["id"]: d for d in client.get("/api/documents").get_json()["documents"]}
    assert listed[document_id]["risk_score"] is None and listed[document_id]["not_scored_reason"] == reason


def test_one_completed_section_is_scored_and_has_no_reason(app, make_user):
    client = _signed_in(app, make_user)
    document_id = _document_with_analyses(app, client)
    with app.app_context():
        first = db.session.scalars(select(Analysis.id).where(Analysis.document_id == document_id).order_by(Analysis.id)).first()
        db.session.execute(update(Analysis).where(Analysis.document_id == document_id).values(status="failed", error_code="x"))
        db.session.execute(update(Analysis).where(Analysis.id == first).values(status="completed", error_code=None))
        db.session.commit()
        outcome.settle_document(db.session, app.extensions["redis"], document_id)  # as the last analysis job does
        assert summaries.run_summary(db.session, app.extensions["redis"], app.extensions["model_chain"], document_id) == "completed"
    summary = client.get(f"/api/documents/{document_id}/summary").get_json()
    assert summary["state"] == "completed" and summary["risk_score"] == 0.0 and summary["verdict"] == "ready"
    assert summary["model"] == "offline-rules" and "offline rules reviewer" in summary["reasons"][0]
    detail = client.get(f"/api/documents/{document_id}").get_json()
    assert detail["risk_score"] == 0.0 and detail["not_scored_reason"] is None
