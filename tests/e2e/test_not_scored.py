"""A document whose analyses all failed says "not scored" and why, on the review page and the
dashboard, never "Risk score 0" (issue 17, the first-run report)."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import responder, shot
from tests.e2e.test_pages import sign_in, upload

pytestmark = pytest.mark.slow


def test_a_document_whose_analyses_all_failed_is_not_scored_with_the_reason(new_page, stack):
    page, errors = new_page()
    sign_in(page, stack.url)
    upload(page, "unreadable.md", b"# Findings\n\nThe refund was late and nobody called the customer back.\n")
    stack.fake.responder = lambda model_id, body: "this is not the JSON that was asked for"
    try:
        page.get_by_role("button", name="Analyse all").click()
        expect(page.locator("#doc-status")).to_have_attribute("data-status", "failed", timeout=60_000)
        risk = page.locator("#doc-risk")
        expect(risk).to_contain_text("not scored", timeout=30_000)
        expect(risk).to_contain_text(re.compile("the only section failed"))
        expect(risk).not_to_contain_text("Risk score 0")
        shot(page, "not-scored-review")
        page.goto("/")
        row = page.locator("#docs-body tr", has_text="unreadable")
        expect(row.locator(".not-scored")).to_contain_text("not scored")
        expect(row).to_contain_text("the only section failed")
        shot(page, "not-scored-dashboard")
    finally:
        stack.fake.responder = responder
    assert not errors, errors
