"""The revision check in the browser: upload, analyse, accept; upload v2 from the review page; the
Changes view shows the statuses (filters, links to old and new text); a reviewer overrides one; the
export of v2 carries the open ones as Word comments on the v2 text. Also usable at 390 px."""
from __future__ import annotations

import io
import re

import docx
import pytest
from playwright.sync_api import expect

from app.exports.word import anchored_texts
from tests.e2e.conftest import shot
from tests.e2e.test_pages import analysed, sign_in, unnamed_controls, upload
from tests.revision.builders import V1, V2, build

pytestmark = pytest.mark.slow


def accept(page, section: str, description: str) -> None:
    page.locator("#section-list button", has_text=section).click()
    expect(page.locator("#section-title")).to_have_text(section)
    card = page.locator("#feedback-list li.fb", has_text=description)
    card.get_by_role("button", name="Accept").click()
    expect(card).to_have_class(re.compile("status-accepted"))


def test_upload_v2_changes_view_override_and_export_with_carried_comments(new_page, stack, tmp_path):
    page, errors = new_page()
    sign_in(page, stack.url)
    upload(page, "case.docx", build(V1))
    analysed(page)
    accept(page, "Summary", "Say who owns the fix.")  # quotes "The seller shipped late. Customers": unchanged in v2
    accept(page, "Summary", "Cite the ticket")  # quotes "cause for the delay.": its sentence is rewritten in v2
    accept(page, "Impact", "Cite the ticket")  # quotes "made to anyone.": its sentence is deleted in v2

    page.locator("#version-file").set_input_files({"name": "case v2.docx", "mimeType": "application/octet-stream",
                                                   "buffer": build(V2)})
    page.wait_for_url(re.compile(r"/documents/\d+/changes$"))
    expect(page.locator("#check-state")).to_have_attribute("data-state", "completed", timeout=60_000)
    items = page.locator("#revision-items li.revision-item")
    expect(items).to_have_count(3)
    expect(page.locator("#revision-items li[data-status=open]")).to_have_count(1)
    expect(page.locator("#revision-items li[data-status=addressed]")).to_have_count(1)
    expect(page.locator("#revision-items li[data-status=quote_gone]")).to_have_count(1)
    addressed = page.locator("#revision-items li[data-status=addressed]")
    expect(addressed.locator(".new-quote")).to_contain_text("The root cause was a warehouse outage on 2 May.")
    # the badge's links lead to the old and the new words in the side-by-side changes
    addressed.get_by_role("link", name="New text:").click()
    expect(page.locator(".diff-cell.new:target")).to_contain_text("warehouse outage")
    addressed.get_by_role("link", name="Old text:").click()
    expect(page.locator(".diff-cell.old:target del").first).to_contain_text("We found no")
    expect(page.locator("#groups .diff-group")).not_to_have_count(0)
    expect(page.locator("#groups del").first).to_be_visible()
    expect(page.locator("#groups ins").first).to_be_visible()
    shot(page, "20-changes")

    # filters
    page.get_by_label("Show").select_option("open")
    expect(items).to_have_count(1)
    expect(items.first).to_have_attribute("data-status", "open")
    page.get_by_label("Show").select_option("addressed")
    expect(items).to_have_count(1)
    page.get_by_label("Show").select_option("all")
    expect(items).to_have_count(3)

    # override the open one: partly addressed, audited on the server
    open_item = page.locator("#revision-items li[data-status=open]")
    item_id = open_item.get_attribute("data-item-id")
    open_item.get_by_label("Status to set").select_option("partly")
    open_item.get_by_label("Reason for the new status").fill("The team is named, the date is not.")
    open_item.get_by_role("button", name="Set status").click()
    overridden = page.locator(f'#revision-items li[data-item-id="{item_id}"]')
    expect(overridden).to_have_attribute("data-status", "partly")
    expect(overridden).to_contain_text("set by a reviewer")
    expect(page.locator("#check-summary")).to_contain_text("Partly addressed 1")

    # export v2 with the carried comments, anchored on the v2 text
    page.get_by_role("button", name="Export with carried comments").click()
    expect(page.locator("#carry-status")).to_have_text("Export ready.", timeout=60_000)
    with page.expect_download() as download_info:
        page.locator('#carry-files a[data-format="docx"]').click()
    word = (tmp_path / "v2.docx")
    download_info.value.save_as(word)
    data = word.read_bytes()
    comments = {str(c.comment_id): c.text for c in docx.Document(io.BytesIO(data)).comments}
    anchored = anchored_texts(data)
    carried = {anchored[cid]: text for cid, text in comments.items() if "Carried from version 1" in text}
    assert list(carried) == ["The seller shipped late. Customers"], carried
    assert "partly" in carried["The seller shipped late. Customers"] and "Say who owns the fix." in carried["The seller shipped late. Customers"]
    assert unnamed_controls(page) == []
    assert not errors, errors

    # v1's review page now links to version 2 instead of offering another upload (the API refuses it)
    changes_url = page.url
    v2_id = int(re.search(r"/documents/(\d+)/changes", changes_url).group(1))
    v1_id = page.request.get(f"{stack.url}/api/documents/{v2_id}").json()["previous_version_id"]
    page.goto(f"/documents/{v1_id}")
    expect(page.get_by_role("link", name="Version 2 exists: see its changes")).to_have_attribute("href", re.compile(r"/documents/\d+/changes$"))
    expect(page.locator("#version-file")).to_have_count(0)
    page.goto(changes_url)

    # usable at 390 px: nothing wider than the screen, the sides stacked
    narrow, narrow_errors = new_page(width=390, height=844)
    sign_in(narrow, stack.url)
    narrow.goto(page.url)
    expect(narrow.locator("#check-state")).to_have_attribute("data-state", "completed")
    expect(narrow.locator("#revision-items li.revision-item")).to_have_count(3)
    assert narrow.evaluate("document.documentElement.scrollWidth") <= 390
    assert narrow.get_by_role("button", name="Export with carried comments").is_visible()
    shot(narrow, "21-changes-390")
    assert not narrow_errors, narrow_errors
