"""What one upload, one analysis and one user may ask of the workers and the models: MAX_SECTIONS,
MAX_CHUNKS_PER_ANALYSIS and MAX_QUEUED_ANALYSES_PER_USER, on real PostgreSQL, Redis and the fake
Bedrock."""
import io

import docx
import pytest
from sqlalchemy import func, select

from app import create_app
from app.documents.builder import ExtractedSection, cap_sections
from app.extensions import db
from app.jobs import queue_depths
from app.models import Analysis, Section
from tests.conftest import _clean, app_config, login
from tests.documents.corpus import headed_sections, save


def _client(app, make_user, email="rev@example.com"):
    make_user(email)
    client = app.test_client()
    client.csrf = login(client, email).get_json()["csrf_token"]
    return client


def _upload(client, data: bytes, name="case.docx"):
    return client.post("/api/documents", data={"file": (io.BytesIO(data), name)},
                       content_type="multipart/form-data", headers={"X-CSRFToken": client.csrf})


def _analyse(client, document_id, body=None):
    return client.post(f"/api/documents/{document_id}/analyses", json=body or {}, headers={"X-CSRFToken": client.csrf})


@pytest.fixture
def configured(database_url, redis_url, tmp_path):
    """An app with the given settings: configured(MAX_SECTIONS=40)."""
    made = []

    def make(**settings):
        application = create_app(app_config(database_url, redis_url, tmp_path, **settings))
        made.append(application)
        return application

    yield make
    for application in made:
        _clean(application, redis_url)


# ------------------------------------------------------------------------------ MAX_SECTIONS
def _paragraph_bodies(count):
    return [f"Body of finding {i + 1}: the seller shipped order {i + 1} late." for i in range(count)]


@pytest.mark.parametrize("cap, headings", [(40, 130), (None, 2100)])  # None: the default, 2,000
def test_a_docx_with_more_headings_than_max_sections_keeps_every_word_in_a_merged_tail(configured, make_user, cap, headings):
    app = configured(**({"MAX_SECTIONS": cap} if cap else {}))
    cap = app.config["MAX_SECTIONS"]
    bodies = _paragraph_bodies(headings)
    client = _client(app, make_user)
    response = _upload(client, headed_sections(headings, lambda i: bodies[i]))
    assert response.status_code == 201, response.get_json()
    document = response.get_json()
    assert len(document["sections"]) == cap
    tail = document["sections"][-1]
    assert tail["detection"] == "merged_tail" and tail["title"] == f"Remaining text (sections {cap} to {headings}, merged)"
    (notice,) = document["notices"]
    assert notice["code"] == "sections_merged" and notice["section_id"] == tail["id"] and "No text was left out" in notice["message"]
    assert client.get(f"/api/documents/{document['id']}").get_json()["notices"] == [notice]  # the detail says so too
    with app.app_context():
        texts = db.session.scalars(select(Section.text).where(Section.document_id == document["id"]).order_by(Section.position)).all()
    # Every body once, in order; the merged titles are lines of the tail's text.
    joined = "\n".join(texts)
    positions = [joined.index(body) for body in bodies]
    assert positions == sorted(positions) and all(joined.count(body) == 1 for body in bodies)
    assert texts[-1].startswith(f"Finding {cap}\n{bodies[cap - 1]}\nFinding {cap + 1}\n")


def test_under_the_cap_nothing_is_merged(configured, make_user):
    app = configured(MAX_SECTIONS=40)
    client = _client(app, make_user)
    document = _upload(client, headed_sections(40, lambda i: f"Body {i}.")).get_json()
    assert len(document["sections"]) == 40 and document["notices"] == []
    assert {s["detection"] for s in document["sections"]} != {"merged_tail"}


def test_merged_tail_anchors_point_at_their_text():
    sections = []
    for i in range(6):
        section = ExtractedSection(f"Title {i}", 1, "heading_style", anchors=[[10 * i, -1, 0]])
        first, second = f"first paragraph {i}", f"second paragraph {i}"
        section.text = f"{first}\n{second}"
        section.anchors += [[10 * i + 1, 0, len(first)], [10 * i + 2, len(first) + 1, len(second)]]
        sections.append(section)
    capped = cap_sections(sections, 3)
    assert [s.title for s in capped[:2]] == ["Title 0", "Title 1"] and len(capped) == 3
    tail = capped[-1]
    for block, start, length in tail.anchors:
        if start >= 0:
            i, which = divmod(block, 10)
            assert tail.text[start:start + length] == f"{'first' if which == 1 else 'second'} paragraph {i}"
    assert [b for b, s, _ in tail.anchors if s < 0] == [20, 30, 40, 50]  # the merged headings, unanchored
    assert cap_sections(sections, 6) is sections


# ------------------------------------------------------------------------------ the chunk budget
def test_a_huge_section_is_reviewed_on_its_first_chunks_and_the_job_says_so(database_url, redis_url, tmp_path, bedrock_settings, fake, make_user):
    from workers.tasks import analyse_section

    app = create_app(app_config(database_url, redis_url, tmp_path, **bedrock_settings, MAX_CHUNKS_PER_ANALYSIS=3))
    try:
        client = _client(app, make_user)
        text = "FINDINGS\n\n" + "The seller shipped the order late and nobody followed up. " * 8000  # ~470,000 characters
        document = _upload(client, text.encode(), name="huge.txt").get_json()
        (job,) = _analyse(client, document["id"]).get_json()["jobs"]
        fake.reset()
        with app.app_context():
            assert analyse_section(job["id"]) == "completed"
        calls = len(fake.requests)
        assert calls == 3, calls  # one per budgeted chunk, not one per 12,000 characters (about 40)
        status = client.get(f"/api/jobs/{job['id']}").get_json()
        assert status["status"] == "completed" and status["chunks"] == 3 and status["chunks_total"] >= 38
        assert status["notice"].startswith(f"This section is too long to review whole: only the first 3 of its {status['chunks_total']} parts")
    finally:
        _clean(app, redis_url)


