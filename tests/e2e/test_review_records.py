"""Issue 18 parts 4-7 in Chromium: the activity timeline after decisions, deleting a custom item written
on a whole section with Hawkeye points, the complete export package downloaded and opened (every
listed file, the report through python-docx and LibreOffice), a chart drawn with its data table, the
reviewer's own confidence threshold, the first-run tour remembered once dismissed, and the new pages
at 390 px without horizontal scrolling."""
from __future__ import annotations

import io
import json
import re
import shutil
import subprocess
import zipfile

import docx
import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import shot
from tests.e2e.test_pages import analysed, sign_in, upload

ADMIN_NAME = "Lee"  # the display name tests/e2e/test_pages.ensure_admin gives the account

pytestmark = pytest.mark.slow
DOCUMENT = (b"# Scope\n\nThe refund queue was not owned by anyone for three weeks in March.\n\n"
            b"# Root cause\n\nNobody was named to watch the queue and no alert fired.\n")


def no_horizontal_scroll(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")


def test_activity_custom_item_deletion_and_the_export_package(new_page, stack, tmp_path):
    page, errors = new_page()
    sign_in(page, stack.url)
    upload(page, "records.md", DOCUMENT)
    analysed(page)
    cards = page.locator("#feedback-list li.fb")
    cards.nth(0).get_by_role("button", name="Accept").click()
    expect(cards.nth(0)).to_have_class(re.compile("status-accepted"))
    cards.nth(1).get_by_role("button", name="Reject").click()
    expect(cards.nth(1)).to_have_class(re.compile("status-rejected"))

    # A chat turn, exported as text from the chat tab.
    page.get_by_role("tab", name="Chat").click()
    page.get_by_label("Ask about this document").fill("Who owns the queue?")
    page.keyboard.press("Enter")
    expect(page.locator(".chat-msg.assistant strong")).to_have_text("Risk", timeout=30_000)
    chat_link = page.get_by_role("link", name="Download this conversation (text)")
    expect(chat_link).to_be_visible()
    with page.expect_download() as chat_download:
        chat_link.click()
    transcript = open(chat_download.value.path(), encoding="utf-8").read()
    assert "Who owns the queue?" in transcript and "the owner is not named" in transcript

    # The timeline shows the upload, the analyses and both decisions, newest first.
    page.get_by_role("tab", name="Activity").click()
    timeline = page.locator("#activity-table tbody tr")
    expect(page.locator("#activity-table tbody tr[data-action=reject]")).to_have_count(1)
    expect(page.locator("#activity-table tbody tr[data-action=accept]")).to_have_count(1)
    expect(page.locator("#activity-table tbody tr[data-action=analysis_completed]")).to_have_count(2)
    expect(timeline.last).to_contain_text("Uploaded")
    expect(page.locator("#activity-table tbody tr[data-action=chat]")).to_contain_text("Who owns the queue?")
    expect(page.locator("#activity-table tbody tr[data-action=reject] td").nth(1)).to_have_text(ADMIN_NAME)  # by whom
    expect(timeline.first).to_contain_text("Chat replied")  # newest first

    # A custom item on the whole section, with a checklist category and two Hawkeye points.
    page.get_by_role("tab", name="Feedback").click()
    page.get_by_role("button", name="Add feedback on this section").click()
    expect(page.locator("#custom-on")).to_have_text("On the whole section (no passage selected).")
    page.get_by_role("textbox", name="Feedback", exact=True).fill("The whole section needs an owner and a date.")
    page.get_by_label("Category").select_option("Preventative actions")
    page.get_by_label("#12 Preventative actions").check()
    page.get_by_label("#11 Root cause analysis").check()
    page.get_by_role("button", name="Save feedback").click()
    mine = page.locator("#feedback-list li.fb", has_text="The whole section needs an owner")
    expect(mine).to_be_visible()
    expect(mine).to_contain_text("#11 Root cause analysis; #12 Preventative actions")
    expect(mine.locator(".fb-category")).to_have_text("Preventative actions")
    assert cards.nth(0).get_by_role("button", name="Delete").count() == 0  # a model's item: no Delete
    shot(page, "30-custom-on-section")
    mine.get_by_role("button", name="Delete").click()
    page.locator("#confirm-ok").click()
    expect(mine).to_have_count(0)
    page.get_by_role("tab", name="Activity").click()
    expect(page.locator("#activity-table tbody tr[data-action=delete]")).to_contain_text("The whole section needs an owner")
    expect(page.locator("#activity-table tbody tr[data-action=create]")).to_have_count(1)
    shot(page, "31-activity-timeline")

    # The complete package, downloaded from the page and opened.
    page.get_by_role("tab", name="Export").click()
    page.get_by_label("Word with comments (.docx)").uncheck()
    page.get_by_label(re.compile("Complete package")).check()
    page.get_by_role("button", name="Export").click()
    link = page.locator('#export-files a[data-format="package"]')
    expect(link).to_be_visible(timeout=60_000)
    with page.expect_download() as download_info:
        link.click()
    path = tmp_path / "package.zip"
    download_info.value.save_as(path)
    archive = zipfile.ZipFile(path)
    names = set(archive.namelist())
    manifest = json.loads(archive.read("manifest.json"))
    listed = {f["name"] for f in manifest["files"]}
    assert listed == names - {"manifest.json"}
    for entry in manifest["files"]:
        assert len(archive.read(entry["name"])) == entry["size"] > 0, entry
    reviewed = [n for n in names if n.endswith("_reviewed.docx")]
    assert {"original/records.md", "items/items.json", "items/items.csv", "chat/transcripts.txt", "chat/transcripts.json",
            "activity/activity.csv", "activity/activity.json", "summary.json", "report.docx"} <= names and len(reviewed) == 1
    assert archive.read("original/records.md") == DOCUMENT
    items = json.loads(archive.read("items/items.json"))["items"]
    assert {"accepted", "rejected"} <= {i["decision"] for i in items}  # the rejected item is there too
    actions = [e["action"] for e in json.loads(archive.read("activity/activity.json"))["events"]]
    assert {"upload", "accept", "reject", "create", "delete", "chat", "chat_reply"} <= set(actions)
    assert "Who owns the queue?" in archive.read("chat/transcripts.txt").decode()
    word = docx.Document(io.BytesIO(archive.read(reviewed[0])))
    assert len(list(word.comments)) >= 1  # the accepted item, as the Word export places it
    report_bytes = archive.read("report.docx")
    report = docx.Document(io.BytesIO(report_bytes))
    headings = {p.text for p in report.paragraphs if p.style.name.startswith("Heading")}
    assert {"Summary", "Key risks", "Items by section", "Decisions", "Scope", "Root cause"} <= headings
    source = tmp_path / "report.docx"
    source.write_bytes(report_bytes)
    soffice = shutil.which("soffice")
    assert soffice, "LibreOffice (soffice) is needed"
    converted = subprocess.run([soffice, "--headless", f"-env:UserInstallation=file://{tmp_path}/lo", "--convert-to", "pdf",
                                "--outdir", str(tmp_path), str(source)], capture_output=True, timeout=180)
    assert converted.returncode == 0 and (tmp_path / "report.pdf").read_bytes().startswith(b"%PDF"), converted.stderr
    assert not errors, errors


def test_charts_with_their_tables_and_the_confidence_threshold(new_page, stack):
    page, errors = new_page()
    sign_in(page, stack.url)
    upload(page, "charts.md", DOCUMENT)
    analysed(page)
    page.locator("#feedback-list li.fb").first.get_by_role("button", name="Accept").click()
    expect(page.locator("#feedback-list li.fb").first).to_have_class(re.compile("status-accepted"))

    # Raising one's own threshold hides the model's items under it; the deployment's minimum holds.
    before = page.locator("#feedback-list li.fb").count()
    page.get_by_label("Hide model items below confidence").fill("0.95")
    page.get_by_role("button", name="Apply threshold").click()
    expect(page.locator("#feedback-list li.fb")).to_have_count(0)
    expect(page.locator("#confidence-hidden")).to_contain_text("hidden")
    page.reload()
    expect(page.locator("#review")).to_have_attribute("data-ready", "true")
    expect(page.get_by_label("Hide model items below confidence")).to_have_value("0.95")
    expect(page.locator("#feedback-list li.fb")).to_have_count(0)
    page.get_by_label("Hide model items below confidence").fill("0.3")
    page.get_by_role("button", name="Apply threshold").click()
    expect(page.locator("#feedback-list li.fb")).to_have_count(before)

    page.goto("/stats?scope=all")
    for chart_id in ("chart-risk", "chart-category", "chart-hawkeye", "chart-time", "chart-models", "chart-cost"):
        expect(page.locator(f"#{chart_id}")).to_be_visible()
    canvas = page.locator("#chart-category-canvas")
    expect(canvas).to_have_attribute("data-rendered", "true")
    assert canvas.get_attribute("aria-hidden") == "true"  # the table speaks for it
    assert page.evaluate("(id) => { const c = document.getElementById(id); const d = c.getContext('2d')"
                         ".getImageData(0, 0, c.width, c.height).data; return d.some((v, i) => i % 4 === 3 && v > 0); }",
                         "chart-category-canvas"), "the canvas has pixels drawn"
    table = page.get_by_role("table", name="Acceptance by category: data")
    expect(table.get_by_role("row", name=re.compile("Ownership"))).to_contain_text("100%")
    expect(page.get_by_role("table", name="Model usage: data").locator("tbody tr").first).to_contain_text("fake-")
    expect(page.get_by_role("table", name="Risk score distribution: data").locator("tbody tr")).to_have_count(5)
    shot(page, "32-statistics")
    assert not errors, errors


def test_first_run_tour_and_new_pages_at_390_px(new_page, stack):
    page, errors = new_page(width=390, height=844, tour=True)
    sign_in(page, stack.url)
    upload(page, "phone.md", DOCUMENT)
    review_url = page.url
    tour = page.get_by_role("dialog", name="Sections")
    expect(tour).to_be_visible()
    page.locator("#tour").get_by_role("button", name="Next").click()
    expect(page.locator("#tour-title")).to_have_text("Analyse")
    assert no_horizontal_scroll(page)
    shot(page, "33-tour-390")
    page.get_by_role("button", name="Don't show again").click()
    expect(page.locator("#tour")).to_have_count(0)
    page.reload()
    expect(page.locator("#review")).to_have_attribute("data-ready", "true")
    expect(page.locator("#tour")).to_have_count(0)  # remembered
    page.get_by_role("tab", name="Activity").click()
    expect(page.locator("#activity-table tbody tr[data-action=upload]")).to_have_count(1)
    assert no_horizontal_scroll(page)
    for path, ready in (("/stats", "#chart-risk"), ("/help", "#checklist-table"), ("/admin/activity", "#activity-table tbody tr")):
        page.goto(path)
        expect(page.locator(ready).first).to_be_visible()
        assert no_horizontal_scroll(page), path
        shot(page, f"34-{path.strip('/').replace('/', '-')}-390")
    # The admin activity page filters by action.
    page.get_by_label("Action").select_option("upload")
    page.get_by_role("button", name="Show").click()
    expect(page.locator("#activity-table tbody tr[data-action=upload]").first).to_be_visible()
    expect(page.locator("#activity-table tbody tr:not([data-action=upload])")).to_have_count(0)
    assert "action=upload" in page.locator("#activity-csv").get_attribute("href")
    page.goto("/help")
    page.get_by_role("button", name="Show the first-run tour again").click()
    page.goto(review_url)
    expect(page.locator("#tour")).to_be_visible()  # brought back from the help page
    assert not errors, errors
