"""The complete export package (issue 18 part 6): one zip under the export prefix holding the
original, the reviewed .docx with the Word export's comments, the guidelines, every item with its
decision (rejected and custom included) as JSON and CSV, chat transcripts, the activity log, the
summary and a readable report that python-docx opens and LibreOffice converts."""
import csv
import hashlib
import io
import json
import shutil
import subprocess
import zipfile

import docx
import pytest

from app.extensions import db
from app.models import ChatMessage
from tests.exports.test_exports import reviewed, run  # noqa: F401  (fixture)
from tests.documents.corpus import save

EXPECTED = {"manifest.json", "original/impact.docx", "items/items.json", "items/items.csv", "chat/transcripts.txt",
            "chat/transcripts.json", "activity/activity.csv", "activity/activity.json", "summary.json", "report.docx"}


def _package(app, client, doc, formats=("package",)):
    started = client.post(f"/api/documents/{doc['id']}/exports", json={"formats": list(formats)}, headers={"X-CSRFToken": client.csrf})
    assert started.status_code == 202, started.get_json()
    assert run(app, started.get_json()["id"]) == "completed"
    export = client.get(f"/api/exports/{started.get_json()['id']}").get_json()
    return export, {f["format"]: f for f in export["files"]}


def test_package_holds_every_file_and_the_report_converts(app, reviewed, tmp_path):  # noqa: F811
    client, doc, _ = reviewed
    h = {"X-CSRFToken": client.csrf}
    items = client.get(f"/api/documents/{doc['id']}/feedback?min_confidence=0").get_json()["items"]
    rejected = items[0]
    client.post(f"/api/feedback/{rejected['id']}/decision", json={"decision": "reject", "version": rejected["version"]}, headers=h)
    with app.app_context():
        db.session.add(ChatMessage(document_id=doc["id"], user_id=1, conversation_id="c1", role="user", content="Who owns it?"))
        db.session.add(ChatMessage(document_id=doc["id"], user_id=1, conversation_id="c1", role="assistant", content="The queue team."))
        db.session.commit()

    export, files = _package(app, client, doc, ("package", "docx"))
    assert set(files) == {"package", "docx"}
    entry = files["package"]
    assert entry["name"].endswith("_package.zip")
    response = client.get(entry["url"])
    assert response.status_code == 200 and response.mimetype == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(response.get_data()))
    names = set(archive.namelist())
    reviewed_name = next(n for n in names if n.endswith("_reviewed.docx"))
    assert names == EXPECTED | {reviewed_name}
    manifest = json.loads(archive.read("manifest.json"))
    assert {f["name"] for f in manifest["files"]} == names - {"manifest.json"}
    for listed in manifest["files"]:  # every listed file is there, whole
        assert len(archive.read(listed["name"])) == listed["size"] > 0

    # Stored under the export prefix as one key.
    with app.app_context():
        from app.models import Export
        row = db.session.get(Export, export["id"])
        assert row.storage_prefix.startswith("Logs and data/") and any(f["key"].endswith("_package.zip") for f in row.files)

    with app.app_context():
        from app.models import Document
        stored = db.session.get(Document, doc["id"]).sha256
    assert hashlib.sha256(archive.read("original/impact.docx")).hexdigest() == stored  # the upload as stored
    # The reviewed .docx is the Word export, byte for byte apart from the zip's timestamps: same comments.
    word = docx.Document(io.BytesIO(archive.read(reviewed_name)))
    alone = docx.Document(io.BytesIO(client.get(files["docx"]["url"]).get_data()))
    assert [(c.author, c.text) for c in word.comments] == [(c.author, c.text) for c in alone.comments]
    assert len(list(word.comments)) == 1 + 4  # the old comment and the four not rejected

    records = json.loads(archive.read("items/items.json"))["items"]
    assert len(records) == 5 and {r["decision"] for r in records} == {"accepted", "rejected"}
    assert next(r for r in records if r["id"] == rejected["id"])["last_action"] == "reject"
    rows = list(csv.DictReader(io.StringIO(archive.read("items/items.csv").decode("utf-8-sig"))))
    assert sorted(r["status"] for r in rows) == ["accepted"] * 4 + ["rejected"]
    transcript = archive.read("chat/transcripts.txt").decode()
    assert "Who owns it?" in transcript and "The queue team." in transcript
    assert len(json.loads(archive.read("chat/transcripts.json"))["conversations"][0]["messages"]) == 2
    activity = json.loads(archive.read("activity/activity.json"))["events"]
    assert [e["action"] for e in activity][:1] == ["upload"] and "reject" in [e["action"] for e in activity]
    assert "summary" in json.loads(archive.read("summary.json"))

    report_bytes = archive.read("report.docx")
    report = docx.Document(io.BytesIO(report_bytes))
    headings = [p.text for p in report.paragraphs if p.style.name.startswith("Heading")]
    assert {"Summary", "Key risks", "Items by section", "Decisions", "Customer Impact", "Root Cause"} <= set(headings)
    body = "\n".join(p.text for p in report.paragraphs)
    assert "Item 0 & a < b > c" in body and "Rejected" in body
    assert report.tables and report.tables[0].rows[1].cells[2].text in ("create", "reject")

    soffice = shutil.which("soffice")
    if soffice is None:
        pytest.fail("LibreOffice (soffice) is needed to check the report converts")
    source = tmp_path / "report.docx"
    source.write_bytes(report_bytes)
    done = subprocess.run([soffice, "--headless", f"-env:UserInstallation=file://{tmp_path}/lo", "--convert-to", "pdf",
                           "--outdir", str(tmp_path), str(source)], capture_output=True, timeout=180)
    pdf = tmp_path / "report.pdf"
    assert done.returncode == 0 and pdf.exists() and pdf.read_bytes().startswith(b"%PDF"), done.stderr


