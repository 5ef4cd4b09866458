"""The dashboard on a phone (390 x 844): no horizontal scroll, documents shown as cards whose names
read as words (the first-run report: the page was 494 px wide, names wrapped letter by letter and the
table was cut off)."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import shot
from tests.e2e.test_pages import sign_in, upload

pytestmark = pytest.mark.slow
NAMES = ("Quarterly refund delay risk assessment for Payments Operations.md", "IncidentWriteUpWithoutAnySpacesInItsName2025.md")


def wide_elements(page, limit: int) -> list[str]:
    """Elements reaching past ``limit`` px, leaving out the ones clipped to 1 px for screen readers only
    (the visually-hidden file input, the cards' column headings)."""
    return page.evaluate("""(limit) => [...document.querySelectorAll("body *")]
        .filter((el) => !el.closest(".visually-hidden, table.cards thead"))
        .filter((el) => el.getBoundingClientRect().right > limit + 0.5)
        .map((el) => `${el.tagName.toLowerCase()}#${el.id}.${el.className} right=${Math.round(el.getBoundingClientRect().right)}`)""", limit)


def test_the_dashboard_at_390_px_shows_cards_without_horizontal_scroll(new_page, stack):
    page, errors = new_page(width=390, height=844)
    sign_in(page, stack.url)
    for name in NAMES:
        upload(page, name, b"# Findings\n\nThe refund was late and nobody called the customer back.\n")
    page.goto("/")
    rows = page.locator("#docs-body tr")
    expect(rows.first).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390, wide_elements(page, 390)
    assert wide_elements(page, 390) == []
    page.get_by_text("Review against your team's guidelines too").click()  # the optional part, opened
    assert wide_elements(page, 390) == [] and page.evaluate("document.documentElement.scrollWidth") <= 390
    for name in NAMES:
        title = name.rsplit(".", 1)[0]
        link = page.get_by_role("link", name=title, exact=True)
        expect(link).to_be_visible()
        box = link.bounding_box()
        # Readable: the name runs across most of the card, not one letter per line.
        assert box["width"] > 200, (name, box)
        line_height = page.evaluate("(el) => parseFloat(getComputedStyle(el).lineHeight)", link.element_handle())
        assert box["height"] <= 3 * line_height, (name, box, line_height)
    # Each card says what each value is, since the column headings are not shown.
    card = rows.filter(has_text="Quarterly refund delay").first
    for label in ("Status", "Risk score", "Progress", "Last activity"):
        expect(card.locator(f'td[data-label="{label}"]')).to_be_visible()
    assert card.locator('td[data-label="Status"]').evaluate("(el) => getComputedStyle(el, '::before').content") == '"Status"'
    expect(card.get_by_role("button", name="Delete Quarterly refund delay risk assessment for Payments Operations")).to_be_visible()
    shot(page, "dashboard-390")
    assert not errors, errors


def test_the_dashboard_stays_a_table_on_a_wide_screen(new_page, stack):
    page, errors = new_page(width=1280)
    sign_in(page, stack.url)
    page.goto("/")
    expect(page.locator("#docs-table thead")).to_be_visible()
    assert page.locator("#docs-table").evaluate("(el) => getComputedStyle(el).display") == "table"
    assert not errors, errors
