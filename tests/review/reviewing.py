"""A reviewer driving the real API, with analyses (offline rules reviewer) and exports run in-process,
and the checks the review state must pass after every step. Shared by the example and property tests."""
from __future__ import annotations

import io
from collections import Counter
from types import SimpleNamespace

import docx
from sqlalchemy import select

from app.exports import service as exports
from app.exports.word import anchored_texts, comment_text
from app.extensions import db
from app.models import Analysis
from app.review import service
from app.review.quotes import verify_quote
from tests.conftest import login
from tests.documents.corpus import save

# Each paragraph sets off at least one rule of the offline reviewer, each with its own quote.
SECTIONS = {
    "Summary": ["Several customers waited for refunds.", "Owner: [NAME] will follow up."],
    "Findings": ["Some orders were lost in the queue.", "Monitoring will be implemented.", "TBD: confirm the totals."],
    "Actions": ["Retry logic must be rolled out.", "Many sellers asked for help.", "A few refunds failed twice."],
}
UNLIMITED = {"EXPORT_RATE_LIMIT": "100000/minute", "ANALYSIS_RATE_LIMIT": "100000/minute", "UPLOAD_RATE_LIMIT": "100000/minute"}


def case_docx(sections: dict[str, list[str]] = SECTIONS) -> bytes:
    document = docx.Document()
    for title, paragraphs in sections.items():
        document.add_heading(title, 1)
        for text in paragraphs:
            document.add_paragraph(text)
    return save(document)


class Reviewer:
    """One signed-in reviewer on one app; every call asserts the status it expects."""

    def __init__(self, app, email: str):
        self.app = app
        self.client = app.test_client()
        self.csrf = login(self.client, email).get_json()["csrf_token"]

    def _send(self, method, url, expect=(200,), **kwargs):
        response = getattr(self.client, method)(url, headers={"X-CSRFToken": self.csrf}, **kwargs)
        assert response.status_code in expect, (method, url, response.status_code, response.get_json())
        return response.get_json()

    def upload(self, data: bytes | None = None, name: str = "case.docx") -> dict:
        return self._send("post", "/api/documents", (201,), data={"file": (io.BytesIO(data or case_docx()), name)},
                          content_type="multipart/form-data")

    def analyse(self, document_id: int, section_ids: list[int] | None = None) -> dict:
        """Start analyses through the API and run each in-process, as a worker would. A re-analysis is
        what the reviewer asked for, so the confirmation the server asks for is given."""
        body = {"confirm": True} if section_ids is None else {"section_ids": section_ids, "confirm": True}
        started = self._send("post", f"/api/documents/{document_id}/analyses", (202,), json=body)
        with self.app.app_context():
            try:
                for job in started["jobs"]:
                    status = db.session.get(Analysis, job["id"]).status
                    if status in ("queued", "running", "deferred"):
                        done = service.run_analysis(db.session, self.app.extensions["redis"], self.app.extensions["model_chain"], job["id"])
                        assert done == "completed", done
            finally:
                db.session.remove()
        return started

    def items(self, document_id: int) -> list[dict]:
        return self._send("get", f"/api/documents/{document_id}/feedback?min_confidence=0")["items"]

    def sections(self, document_id: int) -> list[dict]:
        return self._send("get", f"/api/documents/{document_id}/sections")["sections"]

    def section(self, document_id: int, section_id: int) -> dict:
        return self._send("get", f"/api/documents/{document_id}/sections/{section_id}")

    def decide(self, item: dict, decision: str) -> dict:
        return self._send("post", f"/api/feedback/{item['id']}/decision", json={"decision": decision, "version": item["version"]})

    def edit(self, item: dict, **changes) -> dict:
        return self._send("patch", f"/api/feedback/{item['id']}", json={"version": item["version"], **changes})

    def custom(self, document_id: int, section_id: int, description: str, quote: str | None = None) -> dict:
        body = {"section_id": section_id, "type": "important", "description": description, "risk_level": "High"}
        if quote:
            body["quote"] = quote
        return self._send("post", f"/api/documents/{document_id}/feedback", (201,), json=body)

    def edit_section(self, document_id: int, section_id: int, body: dict, expect=(200,)) -> dict:
        return self._send("patch", f"/api/documents/{document_id}/sections/{section_id}", expect, json=body)

    def stats(self, document_id: int) -> dict:
        return self._send("get", f"/api/documents/{document_id}/stats")

    def export(self, document_id: int, include_all: bool = False) -> bytes:
        """Start an export through the API, build it in-process, download the .docx."""
        started = self._send("post", f"/api/documents/{document_id}/exports", (202,), json={"formats": ["docx"], "include_all": include_all})
        with self.app.app_context():
            try:
                built = exports.run_export(db.session, self.app.extensions["redis"], self.app.extensions["storage"], started["id"], "Logs and data/")
            finally:
                db.session.remove()
        assert built == "completed"
        export = self._send("get", f"/api/exports/{started['id']}")
        response = self.client.get(export["files"][0]["url"])
        assert response.status_code == 200
        return response.get_data()


