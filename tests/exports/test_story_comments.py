"""Comments on quotes that sit outside the body's own runs: in text boxes (the DrawingML copy Word
shows, never its VML fallback too), and in footnotes and endnotes (on the run that cites the note:
a comment inside a note makes LibreOffice refuse the file). A quote that cannot be marked on its
text is reported, never quietly put on the heading."""
from __future__ import annotations

import io
import zipfile

import docx
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.opc.packuri import PackURI
from docx.opc.part import Part
from docx.oxml import parse_xml
from lxml import etree

from app.exports.word import NOT_ON_QUOTE_NOTE, PART_OF_QUOTE_NOTE, annotate_docx
from tests.documents.corpus import save
from tests.exports.test_comment_ids import expected_quotes, sections_of
from tests.exports.wordcheck import (MARKERS, W, check_new_comments, item, markers, note_reference_ranges,
                                     range_texts)

NS = ('xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'
      ' xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006"'
      ' xmlns:wps="http://schemas.microsoft.com/office/word/2010/wordprocessingShape"'
      ' xmlns:v="urn:schemas-microsoft-com:vml"')
MC = "{http://schemas.openxmlformats.org/markup-compatibility/2006}"


def box_run(*lines: str) -> str:
    """A text box written as Word writes it: DrawingML in mc:Choice, the same text in a VML fallback."""
    paragraphs = "".join(f"<w:p><w:r><w:t xml:space=\"preserve\">{line}</w:t></w:r></w:p>" for line in lines)
    return (f'<w:r {NS}><mc:AlternateContent><mc:Choice Requires="wps"><w:drawing><wps:wsp><wps:txbx><w:txbxContent>'
            f'{paragraphs}</w:txbxContent></wps:txbx></wps:wsp></w:drawing></mc:Choice>'
            f'<mc:Fallback><w:pict><v:shape><v:textbox><w:txbxContent>{paragraphs}'
            f'</w:txbxContent></v:textbox></v:shape></w:pict></mc:Fallback></mc:AlternateContent></w:r>')


def notes_xml(kind: str, text: str) -> bytes:
    return (f'<w:{kind}s {NS}>'
            f'<w:{kind} w:id="-1" w:type="separator"><w:p><w:r><w:separator/></w:r></w:p></w:{kind}>'
            f'<w:{kind} w:id="0" w:type="continuationSeparator"><w:p><w:r><w:continuationSeparator/></w:r></w:p></w:{kind}>'
            f'<w:{kind} w:id="1"><w:p><w:r><w:{kind}Ref/></w:r><w:r><w:t xml:space="preserve"> {text}</w:t></w:r></w:p>'
            f'</w:{kind}></w:{kind}s>').encode()


def note_reference(kind: str) -> str:
    return f'<w:r {NS}><w:{kind}Reference w:id="1"/></w:r>'


def stories_docx() -> bytes:
    d = docx.Document()
    d.add_heading("Findings", 1)
    body = d.add_paragraph("The refund queue had no owner.")
    body._p.append(parse_xml(box_run("Boxed finding: the vault was left open.", "Second boxed line about keys.")))
    body._p.append(parse_xml(note_reference("footnote")))
    only_box = d.add_paragraph()  # a paragraph whose only text is in its text box
    only_box._p.append(parse_xml(box_run("Only boxed: the alarm code was shared.")))
    d.add_heading("Actions", 1)
    action = d.add_paragraph("Change the alarm code every month.")
    action._p.append(parse_xml(note_reference("endnote")))
    for kind, rel, content_type in (("footnote", RT.FOOTNOTES, "application/vnd.openxmlformats-officedocument.wordprocessingml.footnotes+xml"),
                                    ("endnote", RT.ENDNOTES, "application/vnd.openxmlformats-officedocument.wordprocessingml.endnotes+xml")):
        text = "The auditor saw it on 3 May." if kind == "footnote" else "Agreed with the site manager."
        part = Part(PackURI(f"/word/{kind}s.xml"), content_type, notes_xml(kind, text), d.part.package)
        d.part.relate_to(part, rel)
    return save(d)


def quoted(section, quote: str, n: int, **extra):
    return item(n, section.id, quote, section.text.index(quote), **extra)


def part_root(data: bytes, name: str):
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return etree.fromstring(zf.read(name))


