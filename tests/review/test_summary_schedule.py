"""Property of the summary's scheduling (app/review/summary.py) on the real PostgreSQL and Redis, with
the offline reviewer: whatever the order of asks (settles and decisions, from any process) and job
runs within one refresh interval, at most one summary job waits per document, at most one run writes
a summary, every other run is postponed to the turn's end with one job, and the row's run count is
the number of runs that wrote one. Derandomised: the same sequences every run."""
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, select

from app.extensions import db
from app.models import Analysis, DocumentSummary
from app.review import service
from app.review import summary as summaries
from tests.conftest import login
from tests.documents.corpus import headed_sections
from tests.review.test_analysis import analyse, upload

pytestmark = pytest.mark.slow
INTERVAL = 600  # no turn ends during an example


def _waiting_jobs(redis, document_id) -> list[str]:
    """Summary jobs of the document not yet run: in the fair queue's lists or its deferred set."""
    from app import fair_queue

    ids = []
    for key in redis.keys(fair_queue.USER_KEY + "*"):
        ids += [i.decode() for i in redis.lrange(key, 0, -1)]
    ids += [m.decode().split("|", 1)[1] for m in redis.zrange(fair_queue.LATER_KEY, 0, -1)]
    return [i for i in ids if i.startswith(f"summary-{document_id}-")]


def _take(redis, job_id: str) -> None:
    from app import fair_queue

    for key in redis.keys(fair_queue.USER_KEY + "*"):
        redis.lrem(key, 0, job_id)
    for member in redis.zrange(fair_queue.LATER_KEY, 0, -1):
        if member.decode().endswith("|" + job_id):
            redis.zrem(fair_queue.LATER_KEY, member)


@pytest.fixture
def analysed(app, make_user):
    make_user("ann@example.com")
    client = app.test_client()
    client.csrf = login(client, "ann@example.com").get_json()["csrf_token"]
    document = upload(client, data=headed_sections(2, lambda i: f"Case {i}: the owner is TBD."))
    assert analyse(client, document["id"]).status_code == 202
    with app.app_context():
        for analysis_id in db.session.scalars(select(Analysis.id).where(Analysis.document_id == document["id"])):
            assert service.run_analysis(db.session, app.extensions["redis"], app.extensions["model_chain"], analysis_id) == "completed"
    return document["id"]


@settings(max_examples=30, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(st.lists(st.sampled_from(["ask", "decision", "run"]), min_size=1, max_size=12))
def test_one_waiting_job_and_one_run_per_interval(app, analysed, steps):
    redis = app.extensions["redis"]
    with app.app_context():
        redis.delete(summaries.TURN_KEY.format(id=analysed), summaries.PENDING_KEY.format(id=analysed))
        from app import fair_queue

        for key in redis.keys(fair_queue.PREFIX + "*"):
            redis.delete(key)
        db.session.execute(delete(DocumentSummary))
        db.session.commit()
        outcomes = []
        for step in steps:
            if step == "ask":
                summaries.request_summary(redis, analysed, None, interval_s=INTERVAL)
            elif step == "decision":
                summaries.after_decisions(db.session, redis, analysed)
            else:  # a worker takes the waiting job (or, with none waiting, a duplicate delivery) and runs it
                for job_id in _waiting_jobs(redis, analysed):
                    _take(redis, job_id)
                outcomes.append(summaries.run_summary(db.session, redis, app.extensions["model_chain"], analysed, interval_s=INTERVAL))
            waiting = _waiting_jobs(redis, analysed)
            assert len(waiting) <= 1, waiting
            assert bool(waiting) == bool(redis.exists(summaries.PENDING_KEY.format(id=analysed)))
        assert outcomes.count("completed") <= 1 and set(outcomes) <= {"completed", "postponed"}
        if "completed" in outcomes:
            assert all(o == "postponed" for o in outcomes[outcomes.index("completed") + 1:])
            assert 0 < redis.pttl(summaries.TURN_KEY.format(id=analysed)) <= INTERVAL * 1000
        if "postponed" in outcomes[outcomes.index("completed") + 1 if "completed" in outcomes else len(outcomes):]:
            assert len(_waiting_jobs(redis, analysed)) == 1  # the postponed run comes back when the turn frees
        row = db.session.scalars(select(DocumentSummary).where(DocumentSummary.document_id == analysed)).one_or_none()
        assert (row.runs if row else 0) == outcomes.count("completed")
        if row is not None:
            assert row.state == "completed" and row.model_id == "offline-rules"