def test_package_carries_the_guidelines_and_a_pdf_original(app, make_user):
    from tests.conftest import login
    make_user("gil@example.com")
    client = app.test_client()
    client.csrf = login(client, "gil@example.com").get_json()["csrf_token"]
    rules = docx.Document()
    rules.add_paragraph("Name an owner.")
    doc = client.post("/api/documents", data={"file": (io.BytesIO(b"# Impact\n\nRefunds were late.\n"), "notes.md"),
                                              "guidelines": (io.BytesIO(save(rules)), "rules.docx")},
                      content_type="multipart/form-data", headers={"X-CSRFToken": client.csrf}).get_json()
    _, files = _package(app, client, doc)
    archive = zipfile.ZipFile(io.BytesIO(client.get(files["package"]["url"]).get_data()))
    guidelines = [n for n in archive.namelist() if n.startswith("guidelines/")]
    assert len(guidelines) == 1 and docx.Document(io.BytesIO(archive.read(guidelines[0]))).paragraphs[0].text == "Name an owner."
    assert archive.read("original/notes.md") == b"# Impact\n\nRefunds were late.\n"
    summary = json.loads(archive.read("summary.json"))["summary"]
    # no analysis ran: the summary's state says so, with no score, no verdict and no risks invented
    assert summary["state"] == "pending" and summary["risk_score"] is None and summary["verdict"] is None
    assert summary["key_risks"] == [] and summary["reasons"] == []
    report = docx.Document(io.BytesIO(archive.read("report.docx")))
    assert any("No summary has been computed yet." in p.text for p in report.paragraphs)


def test_unknown_format_is_refused(app, reviewed):  # noqa: F811
    client, doc, _ = reviewed
    response = client.post(f"/api/documents/{doc['id']}/exports", json={"formats": ["zip"]}, headers={"X-CSRFToken": client.csrf})
    assert response.status_code == 400 and "package" in response.get_json()["error"]["message"]
