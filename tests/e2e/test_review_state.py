"""The review state in the browser: two pages on one document (live decisions, an edit conflict shown
side by side, nothing overwritten), one set of analyses for a double click, progress after a reload
taken from the server, and section editing (merge, split, rename, level, undo) at 390 px."""
from __future__ import annotations

import re
import time

import pytest
import sqlalchemy
from playwright.sync_api import expect

from tests.e2e.conftest import shot
from tests.e2e.test_pages import analysed, sign_in, unnamed_controls, upload

pytestmark = pytest.mark.slow


def document_id_of(page) -> int:
    return int(page.url.split("#")[0].rsplit("/", 1)[1])


def api_get(page, path: str):
    return page.evaluate("(path) => fetch(path).then((r) => r.json())", path)


def analyses_in_database(stack, document_id: int) -> list[tuple[int, str]]:
    engine = sqlalchemy.create_engine(stack.database_url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(sqlalchemy.text(
                "SELECT section_id, status FROM analyses WHERE document_id = :d ORDER BY id"), {"d": document_id})]
    finally:
        engine.dispose()


def test_two_pages_see_each_others_decisions_and_an_edit_conflict_overwrites_nothing(new_page, stack):
    mine, errors = new_page()
    sign_in(mine, stack.url)
    upload(mine, "two-tabs.md", b"# Only\n\nThe refund queue had no owner for three weeks in March and nobody called back.\n")
    analysed(mine)
    theirs, their_errors = new_page()
    sign_in(theirs, stack.url)
    theirs.goto(mine.url)
    expect(theirs.locator("#review")).to_have_attribute("data-ready", "true")
    expect(theirs.locator("#live-state")).to_have_text("")  # the stream is open

    # A decision in one page shows in the other within 2 s, with the counter.
    expect(mine.locator("#feedback-count")).to_have_text("3 items, 3 pending")
    first_id = theirs.locator("#feedback-list li.fb").first.get_attribute("data-item-id")
    theirs.locator(f'li.fb[data-item-id="{first_id}"]').get_by_role("button", name="Accept").click()
    expect(theirs.locator("#feedback-count")).to_have_text("3 items, 2 pending")
    expect(mine.locator(f'li.fb[data-item-id="{first_id}"]')).to_have_class(re.compile("status-accepted"), timeout=2_000)
    expect(mine.locator("#feedback-count")).to_have_text("3 items, 2 pending", timeout=2_000)

    # Both open the editor on the same item; they save first.
    second_id = mine.locator("#feedback-list li.fb").nth(1).get_attribute("data-item-id")
    my_card = mine.locator(f'li.fb[data-item-id="{second_id}"]')
    their_card = theirs.locator(f'li.fb[data-item-id="{second_id}"]')
    my_card.get_by_role("button", name="Edit").click()
    my_card.get_by_label("Feedback text").fill("My words for this item.")
    their_card.get_by_role("button", name="Edit").click()
    their_card.get_by_label("Feedback text").fill("Their words for this item.")
    their_card.get_by_role("button", name="Save").click()
    expect(their_card.locator(".fb-description")).to_have_text("Their words for this item.")
    # My form keeps my text and says the item changed meanwhile.
    expect(my_card.locator(".changed-elsewhere")).to_be_visible(timeout=2_000)
    expect(my_card.get_by_label("Feedback text")).to_have_value("My words for this item.")
    my_card.get_by_role("button", name="Save").click()
    conflict = my_card.get_by_role("group", name="Conflicting versions of this item")
    expect(conflict.get_by_role("region", name=re.compile(r"Theirs \(saved"))).to_contain_text("Their words for this item.")
    expect(conflict.get_by_role("region", name="Yours (not saved)")).to_contain_text("My words for this item.")
    expect(my_card.get_by_role("alert")).to_contain_text("Someone else changed this item first")
    expect(my_card.get_by_role("button", name="Save")).to_be_hidden()  # no second Save that overwrites
    my_card.get_by_label("Category").press("Enter")  # not even by pressing Enter in the form
    shot(mine, "11-edit-conflict")
    items = {i["id"]: i for i in api_get(mine, f"/api/documents/{document_id_of(mine)}/feedback")["items"]}
    assert items[int(second_id)]["description"] == "Their words for this item."  # nothing overwritten

    # Choosing mine is a new request from their version; their page follows live.
    conflict.get_by_role("button", name="Apply mine anyway").click()
    expect(my_card.locator(".fb-description")).to_have_text("My words for this item.")
    expect(their_card.locator(".fb-description")).to_have_text("My words for this item.", timeout=2_000)
    items = {i["id"]: i for i in api_get(mine, f"/api/documents/{document_id_of(mine)}/feedback")["items"]}
    assert items[int(second_id)]["description"] == "My words for this item."
    audit = api_get(mine, f"/api/documents/{document_id_of(mine)}/audit")["events"]
    assert [e["after"]["outcome"] for e in audit if e["action"] == "edit"] == ["applied", "conflict", "applied"]

    # A decision conflict: keep theirs leaves their decision in place.
    third_id = mine.locator("#feedback-list li.fb").nth(2).get_attribute("data-item-id")
    theirs.locator(f'li.fb[data-item-id="{third_id}"]').get_by_role("button", name="Reject").click()
    expect(mine.locator(f'li.fb[data-item-id="{third_id}"]')).to_have_class(re.compile("status-rejected"), timeout=2_000)
    assert all("409" in e for e in errors), errors  # the expected conflict is the only console error
    assert not their_errors, their_errors


