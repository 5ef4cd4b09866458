"""Characters XML 1.0 forbids (a control character in a quote, a text file or a display name) are
removed from what goes into the .docx; every other code point survives, and the export opens."""
from __future__ import annotations

import io

import docx
import pytest
from sqlalchemy import update

from app.extensions import db
from app.exports import service
from app.exports.word import anchored_texts, annotate_docx
from app.exports.xmltext import xml_safe, xml_safe_with_offsets
from app.models import User
from tests.conftest import login
from tests.documents.corpus import save
from tests.exports.test_comment_ids import sections_of
from tests.exports.wordcheck import item

CHUNK = 0x8000


def xml_allowed(cp: int) -> bool:
    """XML 1.0, production 2 (Char)."""
    return cp in (0x9, 0xA, 0xD) or 0x20 <= cp <= 0xD7FF or 0xE000 <= cp <= 0xFFFD or 0x10000 <= cp <= 0x10FFFF


def test_every_code_point_forbidden_by_xml_is_removed_and_the_rest_survive_an_export():
    source = docx.Document()
    source.add_heading("Findings", 1)
    source.add_paragraph("The refund queue had no owner.")
    original = save(source)
    sections = sections_of(original)
    removed = 0
    for first in range(0, 0x110000, CHUNK):
        chunk = "".join(chr(cp) for cp in range(first, min(first + CHUNK, 0x110000)))
        expected = "".join(ch for ch in chunk if xml_allowed(ord(ch)))
        assert xml_safe(chunk) == expected
        removed += len(chunk) - len(expected)
        finding = item(1, sections[0].id, "no owner", sections[0].text.index("no owner"), description=chunk,
                       suggestion=None)
        exported = annotate_docx(original, sections, [finding], lambda i: (chunk[:100], chunk[:2])).data
        reopened = docx.Document(io.BytesIO(exported))  # opens: no character XML cannot hold
        (comment,) = reopened.comments
        # python-docx writes a CR or LF as a break and a new comment paragraph, read back as LF.
        assert comment.text.split("] ", 1)[1].split("\nHawkeye: ")[0] == expected.replace("\r", "\n")
        assert comment.author == xml_safe(chunk[:100])
        assert list(anchored_texts(exported).values()) == ["no owner"]
    assert removed == 32 - 3 + 2048 + 2  # C0 controls but tab/LF/CR, the surrogates, U+FFFE and U+FFFF


def test_offsets_follow_the_text_they_point_into():
    text, where = xml_safe_with_offsets("a\x01b\x02\x03c")
    assert text == "abc" and where == [0, 1, 1, 2, 2, 2, 3]
    clean, identity = xml_safe_with_offsets("plain")
    assert clean == "plain" and identity == list(range(6))


@pytest.mark.parametrize("kind", ["txt", "docx"])
def test_an_export_with_a_control_character_in_quote_text_and_display_name_succeeds(app, make_user, kind):
    uid = make_user("ann@example.com")
    with app.app_context():
        db.session.execute(update(User).where(User.id == uid).values(display_name="Ann\x01 Reviewer"))
        db.session.commit()
    client = app.test_client()
    client.csrf = login(client, "ann@example.com").get_json()["csrf_token"]
    if kind == "txt":
        data, quote = b"FINDINGS\n\nThe seller\x01 shipped late.\nNobody called\x02 back.\n", "Nobody called\x02 back"
    else:
        d = docx.Document()
        d.add_heading("Findings", 1)
        d.add_paragraph("The seller shipped late. Nobody called back.")
        data, quote = save(d), "Nobody called back"
    doc = client.post("/api/documents", data={"file": (io.BytesIO(data), f"n.{kind}")},
                      content_type="multipart/form-data", headers={"X-CSRFToken": client.csrf})
    assert doc.status_code == 201, doc.get_json()
    doc = doc.get_json()
    body = {"section_id": doc["sections"][0]["id"], "description": "Who\x01 called?", "quote": quote}
    made = client.post(f"/api/documents/{doc['id']}/feedback", json=body, headers={"X-CSRFToken": client.csrf})
    assert made.status_code == 201, made.get_json()
    assert made.get_json()["verified"]
    export_id = client.post(f"/api/documents/{doc['id']}/exports", json={}, headers={"X-CSRFToken": client.csrf}).get_json()["id"]
    with app.app_context():
        assert service.run_export(db.session, app.extensions["redis"], app.extensions["storage"], export_id,
                                  "Logs and data/") == "completed"
    files = {f["format"]: f for f in client.get(f"/api/exports/{export_id}").get_json()["files"]}
    assert set(files) == {"docx", "json", "csv"}
    word = client.get(files["docx"]["url"]).get_data()
    (comment,) = docx.Document(io.BytesIO(word)).comments
    assert comment.author == "Ann Reviewer" and comment.initials == "AR"
    assert "Who called?" in comment.text
    assert list(anchored_texts(word).values()) == [xml_safe(quote)]
