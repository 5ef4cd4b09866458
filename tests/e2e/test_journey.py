"""The reviewer's whole journey in Chromium: setup → upload → analyse all → live progress to done →
accept, reject, edit, custom → chat → export → download, and the .docx opens with its comments."""
from __future__ import annotations

import io
import re

import docx
import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import shot

pytestmark = pytest.mark.slow
ADMIN = ("lead@example.com", "a long enough password")


def incident_docx() -> bytes:
    d = docx.Document()
    d.add_heading("Customer Impact", 1)
    d.add_paragraph("Refunds were delayed for three weeks and nobody called the affected customers back.")
    d.add_heading("Root Cause", 1)
    d.add_paragraph("The queue had no owner after the reorganisation, so tickets aged without alarms.")
    d.add_heading("Actions", 1)
    d.add_paragraph("We will add an alarm on queue age and assign the payments team as the owner.")
    out = io.BytesIO()
    d.save(out)
    return out.getvalue()


def select_text(page, text: str) -> None:
    """Select ``text`` inside the section text, as a reviewer dragging the mouse would."""
    page.evaluate("""(wanted) => {
        const root = document.getElementById("section-text");
        const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
        while (walker.nextNode()) {
            const at = walker.currentNode.textContent.indexOf(wanted);
            if (at >= 0) {
                const range = document.createRange();
                range.setStart(walker.currentNode, at);
                range.setEnd(walker.currentNode, at + wanted.length);
                const selection = window.getSelection();
                selection.removeAllRanges();
                selection.addRange(range);
                return;
            }
        }
        throw new Error("text not found in the section: " + wanted);
    }""", text)