def test_a_double_click_on_analyse_all_makes_one_set_of_analyses(new_page, stack):
    page, errors = new_page()
    sign_in(page, stack.url)
    body = "".join(f"# Part {n}\n\nPart {n} says the refund was late and nobody called the customer.\n\n" for n in range(1, 9))
    upload(page, "double.md", body.encode())
    posts = []
    page.on("request", lambda r: posts.append(r) if r.method == "POST" and r.url.endswith("/analyses") else None)
    page.get_by_role("button", name="Analyse all").dblclick()
    expect(page.locator("#analysis-progress-label")).to_have_text(re.compile("Analysis finished: 8 of 8"), timeout=60_000)
    rows = analyses_in_database(stack, document_id_of(page))
    assert len(rows) == 8 and len({section for section, _ in rows}) == 8, rows
    assert len(posts) == 1 and posts[0].headers.get("idempotency-key"), [p.headers for p in posts]

    # Analysing again asks first, saying decided items are kept; cancelling starts nothing.
    page.locator("#feedback-list li.fb").first.get_by_role("button", name="Accept").click()
    page.get_by_role("button", name="Analyse all").click()
    dialog = page.get_by_role("dialog", name="Analyse again?")
    expect(dialog).to_contain_text("8 sections have been analysed already")
    expect(dialog).to_contain_text("keeps every decided item (1 item accepted or rejected)")
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_be_hidden()
    time.sleep(0.5)
    assert len(analyses_in_database(stack, document_id_of(page))) == 8
    assert all("409" in e for e in errors), errors  # the confirm_required answer


def test_a_reload_mid_analysis_shows_the_servers_progress_then_finished(new_page, stack):
    page, errors = new_page()
    sign_in(page, stack.url)
    body = "".join(f"# Step {n}\n\nStep {n} of the incident had no owner and no date.\n\n" for n in range(1, 7))
    upload(page, "slow-six.md", body.encode())
    for model in ("fake-primary", "fake-secondary"):
        stack.fake.configure(model, latency_s=2.0)  # 6 sections on 2 job processes: about 6 s
    try:
        page.get_by_role("button", name="Analyse all").click()
        expect(page.locator("#analysis-progress-label")).to_have_text(re.compile("Analysing: [0-5] of 6 sections done"))
        page.reload()
        expect(page.locator("#review")).to_have_attribute("data-ready", "true")
        label = page.locator("#analysis-progress-label")
        expect(label).to_have_text(re.compile("Analysing: [0-5] of 6 sections done"))  # from the snapshot
        expect(page.get_by_role("button", name="Stop analysis")).to_be_visible()
        done_then = int(re.search(r"(\d) of 6", label.text_content()).group(1))
        finished_in_db = sum(1 for _, status in analyses_in_database(stack, document_id_of(page)) if status == "completed")
        assert done_then <= finished_in_db  # never ahead of the server
        expect(label).to_have_text(re.compile("Analysis finished: 6 of 6 sections analysed"), timeout=60_000)
        expect(page.get_by_role("button", name="Stop analysis")).to_be_hidden()
        expect(page.locator("#analysis-progress")).to_have_attribute("value", "100")
    finally:
        for model in ("fake-primary", "fake-secondary"):
            stack.fake.configure(model, latency_s=0.0)
    page.reload()  # and after a reload once finished: the same, from the server
    expect(page.locator("#analysis-progress-label")).to_have_text(re.compile("Analysis finished: 6 of 6 sections analysed"))
    expect(page.get_by_role("button", name="Stop analysis")).to_be_hidden()
    assert not errors, errors


