"""The review state's rules, one example each: section edits and re-analyses never hide a reviewer's
work (the three findings of issue 15), the chat reads live items only, and the API says what a
re-analysis will keep. Real PostgreSQL and Redis; analyses by the offline reviewer, run in-process."""
import pytest

from app import create_app
from app.chat.service import context_block
from app.extensions import db
from app.models import Document, Section
from tests.conftest import _clean, app_config
from tests.review.reviewing import UNLIMITED, Reviewer, check_export, check_items, check_stats


@pytest.fixture
def state_app(database_url, redis_url, tmp_path):
    application = create_app(app_config(database_url, redis_url, tmp_path, **UNLIMITED))
    yield application
    _clean(application, redis_url)


@pytest.fixture
def reviewer(state_app, make_user):
    make_user("rev@example.com")
    return Reviewer(state_app, "rev@example.com")


def _by_quote(items, quote):
    (item,) = [i for i in items if i["quote"] == quote]
    return item


def _check_all(reviewer, document_id, decided):
    items, sections = reviewer.items(document_id), reviewer.sections(document_id)
    check_items(items, sections, decided)
    check_stats(reviewer.stats(document_id), items)
    check_export(reviewer.export(document_id), items, sections)
    return items, sections


def test_merging_two_sections_keeps_the_first_sections_accepted_work(reviewer):
    doc = reviewer.upload()
    summary, findings, _ = (s["id"] for s in doc["sections"])
    reviewer.analyse(doc["id"])
    before = reviewer.items(doc["id"])
    accepted = reviewer.decide(_by_quote(before, "Several customers"), "accept")
    rejected = reviewer.decide(_by_quote(before, "Some orders"), "reject")

    merged = reviewer.edit_section(doc["id"], summary, {"action": "merge_next"})["sections"][0]
    items, sections = _check_all(reviewer, doc["id"], {accepted["id"]: "accepted", rejected["id"]: "rejected"})
    assert {i["id"] for i in items} == {i["id"] for i in before}, "every item is kept"
    moved = _by_quote(items, "Some orders")
    assert moved["section_id"] == summary and merged["text"][moved["quote_start"]:moved["quote_end"]] == "Some orders"
    assert [s["title"] for s in sections] == ["Summary", "Actions"]


def test_splitting_a_section_moves_items_with_their_quotes_and_marks_a_cut_quote_missing(reviewer):
    doc = reviewer.upload()
    findings = doc["sections"][1]["id"]
    reviewer.analyse(doc["id"])
    items = reviewer.items(doc["id"])
    tbd = reviewer.decide(_by_quote(items, "TBD"), "accept")
    across = reviewer.custom(doc["id"], findings, "Lost orders and monitoring belong together.", "the queue.\nMonitoring")
    assert across["verified"]

    head, tail = reviewer.edit_section(doc["id"], findings, {"action": "split", "at": 1})["sections"]
    after, _ = _check_all(reviewer, doc["id"], {tbd["id"]: "accepted", across["id"]: "accepted"})
    assert {i["id"] for i in after} == {i["id"] for i in items} | {across["id"]}
    moved = _by_quote(after, "TBD")
    assert moved["section_id"] == tail["id"] and tail["text"][moved["quote_start"]:moved["quote_end"]] == "TBD"
    cut = _by_quote(after, "the queue.\nMonitoring")
    assert (cut["section_id"], cut["verified"], cut["quote_missing"], cut["quote_start"]) == (head["id"], False, True, None)
    assert _by_quote(after, "will be implemented")["section_id"] == tail["id"]


def test_reanalysing_the_first_half_of_a_split_keeps_the_second_halfs_items(reviewer):
    doc = reviewer.upload()
    findings = doc["sections"][1]["id"]
    reviewer.analyse(doc["id"])
    items = reviewer.items(doc["id"])
    lost = reviewer.decide(_by_quote(items, "Some orders"), "accept")
    across = reviewer.custom(doc["id"], findings, "Lost orders and monitoring belong together.", "the queue.\nMonitoring")
    head, tail = reviewer.edit_section(doc["id"], findings, {"action": "split", "at": 1})["sections"]
    tail_items = {i["id"] for i in reviewer.items(doc["id"]) if i["section_id"] == tail["id"]}
    assert len(tail_items) == 2

    preview = reviewer.section(doc["id"], head["id"]).get("reanalysis")
    started = reviewer.analyse(doc["id"], [head["id"]])

    after = reviewer.items(doc["id"])
    assert tail_items <= {i["id"] for i in after}, "the second half's items stay"
    after, _ = _check_all(reviewer, doc["id"], {lost["id"]: "accepted", across["id"]: "accepted"})
    assert [i["id"] for i in after if i["quote"] == "Some orders"] == [lost["id"]], "no twin of the accepted item"
    kept = _by_quote(after, "the queue.\nMonitoring")
    assert kept["section_id"] == head["id"] and kept["quote_missing"] and not kept["verified"]
    # What the reviewer was told before: two decided items kept (one without its quote), nothing replaced.
    assert preview == {"decided_kept": 2, "undecided_replaced": 0, "quote_missing": 1}
    assert started["jobs"][0]["decided_kept"] == 2 and started["jobs"][0]["undecided_replaced"] == 0


