"""Every signal and trap in the fixture corpus gives exactly the expected sections."""
import io
import zipfile

import pytest

from app.documents.extract import extract_sections
from app.documents.intake import vet
from tests.documents import corpus


def sections_of(name: str, data: bytes):
    return extract_sections(vet(name, data))


def shape(sections):
    return [(s.title, s.level, s.signal) for s in sections]


@pytest.mark.parametrize("case", sorted(corpus.DOCX_CASES))
def test_docx_corpus(case):
    data, expected = corpus.DOCX_CASES[case]()
    assert shape(sections_of(f"{case}.docx", data)) == expected


def test_heading_bodies_and_traps_stay_in_text():
    data, _ = corpus.numbered_headings()
    sections = sections_of("n.docx", data)
    assert sections[-1].text.split("\n") == [
        "3 dogs were seen", "1. The seller contacted us on 3 May and asked for the funds to be released."
    ]
    data, _ = corpus.outline_levels()
    assert "plainly body text" in sections_of("o.docx", data)[0].text


def test_tables_belong_to_their_section_in_reading_order():
    data, _ = corpus.tables_in_reading_order()
    impact = sections_of("t.docx", data)[0]
    assert impact.text == "Before the table.\nMetric | Value\nRefunds | 1,200\nAfter the table."


def test_headers_footers_comments_properties_and_hidden_text_are_not_section_text():
    data, _ = corpus.invisible_text()
    text = " ".join(s.title + " " + s.text for s in sections_of("i.docx", data))
    assert "Visible words." in text
    for hidden in ("CONFIDENTIAL HEADER", "PAGE FOOTER", "COMMENT TEXT", "SECRET HIDDEN", "PROPERTY TITLE"):
        assert hidden not in text


def test_email_thread_is_one_section_and_does_not_swell_the_last():
    data, _ = corpus.email_thread()
    conclusion, thread = sections_of("e.docx", data)
    assert conclusion.text == "The case is closed."
    assert thread.text.startswith("From: Jane Agent") and thread.text.endswith("Can you check?")


def test_deleted_text_is_left_out_and_inserted_text_kept():
    data, _ = corpus.content_controls_and_tracked_changes()
    (section,) = sections_of("c.docx", data)
    assert section.text == "Keep added text"


def test_duplicate_titles_stay_distinct_with_their_own_text():
    data, _ = corpus.preamble_and_duplicates()
    preamble, first, second = sections_of("d.docx", data)
    assert preamble.text == "Prepared by the investigations team."
    assert (first.text, second.text) == ("First findings.", "Second findings.")


def test_anchors_point_at_the_exact_text_of_each_block():
    from app.documents.wordml import SAFE_PARSER, W_BODY, Styles, body_blocks, read_paragraph, table_text
    from lxml import etree

    data, _ = corpus.tables_in_reading_order()
    package = zipfile.ZipFile(io.BytesIO(data))
    styles = Styles(etree.fromstring(package.read("word/styles.xml"), SAFE_PARSER))
    blocks = body_blocks(etree.fromstring(package.read("word/document.xml"), SAFE_PARSER).find(W_BODY))
    for section in sections_of("t.docx", data):
        heading_block = section.anchors[0]
        assert heading_block[1] == -1 and read_paragraph(blocks[heading_block[0]], styles).text == section.title
        for block, start, length in section.anchors[1:]:
            element = blocks[block]
            source = read_paragraph(element, styles).text if element.tag.endswith("}p") else table_text(element, styles)
            assert section.text[start:start + length] == source.strip("\n")


def test_pdf_outline_comes_first():
    data, expected = corpus.pdf_with_outline()
    sections = sections_of("o.pdf", data)
    assert shape(sections) == expected
    assert sections[1].text == "On 3 May the account was locked."


def test_pdf_font_size_and_weight_without_outline():
    data, expected = corpus.pdf_by_fonts()
    sections = sections_of("f.pdf", data)
    assert shape(sections) == expected
    assert sections[0].text == "This report covers case 4471 in detail.\nIt was opened in May."


def test_markdown_signals():
    sections = sections_of("notes.md", corpus.MARKDOWN.encode())
    assert shape(sections) == corpus.MARKDOWN_EXPECTED
    timeline = sections[2]
    assert "# not a heading inside code" in timeline.text


def test_plain_text_signals():
    assert shape(sections_of("notes.txt", corpus.TEXT.encode("utf-8"))) == corpus.TEXT_EXPECTED


def test_text_in_windows_1252_and_utf16_is_read():
    assert sections_of("a.txt", "CAFÉ REVIEW\n\nNaïve body.".encode("cp1252"))[0].text == "Naïve body."
    assert sections_of("b.txt", "CAFÉ REVIEW\n\nNaïve body.".encode("utf-16"))[0].title == "CAFÉ REVIEW"
