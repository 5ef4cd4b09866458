"""Property, on the real PostgreSQL: whatever reviewers and re-runs do to a revision check (overrides
in any order, a second preparation, the check failed and run again), it follows each v1 item once, a
status the check gave is kept beside any override, every override is one audit event, the summary
adds up, and an export carries exactly the open and partly addressed items, each on its v2 words."""
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from app.extensions import db
from app.models import Document, ReviewEvent, RevisionCheck, RevisionItem, Section, User
from app.review import revision
from app.review.state import revisions
from tests.conftest import login
from tests.revision.builders import QUOTES, V1, V2, accepted_items, build, upload

STATUSES = ("open", "addressed", "partly", "quote_gone")
OPERATIONS = st.lists(st.one_of(
    st.tuples(st.just("override"), st.integers(0, len(QUOTES) - 1), st.sampled_from(STATUSES + ("bogus",))),
    st.tuples(st.just("prepare")),
    st.tuples(st.just("rerun")),
), min_size=1, max_size=8)


def test_revision_state_invariants(app, make_user):
    make_user("prop@example.com")
    client = app.test_client()
    client.csrf = login(client, "prop@example.com").get_json()["csrf_token"]
    v1 = upload(client, build(V1), "case.docx")
    accepted_items(app, client, v1["id"])
    v2 = upload(client, build(V2), "case v2.docx", path=f"/api/documents/{v1['id']}/versions")
    redis = app.extensions["redis"]
    with app.app_context():
        check_id = db.session.scalars(select(RevisionCheck.id)).one()
        assert revision.run_check(db.session, redis, app.extensions["model_chain"], check_id) == "completed"
        checked = {row.item_id: row.status for row in db.session.scalars(select(RevisionItem))}
    applied = {"overrides": 0}

    @settings(max_examples=25, deadline=None, derandomize=True,
              suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
    @given(OPERATIONS)
    def run(operations):
        with app.app_context():
            user = db.session.scalars(select(User)).one()
            item_ids = sorted(checked)
            for operation in operations:
                check = db.session.get(RevisionCheck, check_id, populate_existing=True)
                if operation[0] == "override":
                    try:
                        revisions.override(db.session, check, item_ids[operation[1]], operation[2], "why", user)
                        applied["overrides"] += 1
                    except revisions.RevisionError as exc:
                        db.session.rollback()
                        assert operation[2] == "bogus" and exc.status == 400
                elif operation[0] == "prepare":
                    assert revisions.prepare(db.session, check) is False  # made once, never again
                else:
                    check.status = "failed"
                    db.session.commit()
                    revision.start_check(db.session, redis, db.session.get(Document, v2["id"]), user)
                    assert revision.run_check(db.session, redis, app.extensions["model_chain"], check_id) == "completed"
                _invariants(check_id, checked, applied["overrides"])

    run()


def _invariants(check_id, checked, overrides):
    rows = list(db.session.scalars(select(RevisionItem).where(RevisionItem.check_id == check_id)
                                   .execution_options(populate_existing=True)))
    assert sorted(r.item_id for r in rows) == sorted(checked)  # each followed item once
    for row in rows:
        assert row.status in STATUSES
        if row.overridden_by is not None:
            assert row.checked_status == checked[row.item_id] and row.judged_by == "reviewer"
        else:
            assert row.status == checked[row.item_id] and row.checked_status is None
    assert db.session.scalar(select(func.count()).select_from(ReviewEvent)
                             .where(ReviewEvent.action == "revision_override")) == overrides
    summary = revisions.summary(rows)
    assert sum(summary.values()) == len(rows) and summary["unjudged"] == 0
    check = db.session.get(RevisionCheck, check_id)
    carried = revisions.carried_items(db.session, check.document_id)
    assert sorted(c.id for c in carried) == sorted(r.item_id for r in rows if r.status in ("open", "partly"))
    for item in carried:
        if item.verified:
            section = db.session.get(Section, item.section_id)
            assert section.document_id == check.document_id
            assert section.text[item.quote_start:item.quote_end] == item.quote
