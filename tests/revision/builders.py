"""The two versions of the revision tests, built with python-docx, and v1's accepted items."""
from __future__ import annotations

import io
import time

import docx
from sqlalchemy import select

from app.extensions import db
from app.models import Analysis, Document, RevisionCheck
from app.review import state
from app.review.schema import Item

V1 = [
    ("Summary", ["The seller shipped late. Customers waited weeks.", "We found no root cause for the delay."]),
    ("Background", ["The seller joined in 2019. Sales grew fast after the spring campaign."]),
    ("Timeline", ["On 3 May the order was placed. On 9 May it shipped.", "The buyer complained on 20 May."]),
    ("Impact", ["Twenty customers were affected. The loss was 4000 USD.", "No refunds were made to anyone."]),
    ("Actions", ["Block the seller account. Refund the customers.", "Review the policy next quarter. Train the team on it."]),
]
# one item's sentence rewritten (Summary), one deleted (Impact), one unchanged (Timeline), one section
# renamed and moved (Background → Seller history, now last), one split (Actions → Actions + Training)
V2 = [
    ("Summary", ["The seller shipped late. Customers waited weeks.", "The root cause was a warehouse outage on 2 May."]),
    ("Timeline", ["On 3 May the order was placed. On 9 May it shipped.", "The buyer complained on 20 May."]),
    ("Impact", ["Twenty customers were affected. The loss was 4000 USD."]),
    ("Actions", ["Block the seller account. Refund the customers."]),
    ("Training", ["Review the policy next quarter. Train the team on it."]),
    ("Seller history", ["The seller joined in 2019. Sales grew fast after the spring campaign."]),
]
# quote → (section title in v1, expected status, expected location)
QUOTES = {
    "We found no root cause for the delay.": ("Summary", "addressed", "changed"),
    "No refunds were made to anyone.": ("Impact", "quote_gone", "gone"),
    "The buyer complained on 20 May.": ("Timeline", "open", "exact"),
    "The seller joined in 2019.": ("Background", "open", "moved"),
    "Train the team on it.": ("Actions", "open", "moved"),
}
REWRITE = "The root cause was a warehouse outage on 2 May."


def build(sections) -> bytes:
    d = docx.Document()
    for title, paragraphs in sections:
        d.add_heading(title, 1)
        for text in paragraphs:
            d.add_paragraph(text)
    buffer = io.BytesIO()
    d.save(buffer)
    return buffer.getvalue()


def upload(client, data: bytes, name: str, path: str = "/api/documents", status: int = 201):
    response = client.post(path, data={"file": (io.BytesIO(data), name)}, content_type="multipart/form-data",
                           headers={"X-CSRFToken": client.csrf})
    assert response.status_code == status, response.get_json()
    return response.get_json()


def accepted_items(app, client, document_id: int) -> dict[str, int]:
    """One AI item per quote, recorded through the review state as an analysis would, then accepted
    through the API. Returns quote → item id."""
    ids = {}
    with app.app_context():
        document = db.session.get(Document, document_id)
        for section in document.sections:
            found = [Item(type="important", category="Evidence", description=f"Say more about: {quote}", risk_level="Medium",
                          confidence=0.8, quote=quote, hawkeye_refs=[12])
                     for quote, (title, _, _) in QUOTES.items() if title == section.title]
            analysis = Analysis(document_id=document.id, section_id=section.id, status="completed")
            db.session.add(analysis)
            db.session.flush()
            state.make_current(section, analysis)
            state.record_analysis(db.session, analysis, section, found, "ai", "fake-primary")
        db.session.commit()
    for item in client.get(f"/api/documents/{document_id}/feedback").get_json()["items"]:
        answer = client.post(f"/api/feedback/{item['id']}/decision", json={"decision": "accept", "version": item["version"]},
                             headers={"X-CSRFToken": client.csrf})
        assert answer.status_code == 200, answer.get_json()
        assert item["verified"]
        ids[item["quote"]] = item["id"]
    assert set(ids) == set(QUOTES)
    return ids


def wait_for_check(app, document_id: int, states=("completed", "failed"), timeout: float = 120) -> RevisionCheck:
    deadline = time.monotonic() + timeout
    while True:
        with app.app_context():
            check = db.session.scalars(select(RevisionCheck).where(RevisionCheck.document_id == document_id)).one()
            if check.status in states:
                db.session.expunge(check)
                return check
        assert time.monotonic() < deadline, f"check still {check.status}"
        time.sleep(0.2)
