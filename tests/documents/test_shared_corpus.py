"""Every file in shared/corpus (real and adversarial files nobody on this team wrote) goes through the
real upload API: it ends in a document with sections or in a clear JSON refusal, never a 500, an
exception or a hang, and a refusal stores nothing."""
from __future__ import annotations

import io
import os
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import Document, Section

CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus"
FOLDERS = ("pandoc-docx", "poi-docx", "mammoth-docx", "pdfplumber-pdf")
SLOWEST_S = 20.0  # one upload's vetting and extraction, on a 2-core machine shared with other work


def corpus_files() -> list[Path]:
    files = [p for folder in FOLDERS for p in sorted((CORPUS / folder).glob("*")) if p.suffix in (".docx", ".pdf")]
    return files


def test_the_corpus_is_there():
    # The corpus lives beside the clone (CI lays shared/ there); without it these tests would prove nothing.
    assert CORPUS.is_dir(), f"shared corpus not found at {CORPUS}"
    assert len(corpus_files()) >= 250


@pytest.fixture
def uploader(signed_in, app):
    app.config["UPLOAD_RATE_LIMIT"] = "100000/minute"
    return signed_in


@pytest.mark.parametrize("folder", FOLDERS)
def test_every_file_ends_in_sections_or_a_clear_refusal(uploader, app, folder):
    outcomes = {}
    for path in sorted((CORPUS / folder).glob("*")):
        if path.suffix not in (".docx", ".pdf"):
            continue
        with app.app_context():
            before = db.session.scalar(select(func.count()).select_from(Document))
        started = time.monotonic()
        response = uploader.post(
            "/api/documents", data={"file": (io.BytesIO(path.read_bytes()), path.name)},
            content_type="multipart/form-data", headers={"X-CSRFToken": uploader.csrf},
        )
        elapsed = time.monotonic() - started
        assert elapsed < SLOWEST_S, f"{path.name} took {elapsed:.1f} s"
        body = response.get_json()
        assert body is not None, f"{path.name}: {response.status_code} without a JSON body"
        if response.status_code == 201:
            assert body["sections"], f"{path.name}: accepted with no sections"
            assert any(s["char_count"] for s in body["sections"]), f"{path.name}: accepted with no text"
            outcomes[path.name] = "accepted"
        else:
            assert 400 <= response.status_code < 500, f"{path.name}: {response.status_code} {body}"
            error = body["error"]
            assert error["code"] and error["message"], f"{path.name}: {body}"
            with app.app_context():
                after = db.session.scalar(select(func.count()).select_from(Document))
            assert after == before, f"{path.name}: refused but a document row was stored"
            outcomes[path.name] = error["code"]
    assert outcomes
    # The server keeps serving after the whole folder.
    assert uploader.get("/api/documents").status_code == 200
    with app.app_context():
        accepted = sum(1 for o in outcomes.values() if o == "accepted")
        assert db.session.scalar(select(func.count()).select_from(Document)) == accepted
        assert db.session.scalar(select(func.count()).select_from(Section)) >= accepted
