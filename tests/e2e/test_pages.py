"""Pages beyond the journey: hostile text shown as text, dark mode, keyboard shortcuts, the 768 px
layout, the admin page and errors in plain words."""
from __future__ import annotations

import io
import re
import time

import docx
import pytest
import requests
from playwright.sync_api import expect

from tests.e2e.conftest import shot

pytestmark = pytest.mark.slow
ADMIN = ("lead@example.com", "a long enough password")
HOSTILE_MD = """# Findings <script>window.__pwned = "title"</script>

The refund <img src=x onerror="window.__pwned = 'doc'"> was late and <b>nobody</b> called the customer.

# Follow-up

We will call every customer back <iframe src="javascript:alert(1)"></iframe> within a week.
"""


def ensure_admin(url: str) -> None:
    session = requests.Session()
    if session.get(f"{url}/api/auth/setup", timeout=10).json()["setup_needed"]:
        token = session.get(f"{url}/api/auth/csrf", timeout=10).json()["csrf_token"]
        made = session.post(f"{url}/api/auth/setup", json={"email": ADMIN[0], "password": ADMIN[1], "display_name": "Lee"},
                            headers={"X-CSRFToken": token}, timeout=10)
        assert made.status_code == 201, made.text


def sign_in(page, url: str, email: str = ADMIN[0], password: str = ADMIN[1]) -> None:
    ensure_admin(url)
    page.goto("/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Your documents")).to_be_visible()


def upload(page, name: str, data: bytes) -> None:
    page.goto("/")
    page.locator("#file-input").set_input_files({"name": name, "mimeType": "application/octet-stream", "buffer": data})
    page.wait_for_url(re.compile(r"/documents/\d+$"))
    expect(page.locator("#review")).to_have_attribute("data-ready", "true")


def unnamed_controls(page) -> list[str]:
    """Form controls without a label and buttons or links without a name: what a screen reader
    user could not identify."""
    return page.evaluate("""() => [...document.querySelectorAll("input, select, textarea, button, a[href], [role=tab]")]
        .filter((el) => el.type !== "hidden")
        .filter((el) => !((el.labels && el.labels.length) || el.getAttribute("aria-label") || el.getAttribute("aria-labelledby")
                          || (!["INPUT", "SELECT", "TEXTAREA"].includes(el.tagName) && el.textContent.trim())))
        .map((el) => el.outerHTML.slice(0, 120))""")


def analysed(page) -> None:
    page.get_by_role("button", name="Analyse all").click()
    expect(page.locator("#analysis-progress-block")).to_have_attribute("data-state", "done", timeout=60_000)
    expect(page.locator("#feedback-list li.fb").first).to_be_visible()


def test_document_and_model_html_show_as_text(new_page, stack):
    page, errors = new_page()
    sign_in(page, stack.url)
    upload(page, "hostile.md", HOSTILE_MD.encode())
    expect(page.locator("#section-title")).to_have_text('Findings <script>window.__pwned = "title"</script>')
    expect(page.locator("#section-text")).to_contain_text("""<img src=x onerror="window.__pwned = 'doc'">""")
    expect(page.locator("#section-text")).to_contain_text("<b>nobody</b>")
    analysed(page)
    # The quote the model picked contains the raw HTML too; highlighted as text.
    expect(page.locator("#section-text mark.quote").first).to_be_visible()
    page.locator("#section-list button").nth(1).click()
    expect(page.locator("#section-text")).to_contain_text('<iframe src="javascript:alert(1)"></iframe>')
    page.get_by_role("tab", name="Chat").click()
    page.get_by_label("Ask about this document").fill("Anything <script>window.__pwned = 'question'</script>?")
    page.keyboard.press("Enter")
    expect(page.locator(".chat-msg.assistant strong")).to_have_text("Risk", timeout=30_000)
    expect(page.locator(".chat-msg.user")).to_contain_text("<script>window.__pwned = 'question'</script>")
    assert page.locator("#main img, #main iframe, #main script").count() == 0
    assert page.evaluate("window.__pwned") is None
    shot(page, "05-hostile-content")
    assert not errors, errors  # no script ran: no alert() dialog, no error


