"""A fixture corpus built by the tests: one file per signal or trap, each with its exact expected
sections as (title, level, signal)."""
from __future__ import annotations

import io

import docx
from docx.enum.style import WD_STYLE_TYPE
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Pt


def save(document) -> bytes:
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def set_outline(paragraph_or_style, level: int) -> None:
    element = getattr(paragraph_or_style, "_p", None)
    if element is None:
        element = paragraph_or_style.element
    ppr = element.get_or_add_pPr()
    lvl = OxmlElement("w:outlineLvl")
    lvl.set(qn("w:val"), str(level))
    ppr.append(lvl)


def hidden_run(paragraph, text: str) -> None:
    run = paragraph.add_run(text)
    rpr = run._r.get_or_add_rPr()
    rpr.append(OxmlElement("w:vanish"))


def headed_sections(count: int, body) -> bytes:
    """``count`` Heading 1 sections, each with one paragraph ``body(i)``."""
    d = docx.Document()
    for i in range(count):
        d.add_heading(f"Finding {i + 1}", 1)
        d.add_paragraph(body(i))
    return save(d)


def heading_styles():
    d = docx.Document()
    d.add_heading("Executive Summary", 1)
    d.add_paragraph("Summary body.")
    d.add_heading("Scope of work", 2)
    d.add_paragraph("Scope body.")
    d.add_heading("Deep detail", 3)
    d.add_paragraph("Detail body.")
    return save(d), [("Executive Summary", 1, "heading_style"), ("Scope of work", 2, "heading_style"),
                     ("Deep detail", 3, "heading_style")]


def custom_and_localized_styles():
    d = docx.Document()
    case_title = d.styles.add_style("Case Title", WD_STYLE_TYPE.PARAGRAPH)
    case_title.base_style = d.styles["Heading 1"]  # custom style: level through basedOn
    localized = d.styles.add_style("Überschrift Zwei", WD_STYLE_TYPE.PARAGRAPH)
    set_outline(localized, 1)  # a localized style: its outline level, not its (German) name
    derived = d.styles.add_style("Fancy Sub", WD_STYLE_TYPE.PARAGRAPH)
    derived.base_style = localized  # two steps down the chain
    d.add_paragraph("Account takeover case", style="Case Title")
    d.add_paragraph("Case body.")
    d.add_paragraph("Ermittlung", style="Überschrift Zwei")
    d.add_paragraph("German body.")
    d.add_paragraph("Derived heading", style="Fancy Sub")
    d.add_paragraph("Derived body.")
    return save(d), [("Account takeover case", 1, "heading_style"), ("Ermittlung", 2, "heading_style"),
                     ("Derived heading", 2, "heading_style")]


def outline_levels():
    d = docx.Document()
    p = d.add_paragraph("Seller background")
    set_outline(p, 1)
    d.add_paragraph("Background body.")
    body = d.add_paragraph(
        "This long paragraph carries an outline level because someone clicked the wrong button in Word, "
        "yet it is plainly body text that runs on for several lines and ends with a full stop."
    )
    set_outline(body, 0)
    plain = d.add_paragraph("Body text level")
    set_outline(plain, 9)
    return save(d), [("Seller background", 2, "outline_level")]


def numbered_headings():
    d = docx.Document()
    d.add_paragraph("1 Introduction")
    d.add_paragraph("Intro body.")
    d.add_paragraph("1.2 Timeline")
    d.add_paragraph("Timeline body.")
    d.add_paragraph("A. Background")
    d.add_paragraph("II. Findings")
    d.add_paragraph("3 dogs were seen", style="List Number")  # a list item, not a heading
    d.add_paragraph("1. The seller contacted us on 3 May and asked for the funds to be released.")
    # "A. Background" has no body and the next heading is not deeper: it is kept as the last line of
    # "1.2 Timeline" rather than as an empty section (it used to be a section with no text).
    return save(d), [("1 Introduction", 1, "numbering"), ("1.2 Timeline", 2, "numbering"),
                     ("II. Findings", 1, "numbering")]


