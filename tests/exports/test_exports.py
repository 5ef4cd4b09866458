"""Exports: native Word comments on exactly the quoted text, JSON and CSV, local and S3 storage."""
import csv
import io
import json

import docx
import pytest
from docx.shared import Pt

from app.extensions import db
from app.exports import service
from app.exports.lifecycle import ExportFailure, record_failure
from app.models import Document
from app.exports.word import anchored_texts
from app.storage import S3Storage
from tests.conftest import login
from tests.documents.corpus import save

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
SPECIAL = "Fish & chips <cost> \u201cquoted\u201d \U0001F600 end."


def source_document() -> bytes:
    d = docx.Document()
    d.add_heading("Customer Impact", 1)
    p = d.add_paragraph()
    p.add_run("Refunds were ").bold = True
    p.add_run("delayed for three weeks").italic = True
    p.add_run(" and nobody called.")
    special = d.add_paragraph(SPECIAL)
    d.add_comment(special.runs[0], text="An existing reviewer comment", author="Old Reviewer", initials="OR")
    table = d.add_table(rows=2, cols=2)
    table.cell(0, 0).text, table.cell(0, 1).text = "Metric", "Value"
    table.cell(1, 0).text, table.cell(1, 1).text = "Refunds", "1,200 orders"
    d.add_heading("Root Cause", 1)
    big = d.add_paragraph().add_run("Nobody owned the queue.")
    big.font.size = Pt(11)
    return save(d)


@pytest.fixture
def reviewed(app, make_user):
    make_user("ann@example.com")
    client = app.test_client()
    client.csrf = login(client, "ann@example.com").get_json()["csrf_token"]
    doc = client.post("/api/documents", data={"file": (io.BytesIO(source_document()), "impact.docx")},
                      content_type="multipart/form-data", headers={"X-CSRFToken": client.csrf}).get_json()
    impact, cause = doc["sections"]
    quotes = [("were delayed for three", impact), ("<cost> \u201cquoted\u201d \U0001F600", impact), ("1,200 orders", impact),
              ("Nobody owned the queue.", cause), (None, cause)]
    for index, (quote, section) in enumerate(quotes):
        body = {"section_id": section["id"], "type": "important", "description": f"Item {index} & a < b > c",
                "suggestion": "Fix \u201cthis\u201d", "risk_level": "High"}
        if quote:
            body["quote"] = quote
        response = client.post(f"/api/documents/{doc['id']}/feedback", json=body, headers={"X-CSRFToken": client.csrf})
        assert response.status_code == 201, response.get_json()
    return client, doc, [q for q, _ in quotes]


def run(app, export_id, store=None):
    with app.app_context():
        return service.run_export(db.session, app.extensions["redis"], store or app.extensions["storage"], export_id, "Logs and data/")


def test_word_comments_sit_on_exactly_the_quoted_text(app, reviewed):
    client, doc, quotes = reviewed
    started = client.post(f"/api/documents/{doc['id']}/exports", json={"formats": ["docx", "json", "csv"]},
                          headers={"X-CSRFToken": client.csrf})
    assert started.status_code == 202 and started.get_json()["status"] == "queued"
    assert run(app, started.get_json()["id"]) == "completed"
    export = client.get(f"/api/exports/{started.get_json()['id']}").get_json()
    assert export["status"] == "completed" and {f["format"] for f in export["files"]} == {"docx", "json", "csv"}
    docx_file = export["files"][[f["format"] for f in export["files"]].index("docx")]
    assert docx_file["comments"] == 5 and docx_file["unplaced"] == {"count": 0, "items": []}
    assert all("unplaced" not in f for f in export["files"] if f["format"] != "docx")
    word = client.get(docx_file["url"])
    assert word.status_code == 200
    data = word.get_data()

    reopened = docx.Document(io.BytesIO(data))
    comments = list(reopened.comments)
    assert len(comments) == 1 + 5  # the existing one is kept
    texts = anchored_texts(data)
    ours = [c for c in comments if c.author != "Old Reviewer"]
    for comment in ours:
        index = int(comment.text.split("Item ")[1][0])
        expected = quotes[index] or "Root Cause"  # no quote: anchored on the section heading
        assert texts[str(comment.comment_id)] == expected, (comment.text, texts[str(comment.comment_id)])
        assert "& a < b > c" in comment.text and "Fix \u201cthis\u201d" in comment.text
    old = next(c for c in comments if c.author == "Old Reviewer")
    assert old.text == "An existing reviewer comment"

    # Text and formatting outside the anchors are unchanged.
    before = docx.Document(io.BytesIO(source_document()))
    assert [p.text for p in reopened.paragraphs] == [p.text for p in before.paragraphs]
    runs = reopened.paragraphs[1].runs
    assert "".join(r.text for r in runs) == "Refunds were delayed for three weeks and nobody called."
    assert runs[0].bold and runs[0].text == "Refunds " and runs[1].text == "were " and runs[1].bold
    assert [r.italic for r in runs if "delayed" in r.text or "weeks" in r.text] == [True, True]
    assert reopened.tables[0].cell(1, 1).text == "1,200 orders"
    cell = reopened.tables[0].cell(1, 1)._tc
    assert cell.find(f".//{W}commentRangeStart") is not None, "the table comment sits in its cell"