def test_quotes_in_text_boxes_get_comments_on_exactly_their_text_and_notes_on_their_reference():
    original = stories_docx()
    findings, actions = sections_of(original)
    assert "Boxed finding" in findings.text and "[Footnote 1: The auditor saw it on 3 May.]" in findings.text
    assert "[Endnote 1: Agreed with the site manager.]" in actions.text
    items = [quoted(findings, "the vault was left open", 1), quoted(findings, "about keys", 2),
             quoted(findings, "alarm code was shared", 3), quoted(findings, "no owner", 4),
             quoted(findings, "Boxed finding: the vault was left open.\nSecond boxed", 5),
             quoted(findings, "saw it on 3 May", 6), quoted(actions, "with the site manager", 7)]
    result = annotate_docx(original, [findings, actions], items, lambda i: ("AI-Prism", "AIP"))
    assert result.comments == len(items)
    assert result.unplaced == [{"item_id": 6, "comment": "on_note_reference"}, {"item_id": 7, "comment": "on_note_reference"}]
    for note_item in items[5:]:
        note_item.quote = None  # their ranges hold the notes' references, checked below
    new = check_new_comments(original, result.data, expected_quotes([findings, actions], items))
    assert len(new) == len(items)
    texts = range_texts(result.data)
    assert sorted(texts[i] for i in new) == sorted([
        "the vault was left open", "about keys", "alarm code was shared", "no owner",
        "Boxed finding: the vault was left open.Second boxed", "", ""])

    body = part_root(result.data, "word/document.xml")
    for fallback in body.iter(MC + "Fallback"):  # the VML copy carries no marker: each id appears once
        assert not [e for kind in MARKERS for e in fallback.iter(W + kind)]
    in_boxes = {e.get(W + "id") for box in body.iter(W + "txbxContent") for e in box.iter(W + "commentRangeStart")}
    assert len(in_boxes) == 4
    on_references = note_reference_ranges(result.data)
    assert len(on_references) == 2
    reopened = docx.Document(io.BytesIO(result.data))
    assert len(list(reopened.comments)) == len(items)
    notes = {c.text.split("\n")[-1] for c in reopened.comments if str(c.comment_id) in on_references}
    assert notes == {"(The quoted text is in footnote 1; this comment marks the note's reference.)",
                     "(The quoted text is in endnote 1; this comment marks the note's reference.)"}
    for name in ("word/footnotes.xml", "word/endnotes.xml"):  # nothing inside the notes themselves
        assert not [e for kind in MARKERS for e in part_root(result.data, name).iter(W + kind)]
    assert all(counts == {k: 1 for k in MARKERS} for counts in markers(result.data).values())


def test_a_quote_that_cannot_be_marked_is_reported_not_hidden_on_the_heading():
    original = stories_docx()
    findings, actions = sections_of(original)
    across = "had no owner.\nBoxed finding"  # from the paragraph's own text into its text box: two stories
    prefix = "[Footnote 1: "  # what the extractor wrote, no character of the document
    items = [quoted(findings, across, 1), quoted(findings, prefix, 2), item(3, 999, "gone", 0),
             item(4, findings.id, None, None)]
    result = annotate_docx(original, [findings, actions], items, lambda i: ("AI-Prism", "AIP"))
    assert result.unplaced == [{"item_id": 1, "comment": "on_part_of_quote"}, {"item_id": 2, "comment": "on_heading"},
                               {"item_id": 3, "comment": "none"}]
    assert result.comments == 3
    reopened = docx.Document(io.BytesIO(result.data))
    texts = range_texts(result.data)
    by_item = {c.text.split("[")[2].split("]")[0]: (c, texts[str(c.comment_id)]) for c in reopened.comments}
    comment, text = by_item["1"]
    assert text == "had no owner." and PART_OF_QUOTE_NOTE in comment.text  # the part in the story where it starts
    comment, text = by_item["2"]
    assert text == "Findings" and NOT_ON_QUOTE_NOTE in comment.text  # on the heading, and it says so
    comment, text = by_item["4"]
    assert text == "Findings" and NOT_ON_QUOTE_NOTE not in comment.text  # no quote: the heading, by design
    assert all(counts == {k: 1 for k in MARKERS} for counts in markers(result.data).values())


def test_the_export_result_lists_the_items_not_marked_on_their_quote(app, make_user):
    from app.extensions import db
    from app.exports import service
    from tests.conftest import login

    make_user("ann@example.com")
    client = app.test_client()
    csrf = login(client, "ann@example.com").get_json()["csrf_token"]
    doc = client.post("/api/documents", data={"file": (io.BytesIO(stories_docx()), "stories.docx")},
                      content_type="multipart/form-data", headers={"X-CSRFToken": csrf}).get_json()
    findings = doc["sections"][0]
    ids = []
    for quote in ("the vault was left open", "had no owner.\nBoxed finding"):
        response = client.post(f"/api/documents/{doc['id']}/feedback", headers={"X-CSRFToken": csrf},
                               json={"section_id": findings["id"], "description": f"About {quote}", "quote": quote})
        assert response.status_code == 201 and response.get_json()["verified"], response.get_json()
        ids.append(response.get_json()["id"])
    export_id = client.post(f"/api/documents/{doc['id']}/exports", json={"formats": ["docx"]},
                            headers={"X-CSRFToken": csrf}).get_json()["id"]
    with app.app_context():
        assert service.run_export(db.session, app.extensions["redis"], app.extensions["storage"], export_id, "x/") == "completed"
    (word,) = client.get(f"/api/exports/{export_id}").get_json()["files"]
    assert word["comments"] == 2
    assert word["unplaced"] == {"count": 1, "items": [{"item_id": ids[1], "comment": "on_part_of_quote"}]}