def test_dark_mode_is_remembered_and_shortcuts_work(new_page, stack):
    page, errors = new_page()
    sign_in(page, stack.url)
    upload(page, "steps.md", b"# One\n\nThe first part says the refund was late.\n\n# Two\n\nThe second part names no owner.\n\n# Three\n\nThe third part has no date.\n")
    analysed(page)

    page.get_by_role("button", name="Dark mode").click()
    expect(page.locator("html")).to_have_attribute("data-theme", "dark")
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    page.reload()
    expect(page.locator("html")).to_have_attribute("data-theme", "dark")
    assert page.evaluate("getComputedStyle(document.body).backgroundColor") == background == "rgb(18, 22, 28)"
    expect(page.get_by_role("button", name="Dark mode")).to_have_attribute("aria-pressed", "true")
    expect(page.locator("#review")).to_have_attribute("data-ready", "true")
    shot(page, "06-dark-review")
    assert unnamed_controls(page) == []

    page.locator("body").click(position={"x": 5, "y": 300})
    page.keyboard.press("n")
    expect(page.locator("#section-title")).to_have_text("Two")
    expect(page.locator('#section-list button[aria-current="true"]')).to_contain_text("Two")
    page.keyboard.press("n")
    expect(page.locator("#section-title")).to_have_text("Three")
    page.keyboard.press("p")
    expect(page.locator("#section-title")).to_have_text("Two")

    page.keyboard.press("j")
    first = page.locator("#feedback-list li.fb").first
    expect(first).to_be_focused()
    page.keyboard.press("a")
    expect(first).to_have_class(re.compile("status-accepted"))
    second = page.locator("#feedback-list li.fb").nth(1)
    expect(second).to_be_focused()  # focus moves on to the next pending item
    page.keyboard.press("r")
    expect(second).to_have_class(re.compile("status-rejected"))

    page.keyboard.press("c")
    expect(page.get_by_label("Ask about this document")).to_be_focused()
    page.keyboard.type("nc?")  # typing in the chat box is not a shortcut
    expect(page.locator("#section-title")).to_have_text("Two")
    page.locator("#section-text").focus()
    page.keyboard.press("?")
    expect(page.get_by_role("dialog", name="Keyboard shortcuts")).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.get_by_role("dialog", name="Keyboard shortcuts")).to_be_hidden()
    assert not errors, errors


def test_review_page_at_768_px(new_page, stack):
    page, errors = new_page(width=768, height=1024)
    sign_in(page, stack.url)
    upload(page, "tablet.md", b"# Scope\n\nThe refund queue was not owned by anyone for three weeks.\n\n# Impact\n\nCustomers waited.\n")
    analysed(page)
    assert page.evaluate("document.documentElement.scrollWidth") <= 768
    for locator in ("#section-list", "#section-text", "#feedback-list", ".tabs"):
        box = page.locator(locator).bounding_box()
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= 768, (locator, box)
    page.locator("#feedback-list li.fb").first.get_by_role("button", name="Accept").click()
    expect(page.locator("#feedback-list li.fb").first).to_have_class(re.compile("status-accepted"))
    page.get_by_role("button", name="Accept all pending here").click()
    expect(page.locator("#feedback-list li.fb.status-pending")).to_have_count(0)
    expect(page.locator("#feedback-count")).to_contain_text("0 pending")
    shot(page, "07-review-768")
    page.goto("/")
    assert page.evaluate("document.documentElement.scrollWidth") <= 768
    expect(page.locator("#docs-table")).to_be_visible()
    shot(page, "08-dashboard-768")
    assert not errors, errors


