"""The per-process event listener on real Redis: fan-out to every stream of a document, a stream that
stops reading dropped without stopping the listener or the others, the cap's leases given back."""
import json
import time

import pytest

from app.event_hub import EventHub
from app.events import StreamLimits, channel, stream
from app.stream_leases import StreamLeases


@pytest.fixture
def hub(app):
    events_redis = app.extensions["redis_events"]
    made = EventHub(app.extensions["event_hub"].listener_client, StreamLeases(events_redis, cap=3, lease_s=30), queue_size=2)
    yield made
    made.stop()


def publish(app, document_id, marker):
    client = app.extensions["redis"]
    client.publish(channel(client, document_id), json.dumps({"type": "document", "data": {"marker": marker}}))


def wait_for(sub, timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        item = sub.next(timeout=0.2)
        if item is not None:
            return item
    return None


def test_a_stream_that_stops_reading_is_dropped_and_the_others_go_on(app, hub):
    slow, quick = hub.open(1, 42), hub.open(2, 42)
    other_document = hub.open(3, 43)
    for marker in ("e1", "e2"):
        publish(app, 42, marker)
        assert wait_for(quick) == ("document", {"marker": marker})
    publish(app, 42, "e3")  # the slow stream's queue (2) is full: it is dropped
    assert wait_for(quick) == ("document", {"marker": "e3"})
    assert slow.next(timeout=0.1) == "too_slow"
    publish(app, 42, "e4")
    publish(app, 43, "elsewhere")
    assert wait_for(quick) == ("document", {"marker": "e4"})
    assert wait_for(other_document) == ("document", {"marker": "elsewhere"})
    assert hub.open_streams() == 2
    assert hub.leases.open_count(1) == 0  # the dropped stream's lease was given back


def test_the_cap_evicts_the_oldest_and_the_stream_says_reconnect(app, hub):
    subs = [hub.open(7, 50) for _ in range(3)]
    fourth = hub.open(7, 50)
    assert subs[0].next(timeout=1) == "too_many_streams"
    assert all(s.next(timeout=0.1) is None for s in subs[1:] + [fourth])
    assert hub.leases.open_count(7) == 3
    text = "".join(stream(hub, subs[0], {"document": {"id": 50}}, StreamLimits(keepalive_s=1, idle_s=5, max_s=10)))
    assert "event: snapshot" in text and "event: reconnect" in text and "retry: 60000" in text
    for sub in subs[1:] + [fourth]:
        hub.close(sub)
    assert hub.leases.open_count(7) == 0 and hub.open_streams() == 0


def test_a_stream_ends_when_its_consumer_goes(app, hub):
    sub = hub.open(9, 60)
    body = stream(hub, sub, {"document": {"id": 60}}, StreamLimits(keepalive_s=1, idle_s=30, max_s=60))
    assert "event: snapshot" in next(body)
    body.close()  # the client went away: gunicorn closes the iterator
    assert hub.open_streams() == 0 and hub.leases.open_count(9) == 0
