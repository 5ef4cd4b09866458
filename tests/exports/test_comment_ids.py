"""New Word comments never reuse an id already in the file: dangling comment markers (a range or a
reference with no comment behind it, common in files that went through other tools) stay dangling,
and each new comment has exactly one range, on its quote. Checked on a built file and on every .docx
of the shared corpus that the extractor accepts."""
from __future__ import annotations

import io
import os
from types import SimpleNamespace

import docx
import pytest
from docx.opc.constants import CONTENT_TYPE as CT
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.opc.packuri import PackURI
from docx.opc.part import Part
from docx.oxml import OxmlElement
from docx.oxml.ns import qn

from app.documents.errors import IntakeError
from app.documents.extract import extract_sections
from app.documents.intake import vet
from app.exports.word import annotate_docx
from tests.documents.corpus import save
from tests.exports.wordcheck import (check_new_comments, corpus_dir, document_text, item, markers,
                                     note_reference_ranges, part_with_root, W)

FOOTNOTES = (
    '<w:footnotes xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
    '<w:footnote w:id="-1" w:type="separator"><w:p><w:r><w:separator/></w:r></w:p></w:footnote>'
    '<w:footnote w:id="0" w:type="continuationSeparator"><w:p><w:r><w:continuationSeparator/></w:r></w:p></w:footnote>'
    '<w:footnote w:id="7"><w:p><w:commentRangeStart w:id="7"/><w:r><w:t>A note</w:t></w:r><w:commentRangeEnd w:id="7"/>'
    '<w:r><w:commentReference w:id="7"/></w:r></w:p></w:footnote></w:footnotes>'
)


def _marker(kind: str, comment_id: int):
    element = OxmlElement(f"w:{kind}")
    element.set(qn("w:id"), str(comment_id))
    return element


def _dangle(paragraph, comment_id: int) -> None:
    """A range around the whole paragraph and a reference after it, with no comment behind them."""
    paragraph._p.insert(1 if paragraph._p.pPr is not None else 0, _marker("commentRangeStart", comment_id))
    paragraph._p.append(_marker("commentRangeEnd", comment_id))
    run = OxmlElement("w:r")
    run.append(_marker("commentReference", comment_id))
    paragraph._p.append(run)


def dangling_markers_docx() -> bytes:
    """Three findings with unrelated passages wrapped in dangling markers (ids 1-6, in the body, a
    header and a footnote), beside one real comment (id 0)."""
    d = docx.Document()
    d.add_heading("Findings", 1)
    passages = []
    for index in range(6):
        p = d.add_paragraph(f"Unrelated passage {index} about the warehouse rota and the shift pattern.")
        passages.append(p)
    target = d.add_paragraph("The refund queue had no owner for three weeks.")
    d.add_comment(target.runs[0], text="A real comment", author="Old Reviewer", initials="OR")  # id 0
    for index, p in enumerate(passages[:4]):
        _dangle(p, index + 1)
    lone = passages[4]._p
    lone.append(_marker("commentRangeEnd", 5))  # an end with no start
    header = d.sections[0].header.paragraphs[0]
    header.text = "Confidential"
    _dangle(header, 6)
    d.add_heading("Actions", 1)
    d.add_paragraph("Assign an owner to the queue and review it weekly.")
    notes = Part(PackURI("/word/footnotes.xml"), CT.WML_FOOTNOTES, FOOTNOTES.encode(), d.part.package)
    d.part.relate_to(notes, RT.FOOTNOTES)
    return save(d)


def sections_of(data: bytes, name: str = "file.docx") -> list[SimpleNamespace]:
    extracted = extract_sections(vet(name, data))
    return [SimpleNamespace(id=index + 1, title=s.title, level=s.level, text=s.text, anchors=s.anchors)
            for index, s in enumerate(extracted)]