def test_json_and_csv_records(app, reviewed):
    client, doc, _ = reviewed
    export_id = client.post(f"/api/documents/{doc['id']}/exports", json={"formats": ["json", "csv"]},
                            headers={"X-CSRFToken": client.csrf}).get_json()["id"]
    run(app, export_id)
    files = {f["format"]: f for f in client.get(f"/api/exports/{export_id}").get_json()["files"]}
    record = json.loads(client.get(files["json"]["url"]).get_data())
    assert len(record["items"]) == 5 and len(record["decisions"]) == 5 and record["document"]["id"] == doc["id"]
    rows = list(csv.DictReader(io.StringIO(client.get(files["csv"]["url"]).get_data().decode("utf-8-sig"))))
    assert len(rows) == 5 and rows[0]["section"] == "Customer Impact" and rows[0]["quote"] == "were delayed for three"


def test_csv_cells_never_run_as_formulas(app, reviewed):
    client, doc, _ = reviewed
    section = doc["sections"][0]["id"]
    client.post(f"/api/documents/{doc['id']}/feedback", json={"section_id": section, "description": "=HYPERLINK(\"http://x\")"},
                headers={"X-CSRFToken": client.csrf})
    export_id = client.post(f"/api/documents/{doc['id']}/exports", json={"formats": ["csv"]}, headers={"X-CSRFToken": client.csrf}).get_json()["id"]
    run(app, export_id)
    url = client.get(f"/api/exports/{export_id}").get_json()["files"][0]["url"]
    assert "'=HYPERLINK" in client.get(url).get_data().decode("utf-8-sig")


def test_s3_export_encrypted_with_presigned_url_and_failure_reported(app, reviewed):
    import boto3
    from moto import mock_aws

    client, doc, _ = reviewed
    with app.app_context():
        original = db.session.get(Document, doc["id"])
        local = app.extensions["storage"].get(original.storage_key)
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="prism")
        store = S3Storage("prism", "", "us-east-1")
        with app.app_context():
            store.put(db.session.get(Document, doc["id"]).storage_key, local)
        app.extensions["storage"] = store
        export_id = client.post(f"/api/documents/{doc['id']}/exports", json={}, headers={"X-CSRFToken": client.csrf}).get_json()["id"]
        assert run(app, export_id, store) == "completed"
        body = client.get(f"/api/exports/{export_id}").get_json()
        keys = [o["Key"] for o in s3.list_objects_v2(Bucket="prism", Prefix="Logs and data/")["Contents"]]
        assert len(keys) == 3 and all(k.startswith("Logs and data/") and "_impact/" in k for k in keys)
        assert all(s3.head_object(Bucket="prism", Key=k)["ServerSideEncryption"] == "AES256" for k in keys)
        assert all("X-Amz-Signature" in f["url"] or "Signature" in f["url"] for f in body["files"])

        calls = {"n": 0}
        real_put = store.put

        def flaky(key, data, *args, **kwargs):
            calls["n"] += 1
            if calls["n"] == 2:
                raise RuntimeError("injected S3 failure")
            return real_put(key, data, *args, **kwargs)

        store.put = flaky
        failed_id = client.post(f"/api/documents/{doc['id']}/exports", json={}, headers={"X-CSRFToken": client.csrf}).get_json()["id"]
        with pytest.raises(ExportFailure, match="Storing the export failed"):
            run(app, failed_id, store)  # a run that fails raises, so RQ retries the job
        assert client.get(f"/api/exports/{failed_id}").get_json()["status"] == "running"
        with app.app_context():  # what the job records when RQ has no retry left
            record_failure(db.session, app.extensions["redis"], failed_id, ExportFailure("Storing the export failed (X)."), final=True)
        failed = client.get(f"/api/exports/{failed_id}").get_json()
        assert failed["status"] == "failed" and "Storing the export failed" in failed["error"] and failed["files"] == []
        after = [o["Key"] for o in s3.list_objects_v2(Bucket="prism", Prefix="Logs and data/")["Contents"]]
        assert sorted(after) == sorted(keys), "a failed export leaves nothing half-stored"


