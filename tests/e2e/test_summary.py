"""The Summary tab on a finished document: the model's summary (from the simulator's record_summary
answer) with its verdict, risk score, reasons and key risks pointing at items, and the same summary
above the export form ("finish the review"); model text shown as text, never markup."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import shot
from tests.e2e.test_pages import sign_in, upload

pytestmark = pytest.mark.slow


def test_the_summary_tab_shows_the_models_summary_of_a_finished_document(new_page, stack):
    page, errors = new_page()
    sign_in(page, stack.url)
    upload(page, "summary.md", b"# Findings\n\nThe refund was late and nobody called the customer back.\n\n"
                               b"# Actions\n\nWe will call customers within a day of a late refund.\n")
    page.get_by_role("button", name="Analyse all").click()
    expect(page.locator("#doc-status")).to_have_attribute("data-status", "completed", timeout=60_000)
    expect(page.locator("#doc-risk")).to_contain_text(re.compile(r"\d"), timeout=30_000)

    page.get_by_role("tab", name="Summary").click()
    view = page.locator("#summary-view")
    expect(view).to_have_attribute("data-state", "completed", timeout=30_000)
    expect(view.locator("[data-verdict]")).to_have_text("Needs work")
    expect(view).to_contain_text(re.compile(r"Risk score \d+ / 100"))
    expect(view.get_by_role("heading", name="Why this score")).to_be_visible()
    key_risks = view.locator(".summary-part", has=page.get_by_role("heading", name="Key risks")).locator("li")
    expect(key_risks.first).to_contain_text("Key risk: Say who owns the fix.")
    expect(key_risks.first).to_contain_text(re.compile(r"\(items #\d+\)"))
    expect(view).to_contain_text(re.compile(r"Written by fake-(primary|secondary)\."))
    shot(page, "summary-tab")

    page.get_by_role("tab", name="Export").click()
    finish = page.locator("#export-summary")
    expect(finish).to_have_attribute("data-state", "completed")
    expect(finish.locator("[data-verdict]")).to_have_text("Needs work")
    shot(page, "summary-before-export")

    # An item id in a key risk opens that item's card on the Feedback tab.
    page.get_by_role("tab", name="Summary").click()
    target = key_risks.first.locator("button.summary-item").first
    item_id = target.get_attribute("data-item-id")
    target.click()
    expect(page.get_by_role("tab", name="Feedback")).to_have_attribute("aria-selected", "true")
    card = page.locator(f'li.fb[data-item-id="{item_id}"]')
    expect(card).to_be_focused()
    expect(card).to_contain_text("Say who owns the fix.")
    assert page.evaluate("window.__pwned") is None
    assert not errors, errors


def test_the_patterns_page_lists_an_issue_found_in_two_documents(new_page, stack):
    page, errors = new_page()
    sign_in(page, stack.url)
    for name in ("first.md", "second.md"):
        upload(page, name, b"# Findings\n\nThe refund was late and nobody called the customer back.\n")
        page.get_by_role("button", name="Analyse all").click()
        expect(page.locator("#doc-status")).to_have_attribute("data-status", "completed", timeout=60_000)
    page.get_by_role("link", name="Patterns").click()
    ownership = page.locator("li.pattern", has=page.get_by_role("heading", name="Ownership", exact=True))
    expect(ownership.locator(".pattern-count")).to_contain_text(re.compile(r"in [2-9]\d* documents"))
    expect(ownership.get_by_role("link", name="first")).to_be_visible()
    expect(ownership.get_by_role("link", name="second")).to_be_visible()
    expect(ownership.locator("q").first).to_have_text("The refund was late and")
    shot(page, "patterns")
    assert not errors, errors
