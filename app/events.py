"""Document events over Redis pub/sub, so a change made by any worker reaches every browser, and a
server-sent-events stream for one document, fed by the process's listener (``app.event_hub``)."""
from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass

log = logging.getLogger(__name__)
# Pub/sub channels are shared by every database of a Redis server, unlike keys: the database number
# is part of the name, so two deployments (or test runs) on one server never hear each other.
CHANNEL = "ai-prism:events:db{db}:document:{id}"


def database_number(redis) -> int:
    return int(redis.connection_pool.connection_kwargs.get("db") or 0)


def channel(redis, document_id: int) -> str:
    return CHANNEL.format(db=database_number(redis), id=document_id)


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


@dataclass(frozen=True)
class StreamLimits:
    keepalive_s: float = 15.0
    idle_s: float = 600.0
    max_s: float = 1800.0


# What the browser is told when its stream ends, and how long EventSource waits before reconnecting
# (a stream closed by the cap waits long, so two tabs over the cap do not take turns evicting each other).
_RETRY_MS = {"too_many_streams": 60_000}
_MESSAGES = {
    "too_many_streams": "You have too many live views open; the oldest was closed. Reload this page to follow it again.",
    "too_slow": "This view fell behind; it reconnects with the current state.",
    "events_interrupted": "Live updates were interrupted; reconnecting with the current state.",
    "server_stopping": "The server is restarting; reconnecting.",
    "idle": "No change for a while; reconnecting.",
    "max_age": "Reconnecting to refresh the stream.",
}


def reconnect(reason: str) -> str:
    retry = _RETRY_MS.get(reason, 3000)
    return f"retry: {retry}\n" + sse("reconnect", {"reason": reason, "message": _MESSAGES.get(reason, reason),
                                                 "retry_ms": retry})


def stream(hub, subscription, snapshot: dict, limits: StreamLimits = StreamLimits()):
    """Yield SSE text: the current state first, then the document's events as the process's listener
    hands them over; a `reconnect` event ends it (cap, idle, age, a dropped listener). Holds no Redis
    connection: the subscription is an in-process queue."""
    try:
        yield "retry: 3000\n\n" + sse("snapshot", snapshot)
        started = last_event = last_write = time.monotonic()
        while True:
            now = time.monotonic()
            if now - started >= limits.max_s:
                yield reconnect("max_age")
                return
            if now - last_event >= limits.idle_s:
                yield reconnect("idle")
                return
            wait = max(0.05, min(limits.keepalive_s - (now - last_write), limits.idle_s - (now - last_event), 5.0))
            item = subscription.next(timeout=wait)
            if isinstance(item, str):  # closed, and why
                yield reconnect(item)
                return
            if item is not None:
                yield sse(item[0], item[1])
                last_event = last_write = time.monotonic()
            elif time.monotonic() - last_write >= limits.keepalive_s:
                yield ": keep-alive\n\n"
                last_write = time.monotonic()
    finally:
        hub.close(subscription)
