"""Intake keeps no character that XML cannot hold (they broke every later export) in document text,
titles, file names or display names, and no bidirectional control in a file name."""
import sys

import pytest
from lxml import etree

from app.auth import service as accounts
from app.documents.builder import SectionBuilder
from app.documents.intake import check_name
from app.extensions import db
from app.models import User
from app.text_hygiene import BIDI_CONTROLS, safe_display_name, safe_file_name, xml_safe
from tests.security.conftest import upload

ILLEGAL = "".join(chr(c) for c in [*range(0, 9), 0x0B, 0x0C, *range(0x0E, 0x20), 0xD800, 0xDFFF, 0xFFFE, 0xFFFF])
# Over JSON, "\ud800\udfff" side by side would be a valid pair (U+103FF); one lone surrogate.
ILLEGAL_JSON = ILLEGAL.replace("\udfff", "")
BIDI = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"


def _xml_accepts(text: str) -> bool:
    element = etree.Element("t")
    try:
        element.text = text
    except ValueError:
        return False
    return etree.fromstring(etree.tostring(element)).text == text


def test_every_code_point_is_kept_or_removed_exactly_as_xml_decides():
    """All 1,114,112 code points: xml_safe keeps a character when lxml (the writer behind every Word
    export) can write and read it back, and removes it, leaving its neighbours, when it cannot."""
    wrong = []
    for code in range(sys.maxunicode + 1):
        ch = chr(code)
        cleaned = xml_safe(f"a{ch}b")
        if cleaned == f"a{ch}b":
            if not _xml_accepts(ch):
                wrong.append((hex(code), "kept"))
        elif cleaned != "ab" or _xml_accepts(ch):
            wrong.append((hex(code), "removed"))
    assert wrong == []
    assert xml_safe("tab\tLF\nCR\r") == "tab\tLF\nCR\r"


def test_the_builder_cleans_every_extractor_s_text_and_keeps_anchors_true():
    builder = SectionBuilder()
    builder.heading(f"Find{ILLEGAL}ings", 1, "test", 0)
    builder.text(f"first{ILLEGAL} block", 1)
    builder.text(f"second\x07 block", 2)
    [section] = builder.finish()
    assert section.title == "Findings"
    assert section.text == "first block\nsecond block"
    for _block, start, length in section.anchors[1:]:
        assert section.text[start:start + length] in ("first block", "second block")


@pytest.mark.parametrize("name,encoding", [("txt", "utf-8"), ("md", "utf-8"), ("txt", "utf-16")])
def test_uploaded_text_and_titles_hold_no_xml_illegal_character(ann_and_bob, name, encoding):
    """Text files can carry any code point (a .docx cannot: its XML parser refuses them, 422); .docx
    and PDF text reach the same SectionBuilder, tested above."""
    ann = ann_and_bob["ann"]
    dirty = "\x01\x08\x0b\x0c\x1b\x1f\ufffe\uffff"
    text = f"# Find{dirty}ings\n\nRefunds{dirty} took weeks and the seller shipped late.\n"
    response = upload(ann, f"case.{name}", text.encode(encoding))
    assert response.status_code == 201, response.get_json()
    sections = ann.get(f"/api/documents/{response.get_json()['id']}/sections").get_json()["sections"]
    assert any("Refunds took weeks" in s["text"] for s in sections)
    for section in sections:
        assert xml_safe(section["title"]) == section["title"] and xml_safe(section["text"]) == section["text"]


def test_section_renames_are_cleaned(ann_and_bob):
    ann, document = ann_and_bob["ann"], ann_and_bob["document"]
    section = document["sections"][0]
    response = ann.patch(f"/api/documents/{document['id']}/sections/{section['id']}",
                         json={"title": f"Re{ILLEGAL_JSON}named"}, headers={"X-CSRFToken": ann.csrf})
    assert response.status_code == 200 and response.get_json()["sections"][0]["title"] == "Renamed"


def test_file_names_lose_bidi_controls_and_xml_illegal_characters(ann_and_bob):
    assert BIDI_CONTROLS.sub("", BIDI) == ""
    assert safe_file_name(f"invoice{BIDI}fdp.txt") == "invoicefdp.txt"
    for ch in BIDI:
        original, _safe = check_name(f"report{ch}txt.md")
        assert original == "reporttxt.md"
    ann = ann_and_bob["ann"]
    response = upload(ann, "invoice\u202efdp.txt", b"Refunds took weeks and the seller shipped late.\n")
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["filename"] == "invoicefdp.txt" and "\u202e" not in body["title"]
    # A C0 control in a name stays refused outright, as documented.
    assert upload(ann, "bad\x1bname.txt", b"Some text here.\n").status_code == 400


def test_display_names_are_cleaned(app):
    assert safe_display_name(f" Ann{ILLEGAL}\u202e  Smith ") == "Ann Smith"
    with app.app_context():
        user = accounts.create_user(db.session, "dn@example.com", "correct horse battery staple", "reviewer",
                                    f"Ann\x0b\u202eSmith\uffff")
        db.session.commit()
        assert db.session.get(User, user.id).display_name == "AnnSmith"
