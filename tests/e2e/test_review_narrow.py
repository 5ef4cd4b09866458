"""The review page on a phone (390 x 844): the feedback is reachable without scrolling past the whole
section text (issue 17, part 6), and nothing is wider than the screen."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import shot
from tests.e2e.test_pages import analysed, sign_in, upload

pytestmark = pytest.mark.slow
LONG = ("# Findings\n\n" + "\n\n".join(
    f"Paragraph {n}: the refund queue grew by {n * 10} cases and the owner of the backlog was not named in the weekly report."
    for n in range(1, 61)) + "\n").encode()


def test_the_feedback_is_one_tap_away_on_a_phone_with_a_long_section(new_page, stack):
    page, errors = new_page(width=390, height=844)
    sign_in(page, stack.url)
    upload(page, "long-section.md", LONG)
    analysed(page)
    cards = page.locator("#feedback-list li.fb")
    expect(cards.first).to_be_attached()
    page.evaluate("window.scrollTo(0, 0)")
    shot(page, "review-390-top")
    text_box = page.locator("#section-text").bounding_box()
    # The long text scrolls inside its own box: the page does not grow with the section.
    assert text_box["height"] <= 844 * 0.5, text_box
    assert page.evaluate("document.getElementById('section-text').scrollHeight") > text_box["height"]
    jump = page.get_by_role("link", name="Go to the feedback")
    expect(jump).to_be_visible()
    assert jump.bounding_box()["y"] + jump.bounding_box()["height"] <= 844  # in the first screen
    expect(jump).to_contain_text(str(cards.count()))
    jump.click()
    expect(page.locator("#panel-feedback")).to_be_in_viewport()
    expect(cards.first).to_be_in_viewport()
    # And back up to the text from the feedback.
    page.get_by_role("link", name="Back to the section text").click()
    expect(page.locator("#section-text")).to_be_in_viewport()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    shot(page, "review-390")
    assert not errors, errors


def test_the_jump_link_is_not_shown_on_a_wide_screen(new_page, stack):
    page, errors = new_page(width=1280)
    sign_in(page, stack.url)
    upload(page, "wide.md", b"# One\n\nThe refund was late and nobody called the customer back.\n")
    expect(page.locator("#section-text")).to_contain_text("The refund was late")
    expect(page.get_by_role("link", name="Go to the feedback")).to_be_hidden()
    assert not errors, errors


@pytest.mark.parametrize("width", [1280, 768, 390])
def test_every_tab_is_in_sight_and_every_panel_opens(new_page, stack, width):
    """Six tabs fit (they wrap rather than scroll out of sight), and each tab shows its own panel: no
    panel sits inside another, where a hidden parent would keep it blank."""
    page, errors = new_page(width=width, height=900)
    sign_in(page, stack.url)
    upload(page, f"tabs-{width}.md", b"# One\n\nThe refund was late and nobody called the customer back.\n")
    expect(page.locator("#section-text")).to_contain_text("The refund was late")
    tablist = page.get_by_role("tablist", name="Review tools")
    box = tablist.bounding_box()
    tabs = tablist.get_by_role("tab")
    assert tabs.count() >= 6
    for i in range(tabs.count()):
        tab = tabs.nth(i)
        rect = tab.bounding_box()
        assert rect["x"] >= box["x"] - 0.5 and rect["x"] + rect["width"] <= box["x"] + box["width"] + 0.5, (tab.inner_text(), rect, box)
        tab.click()
        panel = page.locator(f"#{tab.get_attribute('aria-controls')}")
        expect(panel).to_be_visible()
        assert panel.evaluate("(el) => el.parentElement.closest('[role=tabpanel]') === null")
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    assert not errors, errors
