"""Two users on real PostgreSQL and Redis: Ann owns a reviewed document (sections, AI and custom
feedback, a decision, a chat conversation, an export); Bob is a second reviewer who must see none of it."""
import io

import pytest

from app.extensions import db
from app.review import service as review
from tests.conftest import login
from tests.documents.corpus import headed_sections


def signed_in_client(app, email):
    client = app.test_client()
    response = login(client, email)
    assert response.status_code == 200, response.get_json()
    client.csrf = response.get_json()["csrf_token"]
    return client


def upload(client, name, data, **headers):
    return client.post("/api/documents", data={"file": (io.BytesIO(data), name)}, content_type="multipart/form-data",
                       headers={"X-CSRFToken": client.csrf, **headers})


@pytest.fixture
def ann_and_bob(app, make_user):
    ann_id = make_user("ann@example.com")
    make_user("bob@example.com")
    ann, bob = signed_in_client(app, "ann@example.com"), signed_in_client(app, "bob@example.com")
    data = headed_sections(2, lambda i: f"Case {i}: the seller shipped late and the refund took weeks.")
    document = upload(ann, "case.docx", data).get_json()
    # Analyse both sections with the offline reviewer, in-process (no worker needed for these checks).
    with app.app_context():
        from app.models import Document, User

        analyses = review.start_analyses(db.session, app.extensions["redis"], db.session.get(Document, document["id"]),
                                         None, db.session.get(User, ann_id))
        db.session.commit()
        ids = [a.id for a in analyses]
        for analysis_id in ids:
            review.run_analysis(db.session, app.extensions["redis"], app.extensions["model_chain"], analysis_id)
    section = document["sections"][0]
    custom = ann.post(f"/api/documents/{document['id']}/feedback", headers={"X-CSRFToken": ann.csrf},
                      json={"section_id": section["id"], "type": "important", "description": "Mine.", "risk_level": "High"})
    assert custom.status_code == 201, custom.get_json()
    chat = ann.post(f"/api/documents/{document['id']}/chat", json={"message": "What is missing?"},
                    headers={"X-CSRFToken": ann.csrf, "Accept": "application/json"})
    assert chat.status_code == 200, chat.get_json()
    export = ann.post(f"/api/documents/{document['id']}/exports", json={"formats": ["json"]}, headers={"X-CSRFToken": ann.csrf})
    assert export.status_code == 202, export.get_json()
    items = ann.get(f"/api/documents/{document['id']}/feedback").get_json()["items"]
    return {
        "ann": ann, "bob": bob, "document": document, "section": section, "analysis_id": ids[0],
        "item_id": items[0]["id"], "export_id": export.get_json()["id"],
        "conversation_id": chat.get_json()["conversation_id"],
    }


# The fake Bedrock server (real wire protocol over HTTP) and an app whose chain calls it.
from tests.review.conftest import bedrock_app, bedrock_settings, fake  # noqa: E402,F401
