"""Idempotency keys, the confirmation before analysing finished sections again, and the review events
every open tab receives; real PostgreSQL and Redis, no browser."""
from __future__ import annotations

import io
import json
import threading
import time

import pytest
from flask import jsonify
from flask_login import current_user, login_required
from sqlalchemy import func, select

from app import create_app
from app.events import channel
from app.extensions import db
from app.idempotency import idempotent
from app.models import Analysis, FeedbackItem, Section
from app.review import state
from tests.conftest import _clean, app_config, login
from tests.documents.corpus import headed_sections


@pytest.fixture
def counted_app(database_url, redis_url, tmp_path):
    """The app plus one idempotent test route that counts its runs and takes a while to answer."""
    application = create_app(app_config(database_url, redis_url, tmp_path))
    runs = []

    @application.post("/api/test/idempotent")
    @login_required
    @idempotent
    def counted():
        runs.append(current_user.id)
        time.sleep(application.view_delay)  # long enough for a concurrent repeat to arrive while this is in flight
        return jsonify({"run": len(runs), "user": current_user.id}), 201

    application.runs = runs
    application.view_delay = 0.3
    yield application
    _clean(application, redis_url)


def signed_in_client(app, make_user, email):
    make_user(email)
    client = app.test_client()
    client.csrf = login(client, email).get_json()["csrf_token"]
    return client


def post(client, path, key=None, body=None):
    headers = {"X-CSRFToken": client.csrf}
    if key is not None:
        headers["Idempotency-Key"] = key
    return client.post(path, json=body if body is not None else {}, headers=headers)


def test_a_repeat_gets_the_first_answer_and_runs_nothing(counted_app, make_user):
    client = signed_in_client(counted_app, make_user, "ann@example.com")
    first = post(client, "/api/test/idempotent", "click-1")
    again = post(client, "/api/test/idempotent", "click-1")
    assert first.status_code == again.status_code == 201
    assert again.get_json() == first.get_json() == {"run": 1, "user": 1}
    assert again.headers["Idempotent-Replayed"] == "true" and "Idempotent-Replayed" not in first.headers
    assert post(client, "/api/test/idempotent", "click-2").get_json()["run"] == 2  # a new click runs again
    assert post(client, "/api/test/idempotent").get_json()["run"] == 3  # no key: no idempotency
    reused = post(client, "/api/test/idempotent", "click-1", {"other": "body"})
    assert reused.status_code == 422 and reused.get_json()["error"]["code"] == "idempotency_key_reused"
    bad = post(client, "/api/test/idempotent", "no spaces allowed")
    assert bad.status_code == 400 and bad.get_json()["error"]["code"] == "invalid_idempotency_key"
    assert len(counted_app.runs) == 3


def test_concurrent_repeats_start_nothing_twice(counted_app, make_user):
    clients = [signed_in_client(counted_app, make_user, "ann@example.com")]
    for _ in range(5):  # the same user in other tabs (own sessions), all sending the same key at once
        other = counted_app.test_client()
        other.csrf = login(other, "ann@example.com").get_json()["csrf_token"]
        clients.append(other)
    barrier = threading.Barrier(len(clients))
    answers = []

    def send(client):
        barrier.wait()
        answers.append(post(client, "/api/test/idempotent", "double-click"))

    threads = [threading.Thread(target=send, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(counted_app.runs) == 1
    assert [a.status_code for a in answers] == [201] * len(clients)
    assert all(a.get_json() == {"run": 1, "user": 1} for a in answers)


def test_different_users_do_not_share_keys(counted_app, make_user):
    ann = signed_in_client(counted_app, make_user, "ann@example.com")
    bob = signed_in_client(counted_app, make_user, "bob@example.com")
    assert post(ann, "/api/test/idempotent", "same-key").get_json() == {"run": 1, "user": 1}
    assert post(bob, "/api/test/idempotent", "same-key").get_json() == {"run": 2, "user": 2}
    assert counted_app.runs == [1, 2]


def test_a_failed_first_request_frees_its_key(app, make_user):
    client = signed_in_client(app, make_user, "ann@example.com")
    missing = post(client, "/api/documents/999/analyses", "k-1")
    assert missing.status_code == 404
    document = upload(client, 2)
    # The same key on another path is another request.
    assert post(client, f"/api/documents/{document['id']}/analyses", "k-1").status_code == 202


def upload(client, sections=3):
    data = headed_sections(sections, lambda i: f"Part {i + 1} says the refund was late. Nobody called back.")
    response = client.post("/api/documents", data={"file": (io.BytesIO(data), "case.docx")},
                           content_type="multipart/form-data", headers={"X-CSRFToken": client.csrf})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def analysis_count(app, document_id):
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Analysis).where(Analysis.document_id == document_id))


