"""Document events over Redis pub/sub, so a change made by any worker reaches every browser, and a
server-sent-events stream for one document."""
from __future__ import annotations

import json
import logging
import time

log = logging.getLogger(__name__)
# Pub/sub channels are shared by every database of a Redis server (keys are not), so the channel names
# the database too: two deployments (or test runs) on one server never see each other's events.
CHANNEL = "ai-prism:events:db{db}:document:{id}"


def channel(redis, document_id: int) -> str:
    return CHANNEL.format(db=redis.connection_pool.connection_kwargs.get("db", 0), id=document_id)


def publish(redis, document_id: int, event_type: str, data: dict) -> None:
    try:
        redis.publish(channel(redis, document_id), json.dumps({"type": event_type, "data": data}, default=str))
    except Exception:  # events are a convenience; the database holds the truth
        log.warning("could not publish %s for document %s", event_type, document_id, exc_info=True)


def sse(event_type: str, data, event_id: int | None = None) -> str:
    lines = [f"event: {event_type}"]
    if event_id is not None:
        lines.append(f"id: {event_id}")
    lines += [f"data: {line}" for line in json.dumps(data, default=str).split("\n")]
    return "\n".join(lines) + "\n\n"


def stream(redis, document_id: int, snapshot, *, keepalive_s: float = 15, max_s: float = 1800):
    """Yield SSE text: the current state first, then every event published for the document.

    ``snapshot`` may be a callable: it is then called after the subscription is in place, so an event
    published while the snapshot is read is delivered after it, never lost in between."""
    pubsub = redis.pubsub(ignore_subscribe_messages=True)
    try:
        pubsub.subscribe(channel(redis, document_id))
        pubsub.get_message(timeout=1.0)  # the server's confirmation: from here on nothing published is missed
        yield "retry: 3000\n\n" + sse("snapshot", snapshot() if callable(snapshot) else snapshot)
        started = last = time.monotonic()
        while time.monotonic() - started < max_s:
            message = pubsub.get_message(timeout=1.0)
            if message and message["type"] == "message":
                payload = json.loads(message["data"])
                yield sse(payload["type"], payload["data"])
                last = time.monotonic()
            elif time.monotonic() - last >= keepalive_s:
                yield ": keep-alive\n\n"
                last = time.monotonic()
    finally:
        pubsub.close()