def test_setup_upload_analyse_review_chat_export_download(new_page, stack, tmp_path):
    page, errors = new_page()

    # First run: no account exists, so the site asks for the administrator.
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/setup$"))
    page.get_by_label("Name").fill("Lee Lead")
    page.get_by_label("Email").fill(ADMIN[0])
    page.get_by_label("Password (at least 10 characters)").fill(ADMIN[1])
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("heading", name="Your documents")).to_be_visible()
    expect(page.get_by_text("No documents yet")).to_be_visible()
    # The pages run under the production Content-Security-Policy: an inline script is refused.
    page.evaluate("() => { const s = document.createElement('script'); s.textContent = 'window.__inline = 1'; document.head.append(s); }")
    assert page.evaluate("window.__inline") is None
    assert [e for e in errors if "Content Security Policy" in e], errors
    errors.clear()

    # Upload through the picker; the page opens the new document.
    page.locator("#file-input").set_input_files({"name": "incident.docx", "mimeType": "application/octet-stream", "buffer": incident_docx()})
    page.wait_for_url(re.compile(r"/documents/\d+$"))
    expect(page.locator("#review")).to_have_attribute("data-ready", "true")
    expect(page.locator("#section-list li")).to_have_count(3)
    expect(page.locator("#section-title")).to_have_text("Customer Impact")
    shot(page, "01-review-before-analysis")

    # Analyse all: progress arrives over server-sent events from the worker.
    page.get_by_role("button", name="Analyse all").click()
    expect(page.locator("#analysis-progress-label")).to_have_text(re.compile(r"Analysis finished: 3 of 3 sections analysed"), timeout=60_000)
    expect(page.locator("#analysis-progress")).to_have_attribute("value", "100")
    expect(page.locator("#doc-status")).to_have_attribute("data-status", "completed", timeout=30_000)
    cards = page.locator("#feedback-list li.fb")
    expect(cards).to_have_count(3)
    expect(page.locator("#section-text mark.quote")).to_have_count(2)
    expect(cards.first).to_contain_text("Say who owns the fix.")
    expect(cards.first).to_contain_text("#11 Root cause analysis")
    expect(cards.first).to_contain_text("found in the text")
    expect(cards.first).to_contain_text("confidence 90%")
    expect(cards.first).to_contain_text(re.compile(r"model fake-(primary|secondary)"))  # slow start may send one to the next model
    expect(page.locator("#feedback-list li.fb", has_text="not in the text").first).to_contain_text("not found in the text")
    expect(page.locator("#section-list li").first).to_contain_text("High")
    shot(page, "02-review-analysed")

    # Card → its quote in the text, and back.
    cards.first.get_by_role("button", name="Show in text").click()
    mark = page.locator("#section-text mark.quote.flash")
    expect(mark).to_have_count(1)
    expect(mark).to_be_focused()
    mark.click()
    expect(cards.first).to_be_focused()

    # Accept, reject, edit.
    first_id = cards.first.get_attribute("data-item-id")
    cards.first.get_by_role("button", name="Accept").click()
    first = page.locator(f'li.fb[data-item-id="{first_id}"]')
    expect(first).to_have_class(re.compile("status-accepted"))
    second = cards.nth(1)
    second_id = second.get_attribute("data-item-id")
    second.get_by_role("button", name="Reject").click()
    expect(page.locator(f'li.fb[data-item-id="{second_id}"]')).to_have_class(re.compile("status-rejected"))
    page.locator(f'li.fb[data-item-id="{second_id}"]').get_by_role("button", name="Revert").click()
    expect(page.locator(f'li.fb[data-item-id="{second_id}"]')).to_have_class(re.compile("status-pending"))
    page.locator(f'li.fb[data-item-id="{second_id}"]').get_by_role("button", name="Reject").click()
    expect(page.locator(f'li.fb[data-item-id="{second_id}"]')).to_have_class(re.compile("status-rejected"))
    first.get_by_role("button", name="Edit").click()
    first.get_by_label("Feedback text").fill("Name the owner of the refund queue.")
    page.get_by_role("button", name="Save").click()
    expect(first.locator(".fb-description")).to_have_text("Name the owner of the refund queue.")

    # Custom feedback on selected text, in the second section.
    page.locator("#section-list button", has_text="Root Cause").click()
    expect(page.locator("#section-title")).to_have_text("Root Cause")
    select_text(page, "tickets aged without alarms")
    page.get_by_role("button", name="Add feedback on selection").click()
    expect(page.locator("#custom-quote")).to_have_text("tickets aged without alarms")
    page.locator("#custom-description").fill("How many tickets aged, and for how long?")
    page.locator("#custom-risk").select_option("High")
    page.get_by_role("button", name="Save feedback").click()
    custom = page.locator("#feedback-list li.fb", has_text="How many tickets aged")
    expect(custom).to_have_class(re.compile("status-accepted"))
    expect(custom).to_contain_text("Reviewer")
    expect(page.locator("#section-text mark.quote", has_text="tickets aged without alarms")).to_have_count(1)

    # Statistics follow the decisions.
    page.get_by_role("tab", name="Statistics").click()
    expect(page.locator("#stats")).to_contain_text("Accepted")
    expect(page.locator("#stats dd").nth(5)).to_have_text("2")  # accepted: the edited item and the custom one
    expect(page.locator("#stats dd").nth(6)).to_have_text("1")

    # Chat: the reply streams in and is shown formatted, its HTML as text.
    page.get_by_role("tab", name="Chat").click()
    page.get_by_label("Ask about this document").fill("What is the biggest risk here?")
    page.get_by_role("button", name="Send").click()
    reply = page.locator(".chat-msg.assistant").last
    expect(reply.locator("strong")).to_have_text("Risk", timeout=30_000)
    expect(reply).to_contain_text('<script>window.__pwned = "script"</script>')
    expect(reply).to_contain_text(re.compile(r"model fake-(primary|secondary)"))
    assert reply.locator("img, script").count() == 0
    assert page.evaluate("window.__pwned") is None
    shot(page, "03-chat")
    page.reload()  # the conversation is kept and shown again
    page.get_by_role("tab", name="Chat").click()
    expect(page.locator(".chat-msg.user")).to_have_text(re.compile("What is the biggest risk here?"))
    expect(page.locator(".chat-msg.assistant strong")).to_have_text("Risk")

    # Export: Word and JSON, watch it finish, download the Word file.
    page.get_by_role("tab", name="Export").click()
    shot(page, "03b-export-tab")
    page.get_by_label("Records (.json)").check()
    page.get_by_role("button", name="Export").click()
    expect(page.locator("#export-status")).to_have_text("Export ready.", timeout=60_000)
    expect(page.locator("#export-files a")).to_have_count(2)
    with page.expect_download() as download_info:
        page.locator('#export-files a[data-format="docx"]').click()
    path = tmp_path / "export.docx"
    download_info.value.save_as(path)
    shot(page, "04-export")

    exported = docx.Document(str(path))
    comments = [c.text for c in exported.comments]
    assert len(comments) == 2, comments
    assert any("Name the owner of the refund queue." in c for c in comments)
    assert any("How many tickets aged" in c for c in comments)
    assert not errors, errors