def test_analyse_all_with_a_key_creates_one_set_even_when_sent_together(app, make_user):
    ann = signed_in_client(app, make_user, "ann@example.com")
    clients = [ann] + [app.test_client() for _ in range(3)]
    for other in clients[1:]:
        other.csrf = login(other, "ann@example.com").get_json()["csrf_token"]
    document = upload(ann, 8)
    barrier = threading.Barrier(len(clients))
    answers = []

    def send(client):
        barrier.wait()
        answers.append(post(client, f"/api/documents/{document['id']}/analyses", "analyse-all-1"))

    threads = [threading.Thread(target=send, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert {a.status_code for a in answers} == {202}
    assert len({json.dumps(a.get_json(), sort_keys=True) for a in answers}) == 1
    assert analysis_count(app, document["id"]) == 8


def complete_with_items(app, document):
    """Each section's analysis completed, with a pending, an accepted and a rejected model item, and
    one reviewer's own item on the first section."""
    with app.app_context():
        for section in document["sections"]:
            analysis = Analysis(document_id=document["id"], section_id=section["id"], status="completed", progress=1.0)
            db.session.add(analysis)
            db.session.flush()
            state.make_current(db.session.get(Section, section["id"]), analysis)  # the section's current analysis
            for status in ("pending", "accepted", "rejected"):
                db.session.add(FeedbackItem(document_id=document["id"], section_id=section["id"], analysis_id=analysis.id,
                                            source="ai", type="important", description=f"An {status} item.",
                                            risk_level="Medium", confidence=0.9, status=status))
        first = document["sections"][0]["id"]
        db.session.add(FeedbackItem(document_id=document["id"], section_id=first, source="custom", type="suggestion",
                                    description="Mine.", risk_level="Low", confidence=1.0, status="accepted"))
        db.session.commit()


def test_analysing_completed_sections_again_needs_confirmation(app, make_user):
    client = signed_in_client(app, make_user, "ann@example.com")
    document = upload(client, 3)
    sections = [s["id"] for s in document["sections"]]
    complete_with_items(app, document)
    path = f"/api/documents/{document['id']}/analyses"

    refused = post(client, path)
    assert refused.status_code == 409
    error = refused.get_json()["error"]
    assert error["code"] == "confirm_required" and "keeps every item already decided" in error["message"]
    assert error["sections"] == sections
    assert error["kept"] == {"decided": 6, "custom": 1} and error["replaced"] == {"pending": 3}
    one = post(client, path, body={"section_ids": [sections[1]]}).get_json()["error"]
    assert one["sections"] == [sections[1]] and one["kept"] == {"decided": 2, "custom": 0} and one["replaced"] == {"pending": 1}
    assert analysis_count(app, document["id"]) == 3  # nothing started

    confirmed = post(client, path, body={"section_ids": [sections[1]], "confirm": True})
    assert confirmed.status_code == 202 and [j["section_id"] for j in confirmed.get_json()["jobs"]] == [sections[1]]
    assert analysis_count(app, document["id"]) == 4
    # A section whose current analysis is not completed (queued now) needs no confirmation.
    assert post(client, path, body={"section_ids": [sections[1]]}).status_code == 202
    assert analysis_count(app, document["id"]) == 4
    # A refusal does not use up the key: the confirmed request may follow with it.
    assert post(client, path, "k-confirm", {"section_ids": [sections[0]]}).status_code == 409
    assert post(client, path, "k-confirm", {"section_ids": [sections[0]], "confirm": True}).status_code == 202


class Listener:
    """The document's event channel, read on a thread like a browser tab would."""

    def __init__(self, app, document_id):
        self.pubsub = app.extensions["redis"].pubsub(ignore_subscribe_messages=True)
        self.pubsub.subscribe(channel(app.extensions["redis"], document_id))
        self.pubsub.get_message(timeout=1)

    def next(self, event_type, timeout=5.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            message = self.pubsub.get_message(timeout=0.2)
            if message:
                payload = json.loads(message["data"])
                if payload["type"] == event_type:
                    return payload["data"]
        raise AssertionError(f"no {event_type} event")


def test_decisions_edits_custom_items_and_section_edits_are_published(app, make_user):
    client = signed_in_client(app, make_user, "ann@example.com")
    document = upload(client, 3)
    complete_with_items(app, document)
    listener = Listener(app, document["id"])
    h = {"X-CSRFToken": client.csrf}
    items = client.get(f"/api/documents/{document['id']}/feedback?min_confidence=0").get_json()["items"]
    pending = next(i for i in items if i["status"] == "pending")

    client.post(f"/api/feedback/{pending['id']}/decision", json={"decision": "accept", "version": pending["version"]}, headers=h)
    event = listener.next("item")
    assert event["items"][0]["id"] == pending["id"] and event["items"][0]["status"] == "accepted" and event["by"] == 1
    client.patch(f"/api/feedback/{pending['id']}", json={"description": "Better words.", "version": pending["version"] + 1}, headers=h)
    assert listener.next("item")["items"][0]["description"] == "Better words."
    stale = client.patch(f"/api/feedback/{pending['id']}", json={"description": "Lost.", "version": pending["version"]}, headers=h)
    assert stale.status_code == 409
    section = document["sections"][0]
    client.post(f"/api/documents/{document['id']}/feedback", json={"section_id": section["id"], "description": "Own."}, headers=h)
    assert listener.next("item")["items"][0]["source"] == "custom"  # the 409 above published nothing
    client.post(f"/api/documents/{document['id']}/feedback/decisions", json={"decision": "reject"}, headers=h)
    assert len(listener.next("item")["items"]) == 11

    base = f"/api/documents/{document['id']}/sections/{section['id']}"
    assert client.patch(base, json={"title": "Renamed"}, headers=h).status_code == 200
    assert listener.next("sections") == {"action": "rename", "section_ids": [section["id"]], "by": 1}
    levelled = client.patch(base, json={"level": 3}, headers=h)
    assert levelled.status_code == 200 and levelled.get_json()["sections"][0]["level"] == 3
    assert listener.next("sections")["action"] == "change_level"
    for bad in (0, 10, "2", True, None):
        refused = client.patch(base, json={"level": bad}, headers=h)
        assert refused.status_code == 422 and refused.get_json()["error"]["code"] == "invalid_level"
    assert client.patch(base, json={"action": "merge_next"}, headers=h).status_code == 200
    assert listener.next("sections")["action"] == "merge_next"
    listener.pubsub.close()


def test_events_stay_within_their_redis_database(app, redis_url):
    """Pub/sub ignores database numbers: a deployment on database 6 must not hear one on database 7."""
    import redis as redis_lib

    from app import events

    here = app.extensions["redis"]
    hub = app.extensions["event_hub"]
    other = redis_lib.Redis.from_url(redis_url.rsplit("/", 1)[0] + f"/{(events.database_number(here) + 1) % 16}")
    subscription = hub.open(9001, 42)
    stream = events.stream(hub, subscription, {"analyses": []}, events.StreamLimits(max_s=3))
    try:
        next(stream)
        events.publish(other, 42, "analysis", {"id": 1, "status": "from another deployment"})
        events.publish(here, 42, "analysis", {"id": 2, "status": "ours"})
        following = next(stream)
    finally:
        stream.close()
        hub.close(subscription)
    assert '"ours"' in following and "another deployment" not in following


def test_an_event_published_right_after_subscribing_reaches_the_stream(app):
    """The view subscribes, then reads the snapshot: an event published in between is delivered after
    the snapshot, never lost (the hub is connected only once Redis confirmed its subscriptions)."""
    from app import events

    redis = app.extensions["redis"]
    hub = app.extensions["event_hub"]
    subscription = hub.open(9002, 43)
    events.publish(redis, 43, "analysis", {"id": 7, "status": "completed"})  # finishes while the snapshot is read
    stream = events.stream(hub, subscription, {"analyses": []}, events.StreamLimits(max_s=3))
    try:
        assert "event: snapshot" in next(stream)
        following = next(stream)
    finally:
        stream.close()
        hub.close(subscription)
    assert "event: analysis" in following and '"completed"' in following


def test_export_with_a_key_is_started_once(app, make_user):
    from app.models import Export

    client = signed_in_client(app, make_user, "ann@example.com")
    document = upload(client, 2)
    path = f"/api/documents/{document['id']}/exports"
    first = post(client, path, "export-click-1", {"formats": ["json"]})
    again = post(client, path, "export-click-1", {"formats": ["json"]})
    assert first.status_code == again.status_code == 202
    assert again.get_json()["id"] == first.get_json()["id"] and again.headers["Idempotent-Replayed"] == "true"
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Export)) == 1
    assert post(client, path, "export-click-2", {"formats": ["json"]}).get_json()["id"] != first.get_json()["id"]


def test_any_sequence_of_keys_runs_once_per_key(counted_app, make_user):
    """Property: whatever order keys are repeated in, the view runs once per distinct key and every
    repeat gets exactly the answer the key's first request got."""
    import uuid

    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    client = signed_in_client(counted_app, make_user, "ann@example.com")
    counted_app.view_delay = 0  # sequential here; concurrency has its own test

    @settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(st.lists(st.sampled_from("abcde"), min_size=1, max_size=8))
    def check(keys):
        prefix = uuid.uuid4().hex  # keys live 60 s in Redis: each example uses its own
        before = len(counted_app.runs)
        first_answer = {}
        for key in keys:
            answer = post(client, "/api/test/idempotent", f"{prefix}-{key}").get_json()
            assert first_answer.setdefault(key, answer) == answer
        assert len(counted_app.runs) - before == len(set(keys))

    check()
