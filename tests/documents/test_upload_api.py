"""POST /api/documents and friends on real PostgreSQL: safe intake, storage, isolation, edits."""
import io
import os
import re

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import Analysis, Document, FeedbackItem, Section
from app.review import state
from tests.conftest import csrf_token, login
from tests.documents import corpus


def upload(client, name, data, **fields):
    payload = {"file": (io.BytesIO(data), name), **fields}
    return client.post("/api/documents", data=payload, content_type="multipart/form-data",
                       headers={"X-CSRFToken": client.csrf})


def stored_files(app):
    root = app.config["LOCAL_STORAGE_DIR"]
    return [os.path.join(d, f) for d, _, files in os.walk(root) for f in files if not f.startswith(".health")]


def count(app, model):
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


def test_upload_stores_the_original_and_answers_201_with_sections(signed_in, app):
    data, expected = corpus.tables_in_reading_order()
    response = upload(signed_in, "Case 4471 (final).docx", data)
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["title"] == "Case 4471 (final)" and body["format"] == "docx" and body["status"] == "uploaded"
    assert [(s["title"], s["level"], s["detection"]) for s in body["sections"]] == [(t, l, s) for t, l, s in expected]
    files = stored_files(app)
    assert len(files) == 1
    relative = os.path.relpath(files[0], app.config["LOCAL_STORAGE_DIR"])
    assert re.fullmatch(r"uploads/\d{4}/\d{2}/\d{2}/user-1-[0-9a-f]{32}-Case_4471_final_\.docx", relative), relative
    with open(files[0], "rb") as handle:
        assert handle.read() == data

    section_id = body["sections"][0]["id"]
    one = signed_in.get(f"/api/documents/{body['id']}/sections/{section_id}").get_json()
    assert one["text"].startswith("Before the table.") and one["detection"] == "heading_style"
    listed = signed_in.get("/api/documents").get_json()["documents"]
    assert [d["id"] for d in listed] == [body["id"]]


def test_too_large_upload_gets_413(signed_in, app):
    app.config["MAX_UPLOAD_BYTES"] = 1024 * 1024
    response = upload(signed_in, "big.txt", b"BIG REPORT\n\n" + b"word " * 300_000)
    assert response.status_code == 413 and response.get_json()["error"]["code"] == "file_too_large"
    assert stored_files(app) == []


def test_unsupported_extension_and_missing_file(signed_in):
    assert upload(signed_in, "tool.exe", b"MZ\x90\x00").status_code == 415
    old_doc = upload(signed_in, "old.doc", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600)
    assert old_doc.status_code == 415
    missing = signed_in.post("/api/documents", data={}, content_type="multipart/form-data", headers={"X-CSRFToken": signed_in.csrf})
    assert missing.status_code == 400 and missing.get_json()["error"]["code"] == "missing_file"


def test_upload_needs_sign_in_and_csrf(client, make_user):
    assert client.post("/api/documents", data={}).status_code in (400, 401)
    make_user("ann@example.com")
    login(client, "ann@example.com")
    no_csrf = client.post("/api/documents", data={"file": (io.BytesIO(b"x"), "a.txt")}, content_type="multipart/form-data")
    assert no_csrf.status_code == 400 and no_csrf.get_json()["error"]["code"] == "csrf_failed"


def test_guidelines_docx_is_read_and_stored(signed_in, app):
    guidelines = corpus.known_titles()[0]
    response = signed_in.post("/api/documents", data={
        "file": (io.BytesIO(corpus.TEXT.encode()), "notes.txt"),
        "guidelines": (io.BytesIO(guidelines), "our-checklist.docx"),
        "guidelines_mode": "new_only",
    }, content_type="multipart/form-data", headers={"X-CSRFToken": signed_in.csrf})
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["guidelines"] is True and response.get_json()["guidelines_mode"] == "new_only"
    with app.app_context():
        document = db.session.scalars(select(Document)).one()
        assert "Root Cause(s) and Preventative Actions" in document.guidelines_text
    assert len(stored_files(app)) == 2
    bad_mode = signed_in.post("/api/documents", data={
        "file": (io.BytesIO(corpus.TEXT.encode()), "notes.txt"), "guidelines_mode": "sometimes",
    }, content_type="multipart/form-data", headers={"X-CSRFToken": signed_in.csrf})
    assert bad_mode.status_code == 400


def test_another_users_document_and_sections_answer_404(app, make_user):
    make_user("ann@example.com")
    make_user("bob@example.com")
    make_user("boss@example.com", role="admin")
    ann, bob, boss = app.test_client(), app.test_client(), app.test_client()
    for client, email in ((ann, "ann@example.com"), (bob, "bob@example.com"), (boss, "boss@example.com")):
        login(client, email)
        client.csrf = csrf_token(client)
    doc = upload(ann, "a.docx", corpus.heading_styles()[0]).get_json()
    section_id = doc["sections"][0]["id"]
    for path in (f"/api/documents/{doc['id']}", f"/api/documents/{doc['id']}/sections",
                 f"/api/documents/{doc['id']}/sections/{section_id}"):
        assert bob.get(path).status_code == 404
        assert boss.get(path).status_code == 200
    assert bob.delete(f"/api/documents/{doc['id']}", headers={"X-CSRFToken": bob.csrf}).status_code == 404
    assert bob.patch(f"/api/documents/{doc['id']}/sections/{section_id}", json={"title": "x"},
                     headers={"X-CSRFToken": bob.csrf}).status_code == 404
    assert bob.get("/api/documents").get_json()["documents"] == []
    assert len(boss.get("/api/documents?scope=all").get_json()["documents"]) == 1
    # A section id from another document does not leak through a document the caller owns.
    bob_doc = upload(bob, "b.docx", corpus.heading_styles()[0]).get_json()
    assert bob.get(f"/api/documents/{bob_doc['id']}/sections/{section_id}").status_code == 404


