"""One Redis pub/sub listener per web process, fanned out in process to its event streams.

A stream used to hold a pooled Redis connection for its whole life (up to 30 minutes), so a few
hundred streams from one user emptied the pool every request of every user needed. Now the process
has one listener (a thread; a greenlet under gunicorn's gevent workers) on a connection of its own,
pattern-subscribed to every document's channel and to the stream-close channel. Each stream is a
bounded in-process queue: a stream that falls EVENTS_QUEUE_SIZE events behind is dropped, never the
listener. Leases (``stream_leases``) cap open streams per user across the deployment.
"""
from __future__ import annotations

import json
import logging
import os
import queue
import threading
import uuid
from dataclasses import dataclass, field

import redis as redis_lib

from .events import CHANNEL, database_number
from .stream_leases import StreamLeases

log = logging.getLogger(__name__)

# Why a stream is closed; each tells the browser what to do (see events.stream).
EVICTED, TOO_SLOW, INTERRUPTED, STOPPED = "too_many_streams", "too_slow", "events_interrupted", "server_stopping"


@dataclass(eq=False)
class Subscription:
    """One open stream: its queue of (type, data) events and, once closed, why."""

    user_id: int
    document_id: int
    inbox: queue.Queue
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    closed: str | None = None

    def next(self, timeout: float):
        """The next event, or None after ``timeout``; a closed stream answers its reason at once."""
        if self.closed:
            return self.closed
        try:
            item = self.inbox.get(timeout=timeout)
        except queue.Empty:
            return self.closed
        return self.closed or item