def emphasis_lines():
    d = docx.Document()
    d.add_paragraph("Opening words.")
    d.add_paragraph().add_run("Account Review").bold = True
    d.add_paragraph("Review body.")
    big = d.add_paragraph().add_run("Escalation Path")
    big.font.size = Pt(16)
    d.add_paragraph("Escalation body.")
    lead = d.add_paragraph()
    lead.add_run("Note:").bold = True
    lead.add_run(" the lead-in alone is bold, so this is body text.")
    d.add_paragraph().add_run("This whole sentence is bold but it is a sentence.").bold = True
    return save(d), [("Preamble", 1, "preamble"), ("Account Review", 2, "emphasis"),
                     ("Escalation Path", 1, "emphasis")]


def known_titles():
    d = docx.Document()
    d.add_paragraph("EXECUTIVE SUMMARY")
    d.add_paragraph("Summary body.")
    d.add_paragraph("timeline of events:")
    d.add_paragraph("Background checks were completed on all accounts.")
    d.add_paragraph("Root Cause(s) and Preventative Actions")
    d.add_paragraph("Causes body.")
    return save(d), [("EXECUTIVE SUMMARY", 1, "known_title"), ("timeline of events", 1, "known_title"),
                     ("Root Cause(s) and Preventative Actions", 1, "known_title")]


def labels():
    # No styled headings: labels decide. "Root Causes" has no body of its own, so it is RC1's parent;
    # a label opening a sentence titles it and the sentence stays its text.
    d = docx.Document()
    d.add_paragraph("Root Causes")
    d.add_paragraph("RC1: Missing verification")
    d.add_paragraph("The seller's documents were never checked.")
    d.add_paragraph("PA1a: The agent did not escalate the case because the queue was full.")
    d.add_paragraph("PA1b: We will allow sellers to appeal the decision for TMR")
    return save(d), [("RC1: Missing verification", 2, "label"), ("PA1a", 2, "label"), ("PA1b", 2, "label")]


def labels_under_styled_headings():
    # Styled headings are the structure: labels under them are body text (an old expectation made
    # RC1 and PA1a sections of their own under "Root Causes").
    d = docx.Document()
    d.add_heading("Root Causes", 1)
    d.add_paragraph("RC1: Missing verification")
    d.add_paragraph("The seller's documents were never checked.")
    d.add_paragraph("PA1a: The agent did not escalate the case because the queue was full.")
    return save(d), [("Root Causes", 1, "heading_style")]


def typed_numbering_under_styled_headings():
    d = docx.Document()
    d.add_paragraph("Investigation Report: Case 4471", style="Title")
    d.add_paragraph("Seller risk review", style="Subtitle")
    d.add_heading("Summary", 1)
    d.add_paragraph("The seller moved funds out quickly.")
    d.add_heading("Findings", 1)
    d.add_paragraph("1. Market volatility risk - High impact")
    d.add_paragraph("2. Liquidity risk - Medium impact")
    d.add_paragraph("\u2022 2024-01-15: account locked")
    d.add_paragraph().add_run("Key point").bold = True
    d.add_paragraph("EXECUTIVE SUMMARY")
    d.add_heading("Actions", 1)
    d.add_paragraph("1. Update validation rules")
    d.add_heading("Timeline", 2)
    d.add_paragraph("A. Background")
    return save(d), [("Summary", 1, "heading_style"), ("Findings", 1, "heading_style"),
                     ("Actions", 1, "heading_style"), ("Timeline", 2, "heading_style")]