def quotes_for(sections, per_section: int = 3, limit: int = 16) -> list:
    """Items quoting a stretch inside each text block: in its first line and in its last (where a
    paragraph's text boxes and notes come), each inside one line; and one with no quote, on the
    heading."""
    items = []
    for section in sections:
        picked = 0
        for offset, length in [(o, n) for _, o, n in section.anchors if o >= 0]:
            block = section.text[offset:offset + length]
            lines, at = [], offset
            for line in block.split("\n"):
                if line.strip():
                    lines.append((at, line))
                at += len(line) + 1
            for at, line in {id(x): x for x in (lines[:1] + lines[-1:])}.values():
                for start in (at + len(line) // 4, at + len(line) // 2):  # the second past a note's "[Footnote N: "
                    end = start + max(1, min(40, len(line) // 2))
                    if document_text(section.text, start, end).strip():
                        items.append(item(len(items) + 1, section.id, section.text[start:end], start))
                        break
            picked += bool(lines)
            if picked >= per_section:
                break
        if len(items) >= limit:
            break
    items.append(item(len(items) + 1, sections[0].id, None, None))
    return items


def expected_quotes(sections, items) -> dict[str, str | None]:
    """Comment text (the item's description) -> the document's characters of its quote."""
    by_id = {s.id: s for s in sections}
    return {i.description: None if i.quote is None else document_text(by_id[i.section_id].text, i.quote_start, i.quote_end)
            for i in items}


def export(data: bytes, sections, items) -> bytes:
    """The exported file. Every quote gets its comment on exactly its text, but one in a footnote
    or endnote, whose comment marks the note's reference (checked here; its quote is then not
    looked for in the range)."""
    result = annotate_docx(data, sections, items, lambda i: ("AI-Prism", "AIP"))
    on_references = {u["item_id"] for u in result.unplaced if u["comment"] == "on_note_reference"}
    assert [u for u in result.unplaced if u["item_id"] not in on_references] == [], result.unplaced
    reopened = docx.Document(io.BytesIO(result.data))  # python-docx opens it
    assert len(list(reopened.comments)) >= result.comments == len(items)
    if on_references:
        ranges = note_reference_ranges(result.data)
        for comment in reopened.comments:
            if any(f"Finding [{i}]." in comment.text for i in on_references):
                assert str(comment.comment_id) in ranges and "this comment marks the note's reference" in comment.text
        for i in items:
            if i.id in on_references:
                i.quote = None  # not looked for in its range by check_new_comments
    return result.data


def test_new_comments_never_take_a_dangling_markers_id():
    original = dangling_markers_docx()
    sections = sections_of(original)
    text = sections[0].text
    wanted = ["no owner for three weeks", "Unrelated passage 2", "shift pattern"]
    items = [item(i + 1, sections[0].id, q, text.index(q)) for i, q in enumerate(wanted)]
    items.append(item(4, sections[1].id, "review it weekly", sections[1].text.index("review it weekly")))
    exported = export(original, sections, items)
    new = check_new_comments(original, exported, {i.description: i.quote for i in items})
    assert len(new) == 4
    reopened = docx.Document(io.BytesIO(exported))
    assert {c.author for c in reopened.comments} == {"Old Reviewer", "AI-Prism"}


def _corpus_files():
    root = corpus_dir()
    if root is None:
        return []
    return sorted(root.rglob("*.docx"))


def test_every_corpus_docx_gets_comments_on_fresh_ids():
    files = _corpus_files()
    if not files:
        assert not os.environ.get("CI"), "CI lays ../shared/corpus beside the clone"
        pytest.skip("no ../shared/corpus here (set SHARED_CORPUS)")
    checked, refused, with_markers, in_boxes, on_notes = 0, 0, 0, 0, 0
    for path in files:
        data = path.read_bytes()
        try:
            sections = sections_of(data, path.name)
        except IntakeError:
            refused += 1
            continue
        try:
            docx.Document(io.BytesIO(data))
        except Exception:  # a fuzzed zip python-docx cannot open: that export fails with a message
            refused += 1
            continue
        items = quotes_for(sections)
        exported = export(data, sections, items)
        try:
            check_new_comments(data, exported, expected_quotes(sections, items))
        except AssertionError as exc:
            raise AssertionError(f"{path.relative_to(path.parents[1])}: {exc}") from exc
        checked += 1
        with_markers += bool(markers(data))
        body = part_with_root(exported, "document")
        in_boxes += sum(1 for box in body.iter(W + "txbxContent") for _ in box.iter(W + "commentRangeStart"))
        on_notes += len(note_reference_ranges(exported))
    assert checked > 100, (checked, refused)
    assert with_markers >= 5  # the corpus has files with comments of their own
    assert in_boxes >= 5 and on_notes >= 5, (in_boxes, on_notes)  # text boxes and notes were quoted
    print(f"{checked} corpus .docx checked ({with_markers} with comment markers), {refused} refused; "
          f"{in_boxes} comments in text boxes, {on_notes} on note references")