def test_delete_removes_rows_and_stored_files(signed_in, app):
    doc = upload(signed_in, "a.docx", corpus.heading_styles()[0]).get_json()
    assert len(stored_files(app)) == 1
    response = signed_in.delete(f"/api/documents/{doc['id']}", headers={"X-CSRFToken": signed_in.csrf})
    assert response.status_code == 200
    assert stored_files(app) == []
    assert count(app, Document) == 0 and count(app, Section) == 0
    assert signed_in.get(f"/api/documents/{doc['id']}").status_code == 404


def _add_analysis_with_item(app, section_id, document_id, quote, quote_start):
    with app.app_context():
        analysis = Analysis(document_id=document_id, section_id=section_id, status="completed")
        db.session.add(analysis)
        db.session.flush()
        state.make_current(db.session.get(Section, section_id), analysis)
        db.session.add(FeedbackItem(document_id=document_id, section_id=section_id, analysis_id=analysis.id,
                                    type="gap", description="d", quote=quote, quote_start=quote_start,
                                    quote_end=quote_start + len(quote), verified=True))
        db.session.commit()
        return analysis.id


def test_rename_merge_split_keep_feedback_and_mark_analyses_stale(signed_in, app):
    doc = upload(signed_in, "a.docx", corpus.heading_styles()[0]).get_json()
    first, second, third = (s["id"] for s in doc["sections"])
    base = f"/api/documents/{doc['id']}/sections"
    analysis_id = _add_analysis_with_item(app, second, doc["id"], "Scope body", 0)

    renamed = signed_in.patch(f"{base}/{first}", json={"title": "Summary"}, headers={"X-CSRFToken": signed_in.csrf})
    assert renamed.status_code == 200 and renamed.get_json()["sections"][0]["title"] == "Summary"

    merged = signed_in.patch(f"{base}/{first}", json={"action": "merge_next"}, headers={"X-CSRFToken": signed_in.csrf})
    assert merged.status_code == 200
    assert merged.get_json()["sections"][0]["text"] == "Summary body.\nScope body."
    titles = [s["title"] for s in signed_in.get(f"{base}").get_json()["sections"]]
    assert titles == ["Summary", "Deep detail"]
    with app.app_context():
        item = db.session.scalars(select(FeedbackItem)).one()
        assert item.section_id == first and item.quote_start == len("Summary body.\n")
        assert db.session.get(Analysis, analysis_id).stale is True

    split = signed_in.patch(f"{base}/{first}", json={"action": "split", "at": 1, "title": "Scope again"},
                            headers={"X-CSRFToken": signed_in.csrf})
    assert split.status_code == 200, split.get_json()
    head, tail = split.get_json()["sections"]
    assert (head["text"], tail["text"], tail["title"]) == ("Summary body.", "Scope body.", "Scope again")
    assert [s["title"] for s in signed_in.get(base).get_json()["sections"]] == ["Summary", "Scope again", "Deep detail"]
    with app.app_context():
        item = db.session.scalars(select(FeedbackItem)).one()
        assert item.section_id == tail["id"] and item.quote_start == 0

    last = signed_in.patch(f"{base}/{third}", json={"action": "merge_next"}, headers={"X-CSRFToken": signed_in.csrf})
    assert last.status_code == 422 and last.get_json()["error"]["code"] == "no_next_section"
    bad_split = signed_in.patch(f"{base}/{third}", json={"action": "split", "at": 5}, headers={"X-CSRFToken": signed_in.csrf})
    assert bad_split.status_code == 422
    unknown = signed_in.patch(f"{base}/{third}", json={"action": "explode"}, headers={"X-CSRFToken": signed_in.csrf})
    assert unknown.status_code == 400


def test_s3_backend_stores_uploads_encrypted(signed_in, app):
    import boto3
    from moto import mock_aws

    from app.storage import S3Storage

    with mock_aws():
        boto3.client("s3", region_name="us-east-1").create_bucket(Bucket="prism-uploads")
        app.extensions["storage"] = S3Storage("prism-uploads", "ai-prism/", "us-east-1")
        response = upload(signed_in, "a.docx", corpus.heading_styles()[0])
        assert response.status_code == 201
        s3 = boto3.client("s3", region_name="us-east-1")
        (obj,) = s3.list_objects_v2(Bucket="prism-uploads")["Contents"]
        assert obj["Key"].startswith("ai-prism/uploads/")
        head = s3.head_object(Bucket="prism-uploads", Key=obj["Key"])
        assert head["ServerSideEncryption"] == "AES256"
        assert head["Metadata"]["user-id"] == "1" and "uploaded-at" in head["Metadata"]


def test_cli_sections_prints_table_and_json(runner, tmp_path):
    import json

    data, expected = corpus.labels()
    path = tmp_path / "case.docx"
    path.write_bytes(data)
    table = runner.invoke(args=["sections", str(path)])
    assert table.exit_code == 0 and "RC1: Missing verification  [label, level 2" in table.output
    as_json = runner.invoke(args=["sections", str(path), "--json"])
    parsed = json.loads(as_json.output)
    assert [(s["title"], s["level"], s["signal"]) for s in parsed] == expected
    assert all("text" in s for s in parsed)
    bad = tmp_path / "bad.docx"
    bad.write_bytes(b"not a zip at all")
    failed = runner.invoke(args=["sections", str(bad)])
    assert failed.exit_code != 0 and "type_mismatch" in failed.output