def table_of_contents():
    d = docx.Document()
    d.add_paragraph("Contents")
    for line in ("Introduction\t1", "Findings ........ 3", "Actions\t5", "A. PURPOSE\t1-1"):
        d.add_paragraph(line)
    d.add_heading("Introduction", 1)
    d.add_paragraph("Intro body.")
    d.add_heading("Findings", 1)
    d.add_paragraph("Findings body.")
    d.add_heading("Actions", 1)
    d.add_paragraph("Actions body.")
    return save(d), [("Preamble", 1, "preamble"), ("Introduction", 1, "heading_style"),
                     ("Findings", 1, "heading_style"), ("Actions", 1, "heading_style")]


def title_only():
    d = docx.Document()
    d.add_paragraph("Sample Word Document", style="Title")
    return save(d), [("Sample Word Document", 1, "headings_only")]


def headings_only():
    d = docx.Document()
    d.add_heading("A Numbered Header.", 1)
    d.add_heading("Another header", 1)
    return save(d), [("A Numbered Header.", 1, "headings_only")]


def parents_and_empty_headings():
    d = docx.Document()
    d.add_heading("Chapter", 1)
    d.add_heading("Part one", 2)
    d.add_paragraph("Part one body.")
    d.add_heading("Figure only", 2)
    d.add_heading("Chapter two", 1)
    d.add_paragraph("Chapter two body.")
    return save(d), [("Part one", 2, "heading_style"), ("Chapter two", 1, "heading_style")]


TEXT_BOX_XML = (
    '<w:r xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'
    ' xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006"'
    ' xmlns:wps="http://schemas.microsoft.com/office/word/2010/wordprocessingShape"'
    ' xmlns:v="urn:schemas-microsoft-com:vml">'
    '<mc:AlternateContent><mc:Choice Requires="wps"><w:drawing><wps:wsp><wps:txbx><w:txbxContent>'
    '<w:p><w:r><w:t>Boxed finding text.</w:t></w:r></w:p>'
    '</w:txbxContent></wps:txbx></wps:wsp></w:drawing></mc:Choice>'
    '<mc:Fallback><w:pict><v:shape><v:textbox><w:txbxContent>'
    '<w:p><w:r><w:t>Boxed finding text.</w:t></w:r></w:p>'
    '</w:txbxContent></v:textbox></v:shape></w:pict></mc:Fallback></mc:AlternateContent></w:r>'
)


def text_boxes():
    from docx.oxml import parse_xml

    d = docx.Document()
    d.add_heading("Findings", 1)
    p = d.add_paragraph()
    p._p.append(parse_xml(TEXT_BOX_XML))
    return save(d), [("Findings", 1, "heading_style")]


def tables_in_reading_order():
    d = docx.Document()
    d.add_heading("Customer Impact", 1)
    d.add_paragraph("Before the table.")
    table = d.add_table(rows=2, cols=2)
    table.cell(0, 0).text, table.cell(0, 1).text = "Metric", "Value"
    table.cell(1, 0).text, table.cell(1, 1).text = "Refunds", "1,200"
    d.add_paragraph("After the table.")
    d.add_heading("Resolution", 1)
    d.add_paragraph("Fixed.")
    return save(d), [("Customer Impact", 1, "heading_style"), ("Resolution", 1, "heading_style")]


def invisible_text():
    d = docx.Document()
    d.sections[0].header.paragraphs[0].text = "CONFIDENTIAL HEADER"
    d.sections[0].footer.paragraphs[0].text = "PAGE FOOTER"
    d.add_heading("Findings", 1)
    p = d.add_paragraph("Visible words.")
    hidden_run(p, " SECRET HIDDEN WORDS")
    d.add_comment(p.runs[0], text="A reviewer COMMENT TEXT", author="R", initials="R")
    d.core_properties.title = "PROPERTY TITLE"
    return save(d), [("Findings", 1, "heading_style")]


def email_thread():
    d = docx.Document()
    d.add_heading("Conclusion", 1)
    d.add_paragraph("The case is closed.")
    for line in ("From: Jane Agent <jane@example.com>", "Sent: Monday, 3 May 2026 10:00", "To: Risk Team",
                 "Subject: Re: Case 4471", "Please see the notes below.", "From: Risk Team",
                 "Sent: Sunday, 2 May 2026 09:00", "To: Jane Agent", "Subject: Case 4471", "Can you check?"):
        d.add_paragraph(line)
    return save(d), [("Conclusion", 1, "heading_style"), ("E-mail: Re: Case 4471", 1, "email_thread")]


