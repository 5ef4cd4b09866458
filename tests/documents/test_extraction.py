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


def test_an_empty_heading_is_kept_as_a_line_of_its_neighbour():
    data, _ = corpus.numbered_headings()
    timeline = sections_of("n.docx", data)[1]
    assert timeline.text == "Timeline body.\nA. Background"
    assert [a[1:] for a in timeline.anchors if a[1] >= 0] == [[0, 14], [15, 13]]


def test_typed_numbering_bullets_and_bold_lines_under_styled_headings_stay_in_their_section():
    data, _ = corpus.typed_numbering_under_styled_headings()
    summary, findings, actions, timeline = sections_of("t.docx", data)
    assert findings.text.split("\n") == [
        "1. Market volatility risk - High impact", "2. Liquidity risk - Medium impact",
        "\u2022 2024-01-15: account locked", "Key point", "EXECUTIVE SUMMARY",
    ]
    assert actions.text == "1. Update validation rules"
    assert timeline.text == "A. Background" and timeline.parents == []
    everything = " ".join(s.title + " " + s.text for s in (summary, findings, actions, timeline))
    assert "Case 4471" not in everything and "Seller risk review" not in everything  # the Title, Subtitle


def test_a_table_of_contents_is_neither_a_section_nor_text_for_review():
    data, _ = corpus.table_of_contents()
    sections = sections_of("toc.docx", data)
    assert sections[0].text == "Contents"
    for section in sections:
        assert "\t" not in section.text and "...." not in section.text and "PURPOSE" not in section.text
    assert [s.text for s in sections[1:]] == ["Intro body.", "Findings body.", "Actions body."]


def test_a_heading_followed_by_a_deeper_one_is_its_parent_and_no_section_is_empty():
    data, _ = corpus.parents_and_empty_headings()
    part, chapter_two = sections_of("p.docx", data)
    assert part.parents == ["Chapter"] and part.text == "Part one body.\nFigure only"
    assert chapter_two.parents == [] and chapter_two.text == "Chapter two body."


def test_a_document_of_only_a_title_or_only_headings_is_accepted():
    (only,) = sections_of("t.docx", corpus.title_only()[0])
    assert only.text == "Sample Word Document"
    (only,) = sections_of("h.docx", corpus.headings_only()[0])
    assert only.text == "A Numbered Header.\nAnother header"


def test_text_boxes_are_read_once():
    data, _ = corpus.text_boxes()
    (findings,) = sections_of("b.docx", data)
    assert findings.text == "Boxed finding text."


def test_a_pdf_with_only_an_owner_password_opens():
    data, expected = corpus.pdf_owner_password_only()
    sections = sections_of("owner.pdf", data)
    assert shape(sections) == expected
    assert sections[0].text == "This report covers case 4471 in detail.\nIt was opened in May."


def test_a_pdf_with_a_user_password_is_refused():
    import pytest as _pytest
    from app.documents.errors import IntakeError

    with _pytest.raises(IntakeError) as refused:
        sections_of("locked.pdf", corpus.pdf_user_password())
    assert refused.value.code == "password_protected"


def test_pdf_running_headers_footers_and_page_numbers_are_removed():
    data, expected = corpus.pdf_with_running_headers()
    sections = sections_of("r.pdf", data)
    assert shape(sections) == expected
    text = " ".join(s.title + " " + s.text for s in sections)
    assert "Confidential" not in text and "Page 1" not in text and "of 3" not in text
    assert sections[0].reason == "16 pt against body text of 11 pt"


def test_weaker_signals_decide_in_a_long_stretch_without_styled_headings():
    import docx

    from tests.documents.corpus import save

    d = docx.Document()
    d.add_heading("Appendix", 1)
    d.add_paragraph("1. Short list item")  # typed numbering in a short styled section: body text
    d.add_heading("Pasted notes", 1)
    for part in range(3):
        d.add_paragraph(f"{part + 1}. Part {part + 1}")
        for n in range(20):
            d.add_paragraph(f"Note {part}-{n} on the case, written as ordinary prose.")
    sections = sections_of("s.docx", save(d))
    assert [(s.title, s.level, s.parents) for s in sections] == [
        ("Appendix", 1, []), ("1. Part 1", 2, ["Pasted notes"]), ("2. Part 2", 2, ["Pasted notes"]),
        ("3. Part 3", 2, ["Pasted notes"])]
    assert sections[0].text == "1. Short list item"
    assert len(sections[1].text.split("\n")) == 20