def comments(data: bytes) -> list[tuple[str, str]]:
    """(comment text, the text it is anchored on) for every comment of an exported .docx."""
    anchored = anchored_texts(data)
    return [(c.text, anchored.get(str(c.comment_id), "")) for c in docx.Document(io.BytesIO(data)).comments]


# ------------------------------------------------------------------------------ the invariants
def check_items(items: list[dict], sections: list[dict], decided: dict[int, str]) -> None:
    """Every decided item is visible exactly once, with the status it was given; items sit in sections
    of the document; a quote is verified exactly when its section's text holds it, and then the
    offsets point at it."""
    ids = Counter(i["id"] for i in items)
    assert all(n == 1 for n in ids.values()), f"items shown twice: {[k for k, n in ids.items() if n > 1]}"
    by_id = {i["id"]: i for i in items}
    missing = sorted(set(decided) - set(by_id))
    assert not missing, f"decided items hidden: {missing}"
    for item_id, status in decided.items():
        assert by_id[item_id]["status"] == status and by_id[item_id].get("decided", True), by_id[item_id]
    texts = {s["id"]: s["text"] for s in sections}
    for item in items:
        assert item["section_id"] in texts, item
        text = texts[item["section_id"]]
        found = verify_quote(item["quote"], text) if item["quote"] else None
        assert item["verified"] == (found is not None), (item, text)
        if item["verified"]:
            assert verify_quote(item["quote"], text[item["quote_start"]:item["quote_end"]]) is not None, (item, text)
            assert not item.get("quote_missing")
        else:
            assert item["quote_start"] is None


def check_stats(stats: dict, items: list[dict]) -> None:
    assert stats["items"] == len(items)
    assert stats["accepted"] == sum(1 for i in items if i["status"] == "accepted")
    assert stats["rejected"] == sum(1 for i in items if i["status"] == "rejected")
    assert stats["custom"] == sum(1 for i in items if i["source"] == "custom")
    assert stats["by_status"] == dict(Counter(i["status"] for i in items))
    assert stats["by_risk"] == dict(Counter(i["risk_level"] for i in items))


def check_export(data: bytes, items: list[dict], sections: list[dict], include_all: bool = False,
                 headings=tuple(SECTIONS)) -> None:
    """The export holds exactly the accepted and custom (not rejected) items (with include_all, every
    item not rejected), one comment each, anchored on its quote when the text holds it, else on its
    section's heading (for a section a split made, its first paragraph)."""
    wanted = [i for i in items if i["status"] != "rejected"
              and (include_all or i["status"] == "accepted" or i["source"] == "custom")]
    found = comments(data)
    expected = Counter(comment_text(SimpleNamespace(**i)) for i in wanted)
    assert Counter(text for text, _ in found) == expected
    lines = {s["id"]: set(s["text"].split("\n")) for s in sections}

    def fits(item, anchor) -> bool:
        if item["verified"]:  # a quote over two paragraphs reads back without the line break
            return verify_quote(item["quote"], anchor) is not None or "".join(item["quote"].split()) == "".join(anchor.split())
        return anchor in set(headings) | lines[item["section_id"]]

    groups: dict[str, list[dict]] = {}
    for item in wanted:
        groups.setdefault(comment_text(SimpleNamespace(**item)), []).append(item)
    for text, group in groups.items():  # items with the same comment text share their anchors
        anchors = [a for t, a in found if t == text]
        assert all(any(fits(i, a) for i in group) for a in anchors), (group, anchors)
        assert all(any(fits(i, a) for a in anchors) for i in group), (group, anchors)