def preamble_and_duplicates():
    d = docx.Document()
    d.add_paragraph("Prepared by the investigations team.")
    d.add_heading("Findings", 1)
    d.add_paragraph("First findings.")
    d.add_heading("Findings", 1)
    d.add_paragraph("Second findings.")
    return save(d), [("Preamble", 1, "preamble"), ("Findings", 1, "heading_style"), ("Findings", 1, "heading_style")]


def content_controls_and_tracked_changes():
    d = docx.Document()
    heading = d.add_heading("Recommendations", 1)
    sdt = OxmlElement("w:sdt")
    content = OxmlElement("w:sdtContent")
    sdt.append(content)
    heading._p.addprevious(sdt)
    content.append(heading._p)  # the heading now sits inside a content control
    p = d.add_paragraph("Keep ")
    deleted = OxmlElement("w:del")
    deleted.set(qn("w:id"), "1")
    deleted.set(qn("w:author"), "R")
    run = OxmlElement("w:r")
    del_text = OxmlElement("w:delText")
    del_text.text = "REMOVED "
    run.append(del_text)
    deleted.append(run)
    p._p.append(deleted)
    inserted = OxmlElement("w:ins")
    inserted.set(qn("w:id"), "2")
    inserted.set(qn("w:author"), "R")
    new_run = OxmlElement("w:r")
    new_text = OxmlElement("w:t")
    new_text.text = "added text"
    new_run.append(new_text)
    inserted.append(new_run)
    p._p.append(inserted)
    return save(d), [("Recommendations", 1, "heading_style")]


DOCX_CASES = {
    fn.__name__: fn for fn in (
        heading_styles, custom_and_localized_styles, outline_levels, numbered_headings, emphasis_lines,
        known_titles, labels, tables_in_reading_order, invisible_text, email_thread, preamble_and_duplicates,
        content_controls_and_tracked_changes, labels_under_styled_headings, typed_numbering_under_styled_headings,
        table_of_contents, title_only, headings_only, parents_and_empty_headings, text_boxes,
    )
}