def test_libreoffice_opens_corpus_exports_with_comments_in_text_boxes_and_on_notes(tmp_path):
    """The corpus files whose export has a comment in a text box or on a note's reference (up to
    eight) open in LibreOffice: each converts to PDF, and to ODT with every comment kept."""
    import os
    import shutil
    import subprocess

    import pytest

    from tests.exports.test_comment_ids import _corpus_files, export, quotes_for
    from tests.exports.wordcheck import part_with_root

    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    files = _corpus_files()
    if soffice is None or not files:
        assert not os.environ.get("CI"), "CI installs libreoffice-writer-nogui and lays ../shared/corpus beside the clone"
        pytest.skip("LibreOffice or ../shared/corpus is missing here")
    chosen: dict[str, int] = {}
    for path in files:
        data = path.read_bytes()
        try:
            sections = sections_of(data, path.name)
            docx.Document(io.BytesIO(data))
        except Exception:  # refused at intake, or a zip python-docx cannot open: no export to check
            continue
        exported = export(data, sections, quotes_for(sections))
        body = part_with_root(exported, "document")
        in_boxes = any(box.find(f".//{W}commentRangeStart") is not None for box in body.iter(W + "txbxContent"))
        if in_boxes or note_reference_ranges(exported):
            name = f"{path.parent.name}-{path.stem}.docx"
            (tmp_path / name).write_bytes(exported)
            chosen[name] = len(list(docx.Document(io.BytesIO(exported)).comments))
        if len(chosen) == 8:
            break
    assert len(chosen) >= 4, chosen
    for target in ("pdf", "odt"):
        result = subprocess.run([soffice, f"-env:UserInstallation=file://{tmp_path}/profile", "--headless", "--convert-to", target,
                                 "--outdir", str(tmp_path / target), *(str(tmp_path / n) for n in chosen)],
                                capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, result.stderr
    for name, comments in chosen.items():
        pdf = tmp_path / "pdf" / name.replace(".docx", ".pdf")
        assert pdf.exists() and pdf.read_bytes().startswith(b"%PDF"), f"LibreOffice could not open {name}"
        with zipfile.ZipFile(tmp_path / "odt" / name.replace(".docx", ".odt")) as odt:
            content = odt.read("content.xml").decode()
        assert content.count("<office:annotation ") + content.count("<office:annotation>") == comments, name


def test_a_note_cited_in_a_text_box_is_read_once_and_its_comment_marks_the_shown_reference():
    d = docx.Document()
    d.add_heading("Findings", 1)
    p = d.add_paragraph("The gate was open.")
    cited = box_run("Boxed line.").replace("Boxed line.</w:t></w:r>", "Boxed line.</w:t></w:r>"
                                           '<w:r><w:footnoteReference w:id="1"/></w:r>')
    p._p.append(parse_xml(cited))  # the reference is in both copies of the box, as Word writes it
    part = Part(PackURI("/word/footnotes.xml"), "application/vnd.openxmlformats-officedocument.wordprocessingml.footnotes+xml",
                notes_xml("footnote", "Seen by the guard."), d.part.package)
    d.part.relate_to(part, RT.FOOTNOTES)
    original = save(d)
    (findings,) = sections_of(original)
    assert findings.text == "The gate was open.\nBoxed line.\n[Footnote 1: Seen by the guard.]"
    result = annotate_docx(original, [findings], [quoted(findings, "by the guard", 1)], lambda i: ("AI-Prism", "AIP"))
    assert result.unplaced == [{"item_id": 1, "comment": "on_note_reference"}]
    body = part_root(result.data, "word/document.xml")
    (start,) = body.iter(W + "commentRangeStart")
    assert start.getnext().find(W + "footnoteReference") is not None
    assert all(MC + "Fallback" != a.tag for a in start.iterancestors())


def test_a_line_break_inside_a_nested_table_keeps_quotes_after_it_on_their_text():
    d = docx.Document()
    d.add_heading("Findings", 1)
    outer = d.add_table(rows=1, cols=2)
    outer.cell(0, 0).text = "Site"
    inner = outer.cell(0, 1).add_table(rows=2, cols=1)
    run = inner.cell(0, 0).paragraphs[0].add_run("First line")
    run.add_break()
    inner.cell(0, 0).paragraphs[0].add_run("second line of the cell")
    inner.cell(1, 0).text = "Next row text"
    original = save(d)
    (findings,) = sections_of(original)
    assert "First line\nsecond line of the cell / Next row text" in findings.text
    items = [quoted(findings, "line of the cell", 1), quoted(findings, "Next row", 2)]
    result = annotate_docx(original, [findings], items, lambda i: ("AI-Prism", "AIP"))
    assert result.unplaced == []
    assert sorted(range_texts(result.data).values()) == ["Next row", "line of the cell"]
