"""Document event streams under abuse, on real gunicorn (gevent workers), PostgreSQL and Redis.

One reviewer opening 600 streams on their own document must not hurt anyone else: another user's
requests keep answering 200 and /health/ready stays 200, because streams hold no connection of the
requests' Redis pool (one listener per process fans events out in process). The per-user cap closes
the oldest stream with a `reconnect` event, across instances. Raw sockets keep 600 streams cheap."""
from __future__ import annotations

import io
import json
import selectors
import socket
import time

import pytest
import redis as redis_lib
import requests

from app.events import channel
from tests.documents.corpus import headed_sections
from tests.integration.test_multi_instance import sign_in
from tests.support.processes import Gunicorn, process_env

pytestmark = pytest.mark.slow


class RawStream:
    """GET …/events on a raw socket; ``buffer`` collects everything the server sent."""

    def __init__(self, base_port: int, document_id: int, cookie: str):
        self.sock = socket.create_connection(("127.0.0.1", base_port), timeout=10)
        self.sock.sendall((f"GET /api/documents/{document_id}/events HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                           f"Cookie: {cookie}\r\nAccept: text/event-stream\r\n\r\n").encode())
        self.sock.setblocking(False)
        self.buffer = b""
        self.eof = False

    def has(self, marker: bytes) -> bool:
        return marker in self.buffer

    @property
    def answered(self) -> bool:
        """The snapshot came, or the server refused (any other status) or hung up."""
        refused = b"\r\n\r\n" in self.buffer and not self.buffer.startswith(b"HTTP/1.1 200")
        return self.has(b"event: snapshot") or refused or self.eof

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def pump(streams, until, timeout: float) -> None:
    """Read every stream's socket until ``until()`` holds or ``timeout`` passes."""
    selector = selectors.DefaultSelector()
    for stream in streams:
        if not stream.eof:
            selector.register(stream.sock, selectors.EVENT_READ, stream)
    deadline = time.monotonic() + timeout
    try:
        while not until() and time.monotonic() < deadline:
            for key, _ in selector.select(timeout=0.2):
                stream = key.data
                try:
                    chunk = stream.sock.recv(65536)
                except (BlockingIOError, InterruptedError):
                    continue
                except OSError:
                    chunk = b""
                if chunk:
                    stream.buffer += chunk
                else:
                    stream.eof = True
                    selector.unregister(stream.sock)
    finally:
        selector.close()


def cookie_header(session: requests.Session) -> str:
    return "; ".join(f"{name}={value}" for name, value in session.cookies.get_dict().items())


def signed_in_with_document(base: str, email: str) -> tuple[requests.Session, int]:
    session = requests.Session()
    signed = sign_in(session, base, email)
    assert signed.status_code == 200, signed.text
    data = headed_sections(2, lambda i: f"Case {i}: the seller shipped late and the refund took weeks.")
    made = session.post(f"{base}/api/documents", files={"file": ("case.docx", io.BytesIO(data))},
                        headers={"X-CSRFToken": signed.json()["csrf_token"]}, timeout=30)
    assert made.status_code == 201, made.text
    return session, made.json()["id"]


def publish(redis_url: str, document_id: int, marker: str) -> None:
    client = redis_lib.Redis.from_url(redis_url)
    client.publish(channel(client, document_id), json.dumps({"type": "document", "data": {"marker": marker}}))


def redis_clients_of(redis_url: str, pids: list[int]) -> int:
    """Open TCP connections from these processes (the gunicorn workers) to the Redis server."""
    import psutil
    from urllib.parse import urlparse

    port = urlparse(redis_url).port or 6379
    return sum(1 for pid in pids for c in psutil.Process(pid).net_connections(kind="tcp")
               if c.raddr and c.raddr.port == port and c.status == psutil.CONN_ESTABLISHED)


def start(env: dict, tmp_path, name: str, workers: int = 2) -> Gunicorn:
    instance = Gunicorn(env, workers=workers, log_path=tmp_path / f"{name}.log")
    instance.wait_ready()
    return instance


@pytest.mark.parametrize("cap", [10, 1000])
def test_600_streams_from_one_user_leave_everyone_else_served(app, make_user, database_url, redis_url, tmp_path, cap):
    make_user("mallory@example.com")
    make_user("bob@example.com")
    env = process_env(database_url, redis_url, str(tmp_path / "storage"),
                      EVENTS_MAX_STREAMS_PER_USER=str(cap), REDIS_MAX_CONNECTIONS="20", REDIS_POOL_TIMEOUT="2")
    web = start(env, tmp_path, f"web-{cap}")
    streams: list[RawStream] = []
    try:
        mallory, document_id = signed_in_with_document(web.url, "mallory@example.com")
        bob, _ = signed_in_with_document(web.url, "bob@example.com")
        cookie = cookie_header(mallory)
        started = time.monotonic()
        for i in range(600):
            streams.append(RawStream(web.port, document_id, cookie))
            if i % 50 == 49:  # let the server catch up: every stream answered
                pump(streams, lambda: all(s.answered for s in streams), 20)
        pump(streams, lambda: all(s.answered for s in streams), 20)
        opened_s = time.monotonic() - started
        refused = [s.buffer.split(b"\r\n", 1)[0] for s in streams if not s.has(b"event: snapshot")]
        assert not refused, (len(refused), refused[:3])

        # Everyone else is served while the streams are open.
        statuses = [bob.get(f"{web.url}/api/documents", timeout=10).status_code for _ in range(40)]
        ready = [requests.get(f"{web.url}/health/ready", timeout=10).status_code for _ in range(10)]
        assert statuses == [200] * 40 and ready == [200] * 10
        connections = redis_clients_of(redis_url, web.worker_pids())
        assert connections <= 2 * (20 + 8 + 4 + 1) + 5, connections  # bounded pools, whatever the streams

        if cap == 10:
            pump(streams, lambda: sum(s.has(b"event: reconnect") for s in streams) >= 590, 30)
            closed = [s for s in streams if s.has(b"event: reconnect")]
            assert len(closed) == 590, len(closed)
            assert all(s.has(b'"too_many_streams"') for s in closed)
            survivors = [s for s in streams if not s.has(b"event: reconnect")]
            # The newest ten live on: all from the last batch (within a batch the server's order rules).
            assert len(survivors) == 10 and all(s in streams[-50:] for s in survivors)
        else:
            survivors = streams
        publish(redis_url, document_id, "for-every-open-stream")
        pump(survivors, lambda: all(s.has(b"for-every-open-stream") for s in survivors), 30)
        assert all(s.has(b"for-every-open-stream") for s in survivors)
        print(json.dumps({"cap": cap, "streams": 600, "opened_s": round(opened_s, 2), "redis_connections": connections}))
    finally:
        for stream in streams:
            stream.close()
        web.stop()


def test_the_cap_closes_the_oldest_stream_across_instances(app, make_user, database_url, redis_url, tmp_path):
    make_user("ann@example.com")
    env = process_env(database_url, redis_url, str(tmp_path / "storage"), EVENTS_MAX_STREAMS_PER_USER="3")
    a, b = start(env, tmp_path, "a", workers=1), start(env, tmp_path, "b", workers=1)
    streams: list[RawStream] = []
    try:
        ann, document_id = signed_in_with_document(a.url, "ann@example.com")
        cookie = cookie_header(ann)
        for port in (a.port, a.port, b.port):
            streams.append(RawStream(port, document_id, cookie))
            pump(streams, lambda: streams[-1].has(b"event: snapshot"), 10)
        assert all(s.has(b"event: snapshot") for s in streams)
        newest = RawStream(b.port, document_id, cookie)  # the fourth, on the other instance
        streams.append(newest)
        pump(streams, lambda: streams[0].has(b"event: reconnect") and newest.has(b"event: snapshot"), 10)
        oldest = streams[0]
        assert oldest.has(b"event: reconnect") and oldest.has(b'"too_many_streams"')
        assert b"retry: 60000" in oldest.buffer  # EventSource waits before trying again
        assert not any(s.has(b"event: reconnect") for s in streams[1:])
        publish(redis_url, document_id, "still-live")
        pump(streams[1:], lambda: all(s.has(b"still-live") for s in streams[1:]), 10)
        assert all(s.has(b"still-live") for s in streams[1:]) and not oldest.has(b"still-live")
    finally:
        for stream in streams:
            stream.close()
        a.stop()
        b.stop()


def test_an_idle_stream_is_closed_with_a_reconnect_event(app, make_user, database_url, redis_url, tmp_path):
    make_user("ann@example.com")
    env = process_env(database_url, redis_url, str(tmp_path / "storage"), EVENTS_IDLE_TIMEOUT="5",
                      EVENTS_KEEPALIVE_SECONDS="1")
    web = start(env, tmp_path, "idle", workers=1)
    try:
        ann, document_id = signed_in_with_document(web.url, "ann@example.com")
        stream = RawStream(web.port, document_id, cookie_header(ann))
        pump([stream], lambda: stream.has(b"event: reconnect"), 15)
        assert stream.has(b": keep-alive") and stream.has(b'"idle"'), stream.buffer[-600:]
        stream.close()
    finally:
        web.stop()