def pdf_with_outline() -> tuple[bytes, list]:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_page()
    for title, level, body in (("Executive Summary", 0, "The summary of the case."),
                               ("Timeline", 1, "On 3 May the account was locked."),
                               ("Findings", 0, "The seller was a bad actor.")):
        pdf.start_section(title, level=level)
        pdf.set_font("Helvetica", "B", 14)
        pdf.cell(0, 10, title, new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Helvetica", "", 11)
        pdf.multi_cell(0, 6, body)
    return bytes(pdf.output()), [("Executive Summary", 1, "pdf_outline"), ("Timeline", 2, "pdf_outline"),
                                 ("Findings", 1, "pdf_outline")]


def pdf_by_fonts() -> tuple[bytes, list]:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_page()

    def line(text, style, size):
        pdf.set_font("Helvetica", style, size)
        pdf.cell(0, 8, text, new_x="LMARGIN", new_y="NEXT")

    line("Investigation Report", "B", 18)
    for body in ("This report covers case 4471 in detail.", "It was opened in May."):
        line(body, "", 11)
    line("Background", "B", 14)
    line("The seller joined in 2019 and sold electronics.", "", 11)
    line("Key facts", "B", 11)
    line("Three accounts were linked to the same bank.", "", 11)
    line("More body text to make this the most common size.", "", 11)
    return bytes(pdf.output()), [("Investigation Report", 1, "font_size"), ("Background", 2, "font_size"),
                                 ("Key facts", 3, "bold_line")]


MARKDOWN = """Intro line before headings.

# Investigation Summary

Summary body.

## Timeline

Timeline body.

```
# not a heading inside code
```

Customer Impact
===============

Impact body.

1.2 Root Cause

Cause body.

BACKGROUND

Background body.

Conclusion:

Closing body.

From: Jane <jane@example.com>
Sent: Monday
To: Risk
Subject: Case 9

Hi team.
"""
MARKDOWN_EXPECTED = [
    ("Preamble", 1, "preamble"), ("Investigation Summary", 1, "markdown_heading"), ("Timeline", 2, "markdown_heading"),
    ("Customer Impact", 1, "underlined"), ("1.2 Root Cause", 2, "numbering"), ("BACKGROUND", 1, "all_caps"),
    ("Conclusion", 1, "known_title"), ("E-mail: Case 9", 1, "email_thread"),
]

TEXT = """CASE REVIEW

Opened after a customer complaint.

Findings
--------

The seller shipped nothing.

2 Recommendations

Close the account.
"""
TEXT_EXPECTED = [("CASE REVIEW", 1, "all_caps"), ("Findings", 2, "underlined"), ("2 Recommendations", 1, "numbering")]


def _encrypted(data: bytes, user: str, owner: str) -> bytes:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(data)))
    writer.encrypt(user_password=user, owner_password=owner, algorithm="AES-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def pdf_owner_password_only() -> tuple[bytes, list]:
    """Encrypted with an empty user password: any reader opens it without asking."""
    data, expected = pdf_by_fonts()
    return _encrypted(data, "", "owner-secret"), expected


def pdf_user_password() -> bytes:
    return _encrypted(pdf_by_fonts()[0], "open-sesame", "owner-secret")


def pdf_with_running_headers() -> tuple[bytes, list]:
    """Three pages, each with the same header line and a "Page N of 3" footer."""
    from fpdf import FPDF

    class Report(FPDF):
        def header(self):
            self.set_font("Helvetica", "", 9)
            self.cell(0, 8, "ACME Risk - Confidential", new_x="LMARGIN", new_y="NEXT")

        def footer(self):
            self.set_y(-15)
            self.set_font("Helvetica", "", 9)
            self.cell(0, 8, f"Page {self.page_no()} of 3")

    pdf = Report()
    for number, title in enumerate(("Background", "Findings", "Actions"), 1):
        pdf.add_page()
        pdf.set_font("Helvetica", "B", 16)
        pdf.cell(0, 10, title, new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Helvetica", "", 11)
        for _ in range(3):
            pdf.multi_cell(0, 6, f"Body text of part {number} that runs on as ordinary prose in the report.",
                           new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output()), [("Background", 1, "font_size"), ("Findings", 1, "font_size"),
                                 ("Actions", 1, "font_size")]


def _field_run(kind: str, instr: str | None = None):
    run = OxmlElement("w:r")
    if instr is None:
        char = OxmlElement("w:fldChar")
        char.set(qn("w:fldCharType"), kind)
        run.append(char)
    else:
        text = OxmlElement("w:instrText")
        text.text = instr
        run.append(text)
    return run


def table_of_contents_field():
    """A TOC field whose entries carry no page numbers (Word's "no page numbers" option) and a
    'Contents' line styled as a heading inside the field: all of it is left out."""
    d = docx.Document()
    first = d.add_paragraph()
    for run in (_field_run("begin"), _field_run("", ' TOC \\o "1-3" \\n '), _field_run("separate")):
        first._p.append(run)
    first.add_run("Introduction")
    d.add_paragraph("Findings")
    last = d.add_paragraph("Actions")
    last._p.append(_field_run("end"))
    d.add_heading("Introduction", 1)
    d.add_paragraph("Intro body.")
    d.add_heading("Findings", 1)
    d.add_paragraph("Findings body.")
    return save(d), [("Introduction", 1, "heading_style"), ("Findings", 1, "heading_style")]


DOCX_CASES["table_of_contents_field"] = table_of_contents_field