def test_export_of_a_text_document_builds_a_word_file(app, make_user):
    make_user("ann@example.com")
    client = app.test_client()
    client.csrf = login(client, "ann@example.com").get_json()["csrf_token"]
    doc = client.post("/api/documents", data={"file": (io.BytesIO(b"FINDINGS\n\nThe seller shipped late.\nNobody called.\n"), "n.txt")},
                      content_type="multipart/form-data", headers={"X-CSRFToken": client.csrf}).get_json()
    client.post(f"/api/documents/{doc['id']}/feedback", json={"section_id": doc["sections"][0]["id"], "description": "Who?",
                                                              "quote": "Nobody called"}, headers={"X-CSRFToken": client.csrf})
    export_id = client.post(f"/api/documents/{doc['id']}/exports", json={"formats": ["docx"]}, headers={"X-CSRFToken": client.csrf}).get_json()["id"]
    assert run(app, export_id) == "completed"
    url = client.get(f"/api/exports/{export_id}").get_json()["files"][0]["url"]
    data = client.get(url).get_data()
    assert list(anchored_texts(data).values()) == ["Nobody called"]


def test_exports_are_isolated_and_validated(app, reviewed, make_user):
    client, doc, _ = reviewed
    assert client.post(f"/api/documents/{doc['id']}/exports", json={"formats": ["pdf"]}, headers={"X-CSRFToken": client.csrf}).status_code == 400
    export_id = client.post(f"/api/documents/{doc['id']}/exports", json={}, headers={"X-CSRFToken": client.csrf}).get_json()["id"]
    make_user("bob@example.com")
    bob = app.test_client()
    login(bob, "bob@example.com")
    assert bob.get(f"/api/exports/{export_id}").status_code == 404
    assert bob.get(f"/api/exports/{export_id}/files/docx").status_code == 404


def test_libreoffice_converts_the_export_to_pdf(app, reviewed, tmp_path):
    import os
    import shutil
    import subprocess

    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if soffice is None:
        assert not os.environ.get("CI"), "CI installs libreoffice-writer-nogui (.ci/run)"
        pytest.skip("LibreOffice is not installed on this machine (apt-get install libreoffice-writer-nogui)")
    client, doc, _ = reviewed
    export_id = client.post(f"/api/documents/{doc['id']}/exports", json={"formats": ["docx"]}, headers={"X-CSRFToken": client.csrf}).get_json()["id"]
    run(app, export_id)
    url = client.get(f"/api/exports/{export_id}").get_json()["files"][0]["url"]
    source = tmp_path / "reviewed.docx"
    source.write_bytes(client.get(url).get_data())
    result = subprocess.run([soffice, f"-env:UserInstallation=file://{tmp_path}/profile", "--headless", "--convert-to", "pdf",
                             "--outdir", str(tmp_path), str(source)], capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr
    pdf = tmp_path / "reviewed.pdf"
    assert pdf.exists() and pdf.read_bytes().startswith(b"%PDF") and pdf.stat().st_size > 1000


@pytest.mark.slow
def test_export_job_runs_in_a_real_worker(app, reviewed, database_url, redis_url, tmp_path):
    import subprocess

    from tests.support.processes import BIN, ROOT, process_env

    client, doc, _ = reviewed
    export_id = client.post(f"/api/documents/{doc['id']}/exports", json={}, headers={"X-CSRFToken": client.csrf}).get_json()["id"]
    env = process_env(database_url, redis_url, app.config["LOCAL_STORAGE_DIR"])
    worker = subprocess.run([str(BIN / "flask"), "--app", "application", "worker", "--burst", "--queues", "exports"],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert worker.returncode == 0, worker.stdout[-2000:]
    body = client.get(f"/api/exports/{export_id}").get_json()
    assert body["status"] == "completed" and len(body["files"]) == 3
    assert all(client.get(f["url"]).status_code == 200 for f in body["files"])