def test_reanalysis_replaces_only_undecided_items(reviewer):
    doc = reviewer.upload()
    actions = doc["sections"][2]["id"]
    reviewer.analyse(doc["id"])
    items = [i for i in reviewer.items(doc["id"]) if i["section_id"] == actions]
    edited = reviewer.edit(items[0], description="Say who rolls it out, and by when.")
    rejected = reviewer.decide(items[1], "reject")
    reverted = reviewer.decide(reviewer.decide(items[2], "accept"), "revert")  # undecided again, with an audit trail
    undecided = [i for i in items[3:]]
    assert reviewer.section(doc["id"], actions)["reanalysis"] == {
        "decided_kept": 2, "undecided_replaced": len(items) - 2, "quote_missing": 0}

    reviewer.analyse(doc["id"], [actions])
    after, _ = _check_all(reviewer, doc["id"], {edited["id"]: "pending", rejected["id"]: "rejected"})
    ids = {i["id"] for i in after}
    assert not ids & {reverted["id"], *(i["id"] for i in undecided)}, "undecided items are replaced"
    assert len([i for i in after if i["section_id"] == actions]) == len(items)
    stale = reviewer._send("post", f"/api/feedback/{reverted['id']}/decision", (409,), json={"decision": "accept", "version": reverted["version"]})
    assert stale["error"]["code"] == "item_superseded"


def test_chat_reads_only_the_live_items(reviewer, state_app):
    doc = reviewer.upload()
    summary = doc["sections"][0]["id"]
    reviewer.analyse(doc["id"], [summary])
    reviewer.analyse(doc["id"], [summary])
    live = [i for i in reviewer.items(doc["id"]) if i["section_id"] == summary]
    with state_app.app_context():
        block = context_block(db.session, db.session.get(Document, doc["id"]), db.session.get(Section, summary))
    assert sum(line.startswith("- [") for line in block.split("\n")) == len(live)


def test_rename_and_change_level_keep_everything(reviewer):
    doc = reviewer.upload()
    findings = doc["sections"][1]["id"]
    reviewer.analyse(doc["id"])
    items = reviewer.items(doc["id"])
    accepted = reviewer.decide(items[0], "accept")
    assert reviewer.edit_section(doc["id"], findings, {"title": "What we found"})["sections"][0]["title"] == "What we found"
    assert reviewer.edit_section(doc["id"], findings, {"level": 2})["sections"][0]["level"] == 2
    assert reviewer.edit_section(doc["id"], findings, {"action": "change_level", "level": 3})["sections"][0]["level"] == 3
    for bad in (0, 10, "2", True, None):
        error = reviewer.edit_section(doc["id"], findings, {"action": "change_level", "level": bad}, expect=(422,))
        assert error["error"]["code"] == "invalid_level"
    after, _ = _check_all(reviewer, doc["id"], {accepted["id"]: "accepted"})
    assert [i["id"] for i in after] == [i["id"] for i in items]


def test_deleting_a_reviewed_document_removes_every_row(reviewer, state_app):
    """Sections and analyses refer to each other (current_analysis_id); deleting still cascades."""
    from sqlalchemy import func, select

    from app.models import Analysis, FeedbackItem

    doc = reviewer.upload()
    reviewer.analyse(doc["id"])
    reviewer.edit_section(doc["id"], doc["sections"][0]["id"], {"action": "merge_next"})
    reviewer.analyse(doc["id"])
    reviewer._send("delete", f"/api/documents/{doc['id']}")
    with state_app.app_context():
        assert [db.session.scalar(select(func.count()).select_from(m)) for m in (Section, Analysis, FeedbackItem)] == [0, 0, 0]


def test_a_merge_made_while_the_model_answers_lands_the_results_on_the_merged_section(reviewer, state_app, monkeypatch):
    """The reviewer merges the section into the one before it while its analysis is running: the
    results are written to the merged section (its row locked first), checked against the merged
    text, the analysis is marked stale, and no decided item is lost."""
    import threading

    from app.review import service

    doc = reviewer.upload()
    summary, findings, _ = (s["id"] for s in doc["sections"])
    reviewer.analyse(doc["id"])
    items = reviewer.items(doc["id"])
    accepted = reviewer.decide(_by_quote(items, "Several customers"), "accept")
    (job,) = reviewer._send("post", f"/api/documents/{doc['id']}/analyses", (202,), json={"section_ids": [findings], "confirm": True})["jobs"]
    real = service._lock_for_results

    def merge_first(session, analysis_id):
        # Another request, on its own connection, while this job holds the model's answer.
        worker = threading.Thread(target=reviewer.edit_section, args=(doc["id"], summary, {"action": "merge_next"}))
        worker.start()
        worker.join(10)
        return real(session, analysis_id)

    monkeypatch.setattr(service, "_lock_for_results", merge_first)
    with state_app.app_context():
        try:
            assert service.run_analysis(db.session, state_app.extensions["redis"], state_app.extensions["model_chain"], job["id"]) == "completed"
        finally:
            db.session.remove()
    monkeypatch.undo()
    after, sections = _check_all(reviewer, doc["id"], {accepted["id"]: "accepted"})
    analysis = reviewer._send("get", f"/api/jobs/{job['id']}")
    assert analysis["section_id"] == summary and analysis["stale"] is True
    assert {i["section_id"] for i in after} <= {s["id"] for s in sections}
    assert [i["id"] for i in after if i["quote"] == "Several customers"] == [accepted["id"]]
    assert len([i for i in after if i["quote"] == "Some orders"]) == 1, "the re-analysed finding replaced its old copy once"