def test_admin_page_and_plain_errors(new_page, stack):
    page, errors = new_page()
    sign_in(page, stack.url)
    page.goto("/")
    # Checked in the browser before anything is sent.
    page.locator("#file-input").set_input_files({"name": "tool.exe", "mimeType": "application/octet-stream", "buffer": b"MZ..."})
    expect(page.locator("#upload-error")).to_have_text(re.compile("is not a file AI-Prism can review"))
    max_bytes = int(page.locator("#upload-form").get_attribute("data-max-bytes"))
    page.locator("#file-input").set_input_files({"name": "huge.txt", "mimeType": "text/plain", "buffer": b"a" * (max_bytes + 1)})
    expect(page.locator("#upload-error")).to_have_text(re.compile("the largest file accepted is 20.0 MB"))
    page.get_by_text("Review against your team's guidelines too (optional)").click()
    page.get_by_label("Guidelines document (.docx), chosen before the document").set_input_files(
        {"name": "rules.txt", "mimeType": "text/plain", "buffer": b"Always name an owner."})
    page.locator("#file-input").set_input_files({"name": "fine.md", "mimeType": "text/markdown", "buffer": b"# A\n\nText.\n"})
    expect(page.locator("#upload-error")).to_have_text("The guidelines “rules.txt” must be a Word (.docx) file.")
    page.get_by_label("Guidelines document (.docx), chosen before the document").set_input_files([])
    # Refused by the server (a text file calling itself .docx): its message is shown as it is.
    page.locator("#file-input").set_input_files({"name": "fake.docx", "mimeType": "application/octet-stream", "buffer": b"just text"})
    expect(page.locator("#upload-error")).to_have_text("The file is named .docx but its content is plain text.")
    shot(page, "09-upload-error")
    # Drag and drop: a file dropped on the zone is uploaded like a picked one, with the guidelines chosen.
    guidelines = docx.Document()
    guidelines.add_paragraph("Every action names an owner and a date.")
    buffer = io.BytesIO()
    guidelines.save(buffer)
    page.get_by_label("Guidelines document (.docx), chosen before the document").set_input_files(
        {"name": "team-rules.docx", "mimeType": "application/octet-stream", "buffer": buffer.getvalue()})
    page.get_by_label("Review against").select_option("new_only")
    drop = page.evaluate_handle("""() => {
        const data = new DataTransfer();
        data.items.add(new File(["# Dropped\\n\\nA dropped file about a late refund.\\n"], "dropped.md", { type: "text/markdown" }));
        return data;
    }""")
    page.dispatch_event("#drop-zone", "dragenter", {"dataTransfer": drop})
    expect(page.locator("#drop-zone")).to_have_class(re.compile("dragging"))
    page.dispatch_event("#drop-zone", "drop", {"dataTransfer": drop})
    page.wait_for_url(re.compile(r"/documents/\d+$"))
    expect(page.locator("#section-title")).to_have_text("Dropped")
    document_id = page.url.rsplit("/", 1)[1]
    detail = page.evaluate("(id) => fetch(`/api/documents/${id}`).then((r) => r.json())", document_id)
    assert detail["guidelines"] is True and detail["guidelines_mode"] == "new_only"

    page.get_by_role("link", name="Admin").click()
    expect(page.get_by_role("heading", name="Administration")).to_be_visible()
    expect(page.locator("#models-table tbody tr")).to_have_count(2)
    expect(page.locator("#models-table")).to_contain_text("fake-primary")
    expect(page.locator("#queues-table tbody tr")).to_have_count(3)
    expect(page.locator("#workers-table tbody tr").first).to_be_visible()
    expect(page.locator("#calls-table tbody tr, #calls-empty:not([hidden])").first).to_be_visible()
    page.get_by_label("Email").fill("rita@example.com")
    page.get_by_label("Password (10+ characters)").fill("another long password")
    page.get_by_role("button", name="Add user").click()
    expect(page.locator("#users-table")).to_contain_text("rita@example.com")
    shot(page, "10-admin")
    assert unnamed_controls(page) == []
    page.goto("/")
    assert unnamed_controls(page) == []

    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile("/login$"))
    sign_in(page, stack.url, "rita@example.com", "another long password")
    response = page.goto("/admin")
    assert response.status == 403
    expect(page.get_by_role("heading", name="Only administrators can open the admin page.")).to_be_visible()
    expect(page.get_by_role("link", name="Admin")).to_have_count(0)
    # the expected 415/403 responses above are the only console errors
    assert all("Failed to load resource" in e for e in errors), errors


def test_analysis_can_be_stopped(new_page, stack):
    page, errors = new_page()
    sign_in(page, stack.url)
    upload(page, "slow.md", b"# One\n\nThe first part says the refund was late.\n\n# Two\n\nThe second part names no owner.\n")
    for model in ("fake-primary", "fake-secondary"):
        stack.fake.configure(model, latency_s=5.0)  # a slow model, so there is time to stop
    try:
        page.get_by_role("button", name="Analyse all").click()
        expect(page.locator("#analysis-progress-label")).to_have_text(re.compile("Analysing: 0 of 2 sections done"))
        page.get_by_role("button", name="Stop analysis").click()
        expect(page.locator("#analysis-progress-label")).to_have_text(re.compile("Analysis finished: 0 of 2 sections analysed"))
        expect(page.get_by_role("button", name="Stop analysis")).to_be_hidden()
        expect(page.locator("#section-state")).to_contain_text("Cancelled")
    finally:
        for model in ("fake-primary", "fake-secondary"):
            stack.fake.configure(model, latency_s=0.0)
    assert not errors, errors