class EventHub:
    def __init__(self, listener_client: redis_lib.Redis, leases: StreamLeases, *, queue_size: int = 100):
        self.listener_client = listener_client
        self.leases = leases
        self.queue_size = queue_size
        self._lock = threading.Lock()
        self._by_document: dict[int, set[Subscription]] = {}
        self._by_id: dict[str, Subscription] = {}
        self._pid: int | None = None
        self._stop = threading.Event()
        self.connected = threading.Event()
        self._threads: list[threading.Thread] = []
        db = database_number(listener_client)
        self.document_prefix = CHANNEL.format(db=db, id="")
        self.close_channel = leases.close_channel

    # ---- streams --------------------------------------------------------------------------------

    def open(self, user_id: int, document_id: int) -> Subscription:
        """Register a stream and take its lease; streams of the user pushed over the cap close."""
        self._ensure_running()
        sub = Subscription(user_id, document_id, queue.Queue(maxsize=self.queue_size))
        with self._lock:
            self._by_document.setdefault(document_id, set()).add(sub)
            self._by_id[sub.id] = sub
        try:
            evicted = self.leases.acquire(user_id, sub.id)
        except Exception:
            self.close(sub)
            raise
        self._close_ids(evicted, EVICTED)  # at once here; other processes hear the close channel
        return sub

    def close(self, sub: Subscription, reason: str = STOPPED) -> None:
        """Forget a stream here and give back its lease; safe to call more than once."""
        if not self._forget(sub, reason):
            return
        try:
            self.leases.release(sub.user_id, sub.id)
        except Exception:  # the lease expires by itself within EVENTS_LEASE_SECONDS
            log.warning("could not release the lease of stream %s", sub.id, exc_info=True)

    def open_streams(self) -> int:
        with self._lock:
            return len(self._by_id)

    def _forget(self, sub: Subscription, reason: str) -> bool:
        with self._lock:
            if self._by_id.pop(sub.id, None) is None:
                return False
            subs = self._by_document.get(sub.document_id)
            if subs is not None:
                subs.discard(sub)
                if not subs:
                    del self._by_document[sub.document_id]
        sub.closed = sub.closed or reason
        try:
            sub.inbox.put_nowait(None)  # wake the stream; a full queue is woken by its next poll
        except queue.Full:
            pass
        return True

    def _close_ids(self, ids, reason: str) -> None:
        for stream_id in ids:
            with self._lock:
                sub = self._by_id.get(stream_id)
            if sub is not None:
                self._forget(sub, reason)  # its lease is already gone

    def _close_all(self, reason: str) -> None:
        with self._lock:
            subs = list(self._by_id.values())
        for sub in subs:
            self.close(sub, reason)

    # ---- the listener -------------------------------------------------------------------------------

    def _ensure_running(self) -> None:
        """Start the listener and lease renewal in this process (again after a fork)."""
        if self._pid == os.getpid() and not self._stop.is_set():
            return
        with self._lock:
            if self._pid == os.getpid() and not self._stop.is_set():
                return
            self._pid = os.getpid()
            self._stop = threading.Event()
            self.connected = threading.Event()
            self._by_document, self._by_id = {}, {}
            self._threads = [
                threading.Thread(target=self._listen, name="ai-prism-events", daemon=True),
                threading.Thread(target=self._renew, name="ai-prism-stream-leases", daemon=True),
            ]
            for thread in self._threads:
                thread.start()
        self.connected.wait(2.0)  # normally ready within milliseconds; events published before are in the snapshot

    def stop(self) -> None:
        self._stop.set()
        self._close_all(STOPPED)
        for thread in self._threads:
            thread.join(3)

    def _listen(self) -> None:
        backoff = 0.5
        stop = self._stop
        while not stop.is_set():
            pubsub = self.listener_client.pubsub()
            try:
                pubsub.psubscribe(self.document_prefix + "*")
                pubsub.subscribe(self.close_channel)
                # Connected only once the server has confirmed both subscriptions: an event published
                # after a stream's open() returns (after this) is then never missed.
                confirmed = 0
                while confirmed < 2 and not stop.is_set():
                    message = pubsub.get_message(timeout=1.0)
                    if message and message.get("type") in ("subscribe", "psubscribe"):
                        confirmed += 1
                    elif message:
                        self._dispatch(message)
                self.connected.set()
                backoff = 0.5
                while not stop.is_set():
                    message = pubsub.get_message(timeout=1.0)
                    if message:
                        self._dispatch(message)
            except Exception:
                log.warning("event listener lost Redis; streams will reconnect", exc_info=True)
            finally:
                self.connected.clear()
                try:
                    pubsub.close()
                except Exception:
                    pass
            if stop.is_set():
                return
            # Events published while nobody listened are lost here: every stream reconnects and
            # starts again from a fresh snapshot rather than miss one silently.
            self._close_all(INTERRUPTED)
            stop.wait(backoff)
            backoff = min(backoff * 2, 10.0)

    def _dispatch(self, message: dict) -> None:
        channel = message.get("channel")
        channel = channel.decode() if isinstance(channel, bytes) else channel
        data = message.get("data")
        if message.get("type") not in ("message", "pmessage"):
            return  # (un)subscribe confirmations
        if channel == self.close_channel:
            self._close_ids((data.decode() if isinstance(data, bytes) else str(data)).split(), EVICTED)
            return
        if message.get("type") != "pmessage" or not channel.startswith(self.document_prefix):
            return
        try:
            document_id = int(channel[len(self.document_prefix):])
            payload = json.loads(data)
            event = (payload["type"], payload["data"])
        except (ValueError, KeyError, TypeError):
            log.warning("ignored a malformed event on %s", channel)
            return
        with self._lock:
            subs = list(self._by_document.get(document_id, ()))
        for sub in subs:
            try:
                sub.inbox.put_nowait(event)
            except queue.Full:
                # This stream's client is not reading; it is dropped (and reconnects with a fresh
                # snapshot) so the listener and every other stream go on.
                self.close(sub, TOO_SLOW)

    def _renew(self) -> None:
        interval = max(1.0, self.leases.lease_s / 3)
        stop = self._stop
        while not stop.wait(interval):
            with self._lock:
                held = [(sub.user_id, sub.id) for sub in self._by_id.values()]
            try:
                # A lease gone without a close message: evicted while the message was missed, or
                # expired (Redis flushed or unreachable for a while). Either way the stream ends and
                # the browser reconnects normally, which takes a fresh lease under the cap.
                self._close_ids(self.leases.renew(held), INTERRUPTED)
            except Exception:
                log.warning("could not renew stream leases", exc_info=True)


def init_event_hub(app) -> None:
    """One hub per app (and so per web process); its threads start with the first stream."""
    config = app.config
    listener = redis_lib.Redis.from_url(
        config["REDIS_URL"], socket_connect_timeout=2, socket_keepalive=True, health_check_interval=30,
        single_connection_client=False,
    )
    leases = StreamLeases(app.extensions["redis_events"], config["EVENTS_MAX_STREAMS_PER_USER"],
                          config["EVENTS_LEASE_SECONDS"])
    app.extensions["event_hub"] = EventHub(listener, leases, queue_size=config["EVENTS_QUEUE_SIZE"])