def test_a_section_within_the_budget_has_no_notice(bedrock_app, make_user, fake):
    from workers.tasks import analyse_section

    client = _client(bedrock_app, make_user)
    document = _upload(client, headed_sections(1, lambda i: "The seller shipped late.")).get_json()
    (job,) = _analyse(client, document["id"]).get_json()["jobs"]
    with bedrock_app.app_context():
        assert analyse_section(job["id"]) == "completed"
    status = client.get(f"/api/jobs/{job['id']}").get_json()
    assert status["chunks"] == status["chunks_total"] == 1 and status["notice"] is None


# ------------------------------------------------------------------------------ the per-user cap
def test_past_the_per_user_cap_analyses_answer_429_and_create_nothing(configured, make_user):
    app = configured(MAX_QUEUED_ANALYSES_PER_USER=5)
    client = _client(app, make_user)
    first = _upload(client, headed_sections(4, lambda i: f"Finding {i} text."), "one.docx").get_json()
    second = _upload(client, headed_sections(3, lambda i: f"Other {i} text."), "two.docx").get_json()
    assert _analyse(client, first["id"]).status_code == 202
    assert _analyse(client, first["id"]).status_code == 202  # a second click asks for nothing new

    def state():
        with app.app_context():
            return (db.session.scalar(select(func.count()).select_from(Analysis)), queue_depths(app.extensions["redis"]))

    before = state()
    refused = _analyse(client, second["id"])
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 1
    error = refused.get_json()["error"]
    assert error["code"] == "too_many_queued_analyses" and error["in_flight"] == 4 and error["asked"] == 3 and error["limit"] == 5
    assert "Nothing was started" in error["message"]
    assert state() == before  # no row, no job
    one = _analyse(client, second["id"], {"section_ids": [second["sections"][0]["id"]]})
    assert one.status_code == 202  # 4 + 1 is within the cap

    other = _client(app, make_user, "other@example.com")  # the cap is per user
    theirs = _upload(other, headed_sections(3, lambda i: f"Theirs {i}."), "three.docx").get_json()
    assert _analyse(other, theirs["id"]).status_code == 202


def test_finished_analyses_free_room_under_the_cap(configured, make_user):
    from sqlalchemy import update

    app = configured(MAX_QUEUED_ANALYSES_PER_USER=3)
    client = _client(app, make_user)
    document = _upload(client, headed_sections(3, lambda i: f"Finding {i} text.")).get_json()
    assert _analyse(client, document["id"]).status_code == 202
    assert _analyse(client, document["id"], {"section_ids": []}).status_code == 202
    with app.app_context():
        db.session.execute(update(Analysis).values(status="completed"))
        db.session.commit()
    # Analysing completed sections again needs the reviewer's confirmation; then the cap has room.
    assert _analyse(client, document["id"], {"confirm": True}).status_code == 202


# ------------------------------------------------------------------------------ the estimate
def test_the_document_detail_estimates_the_model_calls_of_analysing_every_section(configured, make_user):
    app = configured(MAX_CHUNKS_PER_ANALYSIS=3)
    client = _client(app, make_user)
    small = _upload(client, headed_sections(3, lambda i: f"Finding {i} text.")).get_json()
    assert small["analysis_estimate"] == {"sections": 3, "model_calls": 3, "max_chunks_per_analysis": 3,
                                          "sections_cut_short": 0, "confirm": False}
    long_text = "The seller shipped the order late and nobody followed up. " * 800  # about 4 chunks
    big = _upload(client, headed_sections(60, lambda i: long_text if i == 0 else f"Finding {i} text.")).get_json()
    estimate = client.get(f"/api/documents/{big['id']}").get_json()["analysis_estimate"]
    assert estimate == {"sections": 60, "model_calls": 59 + 3, "max_chunks_per_analysis": 3,
                        "sections_cut_short": 1, "confirm": True}


def test_a_split_cannot_take_a_document_past_max_sections(configured, make_user):
    app = configured(MAX_SECTIONS=3)
    client = _client(app, make_user)
    source = docx.Document()
    for i in range(2):
        source.add_heading(f"Finding {i}", 1)
        source.add_paragraph(f"First paragraph {i}.")
        source.add_paragraph(f"Second paragraph {i}.")
    document = _upload(client, save(source)).get_json()

    def split(section):
        return client.patch(f"/api/documents/{document['id']}/sections/{section['id']}", json={"action": "split", "at": 1},
                            headers={"X-CSRFToken": client.csrf})

    assert split(document["sections"][0]).status_code == 200  # 3 sections now
    refused = split(document["sections"][1])
    assert refused.status_code == 422 and refused.get_json()["error"]["code"] == "too_many_sections"
    assert len(client.get(f"/api/documents/{document['id']}").get_json()["sections"]) == 3