SECTIONED = b"""# One

The first part says the refund was late.

# Two

Alpha paragraph of two says the queue had no owner.

Beta paragraph of two names no date for the fix.

# Three

The third part has no customer impact figure.
"""


def test_section_editing_keeps_accepted_feedback_at_390_px(new_page, stack):
    page, errors = new_page(width=390, height=844)
    sign_in(page, stack.url)
    upload(page, "sections.md", SECTIONED)
    analysed(page)
    sections = page.locator("#section-list li")
    expect(sections).to_have_count(3)
    page.locator("#section-list button", has_text="Two").click()
    expect(page.locator("#section-title")).to_have_text("Two")
    accepted = page.locator("#feedback-list li.fb", has_text="Say who owns the fix.")
    item_id = accepted.get_attribute("data-item-id")
    accepted.get_by_role("button", name="Accept").click()
    mark = page.locator(f'li.fb[data-item-id="{item_id}"]')
    expect(mark).to_have_class(re.compile("status-accepted"))

    # Merge One with Two: the accepted item shows in the merged section; then undo.
    page.locator("#section-list button", has_text="One").click()
    page.get_by_role("button", name="Merge with next section").click()
    expect(sections).to_have_count(2)
    expect(page.locator("#section-title")).to_have_text("One")
    expect(page.locator("#section-text")).to_contain_text("Alpha paragraph of two")
    expect(mark).to_have_class(re.compile("status-accepted"))
    expect(page.get_by_role("status").filter(has_text="Merged “Two” into “One”.")).to_be_visible()
    shot(page, "12-merged-390")
    page.get_by_role("button", name="Undo").click()
    expect(sections).to_have_count(3)
    expect(page.locator("#section-undo")).to_contain_text("Undone: merge.")
    page.locator("#section-list button", has_text="Two").click()
    expect(page.locator("#section-title")).to_have_text("Two")
    expect(mark).to_have_class(re.compile("status-accepted"))

    # Split Two where the reviewer clicks: before its second paragraph.
    page.get_by_role("button", name="Split section…").click()
    page.get_by_role("button", name=re.compile("Split here, before paragraph 2: Beta paragraph")).click()
    expect(sections).to_have_count(4)
    expect(page.locator("#section-text")).not_to_contain_text("Beta paragraph")
    expect(mark).to_have_class(re.compile("status-accepted"))  # its quote is in the first paragraph
    expect(page.locator("#section-list li").nth(2)).to_contain_text("Beta paragraph of two")

    # Rename with the keyboard: Escape cancels, Enter saves; the level changes; all reach the server.
    page.get_by_role("button", name="Rename section").click()
    page.get_by_label("Section title").fill("Not this")
    page.get_by_label("Section title").press("Escape")
    expect(page.locator("#section-title")).to_have_text("Two")
    expect(page.get_by_role("button", name="Rename section")).to_be_focused()
    page.keyboard.press("Enter")
    page.get_by_label("Section title").fill("Ownership")
    page.get_by_label("Section title").press("Enter")
    expect(page.locator("#section-title")).to_have_text("Ownership")
    page.get_by_label("Level").select_option("2")
    expect(page.get_by_role("status").filter(has_text="is now level 2")).to_be_visible()
    listed = api_get(page, f"/api/documents/{document_id_of(page)}/sections")["sections"]
    assert [(s["title"], s["level"]) for s in listed] == [("One", 1), ("Ownership", 2), ("Beta paragraph of two names no date for the fix.", 1), ("Three", 1)]
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    assert unnamed_controls(page) == []
    shot(page, "13-sections-390")
    assert not errors, errors