def test_a_conflicting_change_is_explained_and_shown(new_page, stack):
    page, errors = new_page()
    sign_in(page, stack.url)
    upload(page, "conflict.md", b"# Only\n\nThe refund queue had no owner for three weeks in March.\n")
    analysed(page)
    # Live updates would show the other change at once (tests/e2e/test_review_state.py); here the
    # stream is cut, so this page acts on a stale copy.
    page.route(re.compile(r".*/api/documents/\d+/events$"), lambda route: route.abort())
    page.reload()
    expect(page.locator("#review")).to_have_attribute("data-ready", "true")
    card = page.locator("#feedback-list li.fb").first
    item_id = int(card.get_attribute("data-item-id"))

    # Another tab (or colleague) rejects the item first.
    other = requests.Session()
    token = other.get(f"{stack.url}/api/auth/csrf", timeout=10).json()["csrf_token"]
    token = other.post(f"{stack.url}/api/auth/login", json={"email": ADMIN[0], "password": ADMIN[1]},
                       headers={"X-CSRFToken": token}, timeout=10).json()["csrf_token"]
    document_id = page.url.rsplit("/", 1)[1].split("#")[0]
    items = other.get(f"{stack.url}/api/documents/{document_id}/feedback", timeout=10).json()["items"]
    version = next(i["version"] for i in items if i["id"] == item_id)
    assert other.post(f"{stack.url}/api/feedback/{item_id}/decision", json={"decision": "reject", "version": version},
                      headers={"X-CSRFToken": token}, timeout=10).status_code == 200

    card.get_by_role("button", name="Accept").click()
    expect(page.locator("#notices")).to_contain_text("Someone else changed this item first")
    stale = page.locator(f'li.fb[data-item-id="{item_id}"]')
    expect(stale).to_have_class(re.compile("status-rejected"))  # now shows their version
    conflict = stale.get_by_role("group", name="Conflicting versions of this item")
    expect(conflict.get_by_role("region", name=re.compile("Theirs"))).to_contain_text("Rejected")
    expect(conflict.get_by_role("region", name="Yours (not saved)")).to_contain_text("Accepted")
    stale.get_by_role("button", name="Accept").click()
    expect(stale).to_have_class(re.compile("status-accepted"))
    expect(conflict).to_have_count(0)
    assert all("409" in e or "ERR_FAILED" in e for e in errors), errors


def test_analyse_all_on_a_large_document_says_how_many_model_calls_first(new_page, stack):
    """Past 50 sections the page asks before analysing every one, naming the model calls; no means no."""
    page, errors = new_page()
    sign_in(page, stack.url)
    document = docx.Document()
    for i in range(60):
        document.add_heading(f"Finding {i + 1}", 1)
        document.add_paragraph(f"The seller in case {i + 1} shipped late.")
    buffer = io.BytesIO()
    document.save(buffer)
    upload(page, "sixty.docx", buffer.getvalue())
    document_id = int(page.url.rsplit("/", 1)[1])

    with page.expect_event("dialog") as asked:  # the page's dialog handler (conftest) says no
        page.get_by_role("button", name="Analyse all").click()
    assert asked.value.message == ("Analyse all will review 60 sections with at least 60 model calls. Other reviewers' "
                                   "analyses take turns with yours, so a large run can take a while. Continue?")
    page.wait_for_timeout(500)
    assert [e for e in errors if e.startswith("dialog:")] == [f"dialog: {asked.value.message}"], errors
    errors.clear()
    # Asked on the server, not the progress bar: Redis pub/sub channels are shared by every Redis
    # database, so another test suite on the machine can publish for a document with the same id.
    def progress():
        summary = page.evaluate("fetch('/api/documents').then((r) => r.json())")
        return next(d["progress"] for d in summary["documents"] if d["id"] == document_id)

    assert progress()["active"] == 0 and progress()["analysed"] == 0  # nothing was started

    page.evaluate("window.confirm = (message) => { window.__asked = message; return true; }")
    page.get_by_role("button", name="Analyse all").click()
    deadline = time.monotonic() + 90
    while progress()["analysed"] < 60:
        assert time.monotonic() < deadline, progress()
        page.wait_for_timeout(500)
    assert "60 model calls" in page.evaluate("window.__asked")
    shot(page, "analyse-all-estimate")
    assert errors == []
